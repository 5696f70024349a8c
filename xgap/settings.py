"""The evaluation settings of one run: one frozen object from the command line (or a manifest, a grid)
to the plan, its jobs and the evaluator's context.

Why one object: the settings used to be declared three times (``RunPlan``, ``Job``, ``EvalContext``)
and copied field by field at each hand-over, so a new setting had to be added in three places and
one forgotten copy silently ran with the default. Frozen, because a setting is part of every
record's resume key: nothing may change it half-way through a run (make a new one with
:func:`dataclasses.replace`). A base-layer module without heavy imports: ``xgap --help`` reads
:data:`DEFAULT_BATCH_TOKENS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Token budget of one length-sorted batch (``longest * size <= batch_tokens``): bounds memory while
#: keeping padding low. The default of ``xgap run --batch-tokens``, grids and the encoders.
DEFAULT_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class EvalSettings:
    """How a run evaluates: every field is the same for all tasks and languages of a plan."""

    dtype: str = "float32"
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    bootstrap: int = 1000  # resamples of the 95% interval (0: none)
    seed: int = 0
    layer: int | None = None  # retrieval: hidden layer to pool (None: the format's default)
    pooling: str | None = None  # retrieval: mean/cls (None: the format's default)
    data_dir: str | None = None
    limit: int | None = None  # first N examples per language (smoke runs)
    split: str | None = None  # overrides the card's evaluation split
    cache_dir: str | None = None
    progress: bool = True
    prompts: dict | None = None  # role -> text prefix the model expects (manifest ``prompts``, ``--prompt``); never mutated


SETTING_NAMES = frozenset(f.name for f in fields(EvalSettings))


def settings_of(settings: EvalSettings | None, given: dict) -> EvalSettings:
    """``settings``, or one made of the setting keywords a caller passed one by one (``dtype=...``)."""
    if settings is not None and given:
        raise TypeError(f"give settings= or its fields ({', '.join(given)}), not both")
    return settings if settings is not None else EvalSettings(**given)


class ReadsSettings:
    """Mixin for holders of ``settings``: its fields read through (``plan.dtype`` is ``plan.settings.dtype``),
    so code that reads one setting need not know where the holder keeps them."""

    settings: EvalSettings

    def __getattr__(self, name: str):
        if name in SETTING_NAMES:
            return getattr(self.settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
