"""Password hashing for labelers: Argon2id (argon2-cffi), never stored or logged in clear."""

from __future__ import annotations

from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rlhf.errors import RLHFError

_HASHER = PasswordHasher()
# Verifying against this when a name is unknown takes as long as a real check: no timing hint.
_DUMMY = _HASHER.hash("not a password")


def hash_password(password: str) -> str:
    if not password:
        raise RLHFError("a password must not be empty")
    return _HASHER.hash(password)


def verify_password(stored: Optional[str], password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password or "") and stored is not None
    except (VerificationError, InvalidHashError):
        return False
