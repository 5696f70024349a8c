"""A result record: the typed :class:`Record`, its one builder and its one parser.

Every record of the store follows ``schemas/result-record.schema.json``. It is *built* in one
place (:class:`Record`, by the harness for evaluated records and by ``import-reported`` for
published ones) and written through :meth:`Record.to_dict`, whose key order and number format are
the store's byte format. It is *parsed* in one place (:func:`parse_record`): the store, the
leaderboard, ``xgap compare`` and ``import-reported`` all read records through it.

Why the parser has a hand-written type check: validating every record with jsonschema (~0.4 ms
each) alone would take a minute on a 1,000-submission store. So each record is first checked by
:func:`record_ok`, a mirror of the schema that is *at least as strict* as the schema; only a
record it rejects goes through the full jsonschema validator, which either produces the usual
one-line message naming the path or (when the fast check was merely stricter) accepts it. So no
invalid record is ever used, and valid ones cost microseconds. A test keeps the mirror in step
with the schema. The parser returns the checked ``dict`` (the site reads tens of thousands of
them); :meth:`Record.from_dict` gives the typed view where code reads fields by name.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from xgap.errors import XgapError
from xgap.validation import problems

try:  # orjson parses records ~7x faster than the json module; it is optional
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None

_NONE = type(None)
_S, _I, _N = frozenset({str}), frozenset({int}), frozenset({int, float})  # type() sets; bool is neither
# Top-level and provenance keys -> the exact Python types the schema allows (extra checks below).
_TOP_TYPES = {
    "record_version": _I, "status": _S, "submission": _S, "task": _S, "language": _S, "split": _S,
    "metrics": frozenset({dict}), "primary_metric": _S, "primary_score": _N, "n_examples": frozenset({int, _NONE}),
    "ci95": frozenset({dict}), "settings": frozenset({dict}), "predictions": frozenset({dict, _NONE}), "input_key": _S,
    "citation": _S, "provenance": frozenset({dict}),
}
_REQUIRED = frozenset({"record_version", "status", "submission", "task", "language", "metrics", "primary_metric",
                       "primary_score", "provenance"})
_PROV_TYPES = {
    "xgap_version": _S, "git_commit": frozenset({str, _NONE}), "card_version": _I, "card_hash": _S, "data_origin": _S,
    "data_fingerprint": _S, "model": frozenset({dict}), "parameters": frozenset({dict}), "libraries": frozenset({dict}),
    "device": _S, "seed": _I, "started_at": _S, "wall_seconds": _N, "source": _S, "data_caveats": frozenset({list}),
}
_MODEL_TYPES = {"id": _S, "revision": frozenset({str, _NONE}), "weights_hash": _S}
_LANG = re.compile(r"[a-z]{2,3}|all")
_SHA = re.compile(r"[0-9a-f]{64}")


def record_ok(rec) -> bool:
    """True only if ``rec`` certainly satisfies the result-record schema (fast, conservative)."""
    if type(rec) is not dict or not rec.keys() <= _TOP_TYPES.keys() or not _REQUIRED <= rec.keys():
        return False
    for k, v in rec.items():
        if type(v) not in _TOP_TYPES[k]:
            return False
    if rec["record_version"] != 1 or rec["status"] not in ("evaluated", "reported") \
            or not rec["submission"] or not rec["task"] or not _LANG.fullmatch(rec["language"]):
        return False
    metrics = rec["metrics"]
    if not metrics:
        return False
    for v in metrics.values():
        if type(v) not in _N:
            return False
    n = rec.get("n_examples")
    if n is not None and n < 0:
        return False
    for v in rec.get("ci95", {}).values():
        if type(v) is not list or len(v) != 2 or type(v[0]) not in _N or type(v[1]) not in _N:
            return False
    p = rec.get("predictions")
    if p is not None and (p.keys() != {"file", "sha256"} or type(p["file"]) is not str or type(p["sha256"]) is not str
                          or not _SHA.fullmatch(p["sha256"])):
        return False
    prov = rec["provenance"]
    if "xgap_version" not in prov:
        return False
    for k, v in prov.items():
        allowed = _PROV_TYPES.get(k)
        if allowed is not None and type(v) not in allowed:
            return False
    if prov.get("wall_seconds", 0) < 0:
        return False
    m = prov.get("model")
    if m:
        for k, v in m.items():
            allowed = _MODEL_TYPES.get(k)
            if allowed is not None and type(v) not in allowed:
                return False
    params = prov.get("parameters")
    if params:
        for k in ("total", "non_embedding"):
            if k in params and type(params[k]) is not int:
                return False
    libs = prov.get("libraries")
    if libs:
        for v in libs.values():
            if v is not None and type(v) is not str:
                return False
    return True


def loads(data: bytes):
    if _fast_loads is not None:
        try:
            return _fast_loads(data)
        except ValueError:
            pass  # NaN, huge integers, ...: let the json module decide (and word the error)
    return json.loads(data)


def parse_record(path: Path | str, data: bytes) -> dict:
    """Parse and validate one record's bytes; raise a one-line :class:`XgapError` naming ``path``."""
    try:
        rec = loads(data)
    except ValueError as exc:
        raise XgapError(f"{path}: corrupt result record ({exc}) - delete it and rerun to recompute") from None
    if not record_ok(rec):
        found = problems(rec, "result-record", str(path))
        if found:
            raise XgapError(found[0] + (f" (+{len(found) - 1} more)" if len(found) > 1 else ""))
    bad = _non_finite(rec)
    if bad:
        raise XgapError(f"{path}: {bad}: not a finite number - fix: rerun that record (a NaN or infinite score is never shown)")
    return rec


