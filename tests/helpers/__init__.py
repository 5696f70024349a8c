"""Test-only helpers (not shipped in the wheel): tiny random checkpoints and synthetic result stores.

Tests import them as ``from helpers.tiny import ...`` (pytest puts ``tests/`` on ``sys.path``:
``tests/`` has no ``__init__.py``); benchmarks insert the ``tests/`` folder into ``sys.path`` first.
"""
