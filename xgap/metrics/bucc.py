"""BUCC 2018 pair F1, as XTREME's ``evaluate.py::bucc_f1`` computes it.

Gold and prediction are *sets* of ``(source id, target id)`` pairs: P = |gold & pred| / |pred|,
R = |gold & pred| / |gold|, F1 = 2PR / (P + R); when nothing is correct all three are 0 (which also
covers an empty prediction or empty gold set without any division).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np


def pair_f1(gold: Iterable[tuple[str, str]], pred: Iterable[tuple[str, str]]) -> dict:
    """``{"precision", "recall", "f1"}`` in 0-100 over pair sets (duplicates collapse, as in XTREME)."""
    gold, pred = set(map(tuple, gold)), set(map(tuple, pred))
    ncorrect = len(gold & pred)
    if ncorrect > 0:
        precision = ncorrect / len(pred)
        recall = ncorrect / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0.0
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def pair_f1_statistic(gold: Iterable[tuple[str, str]], pred: Iterable[tuple[str, str]]):
    """A bootstrap statistic for pair F1 whose resampling unit is the *source sentence*.

    Every source id seen in gold or prediction is one unit holding its (correct, predicted, gold)
    pair counts; a resample sums the counts of the drawn units (with multiplicity) and recomputes F1,
    so the full sample gives exactly :func:`pair_f1`'s F1.
    """
    from xgap.metrics.bootstrap import CountsF1Statistic

    gold, pred = set(map(tuple, gold)), set(map(tuple, pred))
    counts: dict = defaultdict(lambda: [0, 0, 0])
    for pair in pred:
        counts[pair[0]][1] += 1
        if pair in gold:
            counts[pair[0]][0] += 1
    for pair in gold:
        counts[pair[0]][2] += 1
    arr = np.array([counts[k] for k in sorted(counts)], dtype=np.int64).reshape(-1, 3)
    return CountsF1Statistic(arr[:, 0], arr[:, 1], arr[:, 2])
