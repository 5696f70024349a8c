"""Planning and execution: a run becomes (submission, task, language) jobs, executed locally or on Ray,
each writing one record through :mod:`xgap.store`.

This layer sits above :mod:`xgap.formats` (which evaluate one language) and :mod:`xgap.training`
(which a run calls to fine-tune a checkpoint first); the model-facing primitives it used to hold
live in :mod:`xgap.modeling`.
"""
