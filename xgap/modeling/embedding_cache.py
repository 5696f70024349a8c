"""On-disk cache of sentence embeddings, one row per text.

Why: retrieval tasks embed the same sentences again and again (a rerun, another task over an
overlapping set, another language pair sharing the English side). SPEC §6 requires that such a
rerun does not encode them again.

Layout (all under ``root``, default ``$XGAP_CACHE_DIR/embeddings`` or ``~/.cache/xgap/embeddings``)::

    <root>/<group>/meta.json                 the key of the group, human readable
    <root>/<group>/<shard>.npy               float32 (n, d) embeddings
    <root>/<group>/<shard>.keys              n x 32 bytes: sha256(text utf-8) of each row

A *group* is everything that changes embeddings except the text: weights hash, layer, pooling,
max length, dtype, ... (the ``key`` dict, hashed canonically). Inside a group each text is
identified by the SHA-256 of its UTF-8 bytes, so a task over a superset of sentences finds the
rows it already has and only the new texts are encoded and appended as a new shard.

Crash safety and concurrency: a shard is written as ``.npy`` first and its ``.keys`` file last,
each through a temporary file, ``fsync`` and ``os.replace``. A shard only counts once its
``.keys`` file exists and its row count matches the ``.npy`` header, so a crash at any point
leaves either a complete shard or an ignored orphan (cleaned later). Shards are immutable once
published, so readers need no locks; writers never touch existing shards, and two writers adding
the same text merely store it twice (the first published row wins on lookup). ``compact()``
merges a group's shards into one (publish the merged shard, then delete the old ones); a reader
that loses a race with it re-lists the group and retries.

Lookups memory-map the shards and gather only the needed rows, so a 10^5-sentence group opens in
milliseconds (the index is a dict built from the ``.keys`` files, ~32 bytes a row).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

KEY_BYTES = 32  # sha256 digest
_ORPHAN_AGE_S = 3600.0  # temp files / key-less shards older than this are removed by compact()


def default_cache_dir() -> Path:
    """``$XGAP_CACHE_DIR/embeddings`` if set, else ``~/.cache/xgap/embeddings``."""
    root = os.environ.get("XGAP_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "xgap"
    return base / "embeddings"


def text_digest(text: str) -> bytes:
    """SHA-256 of the text's UTF-8 bytes (the per-row key)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def group_id(key: Mapping) -> str:
    """Stable directory name for a key dict (canonical JSON, sha256, 24 hex chars)."""
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write) -> None:
    """Write via ``write(fileobj)`` to a temp file in the same folder, fsync, then os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def _npy_rows(path: Path) -> tuple[int, int] | None:
    """(rows, dim) from a .npy header without reading the data; None if unreadable."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, _ = read(fh)  # header only (public numpy API; the private helper is gone in numpy 2.4)
        if len(shape) != 2:
            return None
        return int(shape[0]), int(shape[1])
    except (OSError, ValueError):
        return None


