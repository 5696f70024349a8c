"""Task formats, one module per format (:mod:`xgap.formats.registry` lists them, one line each).

A format module declares everything a format means end to end -- reader layouts, hub mapping,
zero-shot evaluator, training pieces, export and scorer -- in one :class:`~xgap.formats.registry.Format`.
"""

from __future__ import annotations

from xgap.formats.registry import Format, evaluator_for, format_of, get_format, register_format

__all__ = ["Format", "evaluator_for", "format_of", "get_format", "register_format"]
