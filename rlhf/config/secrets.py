"""Database credentials: never in the run directory, logs or error messages."""

from __future__ import annotations

import os
import re
from typing import Optional

from rlhf.errors import ConfigError

DATABASE_URL_ENV = "RLHF_DATABASE_URL"
MASK = "***"
# scheme://user:password@ : the password runs to the last "@" before the host (a password may hold "@").
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s]*)(?P<tail>@[^@\s]*)")
# Keys whose values are secrets, by any word of their name (hf_token, API_KEY, db-password, client_secret).
# A plural token is a length (max_new_tokens), a plural password or secret is still secret.
_SECRET_KEY = re.compile(r"(^|[^a-z])((password|passwd|secret|credential)s?|token|api_?key)($|[^a-z])", re.IGNORECASE)
# Tokens of a vocabulary, not credentials: a task's truncation token, a tokenizer's special tokens.
_TEXT_TOKEN_KEYS = {"truncate_token", "pad_token", "eos_token", "bos_token", "unk_token", "sep_token", "cls_token", "mask_token"}


def mask_url(url: str) -> str:
    """`url` with its password replaced by ***; a URL without a password is returned as it is."""
    return _CREDENTIALS.sub(lambda m: m["head"] + MASK + m["tail"], url)


def is_secret_key(key) -> bool:
    """Whether a config key names a secret: a password, secret, token or API key."""
    key = str(key)
    return key.lower() not in _TEXT_TOKEN_KEYS and _SECRET_KEY.search(key) is not None


def mask_secrets(data):
    """A copy of `data` (mappings, lists, scalars, as YAML loads them) fit to show: the value of every
    secret key (`is_secret_key`) is ***, and every URL keeps its user but not its password."""
    if isinstance(data, dict):
        return {key: MASK if is_secret_key(key) and value not in (None, "") else mask_secrets(value)
                for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_secrets(item) for item in data]
    return mask_url(data) if isinstance(data, str) else data


def url_password(url: Optional[str]) -> Optional[str]:
    """The password in a database URL, else None."""
    match = _CREDENTIALS.search(url or "")
    return match["password"] if match and match["password"] and match["password"] != MASK else None


def redact(text: str, url: Optional[str]) -> str:
    """`text` (an error message, a log line) with the URL's password and any URL's credentials masked."""
    password = url_password(url)
    if password:
        text = text.replace(password, MASK)
        from urllib.parse import quote

        text = text.replace(quote(password, safe=""), MASK)
    return mask_url(text)


def unmask_database_url(url: str) -> str:
    """The real URL for one read from a masked copy: RLHF_DATABASE_URL, when it is that URL unmasked.

    A URL without a masked password is returned as it is. A masked one without a matching
    RLHF_DATABASE_URL is a ConfigError that says how to supply it.
    """
    if f":{MASK}@" not in url:
        return url
    real = os.environ.get(DATABASE_URL_ENV, "").strip()
    if real and mask_url(real) == url:
        return real
    why = f"{DATABASE_URL_ENV} names another database" if real else f"{DATABASE_URL_ENV} is not set"
    raise ConfigError("labeling.database_url",
                      f"the password of {url} is masked in this copy of the config and {why}; set "
                      f"{DATABASE_URL_ENV} to the full URL (with the password), or use the config you started the run with")
