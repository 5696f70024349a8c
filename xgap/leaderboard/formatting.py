"""How the site and the reports write numbers and names: every ``fmt_*`` helper in one leaf module.

Why a module of its own: the page builders (:mod:`.render`, :mod:`.grids`) and the text report of
``xgap grid report`` (:mod:`.grid_report`) share these, while the numbers themselves are computed
below the site (:mod:`xgap.grid.summary`, :mod:`xgap.metrics`), which never formats. Only the
standard library is imported.
"""

from __future__ import annotations

import hashlib
import re

#: No result at all (never written as 0).
DASH = "\u2014"


def fmt(x, nd: int = 1) -> str:
    """A number with ``nd`` decimals, or an em dash for unknown (never 0)."""
    return DASH if x is None else f"{x:.{nd}f}"


def fmt2(x: float | None, signed: bool = False) -> str:
    """Two decimals (``+`` sign with ``signed``), or an em dash for unknown."""
    if x is None:
        return DASH
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def fmt_params(n: int | None) -> str:
    """A parameter count as ``118M``, ``1.2B``, ``560k`` (an em dash when unknown)."""
    if not n:
        return DASH
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.3g}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return str(n)


def fmt_gap(c) -> str:
    """A grid cell's gap, ``"45.00 ± 3.10"`` (or just the gap without an interval; an em dash when unknown)."""
    if c.gap is None:
        return DASH
    hw = c.gap_halfwidth
    return fmt2(c.gap) if hw is None else f"{c.gap:.2f} \u00b1 {hw:.2f}"


def fmt_change(r) -> str:
    """A gain row's gap change, ``"-3.25 ± 4.10"`` (an em dash when unknown)."""
    if r.gap_change is None:
        return DASH
    return fmt2(r.gap_change, True) if r.gap_change_halfwidth is None else f"{r.gap_change:+.2f} \u00b1 {r.gap_change_halfwidth:.2f}"


def slug(submission_id: str) -> str:
    """A file name for a submission (or grid) page; ids outside ``[a-z0-9_.-]`` get a hash suffix (no collisions)."""
    if re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", submission_id) and len(submission_id) <= 100:
        return submission_id
    base = re.sub(r"[^a-z0-9_.-]+", "-", submission_id.lower()).strip("-.")[:60] or "submission"
    return f"{base}-{hashlib.sha256(submission_id.encode()).hexdigest()[:8]}"
