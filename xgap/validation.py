"""Schema validation with one-line, fixable error messages.

Every problem becomes ``<file>: <field.path>: <what is wrong> - fix: <how>``. The "how" comes from
an ``x-fix`` annotation on the failing schema node when there is one, else from the kind of
failure (missing field, unknown key, wrong type, ...). Unknown keys are rejected by the schemas
(``additionalProperties: false``) so typos never pass silently.
"""

from __future__ import annotations

import json
from functools import cache

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
