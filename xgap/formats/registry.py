"""The format registry: a task's meaning is its card plus its format's module.

Each task format is one module of :mod:`xgap.formats` that builds one :class:`Format` (or a few that
share code, as the two classification formats do): how its local files are read (``layouts``), how
hub rows become examples (``hub_rows``), its zero-shot ``evaluator``, its training pieces (head auto
class, features, batch collation, loss, dev metrics), its export writer and file suffix, and the
scorer ``xgap score`` uses. Every consumer dispatches through :func:`get_format`, never on format or
task names.

The registry below is one line per format, ``name -> "module:attribute"``; modules are imported on
first use, so ``xgap --help`` imports none of them (and nothing imports torch before it is needed).
A format defined elsewhere (a plug-in, a test) is added with :func:`register_format`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xgap.errors import XgapError

#: Scorer of one ``(prediction file, label file, language)`` triple -> ``{metric: value}``.
Scorer = Callable[[Path, Path, str], dict]


def _rows(values) -> bytes:
    return "".join(f"{v}\n" for v in values).encode("utf-8")


def _labels(card, example_set) -> list:
    return [e.label for e in example_set.examples]


@dataclass(frozen=True)
class Format:
    """What one task format is, end to end. Only ``name`` is required; a format without an
    ``evaluator`` is intermediate-only, one without ``auto_class`` has no training phase, one
    without ``scorer`` cannot be scored by ``xgap score``."""

    name: str
    #: local layouts this format reads (:class:`xgap.data.layouts.Layout`); new ones are registered with it
    layouts: tuple = ()
    #: hub rows -> examples (:class:`xgap.data.hub.HubRows` -> examples)
    hub_rows: Callable | None = None
    #: zero-shot evaluator class (:class:`xgap.formats.base.Evaluator`)
    evaluator: type | None = None
    #: training: the ``transformers`` auto class of the head, ``train_features(card, tokenizer,
    #: examples, labels, max_length) -> TrainFeatures``, ``collate(features, pad_id, side) -> dict``,
    #: ``loss_units(features) -> int``, ``loss(outputs, inputs, targets) -> tensor`` (default: the
    #: model's own ``outputs.loss``; ``loss_targets`` are taken out of the inputs before the forward) and
    #: ``dev_metrics(card, model, tokenizer, examples, labels, max_length, dtype, batch_tokens) -> dict``
    auto_class: str | None = None
    train_features: Callable | None = None
    collate: Callable | None = None
    loss_units: Callable | None = None
    loss: Callable | None = None
    loss_targets: tuple[str, ...] = ()
    dev_metrics: Callable | None = None
    #: ``label_set(train_examples) -> sorted labels``, for cards whose labels come from the training file
    label_set: Callable | None = None
    #: export (XTREME layout): file suffix, ``write(values) -> bytes``, ``gold(card, example_set) -> values``
    suffix: str = "tsv"
    write: Callable[[Any], bytes] = _rows
    gold: Callable = _labels
    #: ``scorer(card) -> Scorer`` for ``xgap score`` (the card picks e.g. SQuAD or MLQA normalisation)
    scorer: Callable[[Any], Scorer] | None = None

    @property
    def trainable(self) -> bool:
        return self.auto_class is not None


# One line per format: name -> "module:attribute" (imported lazily).
_LAZY: dict[str, str] = {
    "sentence-pair-classification": "xgap.formats.classification:SENTENCE_PAIR",
    "single-sentence-classification": "xgap.formats.classification:SINGLE_SENTENCE",
    "token-classification": "xgap.formats.tagging:FORMAT",
    "extractive-qa": "xgap.formats.qa:FORMAT",
    "bitext-retrieval": "xgap.formats.retrieval:FORMAT",
    "bitext-mining": "xgap.formats.mining:FORMAT",
    "multiple-choice": "xgap.formats.choice:FORMAT",
}
_LOADED: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    """Add ``fmt`` to the registry, with its local layouts and hub row mapper (the one registry line
    of a format defined outside this package)."""
    from xgap.data.hub import register_row_mapper
    from xgap.data.layouts import register_layout

    old = _LOADED.get(fmt.name)
    if old is not None and old is not fmt:
        raise XgapError(f"format '{fmt.name}' is already registered")
    for layout in fmt.layouts:
        register_layout(layout)
    if fmt.hub_rows is not None:
        register_row_mapper(fmt.name, fmt.hub_rows)
    _LOADED[fmt.name] = fmt
    return fmt


def unregister_format(name: str) -> None:
    """Forget a format registered with :func:`register_format` (tests)."""
    _LOADED.pop(name, None)


def format_names() -> list[str]:
    return list(dict.fromkeys([*_LAZY, *_LOADED]))


def get_format(name: str) -> Format:
    """The :class:`Format` called ``name``; a one-line error naming the registered ones otherwise."""
    if name not in _LOADED:
        if name not in _LAZY:
            raise XgapError(f"unknown task format '{name}' - fix: use one of {', '.join(format_names())}")
        module, attr = _LAZY[name].split(":")
        fmt = getattr(importlib.import_module(module), attr)
        if fmt.name != name:  # pragma: no cover - a wrong registry line
            raise XgapError(f"format registry: {_LAZY[name]} is format '{fmt.name}', not '{name}'")
        register_format(fmt)
    return _LOADED[name]


def format_of(card) -> Format:
    return get_format(card.format)


def evaluator_for(card):
    """The zero-shot evaluator instance for ``card`` (imported lazily: torch only when needed)."""
    fmt = format_of(card)
    if fmt.evaluator is None:
        raise XgapError(f"task '{card.name}': no zero-shot evaluator for format '{card.format}' (intermediate-only format)")
    return fmt.evaluator()


def trainable_format(card) -> Format:
    """The card's format, or a one-line error when it has no training phase."""
    fmt = format_of(card)
    if not fmt.trainable:
        trainable = [n for n in format_names() if get_format(n).trainable]
        raise XgapError(
            f"task '{card.name}' ({card.format}) has no training phase: retrieval tasks use the encoder's hidden "
            f"states directly - fix: train on one of the formats {', '.join(sorted(trainable))}"
        )
    return fmt


def primary_of(card, metrics: dict) -> float:
    """The card's primary score from ``metrics``: its ``primary_metric`` resolved in the metric registry."""
    from xgap.metrics.registry import metric_value

    return metric_value(card.primary_metric, metrics, card.name)
