"""YAML reading with errors that name the file and line (never a traceback)."""

from __future__ import annotations

from pathlib import Path

from .errors import XgapError


def read_yaml(path: str | Path):
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise XgapError(f"{p}: file not found") from None
    except OSError as exc:
        raise XgapError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise XgapError(f"{p}{where}: invalid YAML ({problem}) - fix: correct the syntax at that position") from None
