"""Schema validation with one-line, fixable error messages.

Every problem becomes ``<file>: <field.path>: <what is wrong> - fix: <how>``. The "how" comes from
an ``x-fix`` annotation on the failing schema node when there is one, else from the kind of
failure (missing field, unknown key, wrong type, ...). Unknown keys are rejected by the schemas
(``additionalProperties: false``) so typos never pass silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from xgap.errors import ValidationFailed, XgapError
from xgap.resources import schemas_dir

SCHEMAS = {
    "task-card": "task-card.schema.json",
    "submission": "submission.schema.json",
    "result-record": "result-record.schema.json",
    "experiment": "experiment.schema.json",
}


@cache
def load_schema(kind: str) -> dict:
    if kind not in SCHEMAS:
        raise XgapError(f"unknown document kind '{kind}' (expected one of: {', '.join(SCHEMAS)})")
    path = schemas_dir() / SCHEMAS[kind]
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(kind))


def _field_path(err) -> str:
    parts = []
    for p in err.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "(top level)"


def _short(x) -> str:
    """A bounded ``repr`` (why: a message must never serialise an attacker-sized value)."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlevel, r.maxlist, r.maxdict = 60, 60, 2, 4, 4
    return r.repr(x)


def _hint(err) -> str:
    fix = err.schema.get("x-fix") if isinstance(err.schema, dict) else None
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        sub = err.schema.get("properties", {}).get(missing, {})
        extra = f" ({sub['x-fix']})" if isinstance(sub, dict) and sub.get("x-fix") else ""
        return f"missing required field '{missing}'", f"add '{missing}'{extra}"
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})] if isinstance(err.instance, dict) else []
        what = f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(_short(k) for k in extra[:5])}"
        return what, f"remove it or use one of: {', '.join(allowed)}" if allowed else "remove it"
    if v == "enum":
        return f"{_short(err.instance)} is not allowed", fix or f"use one of: {', '.join(map(str, err.validator_value))}"
    if v == "const":
        return f"{_short(err.instance)} is not allowed", fix or f"use {err.validator_value!r}"
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return f"expected {want}, got {type(err.instance).__name__} {_short(err.instance)}"[:160], fix or f"give a {want}"
    if v == "uniqueItems":
        seen, dup = set(), None
        for x in err.instance:
            key = json.dumps(x, sort_keys=True)
            if key in seen:
                dup = x
                break
            seen.add(key)
        return f"duplicate item {_short(dup)}", fix or "remove the duplicate"
    if v in ("minItems", "minProperties"):
        return "is empty" if not err.instance else f"has too few items ({len(err.instance)})", fix or "add items"
    if v == "pattern":
        return f"{_short(err.instance)} does not match the expected form", fix or f"match the pattern {err.validator_value}"
    if v in ("oneOf", "anyOf"):
        subs = list(err.context or [])
        deeper = [e for e in subs if len(list(e.absolute_path)) > len(list(err.absolute_path))]
        if deeper:
            return _hint(max(deeper, key=lambda e: len(list(e.absolute_path))))
        required = [e for e in subs if e.validator == "required"]
        if required and len(required) == len(subs):
            names = [e.message.split("'")[1] for e in required if "'" in e.message]
            return (f"missing required field {' or '.join(repr(n) for n in names)}",
                    fix or f"add '{names[0]}'" + (" (a list of label strings in canonical order)" if names and names[0] == "labels" else ""))
        hinted = [e for e in subs if isinstance(e.schema, dict) and e.schema.get("x-fix")]
        shown = _short(err.instance)
        return f"{shown} is not a valid value", fix or (hinted[0].schema["x-fix"] if hinted else "see the schema for the allowed forms")
    return err.message[:200], fix or "see the schema"


def problems(document, kind: str, filename: str) -> list[str]:
    """All schema problems of ``document`` as one-line strings (empty list when valid)."""
    out = []
    errors = sorted(_validator(kind).iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    for err in errors:
        if err.validator in ("oneOf", "anyOf"):
            best = None
            for sub in err.context or []:
                if best is None or len(list(sub.absolute_path)) > len(list(best.absolute_path)):
                    best = sub
            target = best if best is not None and len(list(best.absolute_path)) > len(list(err.absolute_path)) else err
        else:
            target = err
        what, fix = _hint(target)
        out.append(f"{filename}: {_field_path(target)[:120]}: {what[:240]} - fix: {fix[:240]}")
    return list(dict.fromkeys(out))


def check(document, kind: str, filename: str) -> None:
    """Raise :class:`ValidationFailed` listing every problem, or return silently."""
    found = problems(document, kind, filename)
    if found:
        raise ValidationFailed(found)


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


def manifest_task_problems(doc: dict, filename: str) -> list[str]:
    """A manifest's ``tasks:`` keys must name target cards: a typo fails here, not after a run started."""
    from xgap.cards import card_files, load_card

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
    from xgap.cards import load_card_file

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
                    from xgap.store import sidecar_problem

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
