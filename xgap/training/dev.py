"""English dev evaluation during training: the card's primary metric, computed like ``xgap run`` does.

The dev scores of each format come from its module (:mod:`xgap.formats`, ``Format.dev_metrics``):
classification, tagging and QA go through the same zero-shot predictors ``xgap run`` uses (so a dev
score is exactly what ``xgap run`` would report for that checkpoint on that split); multiple
choice, which has no target task, is scored by :mod:`xgap.formats.choice`.

The primary score is the card's ``primary_metric`` resolved through :mod:`xgap.metrics.registry`:
``accuracy`` (classification, multiple choice; for token classification with metric ``accuracy``,
e.g. CCG, token accuracy), ``f1`` (token classification: seqeval F1, as udpos/panx report it),
``em_f1_mean`` (QA: (EM + F1) / 2, SQuAD or MLQA normalisation as the card says).
"""

from __future__ import annotations

from collections.abc import Sequence

from xgap.errors import XgapError
from xgap.formats.registry import trainable_format
from xgap.settings import DEFAULT_BATCH_TOKENS


def dev_metrics(card, model, tokenizer, examples: Sequence, labels: Sequence[str] | None, max_length: int | None = None,
                dtype: str = "float32", batch_tokens: int = DEFAULT_BATCH_TOKENS) -> dict:
    """``{metric: value, ..., "primary": value}`` of ``model`` on ``examples`` (0-100 scale)."""
    fmt = trainable_format(card)
    ml = int(max_length or card.protocol.get("max_length", 256))
    was_training = model.training
    try:
        out = fmt.dev_metrics(card, model, tokenizer, examples, labels, ml, dtype, batch_tokens)
    finally:
        model.train(was_training)
    primary = card.primary_metric
    if primary not in out:
        raise XgapError(f"task '{card.name}': primary metric '{primary}' is not computed for format '{fmt.name}'")
    out["primary"] = out[primary]
    return {k: round(float(v), 6) for k, v in out.items()}
