"""BUCC 2018 metrics: pair F1 as XTREME's ``evaluate.py::bucc_f1`` computes it, and the mining
threshold chosen on dev (``third_party/utils_retrieve.py``: ``bucc_optimize`` / ``bucc_extract``).

Gold and prediction are *sets* of ``(source id, target id)`` pairs: P = |gold & pred| / |pred|,
R = |gold & pred| / |gold|, F1 = 2PR / (P + R); when nothing is correct all three are 0 (which also
covers an empty prediction or empty gold set without any division).

Threshold (``bucc_optimize``): mined candidates sorted by score (descending, stable), swept in
order; F1 after each cut (only once a cut holds a correct pair; strict improvement, so the first cut
reaching the best F1 wins); threshold = midpoint of that cut's score and the next candidate's
score. Extraction (``bucc_extract``) keeps candidates with ``score >= threshold``. Divergences,
each where the reference has no defined behaviour: if the best cut is the last candidate the
reference indexes past the end (IndexError); xgap uses that candidate's own score (so every
candidate is extracted). If no cut holds a correct pair the reference returns threshold 0 and so
does xgap (best dev F1 0). Candidates come from :func:`xgap.modeling.mining.mine_candidates`
(anything with ``pairs`` and ``scores``) or are a ``{(src_id, tgt_id): score}`` dict.
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


def _sorted(candidates) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The candidates' pairs and scores, best first (stable: ties keep mining order)."""
    if hasattr(candidates, "pairs") and hasattr(candidates, "scores"):  # modeling.mining.Candidates
        pairs, scores = candidates.pairs, np.asarray(candidates.scores, dtype=np.float64)
    else:
        items = list(dict(candidates).items())
        pairs = [tuple(p) for p, _ in items]
        scores = np.asarray([s for _, s in items], dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return [pairs[i] for i in order], scores[order]


def optimize_threshold(candidates, gold: Iterable[tuple[str, str]]) -> tuple[float, float]:
    """XTREME ``bucc_optimize``: ``(threshold, best F1 0-100)`` on dev gold.

    ``candidates`` is a mined ``Candidates`` or a ``{(src_id, tgt_id): score}`` dict.
    """
    gold = {tuple(g) for g in gold}
    pairs, scores = _sorted(candidates)
    if not pairs or not gold:
        return 0.0, 0.0
    correct = np.fromiter((p in gold for p in pairs), dtype=bool, count=len(pairs))
    ncorrect = np.cumsum(correct).astype(np.float64)
    nextract = np.arange(1, len(pairs) + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = ncorrect / nextract
        recall = ncorrect / len(gold)
        f1 = np.where(ncorrect > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))  # first cut reaching the maximum (the reference's strict '>')
    if f1[best] <= 0:
        return 0.0, 0.0
    if best + 1 < len(scores):
        threshold = float((scores[best] + scores[best + 1]) / 2)
    else:
        threshold = float(scores[best])  # reference: IndexError; here every candidate is kept
    return threshold, float(100.0 * f1[best])


def apply_threshold(candidates, threshold: float) -> set[tuple[str, str]]:
    """XTREME ``bucc_extract``: the candidate pairs with ``score >= threshold``."""
    pairs, scores = _sorted(candidates)
    return {p for p, s in zip(pairs, scores.tolist()) if s >= threshold}


def evaluate_bucc(dev, dev_gold, test, test_gold=None) -> dict:
    """Threshold on dev, applied unchanged to test; BUCC P/R/F1 (0-100) via ``pair_f1``.

    Returns ``threshold``, ``dev_f1``, the test ``precision``/``recall``/``f1`` (when
    ``test_gold`` is given) and ``predictions`` (sorted list of predicted test pairs).
    """
    threshold, dev_f1 = optimize_threshold(dev, dev_gold)
    pred = apply_threshold(test, threshold)
    out = {"threshold": threshold, "dev_f1": dev_f1, "n_predicted": len(pred), "predictions": sorted(pred)}
    if test_gold is not None:
        out.update(pair_f1({tuple(g) for g in test_gold}, pred))
    return out
