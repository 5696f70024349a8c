"""xgap: a benchmark harness for zero-shot cross-lingual transfer.

Public Python API (the CLI calls the same functions):

- :func:`xgap.cards.load_card`, :func:`xgap.cards.list_cards` -- task cards.
- :func:`xgap.documents.validate_paths` -- validate cards, manifests and records.
- :func:`xgap.data.load_examples` -- normalised examples per (task, language, split).

Heavy modules (torch, transformers) are imported lazily by the submodules that need them,
so ``import xgap`` and ``xgap --help`` stay fast.
"""

__version__ = "0.1.0"
