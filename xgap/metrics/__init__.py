"""Metrics, each equal to the reference implementation XTREME's ``evaluate.py`` uses (SPEC §5).

Every score is on the 0-100 scale. Input problems (count mismatches, unknown languages, empty
inputs) raise :class:`xgap.errors.XgapError` with a one-line message.
"""

from xgap.metrics.accuracy import accuracy, accuracy_per_example
from xgap.metrics.aggregate import (
    CATEGORIES,
    XTREME_TASKS,
    category_scores,
    gap,
    primary_score,
    task_gaps,
    task_score,
    xtreme_score,
)
from xgap.metrics.bootstrap import bootstrap_ci, gap_ci, language_seed, paired_bootstrap_delta
from xgap.metrics.bucc import apply_threshold, evaluate_bucc, optimize_threshold, pair_f1, pair_f1_statistic
from xgap.metrics.mlqa import mlqa_per_question, mlqa_scores
from xgap.metrics.retrieval import retrieval_accuracy, retrieval_hits, weighted_prf
from xgap.metrics.squad import squad_per_question, squad_scores
from xgap.metrics.tagging import TaggingF1Statistic, tagging_f1, token_accuracy

__all__ = [
    "CATEGORIES",
    "XTREME_TASKS",
    "TaggingF1Statistic",
    "accuracy",
    "apply_threshold",
    "accuracy_per_example",
    "bootstrap_ci",
    "category_scores",
    "evaluate_bucc",
    "gap",
    "gap_ci",
    "language_seed",
    "mlqa_per_question",
    "mlqa_scores",
    "optimize_threshold",
    "paired_bootstrap_delta",
    "pair_f1",
    "pair_f1_statistic",
    "primary_score",
    "retrieval_accuracy",
    "retrieval_hits",
    "squad_per_question",
    "squad_scores",
    "tagging_f1",
    "task_gaps",
    "task_score",
    "token_accuracy",
    "weighted_prf",
    "xtreme_score",
]
