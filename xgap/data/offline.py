"""Is the Hugging Face hub reachable? Decided once per process, fast, and without retries.

Why: ``datasets``/``huggingface_hub`` retry an unreachable hub for ~25 s (with ~20 lines of retry
noise) before failing, so a user without local data waited half a minute for the one ``xgap:``
line. The hub counts as offline when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``/``TRANSFORMERS_OFFLINE``
is set, or when one TCP connection to the hub's host fails within a second. Once offline is
decided, the libraries are put in their own offline mode (environment and, if already imported,
their module constants), so they answer from the local cache at once; and a dataset that is not in
that cache fails here, before ``datasets`` is even imported.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
PROBE_TIMEOUT_S = 1.0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def offline_reason() -> str | None:
    """Why the hub is considered unreachable (``None`` when it answers). Cached per process."""
    return _decide()


@cache
def _decide() -> str | None:
    for flag in _FLAGS:
        if _truthy(os.environ.get(flag)):
            return f"{flag} is set"
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
        return None
    except OSError as exc:
        _go_offline()
        return f"no connection to {host} ({exc.strerror or type(exc).__name__})"


def _go_offline() -> None:
    """Put huggingface_hub, datasets and transformers into their offline mode (no retries)."""
    for flag in _FLAGS:
        os.environ[flag] = "1"
    for module, names in (("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
                          ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")),
                          ("transformers.utils.hub", ("_is_offline_mode",))):
        mod = sys.modules.get(module)
        for name in names:
            if mod is not None and isinstance(getattr(mod, name, None), bool):
                setattr(mod, name, True)


def _cache_roots() -> list[Path]:
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    roots = [Path(os.environ["HF_HUB_CACHE"])] if os.environ.get("HF_HUB_CACHE") else []
    roots += [Path(os.environ["HF_DATASETS_CACHE"])] if os.environ.get("HF_DATASETS_CACHE") else []
    return roots + [home / "hub", home / "datasets"]


def dataset_in_cache(repo_id: str) -> bool:
    """Whether any copy of hub dataset ``repo_id`` is in the local Hugging Face caches."""
    org, _, name = repo_id.rpartition("/")
    names = {f"datasets--{repo_id.replace('/', '--')}", f"{org}___{name}" if org else name}
    return any((root / n).exists() for root in _cache_roots() for n in names)
