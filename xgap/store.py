"""The result store: ``<root>/<submission>/<task>/<lang>.json`` records plus prediction sidecars.

Why this shape: a run can be interrupted at any moment and must lose nothing. Each record is
written atomically (temp file, fsync, rename, fsync of the folder) and only after its predictions
sidecar is safely on disk, so a record's presence means the whole (submission, task, language)
result is complete. A lock file keeps two runs from interleaving writes into one store, and each
record carries an ``input_key`` (hash of card, data, model weights and settings) so a rerun skips
exactly the records whose inputs are unchanged.

Reading a whole store (:func:`read_store`, :func:`read_submission`: the leaderboard, ``xgap
compare``, ``import-reported``) is strict and fast: every record goes through the one parser,
:func:`xgap.record.parse_record`, and must sit where its content says.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from xgap.errors import ValidationFailed, XgapError
from xgap.manifest import Manifest
from xgap.record import Record, as_dict, parse_record
from xgap.validation import problems

log = logging.getLogger("xgap")


#: What a submission id, task name or language code may look like: these become folder and file
#: names in the store, so nothing that could climb out of it ('/', '..', a leading dot) passes.
_TMP = re.compile(r"\..+\.\d+\.tmp")
_IDENT = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")


def safe_identifier(value, what: str) -> str:
    """``value`` if it is safe as one path component of the store, else a one-line error.

    The one place identifiers that become paths are checked (why: ``--langs x/../../esc`` once
    wrote a predictions file outside ``--output``). Lower-case letters, digits, ``_ . -``; no
    leading dot, no ``..``, at most 100 characters.
    """
    if not isinstance(value, str) or not _IDENT.fullmatch(value) or ".." in value:
        shown = repr(value)[:60] + ("..." if len(repr(value)) > 60 else "")
        raise XgapError(f"{what} {shown} is not a valid identifier - fix: use lower-case letters, digits, '_', '.', '-' "
                        "(no '/', no '..', at most 100 characters)")
    return value


def _os_error(path: Path, exc: OSError) -> XgapError:
    """A one-line error for a failed write: disk full, read-only store, permission."""
    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded", errno.EROFS: "the file system is read-only",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(exc.errno, exc.strerror or str(exc))
    return XgapError(f"{path}: cannot write ({why}) - finished records are kept; free space or fix permissions, "
                     "then rerun the same command to resume")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one.

    A failed write (disk full, read-only, permission) removes its temp file and raises a one-line
    :class:`XgapError`; the old file, if any, is untouched.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _os_error(path, exc) from None
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")


def atomic_write_json(path: Path, obj) -> str:
    """Atomically write ``obj`` as JSON; return the SHA-256 of the bytes written."""
    data = _json_bytes(obj)
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def input_key(**parts) -> str:
    """Stable hash of everything a result depends on (order-independent, JSON-canonical)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class ResultStore:
    """A folder of result records. Paths: ``<root>/<submission>/<task>/<lang>.json``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---------------------------------------------------------------- paths
    def record_path(self, submission: str, task: str, lang: str) -> Path:
        return self._folder(submission, task) / f"{safe_identifier(lang, 'language')}.json"

    def predictions_path(self, submission: str, task: str, lang: str) -> Path:
        return self._folder(submission, task) / f"{safe_identifier(lang, 'language')}.predictions.json"

    def _folder(self, submission: str, task: str) -> Path:
        return self.root / safe_identifier(submission, "submission id") / safe_identifier(task, "task")

    # ---------------------------------------------------------------- locking
    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock on the store for the duration of a run (fails fast if held)."""
        import fcntl

        path = self.root / ".lock"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+")
        except OSError as exc:
            raise _os_error(path, exc) from None
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise XgapError(f"{self.root}: another xgap run holds the store lock ({holder}) - wait for it or use another --output") from None
                raise
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            self.remove_stale_temp_files()
            yield self
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fh.close()

    def remove_stale_temp_files(self) -> int:
        """Delete temp files a killed or failed writer left behind (``.<name>.<pid>.tmp``).

        Called with the lock held, so no other xgap process is writing into the store: every
        temp file here is stale. Returns how many were removed.
        """
        n = 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if _TMP.fullmatch(name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))
                        n += 1
        return n

    # ---------------------------------------------------------------- writing
    def write(self, record: Record | dict, predictions: dict | None = None) -> Path:
        """Validate, then atomically write one record (its predictions sidecar first).

        Nothing is written before the record (with the sidecar's hash in it) has passed the
        schema and its identifiers are safe path components; the sidecar goes to disk before the
        record, so a record's presence still means its sidecar is complete.
        """
        record = as_dict(record)
        sub, task, lang = record["submission"], record["task"], record["language"]
        path = self.record_path(sub, task, lang)
        data = None
        if predictions is not None:
            sidecar = self.predictions_path(sub, task, lang)
            data = _json_bytes(predictions)
            record = dict(record, predictions={"file": sidecar.name, "sha256": hashlib.sha256(data).hexdigest()})
        found = problems(record, "result-record", str(path))
        if found:
            raise ValidationFailed(found)
        if data is not None:
            atomic_write_bytes(sidecar, data)
        atomic_write_json(path, record)
        return path

    # ---------------------------------------------------------------- reading
    def read(self, path: Path) -> dict:
        """Read and validate one record; a corrupt or invalid record is an error naming its path."""
        return read_record(path)

    def find(self, submission: str, task: str, lang: str) -> Record | None:
        """The stored record, or None when it is absent, invalid, or its sidecar is missing/changed
        (all three are recomputed by the run; `xgap validate` reports them)."""
        path = self.record_path(submission, task, lang)
        if not path.exists():
            return None
        try:
            record = read_record(path)
        except XgapError:
            return None
        problem = sidecar_problem(record, path)
        if problem:
            log.info("%s; recomputing", problem)
            return None
        return Record.from_dict(record)

    def load_predictions(self, record: Record | dict, record_path: Path) -> dict | None:
        record = as_dict(record)
        meta = record.get("predictions")
        if not meta:
            return None
        problem = sidecar_problem(record, record_path)
        if problem:
            raise XgapError(f"{problem} - fix: rerun that record (xgap run recomputes it)")
        return json.loads((record_path.parent / meta["file"]).read_bytes())

    def iter_records(self, submission: str | None = None) -> Iterator[tuple[Path, dict]]:
        """All valid records (sorted by path); invalid ones raise naming their path."""
        base = self.root / submission if submission else self.root
        for path in sorted(base.rglob("*.json")):
            if path.name.endswith(".predictions.json") or path.name.startswith("."):
                continue
            if path.parent.name in ("_manifests",) or path.name == "manifest.json":
                continue
            yield path, read_record(path)


