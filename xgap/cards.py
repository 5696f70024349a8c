"""Task cards: YAML files under ``tasks/``, with ``include:`` for shared defaults.

A card is resolved (includes merged, child keys overriding; mappings merged deeply, lists
replaced -- as lm-evaluation-harness does) and then validated against
``schemas/task-card.schema.json``. Code reads everything task-specific from the resolved card:
languages, labels, metrics, protocol settings and sources are never hard-coded elsewhere.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xgap.errors import XgapError
from xgap.resources import tasks_dir
from xgap.validation import check
from xgap.yamlio import read_yaml


def _merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve_includes(path: Path, _stack: tuple = (), _origin: Path | None = None) -> dict:
    """Read ``path`` and merge the files it includes (recursively), detecting cycles."""
    path = Path(path)
    shown = path  # messages name the path as the user gave it
    origin = _origin or path
    resolved = path.resolve()
    if resolved in _stack:
        chain = " -> ".join(p.name for p in (*_stack, resolved))
        raise XgapError(f"{origin}: include: cycle ({chain}) - fix: remove one of these includes")
    doc = read_yaml(path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise XgapError(f"{shown}: (top level): expected a mapping of card fields, got {type(doc).__name__} - fix: write 'key: value' lines")
    includes = doc.pop("include", None)
    if includes is None:
        return doc
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise XgapError(f"{shown}: include: expected a path or a list of paths - fix: e.g. include: ../_defaults/xtreme.yaml")
    merged: dict = {}
    for inc in includes:
        target = path.parent / inc
        if not target.is_file():
            raise XgapError(f"{shown}: include: '{inc}' not found (looked for {target}) - fix: give a path relative to {path.parent}")
        merged = _merge(merged, resolve_includes(target, (*_stack, resolved), origin))
    return _merge(merged, doc)


@dataclass
class Card:
    """A resolved, validated task card plus convenience accessors."""

    data: dict
    path: Path

    # --- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def kind(self) -> str:
        return self.data["kind"]

    @property
    def format(self) -> str:
        return self.data["format"]

    @property
    def version(self) -> int:
        return int(self.data["version"])

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved card (canonical JSON): changes whenever any setting does."""
        blob = json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    # --- languages ------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return [e if isinstance(e, str) else e["code"] for e in self.data["languages"]]

    @property
    def english(self) -> str:
        return self.data.get("english", "en")

    def source_name(self, lang: str) -> str:
        """The source's own name for ``lang`` (e.g. Tatoeba ``deu``, UD ``German``); default the code."""
        for e in self.data["languages"]:
            if isinstance(e, dict) and e["code"] == lang:
                return e.get("source", lang)
        return lang

    def resolve_language(self, lang: str) -> tuple[str, str]:
        """Map a user-given code (ISO 639-1, or the source's own name) to ``(code, source name)``.

        Unknown languages are errors, except for bitext retrieval where any language the local
        data holds may be run by its source code (Tatoeba has 112; XTREME uses 36).
        """
        for e in self.data["languages"]:
            code = e if isinstance(e, str) else e["code"]
            src = code if isinstance(e, str) else e.get("source", code)
            if lang in (code, src):
                return code, src
        if self.format == "bitext-retrieval" and re.fullmatch(r"[a-z]{2,3}", lang or ""):
            return lang, lang  # a language code only: it becomes a file name in the store
        raise XgapError(
            f"task '{self.name}' has no language '{lang}' - fix: use one of {', '.join(self.languages)} "
            f"(or add a line to {self.path})"
        )

    # --- labels, metrics, protocol --------------------------------------------------------
    @property
    def labels(self) -> list[str] | None:
        return list(self.data["labels"]) if "labels" in self.data else None

    @property
    def label_aliases(self) -> dict:
        return dict(self.data.get("label_aliases", {}))

    @property
    def metrics(self) -> list[str]:
        return list(self.data["metrics"])

    @property
    def primary_metric(self) -> str:
        return self.data["primary_metric"]

    @property
    def protocol(self) -> dict:
        return copy.deepcopy(self.data.get("protocol", {}))

    @property
    def recipe(self) -> dict:
        return dict(self.protocol.get("recipe", {}))

    @property
    def eval_split(self) -> str:
        return self.data["eval_split"]

    @property
    def category(self) -> str | None:
        return self.data.get("category")

    @property
    def has_gap(self) -> bool:
        return bool(self.data.get("gap", self.kind == "target"))

    @property
    def sources(self) -> dict:
        return copy.deepcopy(self.data["sources"])

    def summary(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "format": self.format,
            "languages": len(self.languages),
            "primary_metric": self.primary_metric,
            "version": self.version,
        }


def load_card_file(path: str | Path) -> Card:
    """Resolve and validate one card file."""
    p = Path(path)
    data = resolve_includes(p)
    check(data, "task-card", str(p))
    return Card(data=data, path=p)


def card_files(root: Path | None = None) -> dict[str, Path]:
    root = Path(root) if root else tasks_dir()
    files = {}
    for f in sorted(root.rglob("*.yaml")):
        if any(part.startswith("_") for part in f.relative_to(root).parts):
            continue
        files[f.stem] = f
    return files


@cache
def _load_cached(path: str, mtime: float) -> Card:
    return load_card_file(path)


def load_card(name: str, root: Path | None = None) -> Card:
    """The resolved card of task ``name`` (e.g. ``xnli``), from the shipped ``tasks/`` folder."""
    files = card_files(root)
    if name not in files:
        raise XgapError(f"unknown task '{name}' - fix: use one of {', '.join(sorted(files))} (xgap tasks list)")
    f = files[name]
    return _load_cached(str(f), f.stat().st_mtime)


def list_cards(root: Path | None = None) -> list[Card]:
    """All shipped cards, targets first, each group in file-name order."""
    cards = [load_card(n, root) for n in card_files(root)]
    return sorted(cards, key=lambda c: (c.kind != "target", c.path.parent.name, c.name))


def manifest_task_problems(doc: dict, filename: str) -> list[str]:
    """A manifest's ``tasks:`` keys must name target cards: a typo fails here, not after a run started."""
    known = card_files()
    targets = sorted(n for n in known if load_card(n).kind == "target")
    out = []
    tasks = doc.get("tasks") if isinstance(doc, dict) and isinstance(doc.get("tasks"), dict) else {}
    for task, spec in tasks.items():
        if task not in known:
            import difflib

            close = difflib.get_close_matches(task, targets, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            out.append(f"{filename}: tasks.{task}: unknown task - fix: {hint}use one of the targets {', '.join(targets)}")
        elif task not in targets:
            out.append(f"{filename}: tasks.{task}: is an intermediate task - fix: list target tasks only ({', '.join(targets)})")
        elif isinstance(spec, dict) and isinstance(spec.get("languages"), list):
            card = load_card(task)
            bad = [lang for lang in spec["languages"] if lang not in card.languages]
            if bad:
                out.append(f"{filename}: tasks.{task}.languages: {', '.join(map(repr, bad))} not among {task}'s languages - "
                           f"fix: use codes from {' '.join(card.languages)}")
    return out
