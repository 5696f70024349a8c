"""Plain-text tables on stdout, as ``xgap tasks list`` and ``xgap data check`` print them."""

from __future__ import annotations


def print_table(rows) -> None:
    """``rows[0]`` is the header; columns are left-aligned to their widest cell, a dashed rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
