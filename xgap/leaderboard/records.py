"""Read a whole result store quickly and strictly, for the leaderboard and ``xgap compare``.

Why not :meth:`xgap.store.ResultStore.iter_records`: it validates every record with jsonschema
(~0.4 ms each), which alone would take a minute on a 1,000-submission store. Here each record is
first checked by :func:`record_ok`, a hand-written mirror of ``schemas/result-record.schema.json``
that is *at least as strict* as the schema; only a record it rejects goes through the full
jsonschema validator, which either produces the usual one-line message naming the path or (when
the fast check was merely stricter) accepts it. So no invalid record is ever used, and valid ones
cost microseconds. A test keeps the mirror in step with the schema.

A record must also sit where its content says (``<submission>/<task>/<language>.json``): a file
copied into the wrong folder would otherwise be attributed to the wrong model.

For incremental site builds a submission folder is *stamped* (:func:`folder_stamps`): the
(mtime, ctime, inode) of the folder and of each task folder, taken before its files are read. The
store writes every record and manifest atomically (temp file + rename), and a rename changes the
folder's mtime, so unchanged stamps mean unchanged files -- checked with ~10 ``stat`` calls per
submission instead of one per record (162 here): at 1,000 submissions that is 0.06 s instead of
1-3 s. Not seen: a file rewritten *in place* (``echo ... > de.json``, some editors); build with
``--no-cache`` after such an edit. A folder modified within :data:`RACY_NS` of the build's start
is not trusted next time (timestamps have a coarse clock: a second change in the same tick would
leave the mtime as it was -- git's "racy" rule). Unchanged folders are served from a cache of
:func:`pack`-ed records that were checked when they were first read.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from xgap.errors import XgapError

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
        from xgap.validation import problems

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
class SubmissionFiles:
    """One submission folder of a store: its manifest.json (if any) and its records."""

    id: str
    folder: Path
    manifest_file: dict | None = None  # the parsed manifest.json: {"manifest", "parameters", "updated_at"}
    records: list = field(default_factory=list)  # [(path, record)] in (task, language) order
    stamps: dict | None = None  # folder stamps taken before reading (see :func:`folder_stamps`); None: not cacheable
    from_cache: bool = False  # records are slim cached copies (enough for the table, not for the provenance page)


def read_manifest_file(folder: Path) -> dict | None:
    """``<submission>/manifest.json`` parsed and checked, or None when absent."""
    path = folder / "manifest.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise XgapError(f"{path}: cannot read ({exc})") from None
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise XgapError(f"{path}: corrupt submission manifest ({exc}) - delete it; `xgap run` rewrites it") from None
    if type(doc) is not dict or type(doc.get("manifest")) is not dict:
        raise XgapError(f"{path}: expected {{\"manifest\": {{...}}, \"parameters\": ...}} - delete it; `xgap run` rewrites it")
    from xgap.validation import problems

    found = problems(doc["manifest"], "submission", f"{path}: manifest")
    if found:
        raise XgapError(found[0])
    params = doc.get("parameters")
    if params is not None and (type(params) is not dict or type(params.get("total")) is not int):
        raise XgapError(f"{path}: parameters: expected {{\"total\": integer, ...}} or null - fix or delete the file")
    return doc


def _record_files(folder: Path) -> list:
    """``[(task, name, path)]`` of the record files in a submission folder, sorted."""
    try:
        task_dirs = sorted((e.name, e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith((".", "_")))
    except OSError as exc:
        raise XgapError(f"{folder}: cannot list ({exc})") from None
    out = []
    for task, tdir in task_dirs:
        for name in sorted(e.name for e in os.scandir(tdir)):
            if name.endswith(".json") and not name.startswith(".") and not name.endswith(".predictions.json"):
                out.append((task, name, f"{tdir}/{name}"))
    return out


#: A folder whose mtime is this close to (or after) the build's start is re-read next time: the
#: kernel stamps files from a coarse clock (a tick of 1-10 ms), so a second change within the same
#: tick leaves the mtime as it was. Filesystems with whole-second timestamps get the longer window.
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


def _stamp(st) -> list:
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def folder_stamps(folder: Path | str, since_ns: int) -> dict | None:
    """``{"": stamp of the folder, task: stamp of its folder}``, or None when any is "racy".

    Taken *before* the files are read, so a change made while reading shows up as a changed stamp
    next time. None (do not trust next time) when a folder changed at or after ``since_ns - RACY_NS``
    (``RACY_COARSE_NS`` for a whole-second mtime).
    """
    folder = str(folder)
    try:
        out = {"": _stamp(os.stat(folder))}
        for e in os.scandir(folder):
            if e.is_dir() and not e.name.startswith((".", "_")):
                out[e.name] = _stamp(e.stat())
    except OSError:
        return None
    for mtime, _, _ in out.values():
        if mtime >= since_ns - (RACY_COARSE_NS if mtime % 1_000_000_000 == 0 else RACY_NS):
            return None
    return out


def stamps_unchanged(folder: Path | str, stamps: dict | None) -> bool:
    """True when the folder and every task folder still carry ``stamps`` (no entry added, removed or renamed)."""
    if not stamps:
        return False
    folder = str(folder)
    try:
        for name, old in stamps.items():
            if _stamp(os.stat(f"{folder}/{name}" if name else folder)) != old:
                return False
    except OSError:
        return False
    return True


def pack(rec: dict) -> list:
    """What the table needs from a record, as a flat list (the cache keeps only this; fast to parse).

    Of the metrics only the primary one and QA's exact_match/f1 (for the EM and F1 gaps) are kept:
    nothing else reaches the overview or the task pages.
    """
    ci = (rec.get("ci95") or {}).get(rec["primary_metric"])
    params = rec["provenance"].get("parameters") or {}
    metrics = {k: v for k, v in rec["metrics"].items() if k in _KEEP_METRICS or k == rec["primary_metric"]}
    return [rec["task"], rec["language"], rec["status"], rec["primary_metric"], rec["primary_score"], rec.get("n_examples"),
            ci, metrics, rec.get("citation"), params.get("total"), params.get("non_embedding"),
            rec["provenance"].get("data_caveats")]


_KEEP_METRICS = frozenset({"exact_match", "f1"})


def unpack(folder: str, submission: str, row: list) -> tuple:
    """``(path, slim record)`` from :func:`pack`'s list: the fields :mod:`.model` reads, nothing else."""
    task, lang, status, metric, score, n, ci, metrics, citation, total, non_emb, caveats = (list(row) + [None])[:12]
    rec = {"status": status, "submission": submission, "task": task, "language": lang, "metrics": metrics,
           "primary_metric": metric, "primary_score": score, "n_examples": n,
           "provenance": {"parameters": {"total": total, "non_embedding": non_emb}} if total is not None else {}}
    if caveats:
        rec["provenance"]["data_caveats"] = caveats
    if ci:
        rec["ci95"] = {metric: ci}
    if citation is not None:
        rec["citation"] = citation
    return f"{folder}/{task}/{lang}.json", rec


