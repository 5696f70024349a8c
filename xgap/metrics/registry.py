"""The metric registry: every metric name a card may list, and how its value is read or derived.

Cards name metrics (``metrics:``, ``primary_metric:``); this registry is the one place that says what
a name means, in the spirit of lm-eval's ``register_metric``. A metric is either *reported* (an
evaluator computes it and puts it in a record's ``metrics``) or *derived* from reported ones (QA's
``em_f1_mean`` = (EM + F1) / 2 when only the two averages are at hand, as in ``xgap score``).

:func:`metric_value` reads a reported value as is and derives only when it is absent, so a record's
``primary_score`` is the very number its evaluator computed (byte-identical records), and task
averages over languages derive the QA primary from the averaged EM and F1, as XTREME does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from xgap.errors import XgapError


@dataclass(frozen=True)
class Metric:
    """One named metric. ``derive`` computes it from other metrics when it is not reported itself;
    ``gaps`` names the metric each transfer-gap field is computed on (default: the metric itself)."""

    name: str
    label: str = ""
    derive: Callable[[Mapping[str, float]], float] | None = None
    needs: tuple[str, ...] = ()
    gaps: Mapping[str, str] = field(default_factory=dict)

    def gap_metrics(self) -> dict[str, str]:
        return dict(self.gaps) or {"gap": self.name}

    def display(self) -> str:
        return self.label or self.name


_METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` (re-registering the same definition is a no-op; a different one is an error)."""
    old = _METRICS.get(metric.name)
    if old is not None and old != metric:
        raise XgapError(f"metric '{metric.name}' is already registered with another definition")
    _METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    if name not in _METRICS:
        raise XgapError(f"unknown metric '{name}' - fix: use one of {', '.join(sorted(_METRICS))}")
    return _METRICS[name]


def metric_names() -> list[str]:
    return list(_METRICS)


def metric_value(name: str, scores: Mapping[str, float], task: str = "") -> float:
    """``scores[name]`` when reported, else derived from the metrics it needs; a one-line error otherwise."""
    if name in scores:
        return scores[name]
    m = _METRICS.get(name)
    if m is not None and m.derive is not None and all(n in scores for n in m.needs):
        return m.derive(scores)
    what = f"task {task!r}: " if task else ""
    raise XgapError(f"{what}metric {name!r} is neither reported nor derivable from {', '.join(sorted(scores)) or 'nothing'}")


def _em_f1_mean(scores: Mapping[str, float]) -> float:
    return (scores["exact_match"] + scores["f1"]) / 2


# One line per metric. Reported ones first, then derived ones.
for _name in ("accuracy", "f1", "precision", "recall", "token_accuracy", "exact_match",
              "accuracy_xx_en", "precision_xx_en", "recall_xx_en", "f1_xx_en"):
    register_metric(Metric(_name))
register_metric(Metric("em_f1_mean", label="(EM+F1)/2", derive=_em_f1_mean, needs=("exact_match", "f1"),
                       gaps={"gap": "exact_match", "gap_f1": "f1"}))
