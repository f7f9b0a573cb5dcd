"""Loading from the Hugging Face hub that fails fast, and once, when the hub cannot be reached.

Without this, every hub call on an offline machine retries for half a minute, printing a warning per try,
before it fails. `from_hub` first asks (once per process, in a few seconds at most) whether the hub's
host answers; when it does not, or `HF_HUB_OFFLINE` is set, the libraries are switched to offline mode,
so a copy already in the local cache still loads and anything else fails at once with one clear line.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from gnivo_cli.errors import GnivoError

T = TypeVar("T")
DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 4.0
_TRUE = {"1", "on", "yes", "true"}
_probe_result: dict[str, str | None] = {}


def offline_reason() -> str | None:
    """Why the hub is out of reach ("HF_HUB_OFFLINE is set", "cannot connect to ..."), or None."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return f"{name} is set"
    endpoint = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    if _proxied(endpoint):
        return None  # a direct connection says nothing about the way through a proxy: let the libraries try
    if endpoint not in _probe_result:
        _probe_result[endpoint] = _probe(endpoint)
    return _probe_result[endpoint]


def _proxied(endpoint: str) -> bool:
    from urllib.request import getproxies, proxy_bypass

    scheme = urlsplit(endpoint).scheme or "https"
    proxies = getproxies()  # HTTPS_PROXY, ALL_PROXY, ... from the environment
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not proxy_bypass(urlsplit(endpoint).hostname or "")


def _probe(endpoint: str) -> str | None:
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[str | None] = []

    def connect() -> None:  # in a thread: name resolution ignores socket timeouts
        try:
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(f"cannot connect to {host}:{port}: {error.strerror or type(error).__name__}")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S + 1)
    return outcome[0] if outcome else f"no answer from {host}:{port} within {PROBE_TIMEOUT_S:.0f} s"


def go_offline() -> None:
    """Switch huggingface_hub, transformers and datasets to offline mode for the rest of this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # read at import time; already imported modules consult the attribute
        constants.HF_HUB_OFFLINE = True
    config = sys.modules.get("datasets.config")
    if config is not None:
        config.HF_HUB_OFFLINE = True
        config.HF_DATASETS_OFFLINE = True


def from_hub(what: str, load: Callable[[], T], hint: str) -> T:
    """`load()`, which fetches `what` from the hub; any failure becomes one line ending in `hint`."""
    reason = offline_reason()
    if reason is not None:
        go_offline()  # a cached copy still loads; nothing else is tried over the network
    try:
        return load()
    except GnivoError:
        raise
    except Exception as error:  # network, auth, missing repo and cache misses all come through here
        if reason is not None:
            raise GnivoError(
                f"could not load {what}: not in the local cache, and the Hugging Face hub is out of reach "
                f"({reason}); {hint}"
            ) from error
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GnivoError(f"could not load {what} from the Hugging Face hub ({detail}); {hint}") from error
