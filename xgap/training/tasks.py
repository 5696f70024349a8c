"""A card's training pieces, looked up through its format (:mod:`xgap.formats.registry`).

The per-format code (features, collation, heads' auto classes, dev scores) lives in the format
modules and in :mod:`xgap.modeling`; this module is the one place training asks for them by card.
"""

from __future__ import annotations

from collections.abc import Sequence

from xgap.errors import XgapError
from xgap.formats.registry import get_format, trainable_format


def encode_for_training(card, tokenizer, examples, labels: Sequence[str] | None, max_length: int | None = None):
    """Tokenise ``examples`` of ``card``'s format into training features (:class:`~xgap.modeling.features.TrainFeatures`)."""
    fmt = trainable_format(card)
    protocol = card.protocol
    if max_length:
        protocol["max_length"] = int(max_length)
    return fmt.train_features(card, tokenizer, examples, labels, protocol)


def build_head(encoder, name: str, fmt: str, labels: Sequence[str] | None, seed: int):
    """A fresh head of format ``fmt`` (its ``AutoModelFor*`` class) on ``encoder``, seeded."""
    from xgap.modeling.heads import new_head

    return new_head(encoder, name, fmt, get_format(fmt).auto_class, labels, seed)


def label_set(card, train_examples) -> list[str]:
    """The card's labels, or (``labels_from``, e.g. CCG) the sorted labels of its training data; [] for formats without labels."""
    if card.labels:
        return list(card.labels)
    read = get_format(card.format).label_set
    if read is None:
        return []
    labels = read(train_examples)
    if not labels:
        raise XgapError(f"task '{card.name}': the training data has no labels to build a label set from")
    return labels
