"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``; this folder is on sys.path)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir(arg, needs: str) -> str:
    """``--data-dir``, else ``$XGAP_DATA_DIR``, else ``../shared/data``; exit with a hint naming ``needs`` when none exists."""
    for cand in [arg, os.environ.get("XGAP_DATA_DIR"), REPO.parent / "shared" / "data"]:
        if cand and Path(cand).is_dir():
            return str(Path(cand).resolve())
    sys.exit(f"no data: pass --data-dir ({needs}) or set XGAP_DATA_DIR")
