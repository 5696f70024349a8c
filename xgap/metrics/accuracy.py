"""Label accuracy (xnli, pawsx, and any single-label task).

Mirrors XTREME's ``evaluate.py::accuracy``: 100 x share of predictions whose label *string* equals the
gold string. XTREME asserts that the counts match; we raise :class:`XgapError` instead (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xgap.errors import XgapError


def _check_counts(predictions: Sequence, golds: Sequence, what: str = "items") -> None:
    if len(predictions) != len(golds):
        raise XgapError(
            f"{len(predictions)} predictions but {len(golds)} gold {what}: counts must be equal"
        )
    if len(golds) == 0:
        raise XgapError(f"no gold {what} to score (0 predictions, 0 gold {what})")


def accuracy_per_example(predictions: Sequence[str], golds: Sequence[str]) -> np.ndarray:
    """Per-example scores on the 0-100 scale (100 = correct), for bootstrapping; mean = accuracy."""
    _check_counts(predictions, golds, "labels")
    return np.array([100.0 if p == g else 0.0 for p, g in zip(predictions, golds)], dtype=float)


def accuracy(predictions: Sequence[str], golds: Sequence[str]) -> float:
    """Accuracy in 0-100, computed as XTREME does: ``correct / len(predictions) * 100``."""
    _check_counts(predictions, golds, "labels")
    correct = sum(int(p == g) for p, g in zip(predictions, golds))
    return float(correct) / len(predictions) * 100
