"""Format evaluators, one module per task format; :func:`evaluator_for` picks by card format."""

from __future__ import annotations

from xgap.errors import XgapError

_REGISTRY = {
    "sentence-pair-classification": ("classification", "ClassificationEvaluator"),
    "single-sentence-classification": ("classification", "ClassificationEvaluator"),
    "token-classification": ("tagging", "TaggingEvaluator"),
    "extractive-qa": ("qa", "QAEvaluator"),
    "bitext-retrieval": ("retrieval", "RetrievalEvaluator"),
    "bitext-mining": ("mining", "MiningEvaluator"),
}


def evaluator_for(card):
    """The evaluator instance for ``card.format`` (imported lazily: torch only when needed)."""
    import importlib

    if card.format not in _REGISTRY:
        raise XgapError(f"task '{card.name}': no zero-shot evaluator for format '{card.format}' (intermediate-only format)")
    module, cls = _REGISTRY[card.format]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
