"""Provenance facts recorded with every result: versions, commit, device, times."""

from __future__ import annotations

import datetime as _dt
import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from xgap import __version__

LIBRARIES = ("torch", "transformers", "tokenizers", "datasets", "faiss-cpu", "numpy", "seqeval", "sentence-transformers")


@functools.cache
def git_commit() -> str | None:
    """The commit of the xgap checkout in use (None for an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def library_versions() -> dict:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_description() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda:{torch.cuda.get_device_name(0)}"
        threads = torch.get_num_threads()
    except ImportError:
        threads = None
    return f"cpu:{platform.processor() or platform.machine()}" + (f" ({threads} threads)" if threads else "")


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def base_provenance() -> dict:
    return {"xgap_version": __version__, "git_commit": git_commit(), "libraries": library_versions()}
