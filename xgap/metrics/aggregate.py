"""Aggregation: task averages, primary scores, the transfer gap, category and XTREME scores.

SPEC §5 (mirroring XTREME's ``evaluate.py``): a task's score per metric is the unweighted mean over
its languages; its primary score is (EM + F1) / 2 for QA, F1 when the task reports F1 (tagging,
BUCC), otherwise accuracy; category scores exist only when all their tasks are present, and the
XTREME score only when all nine are. SPEC §1: gap = score(en) - mean(score(other languages)); for QA
the gap is on exact match (as the XTREME paper does) and the F1 gap is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from xgap.errors import XgapError

# category -> its tasks (SPEC §5; XTREME's GROUP2TASK with descriptive names)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "classification": ("pawsx", "xnli"),
    "structured_prediction": ("udpos", "panx"),
    "question_answering": ("xquad", "mlqa", "tydiqa"),
    "retrieval": ("bucc2018", "tatoeba"),
}
TASK_CATEGORY: dict[str, str] = {task: cat for cat, tasks in CATEGORIES.items() for task in tasks}
XTREME_TASKS: tuple[str, ...] = tuple(TASK_CATEGORY)
QA_TASKS: frozenset[str] = frozenset(CATEGORIES["question_answering"])


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
    """Name of the primary metric: ``"em_f1"`` for QA, else ``"f1"`` if reported, else ``"accuracy"``."""
    metrics = set(metrics)
    if task in QA_TASKS or ({"exact_match", "f1"} <= metrics and "accuracy" not in metrics):
        return "em_f1"
    if "f1" in metrics:
        return "f1"
    if "accuracy" in metrics:
        return "accuracy"
    raise XgapError(f"task {task!r} reports none of f1, accuracy, exact_match: no primary score")


def primary_score(task: str, scores: Mapping[str, float]) -> float:
    """The primary score from one metric dict (a language's or the task average), as XTREME does."""
    name = primary_metric(task, scores)
    if name == "em_f1":
        return (scores["exact_match"] + scores["f1"]) / 2
    return scores[name]


def gap(per_lang_scores: Mapping[str, float], en: str = "en") -> float | None:
    """``en - mean(others)``; None when English is missing or it is the only language."""
    others = [v for lang, v in per_lang_scores.items() if lang != en]
    if en not in per_lang_scores or not others:
        return None
    return per_lang_scores[en] - _mean(others)


def task_gaps(task: str, per_lang: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """``{"gap": ...}`` on the gap metric (EM for QA, else the primary), plus ``"gap_f1"`` for QA."""
    if not per_lang:
        return {"gap": None}
    first = next(iter(per_lang.values()))
    name = primary_metric(task, first)
    if name == "em_f1":
        return {
            "gap": gap({lang: s["exact_match"] for lang, s in per_lang.items()}),
            "gap_f1": gap({lang: s["f1"] for lang, s in per_lang.items()}),
        }
    return {"gap": gap({lang: s[name] for lang, s in per_lang.items()})}


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