class _Group:
    """The published shards of one key group, indexed by text digest."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.shards: list[str] = []
        self.index: dict[bytes, tuple[int, int]] = {}
        self.dim: int | None = None
        self._arrays: dict[int, np.ndarray] = {}

    def refresh(self) -> None:
        """Pick up shards published since the last refresh (by this or another process)."""
        if not self.folder.is_dir():
            return
        known = set(self.shards)
        names = sorted(p.name[: -len(".keys")] for p in self.folder.glob("*.keys") if not p.name.startswith("."))
        for name in names:
            if name in known:
                continue
            keys_path = self.folder / f"{name}.keys"
            npy_path = self.folder / f"{name}.npy"
            header = _npy_rows(npy_path)
            try:
                raw = keys_path.read_bytes()
            except OSError:
                continue  # removed by a concurrent compact(): its rows live in the merged shard
            if header is None or len(raw) != header[0] * KEY_BYTES:
                continue  # inconsistent (should not happen with atomic publication): ignore it
            if self.dim is None:
                self.dim = header[1]
            elif header[1] != self.dim:
                continue
            shard_no = len(self.shards)
            self.shards.append(name)
            index = self.index
            for row in range(header[0]):
                digest = raw[row * KEY_BYTES : (row + 1) * KEY_BYTES]
                if digest not in index:
                    index[digest] = (shard_no, row)

    def array(self, shard_no: int) -> np.ndarray:
        arr = self._arrays.get(shard_no)
        if arr is None:
            arr = np.load(self.folder / f"{self.shards[shard_no]}.npy", mmap_mode="r")
            self._arrays[shard_no] = arr
        return arr


class EmbeddingCache:
    """Per-text embedding rows on disk, grouped by everything else that determines them.

    ``key`` arguments are plain dicts (e.g. :meth:`SentenceEncoder.cache_key`): weights hash,
    layer, pooling, max length, dtype... Any change of any value is a different group (a miss).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self._groups: dict[str, _Group] = {}

    # -- internals -------------------------------------------------------------------------
    def _group(self, key: Mapping) -> _Group:
        gid = group_id(key)
        grp = self._groups.get(gid)
        if grp is None:
            grp = _Group(self.root / gid)
            self._groups[gid] = grp
        return grp

    # -- public API ------------------------------------------------------------------------
    def lookup(self, key: Mapping, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        """Cached rows for ``texts``.

        Returns ``(rows, missing)``: ``rows`` is a float32 ``(len(texts), d)`` array whose rows
        are filled for every cached text (zeros elsewhere), or None when the group is empty;
        ``missing`` lists the positions of texts not in the cache, in order.
        """
        for attempt in range(3):
            try:
                return self._lookup(key, texts)
            except FileNotFoundError:
                # a concurrent compact() removed a shard we had indexed: start over
                self._groups.pop(group_id(key), None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _lookup(self, key: Mapping, texts: Sequence[str]) -> tuple[np.ndarray | None, list[int]]:
        grp = self._group(key)
        digests = [text_digest(t) for t in texts]
        if any(d not in grp.index for d in digests):
            grp.refresh()
        if grp.dim is None:
            return None, list(range(len(texts)))
        out = np.zeros((len(texts), grp.dim), dtype=np.float32)
        missing: list[int] = []
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for pos, d in enumerate(digests):
            hit = grp.index.get(d)
            if hit is None:
                missing.append(pos)
            else:
                dst, src = by_shard.setdefault(hit[0], ([], []))
                dst.append(pos)
                src.append(hit[1])
        for shard_no, (dst, src) in by_shard.items():
            arr = grp.array(shard_no)
            src_arr = np.asarray(src, dtype=np.int64)
            order = np.argsort(src_arr, kind="stable")  # sequential reads from the memory map
            out[np.asarray(dst, dtype=np.int64)[order]] = arr[src_arr[order]]
        return out, missing

    def store(self, key: Mapping, texts: Sequence[str], embeddings: np.ndarray) -> int:
        """Add rows for texts not already cached (one new shard); returns the number written."""
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != len(texts):
            raise ValueError(f"embeddings shape {emb.shape} does not match {len(texts)} texts")
        if len(texts) == 0:
            return 0
        grp = self._group(key)
        grp.refresh()
        if grp.dim is not None and grp.dim != emb.shape[1]:
            raise ValueError(f"embedding dim {emb.shape[1]} differs from cached dim {grp.dim} for the same key")
        seen: set[bytes] = set()
        keep: list[int] = []
        digests: list[bytes] = []
        for i, t in enumerate(texts):
            d = text_digest(t)
            if d in grp.index or d in seen:
                continue
            seen.add(d)
            keep.append(i)
            digests.append(d)
        if not keep:
            return 0
        rows = np.ascontiguousarray(emb[keep])
        self._publish(grp.folder, key, rows, b"".join(digests))
        grp.refresh()
        return len(keep)

    def _publish(self, folder: Path, key: Mapping, rows: np.ndarray, keys_blob: bytes) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "meta.json"
        if not meta.exists():
            text = json.dumps(dict(key), sort_keys=True, indent=1, default=str).encode("utf-8")
            _atomic_write(meta, lambda fh: fh.write(text))
        # time-ordered unique names: older shards sort (and win on duplicate rows) first
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        _atomic_write(folder / f"{name}.npy", lambda fh: np.save(fh, rows, allow_pickle=False))
        _atomic_write(folder / f"{name}.keys", lambda fh: fh.write(keys_blob))  # publication point
        _fsync_dir(folder)
        return name

    def get_or_compute(self, key: Mapping, texts: Sequence[str], compute) -> np.ndarray:
        """Rows for ``texts``; ``compute(list_of_missing_texts) -> array`` fills and stores misses."""
        rows, missing = self.lookup(key, texts)
        if not missing:
            return rows if rows is not None else np.zeros((0, 0), dtype=np.float32)
        miss_texts = [texts[i] for i in missing]
        new = np.asarray(compute(miss_texts), dtype=np.float32)
        self.store(key, miss_texts, new)
        if rows is None:
            rows = np.zeros((len(texts), new.shape[1]), dtype=np.float32)
        rows[np.asarray(missing, dtype=np.int64)] = new
        return rows

    def count(self, key: Mapping) -> int:
        """Number of distinct texts cached under ``key``."""
        grp = self._group(key)
        grp.refresh()
        return len(grp.index)

    def compact(self, key: Mapping) -> None:
        """Merge a group's shards into one and remove stale temp files / orphaned ``.npy`` files."""
        grp = self._group(key)
        grp.refresh()
        folder = grp.folder
        if not folder.is_dir():
            return
        now = time.time()
        for p in folder.iterdir():
            orphan = p.name.startswith(".") and p.name.endswith(".tmp")
            orphan |= p.suffix == ".npy" and not p.with_suffix(".keys").exists()
            if orphan:
                try:
                    if now - p.stat().st_mtime > _ORPHAN_AGE_S:
                        p.unlink()
                except OSError:
                    pass
        if len(grp.shards) <= 1:
            return
        items = sorted(grp.index.items(), key=lambda kv: kv[1])
        rows = np.empty((len(items), grp.dim), dtype=np.float32)
        for pos, (_, (shard_no, row)) in enumerate(items):
            rows[pos] = grp.array(shard_no)[row]
        old = list(grp.shards)
        self._publish(folder, json.loads((folder / "meta.json").read_text()), rows, b"".join(d for d, _ in items))
        for name in old:
            for suffix in (".keys", ".npy"):  # unpublish first (.keys), then the data
                try:
                    (folder / f"{name}{suffix}").unlink()
                except OSError:
                    pass
        self._groups.pop(folder.name, None)

    def clear(self, key: Mapping) -> None:
        """Forget every row stored under ``key``."""
        folder = self._group(key).folder
        if folder.is_dir():
            for p in sorted(folder.iterdir(), key=lambda p: p.suffix != ".keys"):
                try:
                    p.unlink()
                except OSError:
                    pass
        self._groups.pop(folder.name, None)
