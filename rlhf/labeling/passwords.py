"""Password hashing for labelers: Argon2id (argon2-cffi), never stored or logged in clear."""

from __future__ import annotations

import secrets
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rlhf.errors import RLHFError

_HASHER = PasswordHasher()
# Verifying against this when a name is unknown takes as long as a real check: no timing hint.
_DUMMY = _HASHER.hash("not a password")


MIN_LENGTH = 8


def check_new_password(password: str) -> str:
    """The password, when it may be set; an RLHFError saying why not otherwise."""
    if len(password) < MIN_LENGTH:
        raise RLHFError(f"a password needs at least {MIN_LENGTH} characters; nothing was changed")
    return password


def one_time_password() -> str:
    """A random password an admin hands over once; its labeler must replace it at the next sign-in."""
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


def hash_password(password: str) -> str:
    if not password:
        raise RLHFError("a password must not be empty")
    return _HASHER.hash(password)


def verify_password(stored: Optional[str], password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password or "") and stored is not None
    except (VerificationError, InvalidHashError):
        return False


class Throttle:
    """Slows down guessing: after `free` failed sign-ins for a key (a name, a browser session), each
    further attempt must wait, twice as long after every failure, up to `cap` seconds.

    In memory and thread-safe, for one app process (`streamlit run` serves every session from one
    process); a restart forgets it. Times come from the caller (`now`, in seconds on a monotonic
    clock), so tests use a fake clock. An attempt made while a key must wait is refused without
    checking the password, so it neither reveals anything nor counts as another failure.
    """

    def __init__(self, free: int = 3, base: float = 1.0, cap: float = 300.0, forget: float = 3600.0,
                 max_keys: int = 10_000):
        import threading

        self.free, self.base, self.cap, self.forget, self.max_keys = free, base, cap, forget, max_keys
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, time of the last)
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row: 0 for the first `free`, then base, 2 base, ..."""
        if failures < self.free:
            return 0.0
        return min(self.base * 2.0 ** (failures - self.free), self.cap)

    def wait_seconds(self, keys, now: float) -> float:
        """How long the next attempt for any of `keys` must still wait (0: it may go ahead)."""
        with self._lock:
            entries = [self._failures[key] for key in keys if key in self._failures]
        waits = [self.delay(failures) - (now - last) for failures, last in entries]
        return max([0.0, *waits])

    def failed(self, keys, now: float) -> None:
        with self._lock:
            for key in keys:
                failures, last = self._failures.pop(key, (0, now))
                if now - last > max(self.forget, self.cap):
                    failures = 0  # a quiet hour starts the count again
                self._failures[key] = (failures + 1, now)  # re-inserted: the dict stays in order of last failure
            while len(self._failures) > self.max_keys:  # forget the oldest, so guessing names cannot fill memory
                del self._failures[next(iter(self._failures))]

    def succeeded(self, keys) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        with self._lock:
            return self._failures.get(key, (0, 0.0))[0]
