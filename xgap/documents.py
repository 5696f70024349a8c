"""The documents xgap reads -- task cards, submission manifests, result records, experiment
grids -- found under some paths and validated: what ``xgap validate`` runs.

Why here and not in :mod:`xgap.validation`: that module only checks a document against its
schema (cards use it while loading); validating a store's files also needs the cards (a
manifest's task names) and the store (a record's predictions sidecar), which sit above it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from xgap.cards import load_card_file, manifest_task_problems
from xgap.errors import ValidationFailed, XgapError
from xgap.store import sidecar_problem
from xgap.validation import check, problems


def detect_kind(path: Path, document) -> str:
    """Which schema a file follows, by its content first and its name/place second.

    ``<store>/<submission>/manifest.json`` (written by ``xgap run`` / ``import-reported``) wraps a
    submission manifest as ``{"manifest": ..., "parameters": ..., "updated_at": ...}``: kind
    ``store-manifest``. A file that is none of the known documents is ``unknown``; YAML files with
    no other marker stay task cards (cards are the only YAML documents without one)."""
    if isinstance(document, dict):
        if path.name == "manifest.json" and isinstance(document.get("manifest"), dict):
            return "store-manifest"
        if "record_version" in document or (path.suffix == ".json" and "primary_score" in document):
            return "result-record"
        if "encoders" in document and "targets" in document:
            return "experiment"
        if "base_encoder" in document or ("model" in document and "intermediate" in document) or path.parent.name == "submissions":
            return "submission"
        if path.suffix != ".json" or {"kind", "format", "languages"} & set(document):
            return "task-card"
    elif path.suffix != ".json":
        return "task-card"
    return "unknown"


def store_manifest_problems(doc: dict, filename: str) -> list[str]:
    """Problems of a result store's ``manifest.json`` (the submission manifest it wraps, and its counts)."""
    out = problems(doc["manifest"], "submission", f"{filename}: manifest")
    out += manifest_task_problems(doc["manifest"], f"{filename}: manifest")
    params = doc.get("parameters")
    if params is not None and (type(params) is not dict or type(params.get("total")) is not int):
        out.append(f"{filename}: parameters: expected {{\"total\": integer, ...}} or null - fix: correct or delete the file "
                   f"(`xgap run` rewrites it)")
    return out


def iter_documents(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to the YAML/JSON files below them; skip shared ``_defaults`` fragments."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix in (".yaml", ".yml", ".json") and not any(part.startswith(("_", ".")) for part in f.relative_to(p).parts):
                    if f.name.endswith(".predictions.json"):
                        continue
                    files.append(f)
        elif p.exists():
            files.append(p)
        else:
            raise XgapError(f"{p}: no such file or folder")
    return files


def validate_paths(paths: Iterable[str | Path], skipped: list | None = None) -> list[str]:
    """Validate every card, manifest and record under ``paths``; return the problem lines.

    Files found by walking a folder that are none of the known documents (e.g. a training run's
    ``lineage.json``) are not errors: they are appended to ``skipped``. A file named explicitly must
    be one of them."""
    out: list[str] = []
    named = {Path(p) for p in paths if not Path(p).is_dir()}
    for f in iter_documents(paths):
        try:
            if f.suffix == ".json":
                from xgap.yamlio import read_document_text

                try:
                    doc = json.loads(read_document_text(f))
                except json.JSONDecodeError as exc:
                    out.append(f"{f}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}) - fix: correct the syntax at that position")
                    continue
            else:
                from xgap.yamlio import read_yaml

                doc = read_yaml(f)
            kind = detect_kind(f, doc)
            if kind == "unknown":
                if f in named:
                    out.append(f"{f}: not a task card, submission manifest, result record or experiment grid - fix: "
                               f"pass only those files (or the folders holding them)")
                elif skipped is not None:
                    skipped.append(f)
            elif kind == "task-card":
                load_card_file(f)  # resolves include: and validates the resolved card
            elif kind == "store-manifest":
                out.extend(store_manifest_problems(doc, str(f)))
            else:
                check(doc, kind, str(f))
                if kind == "result-record":
                    side = sidecar_problem(doc, f)
                    if side:
                        out.append(f"{side} - fix: rerun that record (xgap run recomputes it)")
                if kind == "submission":
                    out.extend(manifest_task_problems(doc, str(f)))
        except ValidationFailed as exc:
            out.extend(exc.problems)
        except XgapError as exc:
            out.append(str(exc))
    return out
