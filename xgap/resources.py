"""Locate the files xgap ships: task cards, JSON schemas and leaderboard templates.

In an installed wheel, ``tasks/`` and ``schemas/`` are bundled under ``xgap/_bundled/``; in a
checkout (including an editable install) they live at the repository root beside the package.
Both layouts are tried, bundled first, so ``pip install .`` and ``pip install -e .`` both work.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(name: str) -> Path:
    for candidate in (_PKG / "_bundled" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"xgap installation is missing its '{name}/' folder (looked in {_PKG / '_bundled'} and {_PKG.parent})")


def tasks_dir() -> Path:
    """Folder holding the shipped task cards (``targets/``, ``intermediate/``, ``_defaults/``)."""
    return _first_existing("tasks")


def schemas_dir() -> Path:
    """Folder holding the JSON Schemas (task card, submission manifest, result record)."""
    return _first_existing("schemas")


def templates_dir() -> Path:
    """Folder holding the leaderboard's Jinja templates (inside the package)."""
    return _PKG / "leaderboard" / "templates"