def sidecar_problem(record: dict, record_path: Path) -> str | None:
    """Why ``record``'s predictions sidecar cannot be trusted (missing, renamed, changed), or None.

    The record binds its sidecar by name and SHA-256 (``predictions.file``/``sha256``); the name
    must be the store's own ``<lang>.predictions.json`` beside the record, never a path. Records
    without a ``predictions`` entry (older or reported ones) have nothing to check.
    """
    meta = record.get("predictions")
    if not meta:
        return None
    side = Path(record_path).parent / f"{Path(record_path).stem}.predictions.json"
    if meta.get("file") != side.name:
        return f"{record_path}: predictions.file {str(meta.get('file'))[:60]!r} is not the record's sidecar {side.name!r}"
    try:
        data = side.read_bytes()
    except FileNotFoundError:
        return f"{side}: predictions file missing (the record {record_path} needs it)"
    except OSError as exc:
        return f"{side}: unreadable predictions file ({exc.strerror})"
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return f"{side}: predictions file does not match the sha256 in {record_path} (changed or truncated)"
    return None


def read_record(path: Path) -> dict:
    """Read and validate one record (a fast structural check first, full jsonschema on doubt)."""
    return parse_record(path, _read_small_file(path))


# ---------------------------------------------------------------- reading a whole store
# Strict and fast, for the leaderboard, ``xgap compare`` and ``import-reported``: each record goes
# through :func:`xgap.record.parse_record` and must sit where its content says
# (``<submission>/<task>/<language>.json``): a file copied into the wrong folder would otherwise be
# attributed to the wrong model.
@dataclass
class SubmissionFiles:
    """One submission folder of a store: its manifest.json (if any) and its records."""

    id: str
    folder: Path
    manifest_file: dict | None = None  # the parsed manifest.json: {"manifest", "parameters", "updated_at"}
    records: list = field(default_factory=list)  # [(path, record)] in (task, language) order
    stamps: dict | None = None  # folder stamps taken before reading (see :func:`xgap.leaderboard.records.folder_stamps`); None: not cacheable
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
    try:
        Manifest.parse(doc["manifest"], f"{path}: manifest")
    except ValidationFailed as exc:
        raise XgapError(exc.problems[0]) from None
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


_CHUNK = 16384


def _read_small_file(path) -> bytes:
    """The bytes of a record file, through ``os.open``/``os.read``: about half the CPU of
    ``open().read()`` (no buffered file object; ~7 vs ~13 microseconds a file here), which a
    162,000-record store reads on every cold site build. Read until ``read`` returns nothing, so a
    short read (network and FUSE file systems, a signal) never truncates a record."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            chunks = []
            while chunk := os.read(fd, _CHUNK):
                chunks.append(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise XgapError(f"{path}: unreadable result record ({exc.strerror}) - fix or remove it, then rerun") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_submission(folder: Path, on_problem=None, stamps: dict | None = None) -> SubmissionFiles:
    """Every record of one submission folder (``<task>/<lang>.json``), checked.

    ``on_problem(message)`` receives each problem and the record is dropped; without it the first
    problem raises. Either way a bad record is never used. ``stamps``: the folder's stamps the
    caller took before reading (the site's cache, :func:`xgap.leaderboard.records.folder_stamps`),
    kept on the result only when the folder had no problem.
    """
    folder = Path(folder)
    sub = SubmissionFiles(id=folder.name, folder=folder)
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
            rec = parse_record(path, _read_small_file(path))
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


def submission_folders(root: Path | str) -> list[Path]:
    """The submission folders of a store (sorted; hidden and ``_``-prefixed folders skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise XgapError(f"{root}: no such results folder - fix: run `xgap run` or `xgap import-reported` first, or pass --results")
    return sorted(Path(e.path) for e in os.scandir(root) if e.is_dir() and not e.name.startswith((".", "_")))


def read_store(root: Path | str, on_problem=None) -> list[SubmissionFiles]:
    """All submissions of the store at ``root``, each with its checked records."""
    return [read_submission(f, on_problem) for f in submission_folders(root)]
