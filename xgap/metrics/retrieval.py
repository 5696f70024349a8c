"""Retrieval accuracy (Tatoeba): share of queries whose retrieved index is the gold one.

XTREME scores Tatoeba with its plain ``accuracy`` over the lines of the prediction and label files;
with integer indices that is exactly this function. The gold default ``i -> i`` is Tatoeba's layout
(line i of one side is the translation of line i of the other).

The reverse direction MTEB reports is scored by :func:`weighted_prf`, the way MTEB's
``BitextMiningEvaluator`` does: scikit-learn weighted precision/recall/F1 and accuracy of the
retrieved index against the gold index (weighted recall over ``range(n)`` labels equals accuracy:
each label has support 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xgap.errors import XgapError


def retrieval_hits(
    predicted_indices: Sequence[int], gold_indices: Sequence[int] | None = None
) -> np.ndarray:
    """Per-query scores on the 0-100 scale (100 = hit), for bootstrapping; mean = accuracy."""
    pred = np.asarray(predicted_indices, dtype=np.int64).reshape(-1)
    gold = np.arange(len(pred)) if gold_indices is None else np.asarray(gold_indices, dtype=np.int64).reshape(-1)
    if len(pred) != len(gold):
        raise XgapError(f"{len(pred)} predicted indices but {len(gold)} gold indices: counts must be equal")
    if len(gold) == 0:
        raise XgapError("no queries to score (0 predicted indices, 0 gold indices)")
    return np.where(pred == gold, 100.0, 0.0)


def retrieval_accuracy(
    predicted_indices: Sequence[int], gold_indices: Sequence[int] | None = None
) -> float:
    """Accuracy in 0-100; ``gold_indices`` defaults to ``0, 1, ..., n-1``."""
    hits = retrieval_hits(predicted_indices, gold_indices)
    return float(np.count_nonzero(hits)) / len(hits) * 100


def weighted_prf(labels, predictions) -> dict:
    """MTEB's BitextMining metrics (0-100): sklearn weighted precision/recall/F1 and accuracy."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    labels = list(labels)
    predictions = list(predictions)
    return {
        "precision": 100.0 * float(precision_score(labels, predictions, zero_division=0, average="weighted")),
        "recall": 100.0 * float(recall_score(labels, predictions, zero_division=0, average="weighted")),
        "f1": 100.0 * float(f1_score(labels, predictions, zero_division=0, average="weighted")),
        "accuracy": 100.0 * float(accuracy_score(labels, predictions)),
    }