def read_submission(folder: Path, on_problem=None, since_ns: int | None = None) -> SubmissionFiles:
    """Every record of one submission folder (``<task>/<lang>.json``), checked.

    ``on_problem(message)`` receives each problem and the record is dropped; without it the first
    problem raises. Either way a bad record is never used. With ``since_ns`` (the build's start,
    ``time.time_ns()``) the folder is stamped before reading (:func:`folder_stamps`), for the cache.
    """
    folder = Path(folder)
    sub = SubmissionFiles(id=folder.name, folder=folder)
    stamps = folder_stamps(folder, since_ns) if since_ns is not None else None
    files = _record_files(folder)
    clean = True

    def problem(msg: str) -> None:
        nonlocal clean
        clean = False
        if on_problem is None:
            raise XgapError(msg)
        on_problem(msg)

    try:
        sub.manifest_file = read_manifest_file(folder)
    except XgapError as exc:
        problem(str(exc))
    mid = (sub.manifest_file or {}).get("manifest", {}).get("id")
    if mid is not None and mid != sub.id:
        problem(f"{folder / 'manifest.json'}: manifest id '{str(mid)[:80]}' differs from its folder '{sub.id}' - fix: move the "
                "folder or correct the id (a record is shown under the submission whose folder holds it)")
        sub.manifest_file = None
    known = _known_tasks()
    for task, name, path in files:
        if task not in known:
            problem(f"{path}: unknown task '{task[:80]}' - fix: remove the folder or use one of {', '.join(sorted(known))}")
            continue
        try:
            with open(path, "rb") as fh:
                rec = parse_record(path, fh.read())
        except XgapError as exc:
            problem(str(exc))
            continue
        lang = name[:-5]
        if rec["submission"] != sub.id or rec["task"] != task or rec["language"] != lang:
            problem(f"{path}: record says {rec['submission']}/{rec['task']}/{rec['language']} but sits at "
                    f"{sub.id}/{task}/{lang} - move it to the matching folder or rerun")
            continue
        sub.records.append((path, rec))
    # never cache a folder with problems: they are reported on every build
    sub.stamps = stamps if clean else None
    return sub


@lru_cache(maxsize=1)
def _known_tasks() -> frozenset:
    """Task names with a card (once per process: a store has many submission folders)."""
    from xgap.cards import card_files

    return frozenset(card_files())


def from_cache(folder: Path, entry: dict, stamps: dict) -> SubmissionFiles:
    """A submission served from a cache entry (:func:`cache_entry`): slim records, no file read."""
    folder = Path(folder)
    base = str(folder)
    return SubmissionFiles(id=folder.name, folder=folder, manifest_file=entry.get("manifest_file"),
                           records=[unpack(base, folder.name, r) for r in entry["records"]], stamps=stamps, from_cache=True)


def submission_folders(root: Path | str) -> list[Path]:
    """The submission folders of a store (sorted; hidden and ``_``-prefixed folders skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise XgapError(f"{root}: no such results folder - fix: run `xgap run` or `xgap import-reported` first, or pass --results")
    return sorted(Path(e.path) for e in os.scandir(root) if e.is_dir() and not e.name.startswith((".", "_")))


def read_store(root: Path | str, on_problem=None) -> list[SubmissionFiles]:
    """All submissions of the store at ``root``, each with its checked records."""
    return [read_submission(f, on_problem) for f in submission_folders(root)]


def cache_entry(sub: SubmissionFiles) -> dict:
    """The cache entry for ``sub``: its manifest and its records :func:`pack`-ed."""
    return {"manifest_file": sub.manifest_file, "records": [pack(r) for _, r in sub.records]}


def dumps(obj) -> bytes:
    """JSON bytes (orjson when available)."""
    try:
        from orjson import dumps as fast

        return fast(obj)
    except ImportError:  # pragma: no cover
        return json.dumps(obj, ensure_ascii=False).encode()
