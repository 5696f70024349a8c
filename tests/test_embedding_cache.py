"""EmbeddingCache: hits, supersets, key changes, crash safety, concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import random

import numpy as np
import pytest
from helpers.tiny import build_tiny_checkpoint

from xgap.modeling import embedding_cache as ec
from xgap.modeling.embedding_cache import EmbeddingCache, default_cache_dir, group_id
from xgap.modeling.encoder import SentenceEncoder
from xgap.modeling.models import ModelRef

KEY = {"weights_hash": "abc", "layer": 8, "pooling": "mean", "max_length": 512, "dtype": "float32"}


def _fake(texts, dim=8):
    """Deterministic per-text vectors (a stand-in encoder)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        out[i] = rng.standard_normal(dim)
    return out


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("XGAP_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "embeddings"
    assert EmbeddingCache().root == tmp_path / "c" / "embeddings"
    monkeypatch.delenv("XGAP_CACHE_DIR")
    assert str(default_cache_dir()).endswith(os.path.join(".cache", "xgap", "embeddings"))


def test_miss_then_hit(tmp_path):
    cache = EmbeddingCache(tmp_path)
    texts = ["a", "b", "c"]
    rows, missing = cache.lookup(KEY, texts)
    assert rows is None and missing == [0, 1, 2]
    emb = _fake(texts)
    assert cache.store(KEY, texts, emb) == 3
    rows, missing = EmbeddingCache(tmp_path).lookup(KEY, ["c", "a", "zz"])  # a fresh reader
    assert missing == [2]
    np.testing.assert_array_equal(rows[0], emb[2])
    np.testing.assert_array_equal(rows[1], emb[0])
    assert cache.store(KEY, texts, emb) == 0  # nothing new: no new shard
    assert len(list((tmp_path / group_id(KEY)).glob("*.keys"))) == 1


def test_superset_computes_only_new_texts(tmp_path):
    cache = EmbeddingCache(tmp_path)
    calls = []

    def compute(texts):
        calls.append(list(texts))
        return _fake(texts)

    first = [f"sentence {i}" for i in range(100)]
    a = cache.get_or_compute(KEY, first, compute)
    superset = first[::-1] + [f"new {i}" for i in range(7)]
    b = cache.get_or_compute(KEY, superset, compute)
    assert [len(c) for c in calls] == [100, 7]
    assert calls[1] == [f"new {i}" for i in range(7)]
    np.testing.assert_array_equal(b[:100], a[::-1])
    c = cache.get_or_compute(KEY, superset, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(c, b)
    assert cache.count(KEY) == 107


@pytest.mark.parametrize("change", [{"layer": 7}, {"dtype": "bfloat16"}, {"pooling": "cls"},
                                    {"max_length": 128}, {"weights_hash": "def"}])
def test_any_key_change_is_a_miss(tmp_path, change):
    cache = EmbeddingCache(tmp_path)
    cache.store(KEY, ["x", "y"], _fake(["x", "y"]))
    rows, missing = cache.lookup({**KEY, **change}, ["x", "y"])
    assert rows is None and missing == [0, 1]
    # key order does not matter
    assert cache.lookup(dict(reversed(list(KEY.items()))), ["x"])[1] == []


def test_crash_while_writing_leaves_cache_usable(tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    cache.store(KEY, ["old"], _fake(["old"]))
    real_replace = os.replace
    calls = {"n": 0}

    def crashing_replace(src, dst):
        calls["n"] += 1
        if str(dst).endswith(".keys"):
            raise KeyboardInterrupt("simulated crash before the shard is published")
        return real_replace(src, dst)

    monkeypatch.setattr(ec.os, "replace", crashing_replace)
    with pytest.raises(KeyboardInterrupt):
        cache.store(KEY, ["new1", "new2"], _fake(["new1", "new2"]))
    monkeypatch.setattr(ec.os, "replace", real_replace)
    folder = tmp_path / group_id(KEY)
    assert not list(folder.glob(".*.tmp"))  # the temp file was removed
    reader = EmbeddingCache(tmp_path)
    rows, missing = reader.lookup(KEY, ["old", "new1", "new2"])
    assert missing == [1, 2]  # the unpublished shard is invisible
    np.testing.assert_array_equal(rows[0], _fake(["old"])[0])
    assert reader.store(KEY, ["new1", "new2"], _fake(["new1", "new2"])) == 2
    assert EmbeddingCache(tmp_path).lookup(KEY, ["old", "new1", "new2"])[1] == []


def test_torn_files_are_ignored(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.store(KEY, ["a"], _fake(["a"]))
    folder = tmp_path / group_id(KEY)
    # a half-written temp file, an orphan .npy with no .keys, and a .keys whose row count is wrong
    (folder / ".zzz.npy.123.tmp").write_bytes(b"\x93NUMPY garbage")
    np.save(folder / "99999999999999999999-1-orphan.npy", _fake(["b"]))
    np.save(folder / "99999999999999999999-2-torn.npy", _fake(["c", "d"]))
    (folder / "99999999999999999999-2-torn.keys").write_bytes(ec.text_digest("c"))  # 1 of 2 keys
    rows, missing = EmbeddingCache(tmp_path).lookup(KEY, ["a", "b", "c"])
    assert missing == [1, 2]
    np.testing.assert_array_equal(rows[0], _fake(["a"])[0])


def test_compact_merges_shards(tmp_path):
    cache = EmbeddingCache(tmp_path)
    for i in range(5):
        cache.store(KEY, [f"t{i}", f"u{i}"], _fake([f"t{i}", f"u{i}"]))
    folder = tmp_path / group_id(KEY)
    stale_reader = EmbeddingCache(tmp_path)
    stale_reader.lookup(KEY, ["t0"])  # indexes the 5 shards before compaction
    assert len(list(folder.glob("*.keys"))) == 5
    cache.compact(KEY)
    assert len(list(folder.glob("*.keys"))) == 1
    texts = [f"t{i}" for i in range(5)] + [f"u{i}" for i in range(5)]
    rows, missing = EmbeddingCache(tmp_path).lookup(KEY, texts)
    assert missing == []
    np.testing.assert_array_equal(rows, _fake(texts))
    rows, missing = stale_reader.lookup(KEY, texts)  # recovers from the removed shards
    assert missing == [] and np.array_equal(rows, _fake(texts))


def _writer(args):
    root, lo, hi = args
    texts = [f"s{i}" for i in range(lo, hi)]
    EmbeddingCache(root).store(KEY, texts, _fake(texts))
    return hi - lo


def test_concurrent_writers(tmp_path):
    ranges = [(str(tmp_path), i * 50, i * 50 + 80) for i in range(4)]  # overlapping ranges
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_writer, ranges)
    texts = [f"s{i}" for i in range(0, 230)]
    rows, missing = EmbeddingCache(tmp_path).lookup(KEY, texts)
    assert missing == []
    np.testing.assert_array_equal(rows, _fake(texts))


def test_large_group_round_trips_from_its_shards(tmp_path):
    """10^5 rows stored as four shards: reopened, every row is found in any order (speed is measured by
    benchmarks/retrieval.py, not asserted here: a timed test fails on a loaded machine)."""
    dim = 16
    texts = [f"sentence number {i}" for i in range(100_000)]
    emb = np.random.default_rng(0).standard_normal((len(texts), dim)).astype(np.float32)
    cache = EmbeddingCache(tmp_path)
    for lo in range(0, len(texts), 25_000):
        cache.store(KEY, texts[lo:lo + 25_000], emb[lo:lo + 25_000])
    assert len(list(tmp_path.rglob("*.keys"))) == 4  # one immutable shard per store() call
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    rows, missing = EmbeddingCache(tmp_path).lookup(KEY, [texts[i] for i in order])
    assert missing == []
    np.testing.assert_array_equal(rows, emb[order])


def test_encoder_uses_cache(tmp_path):
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    texts = [" ".join(words[: 1 + i % 10]) + f" {i}" for i in range(50)]
    folder = build_tiny_checkpoint(tmp_path / "m", texts, num_layers=2)
    ref = ModelRef(str(folder))
    cache = EmbeddingCache(tmp_path / "cache")
    enc = SentenceEncoder(ref, layer=1, cache=cache, progress=False)
    a = enc.encode(texts[:30])
    assert enc.stats["encoded"] == 30
    enc2 = SentenceEncoder(ref, layer=1, cache=EmbeddingCache(tmp_path / "cache"), progress=False)
    b = enc2.encode(texts)  # superset: only the 20 new texts are encoded
    assert enc2.stats["encoded"] == 20 and enc2.stats["cache_hits"] == 30
    np.testing.assert_array_equal(b[:30], a)
    enc3 = SentenceEncoder(ref, layer=2, cache=EmbeddingCache(tmp_path / "cache"), progress=False)
    enc3.encode(texts[:5])
    assert enc3.stats["encoded"] == 5  # another layer: another key group
    nocache = SentenceEncoder(ref, layer=1, progress=False).encode(texts)
    np.testing.assert_allclose(b, nocache, atol=1e-6)
