"""What every format evaluator shares: the run context, the per-language result, intervals.

One evaluator per task *format* (as MTEB has one per task type): it turns a card's examples plus a
model into metrics, a 95% bootstrap interval and predictions. Evaluators never read files, write
records or print tables -- the runner does that -- so adding a format is one small module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xgap.modeling.models import ModelRef
from xgap.settings import EvalSettings, ReadsSettings, settings_of

# Bump when an evaluator's numbers change for the same inputs (a bug fix, a protocol detail): it is
# part of every record's resume key, so records computed by older code are recomputed, not reused.
RESULTS_VERSION = 1


@dataclass
class LanguageResult:
    metrics: dict[str, float]
    primary_score: float
    n_examples: int
    ci95: dict[str, list[float]] = field(default_factory=dict)
    predictions: Any = None  # JSON-able, in the order/shape XTREME's export layout needs
    gold: Any = None
    per_example: dict[str, list[float]] = field(default_factory=dict)
    extra_settings: dict = field(default_factory=dict)


@dataclass(init=False)
class EvalContext(ReadsSettings):
    """Everything an evaluator needs besides the examples; models load lazily, once per task.

    The run's :class:`~xgap.settings.EvalSettings` read through (``ctx.dtype``, ``ctx.batch_tokens``, ...).
    """

    card: Any
    model: ModelRef
    settings: EvalSettings
    label_map: dict | None
    _loaded: dict

    def __init__(self, card, model: ModelRef, settings: EvalSettings | None = None, label_map: dict | None = None, **given):
        """``given``: setting keywords (``dtype=...``) instead of ``settings``."""
        self.card, self.model, self.label_map = card, model, label_map
        self.settings = settings_of(settings, given)
        self._loaded = {}

    def loaded(self, key: str, factory):
        if key not in self._loaded:
            self._loaded[key] = factory()
        return self._loaded[key]

    def release(self) -> None:
        self._loaded.clear()


def interval(statistic, ctx: EvalContext, lang: str) -> list[float] | None:
    """95% percentile bootstrap CI (seeded per language), or None when bootstrapping is off."""
    if ctx.bootstrap <= 0 or getattr(statistic, "n", 0) == 0:
        return None
    from xgap.metrics.bootstrap import bootstrap_ci, language_seed

    lo, hi = bootstrap_ci(statistic, n_resamples=ctx.bootstrap, seed=language_seed(ctx.seed, lang))
    return [round(float(lo), 4), round(float(hi), 4)]


def labelled_model(ctx: EvalContext, auto_class: str):
    """``(model, tokenizer, label names)`` for a classification-style head, loaded once per task.

    The checkpoint's ``id2label`` is matched to the card's labels by name (or the explicit map);
    an ambiguous checkpoint is a one-line error, never a silently assumed order.
    """

    def load():
        from xgap.modeling.labels import resolve_label_map
        from xgap.modeling.models import load_model, load_tokenizer

        model = load_model(ctx.model, auto_class)
        names = resolve_label_map(model.config.id2label, ctx.card.labels, ctx.label_map, ctx.card.label_aliases)
        return model, load_tokenizer(ctx.model), names

    return ctx.loaded(auto_class, load)


class Evaluator:
    """Base class: subclasses set ``formats`` and implement :meth:`evaluate`."""

    formats: tuple[str, ...] = ()
    needs_model = True

    def settings(self, ctx: EvalContext) -> dict:
        """Everything that changes this format's results (goes into records and input keys)."""
        return {"dtype": ctx.dtype}

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:  # pragma: no cover - interface
        raise NotImplementedError
