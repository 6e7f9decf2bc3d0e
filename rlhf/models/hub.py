"""Is the model hub reachable? Asked once, quickly, so offline machines fail in a second, not after retries.

Without this, transformers and datasets retry an unreachable hub for about 25 seconds before
giving up. When the hub cannot be reached we switch huggingface_hub to offline mode, so anything
already in the local hub cache still loads and everything else fails at once.
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def use_offline_mode_if_unreachable() -> bool:
    """Put huggingface_hub in offline mode when the hub is unreachable; return whether it is reachable."""
    reachable = hub_reachable()
    if not reachable:
        import huggingface_hub.constants

        huggingface_hub.constants.HF_HUB_OFFLINE = True
    return reachable
