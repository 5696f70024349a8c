"""Seeded percentile bootstrap for per-(task, language) scores, system deltas and the transfer gap.

SPEC §5: a 95% CI per (task, language) score by resampling *examples* with a fixed seed (1,000
resamples by default), and one for the gap. A *statistic* is anything with

- ``n``: the number of resampling units (examples, sentences, source sentences, ...),
- ``value()``: the statistic on the full sample,
- ``resample(idx)``: the statistic for each row of an ``(k, n)`` array of unit indices.

Corpus-level metrics (seqeval F1, BUCC pair F1) are therefore recomputed on each resample rather
than averaged. Built-ins: :class:`MeanStatistic` (per-example values, e.g. accuracy as 0/100, QA EM
or F1 per question; vectorised), :class:`CountsF1Statistic` (F1 from per-unit correct/predicted/gold
counts; vectorised), :class:`FunctionStatistic` (any ``fn(indices) -> float``; a Python loop).
:class:`xgap.metrics.tagging.TaggingF1Statistic` and :func:`xgap.metrics.bucc.pair_f1_statistic` build
the tagging and BUCC ones. Plain arrays are taken as per-example values.

Determinism: the index draws depend only on ``(seed, n, n_resamples)`` (drawn in fixed-size blocks
from ``numpy.random.default_rng(seed)``), so the same seed gives the same resamples whichever
statistic is evaluated on them; that is what makes :func:`paired_bootstrap_delta` paired. For the
gap, each language is resampled independently with the seed :func:`language_seed` derives from
``(seed, lang)``; pass that same seed to :func:`bootstrap_ci` to get per-language CIs that use the
very resamples the gap CI used.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from xgap.errors import XgapError

_BLOCK_ELEMENTS = 1 << 21  # indices drawn per block (bounded memory for large n)


class MeanStatistic:
    """Mean of per-example values (already on the reporting scale, e.g. 0/100)."""

    def __init__(self, values: Sequence[float]):
        self.values = np.asarray(values, dtype=float).reshape(-1)
        self.n = len(self.values)

    def value(self) -> float:
        return float(self.values.mean())

    def resample(self, idx: np.ndarray) -> np.ndarray:
        return self.values[idx].mean(axis=1)


class CountsF1Statistic:
    """F1 (0-100) from per-unit (correct, predicted, gold) counts summed over a resample."""

    def __init__(self, correct: Sequence[int], predicted: Sequence[int], gold: Sequence[int]):
        self.counts = np.stack([np.asarray(c, dtype=np.int64).reshape(-1) for c in (correct, predicted, gold)])
        self.n = self.counts.shape[1]

    @staticmethod
    def _f1(tp: np.ndarray, npred: np.ndarray, ngold: np.ndarray) -> np.ndarray:
        tp, npred, ngold = (np.asarray(x, dtype=float) for x in (tp, npred, ngold))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(npred > 0, tp / npred, 0.0)
            r = np.where(ngold > 0, tp / ngold, 0.0)
            f = np.where(tp > 0, 2 * p * r / (p + r), 0.0)
        return f * 100

    def value(self) -> float:
        return float(self._f1(*self.counts.sum(axis=1)))

    def resample(self, idx: np.ndarray) -> np.ndarray:
        sums = self.counts[:, idx].sum(axis=2)  # (3, k)
        return self._f1(sums[0], sums[1], sums[2])


class FunctionStatistic:
    """Any ``fn(indices: np.ndarray) -> float`` over ``n`` units; evaluated resample by resample."""

    def __init__(self, n: int, fn: Callable[[np.ndarray], float]):
        self.n = int(n)
        self.fn = fn

    def value(self) -> float:
        return float(self.fn(np.arange(self.n)))

    def resample(self, idx: np.ndarray) -> np.ndarray:
        return np.array([float(self.fn(row)) for row in np.atleast_2d(idx)], dtype=float)


def as_statistic(data) -> object:
    """A statistic object unchanged; anything else is taken as per-example values (mean)."""
    if hasattr(data, "resample") and hasattr(data, "value") and hasattr(data, "n"):
        return data
    return MeanStatistic(data)


def language_seed(seed: int, lang: str) -> int:
    """A stable per-language seed (independent of dict order and of Python's hash salt)."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(lang.encode("utf-8"))]).generate_state(1)[0])


def _check_args(n: int, n_resamples: int, alpha: float) -> None:
    if n < 1:
        raise XgapError("cannot bootstrap a statistic over 0 examples")
    if n_resamples < 1:
        raise XgapError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < alpha < 1.0:
        raise XgapError(f"alpha must be between 0 and 1, got {alpha}")


def _index_blocks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    per_block = max(1, _BLOCK_ELEMENTS // n)
    done = 0
    while done < n_resamples:
        k = min(per_block, n_resamples - done)
        yield rng.integers(0, n, size=(k, n))
        done += k


def resample_values(data, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """The statistic on each of ``n_resamples`` seeded resamples (array of length ``n_resamples``)."""
    stat = as_statistic(data)
    _check_args(stat.n, n_resamples, 0.05)
    return np.concatenate([stat.resample(idx) for idx in _index_blocks(stat.n, n_resamples, seed)])


def _interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.percentile(samples, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_ci(
    data,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    statistic: Callable[[np.ndarray], float] | None = None,
) -> tuple[float, float]:
    """Percentile CI ``(low, high)`` of a statistic (or of the mean of per-example values).

    With ``statistic`` given, ``data`` is the number of units (or a sequence of them, whose length
    counts) and ``statistic(indices)`` recomputes the metric on each resample (generic loop).
    """
    if statistic is not None:
        data = FunctionStatistic(data if isinstance(data, (int, np.integer)) else len(data), statistic)
    stat = as_statistic(data)
    _check_args(stat.n, n_resamples, alpha)
    return _interval(resample_values(stat, n_resamples, seed), alpha)


def paired_bootstrap_delta(
    a, b, n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float]:
    """``(delta, low, high)`` for ``stat(a) - stat(b)`` on the same examples, same resamples."""
    sa, sb = as_statistic(a), as_statistic(b)
    if sa.n != sb.n:
        raise XgapError(f"paired bootstrap needs the same examples: {sa.n} vs {sb.n}")
    _check_args(sa.n, n_resamples, alpha)
    deltas = np.concatenate(
        [sa.resample(idx) - sb.resample(idx) for idx in _index_blocks(sa.n, n_resamples, seed)]
    )
    return (sa.value() - sb.value(), *_interval(deltas, alpha))


def gap_ci(
    per_lang: Mapping[str, object],
    en: str = "en",
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float, float] | None:
    """``(gap, low, high)`` for gap = stat(en) - mean(stat(other languages)); None when undefined.

    Each language is resampled independently (seed :func:`language_seed`), the gap is recomputed
    per resample, and the percentile interval taken, as SPEC §5 asks for the gap's CI.
    """
    stats = {lang: as_statistic(d) for lang, d in per_lang.items()}
    others = [lang for lang in stats if lang != en]
    if en not in stats or not others:
        return None
    for _lang, stat in stats.items():
        _check_args(stat.n, n_resamples, alpha)
    samples = {lang: resample_values(stat, n_resamples, language_seed(seed, lang)) for lang, stat in stats.items()}
    gaps = samples[en] - np.mean([samples[lang] for lang in others], axis=0)
    point = stats[en].value() - sum(stats[lang].value() for lang in others) / len(others)
    return (float(point), *_interval(gaps, alpha))
