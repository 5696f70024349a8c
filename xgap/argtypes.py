"""Range-checked argparse types: the one place numeric command-line values are checked.

Why: a negative ``--limit`` silently evaluated 995 of 1000 examples (Python's ``[:-5]``), a NaN
``--tolerance`` turned the regression gate off (every comparison with NaN is false), and an
absurd ``--batch-size`` allocated without bound. Each flag therefore names its range here, and a
value outside it is refused by argparse before any work starts (the CLI prints it as one
``xgap:`` line). Standard library only: ``xgap --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import math

#: Upper bound for "a count of examples/tokens/steps": far above any real setting, small enough
#: that nothing sized by it can exhaust memory by itself.
MAX_COUNT = 1 << 40
#: Examples in one batch (the card recipes use 8..32).
MAX_BATCH = 1 << 16


def _int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {str(text)[:40]!r}") from None


def _float(text: str) -> float:
    try:
        v = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {str(text)[:40]!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {str(text)[:40]!r}")
    return v


def int_range(lo: int, hi: int = MAX_COUNT):
    """An argparse type accepting whole numbers in ``lo..hi``."""

    def parse(text: str) -> int:
        v = _int(text)
        if not lo <= v <= hi:
            want = f"at least {lo:,}" if hi == MAX_COUNT else f"between {lo:,} and {hi:,}"
            raise argparse.ArgumentTypeError(f"must be {want}, got {v:,}"[:120])
        return v

    parse.__name__ = f"int in {lo}..{hi}"
    return parse


def float_range(lo: float, hi: float = math.inf, lo_open: bool = False, what: str = ""):
    """An argparse type accepting finite numbers ``>= lo`` (``> lo`` with ``lo_open``) and ``<= hi``;
    ``what`` names the kind of value in the message (e.g. "a fraction")."""

    def parse(text: str) -> float:
        v = _float(text)
        if v < lo or (lo_open and v == lo) or v > hi:
            low = f"> {lo:g}" if lo_open else f">= {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {what + ' ' if what else ''}{low}" + (f" and <= {hi:g}" if hi != math.inf else "") + f", got {v:g}")
        return v

    parse.__name__ = "number"
    return parse


positive_int = int_range(1)
nonneg_int = int_range(0)
seed_int = int_range(0, (1 << 32) - 1)
batch_size = int_range(1, MAX_BATCH)
finite_nonneg_float = float_range(0.0)
positive_float = float_range(0.0, lo_open=True)
fraction = float_range(0.0, 1.0, what="a fraction")
