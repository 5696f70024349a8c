"""The result store: ``<root>/<submission>/<task>/<lang>.json`` records plus prediction sidecars.

Why this shape: a run can be interrupted at any moment and must lose nothing. Each record is
written atomically (temp file, fsync, rename, fsync of the folder) and only after its predictions
sidecar is safely on disk, so a record's presence means the whole (submission, task, language)
result is complete. A lock file keeps two runs from interleaving writes into one store, and each
record carries an ``input_key`` (hash of card, data, model weights and settings) so a rerun skips
exactly the records whose inputs are unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Iterator, Optional

from .errors import ValidationFailed, XgapError
from .validation import problems


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_json(path: Path, obj) -> str:
    """Atomically write ``obj`` as JSON; return the SHA-256 of the bytes written."""
    data = json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")
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
        return self.root / submission / task / f"{lang}.json"

    def predictions_path(self, submission: str, task: str, lang: str) -> Path:
        return self.root / submission / task / f"{lang}.predictions.json"

    # ---------------------------------------------------------------- locking
    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock on the store for the duration of a run (fails fast if held)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fh = open(path, "a+")
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
            yield self
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fh.close()

    # ---------------------------------------------------------------- writing
    def write(self, record: dict, predictions: Optional[dict] = None) -> Path:
        """Validate and atomically write one record (and its predictions sidecar first)."""
        sub, task, lang = record["submission"], record["task"], record["language"]
        if predictions is not None:
            sidecar = self.predictions_path(sub, task, lang)
            digest = atomic_write_json(sidecar, predictions)
            record = dict(record, predictions={"file": sidecar.name, "sha256": digest})
        path = self.record_path(sub, task, lang)
        found = problems(record, "result-record", str(path))
        if found:
            raise ValidationFailed(found)
        atomic_write_json(path, record)
        return path

    # ---------------------------------------------------------------- reading
    def read(self, path: Path) -> dict:
        """Read and validate one record; a corrupt or invalid record is an error naming its path."""
        return read_record(path)

    def find(self, submission: str, task: str, lang: str) -> Optional[dict]:
        path = self.record_path(submission, task, lang)
        if not path.exists():
            return None
        try:
            return read_record(path)
        except XgapError:
            return None  # recomputed by the run; `xgap validate` reports it

    def load_predictions(self, record: dict, record_path: Path) -> Optional[dict]:
        meta = record.get("predictions")
        if not meta:
            return None
        side = record_path.parent / meta["file"]
        data = side.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise XgapError(f"{side}: predictions file does not match the hash in {record_path} - rerun that record")
        return json.loads(data)

    def iter_records(self, submission: Optional[str] = None) -> Iterator[tuple[Path, dict]]:
        """All valid records (sorted by path); invalid ones raise naming their path."""
        base = self.root / submission if submission else self.root
        for path in sorted(base.rglob("*.json")):
            if path.name.endswith(".predictions.json") or path.name.startswith("."):
                continue
            if path.parent.name in ("_manifests",) or path.name == "manifest.json":
                continue
            yield path, read_record(path)


def read_record(path: Path) -> dict:
    """Read and validate one record (a fast structural check first, full jsonschema on doubt)."""
    from .leaderboard.records import parse_record

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise XgapError(f"{path}: unreadable result record ({exc.strerror}) - delete it and rerun to recompute") from None
    return parse_record(path, data)
