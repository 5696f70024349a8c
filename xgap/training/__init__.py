"""Phases (ii) and (iii) of X-STILTs: English intermediate-task training and target-task fine-tuning.

Public API (see :mod:`xgap.training.api`)::

    from xgap.training import train_intermediate, train_target

    train_intermediate("path/to/encoder", ["mnli", "squad"], "out/enc-mnli-squad")
    train_target("out/enc-mnli-squad", "xnli", "out/xnli")

Both are driven by the task cards (format, labels, recipe, max length, sources) and write a
``lineage.json`` naming the whole chain (base encoder -> intermediate task(s) -> target task).

This package's ``__init__`` imports only the standard library (``xgap --help`` must not import
torch); the heavy modules load on first use.
"""

from __future__ import annotations

__all__ = ["train_intermediate", "train_target", "finetuned_checkpoint", "TrainResult"]


def __getattr__(name):
    if name in __all__:
        from xgap.training import api

        return getattr(api, name)
    raise AttributeError(f"module 'xgap.training' has no attribute {name!r}")