def _non_finite(rec: dict) -> str | None:
    """The first score field holding NaN or +-inf (JSON Schema's "number" lets them through)."""
    if not math.isfinite(rec["primary_score"]):
        return "primary_score"
    for k, v in rec["metrics"].items():
        if not math.isfinite(v):
            return f"metrics.{k}"
    for k, v in (rec.get("ci95") or {}).items():
        if isinstance(v, list) and not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
            return f"ci95.{k}"
    return None


@dataclass
class Record:
    """One result record (``status`` "evaluated" or "reported"); ``None`` marks an absent optional field.

    The one builder: construct it with keywords. :meth:`to_dict` is what the store writes.
    """

    submission: str
    task: str
    language: str
    metrics: dict
    primary_metric: str
    primary_score: float
    provenance: dict
    status: str = "evaluated"
    split: str | None = None
    n_examples: int | None = None  # always written (null for reported figures: no example count)
    ci95: dict | None = None
    settings: dict | None = None
    input_key: str | None = None
    citation: str | None = None
    predictions: dict | None = None  # {"file", "sha256"} of the sidecar; set by the store when it writes one
    record_version: int = 1

    def to_dict(self) -> dict:
        """The record as the store writes it: keys in the store's order, absent optional fields left out."""
        out = {"record_version": self.record_version, "status": self.status, "submission": self.submission,
               "task": self.task, "language": self.language}
        if self.split is not None:
            out["split"] = self.split
        out.update(metrics=self.metrics, primary_metric=self.primary_metric, primary_score=self.primary_score,
                   n_examples=self.n_examples)
        for key in ("ci95", "settings", "input_key", "citation"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["provenance"] = self.provenance
        if self.predictions is not None:
            out["predictions"] = self.predictions
        return out

    @classmethod
    def from_dict(cls, rec: dict) -> Record:
        """The typed view of a record dict (one :func:`parse_record` returned, or a built one)."""
        return cls(**{k: rec[k] for k in _FIELDS if k in rec})

    @classmethod
    def parse(cls, path: Path | str, data: bytes) -> Record:
        """Parse and check one record's bytes (see :func:`parse_record`)."""
        return cls.from_dict(parse_record(path, data))


_FIELDS = frozenset(Record.__dataclass_fields__)


def as_dict(record: Record | dict) -> dict:
    """A record as a plain dict, whichever form it is in (the store writes both)."""
    return record.to_dict() if isinstance(record, Record) else record
