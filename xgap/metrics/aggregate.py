"""Aggregation: task averages, primary scores, the transfer gap, category and XTREME scores.

SPEC §5 (mirroring XTREME's ``evaluate.py``): a task's score per metric is the unweighted mean over
its languages; its primary score is the card's ``primary_metric`` resolved through
:mod:`xgap.metrics.registry` ((EM + F1) / 2 for QA, F1 for tagging and BUCC, accuracy otherwise); category scores exist only when all their tasks are present, and the
XTREME score only when all nine are. SPEC §1: gap = score(en) - mean(score(other languages)); for QA
the gap is on exact match (as the XTREME paper does) and the F1 gap is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from xgap.errors import XgapError

#: The XTREME benchmark: its nine tasks in XTREME's order (``evaluate.py``'s GROUP2TASK). Which
#: category each is in comes from its card (``category:``), its primary metric from the metric registry.
XTREME_TASKS: tuple[str, ...] = ("pawsx", "xnli", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba")


def _card(task: str):
    """The shipped card of ``task``, or None (scores of tasks without a card use the metric-name rule)."""
    from xgap.cards import card_files, load_card

    return load_card(task) if task in card_files() else None


def _categories() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for task in XTREME_TASKS:
        out.setdefault(_card(task).category.replace(" ", "_"), []).append(task)
    return {cat: tuple(tasks) for cat, tasks in out.items()}


class _FromCards(Mapping):
    """A mapping computed from the cards on first use (importing this module reads no card)."""

    def __init__(self, build):
        self._build, self._data = build, None

    def _get(self) -> dict:
        if self._data is None:
            self._data = self._build()
        return self._data

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


#: category -> its tasks (SPEC §5; XTREME's GROUP2TASK with descriptive names), from the cards.
CATEGORIES: Mapping[str, tuple[str, ...]] = _FromCards(_categories)
TASK_CATEGORY: Mapping[str, str] = _FromCards(lambda: {task: cat for cat, tasks in CATEGORIES.items() for task in tasks})


def __getattr__(name: str):
    if name == "QA_TASKS":  # kept for callers: the tasks whose primary metric is derived from EM and F1
        return frozenset(t for t in XTREME_TASKS if _card(t).primary_metric == "em_f1_mean")
    raise AttributeError(name)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def task_score(per_lang: Mapping[str, Mapping[str, float]], metric: str) -> float:
    """Unweighted mean of ``metric`` over the languages of ``per_lang``."""
    if not per_lang:
        raise XgapError(f"no languages to average {metric!r} over")
    missing = [lang for lang, scores in per_lang.items() if metric not in scores]
    if missing:
        raise XgapError(f"metric {metric!r} missing for language(s) {', '.join(missing)}")
    return _mean(scores[metric] for scores in per_lang.values())


def average_metrics(per_lang: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``{metric: mean over languages}`` for every metric the languages report (first seen order)."""
    metrics: list[str] = []
    for scores in per_lang.values():
        metrics.extend(m for m in scores if m not in metrics)
    return {m: task_score(per_lang, m) for m in metrics}


def primary_metric(task: str, metrics) -> str:
    """Name of the primary metric: the card's ``primary_metric`` when ``task`` has a card; for other
    tasks ``"em_f1_mean"`` when EM and F1 are reported (and accuracy is not), else ``"f1"``, else ``"accuracy"``."""
    card = _card(task)
    if card is not None:
        return card.primary_metric
    metrics = set(metrics)
    if {"exact_match", "f1"} <= metrics and "accuracy" not in metrics:
        return "em_f1_mean"
    if "f1" in metrics:
        return "f1"
    if "accuracy" in metrics:
        return "accuracy"
    raise XgapError(f"task {task!r} reports none of f1, accuracy, exact_match: no primary score")


def primary_score(task: str, scores: Mapping[str, float]) -> float:
    """The primary score from one metric dict (a language's or the task average), as XTREME does."""
    from xgap.metrics.registry import metric_value

    return metric_value(primary_metric(task, scores), scores, task)


def gap(per_lang_scores: Mapping[str, float], en: str = "en") -> float | None:
    """``en - mean(others)``; None when English is missing or it is the only language."""
    others = [v for lang, v in per_lang_scores.items() if lang != en]
    if en not in per_lang_scores or not others:
        return None
    return per_lang_scores[en] - _mean(others)


def task_gaps(task: str, per_lang: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """``{"gap": ...}`` on the primary metric's gap metric (EM for QA), plus ``"gap_f1"`` for QA."""
    from xgap.metrics.registry import get_metric

    if not per_lang:
        return {"gap": None}
    first = next(iter(per_lang.values()))
    gaps = get_metric(primary_metric(task, first)).gap_metrics()
    return {key: gap({lang: s[name] for lang, s in per_lang.items()}) for key, name in gaps.items()}


def category_scores(task_primary: Mapping[str, float]) -> dict[str, float]:
    """``{category: mean of its tasks' primary scores}`` for the categories whose tasks are all present."""
    return {
        cat: _mean(task_primary[t] for t in tasks)
        for cat, tasks in CATEGORIES.items()
        if all(t in task_primary for t in tasks)
    }


def xtreme_score(task_primary: Mapping[str, float]) -> float | None:
    """Unweighted mean of the nine tasks' primary scores; None unless all nine are present."""
    if not all(t in task_primary for t in XTREME_TASKS):
        return None
    return _mean(task_primary[t] for t in XTREME_TASKS)
