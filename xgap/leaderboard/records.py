"""Read a whole result store for the site: the store's strict reader plus the build cache.

Reading and checking records is the store layer's job (:func:`xgap.store.read_submission`,
:func:`xgap.record.parse_record`, whose fast hand-written type check keeps a 1,000-submission
build fast); the names are re-exported here for the site code. What is the site's own is the
cache of incremental builds.

For incremental site builds a submission folder is *stamped* (:func:`folder_stamps`): the
(mtime, ctime, inode) of the folder and of each task folder, taken before its files are read. The
store writes every record and manifest atomically (temp file + rename), and a rename changes the
folder's mtime, so unchanged stamps mean unchanged files -- checked with ~10 ``stat`` calls per
submission instead of one per record (162 here): at 1,000 submissions that is 0.06 s instead of
1-3 s. Not seen: a file rewritten *in place* (``echo ... > de.json``, some editors); build with
``--no-cache`` after such an edit. A folder modified within :data:`RACY_NS` of the build's start
is not trusted next time (timestamps have a coarse clock: a second change in the same tick would
leave the mtime as it was -- git's "racy" rule). Unchanged folders are served from the site's
cache (see :func:`xgap.leaderboard.render.build_site`): their table rows, and for grid cells their
:func:`pack`-ed records, checked when they were first read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xgap.record import loads  # noqa: F401 - re-exported for the site
from xgap.store import SubmissionFiles, read_store, submission_folders  # noqa: F401 - re-exported for the site
from xgap.store import read_submission as _read_submission

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
    """:func:`xgap.store.read_submission`; with ``since_ns`` (the build's start, ``time.time_ns()``)
    the folder is stamped before reading (:func:`folder_stamps`), for the cache."""
    stamps = folder_stamps(folder, since_ns) if since_ns is not None else None
    return _read_submission(folder, on_problem, stamps)


def dumps(obj) -> bytes:
    """JSON bytes (orjson when available)."""
    try:
        from orjson import dumps as fast

        return fast(obj)
    except ImportError:  # pragma: no cover
        return json.dumps(obj, ensure_ascii=False).encode()
