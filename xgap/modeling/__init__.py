"""Model-facing primitives: loading checkpoints, tokenising, batching, the forward pass, and the
per-format predictors (classification, tagging, extractive QA, embedding search).

This layer knows models and tensors, not cards, records or runs: it sits below :mod:`xgap.formats`
(which turn predictions into metrics) and :mod:`xgap.training`, and above :mod:`xgap.data` and
:mod:`xgap.metrics`. Nothing here imports from a layer above (``tests/test_layers.py``).
"""
