"""SentenceEncoder: layer indexing, pooling, padding, order, normalisation, bf16, ST-style pooling."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from helpers.tiny import build_tiny_checkpoint

from xgap.errors import XgapError
from xgap.modeling import encoder as encoder_mod
from xgap.modeling.encoder import SentenceEncoder, default_layer, pool_hidden, split_for_padding
from xgap.modeling.models import ModelRef, load_model, load_tokenizer

WORDS = ("the cat dog sat on a mat under big small red blue tree house car runs jumps quickly "
         "slowly over river mountain sky bird fish green yellow old new").split()


def _sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-enc")
    build_tiny_checkpoint(folder, _sentences(300, seed=1) * 2, num_layers=3, hidden_size=32, seed=0)
    return ModelRef(str(folder))


@pytest.fixture(scope="module")
def reference(tiny):
    """An untouched copy of the model and its tokenizer, to compute expected values directly."""
    return load_model(tiny, "AutoModel"), load_tokenizer(tiny)


def _direct(reference, text: str, layer: int, mode: str = "mean") -> np.ndarray:
    model, tok = reference
    enc = tok([text], return_tensors="pt", truncation=True, max_length=512)
    with torch.inference_mode():
        h = model(**enc, output_hidden_states=True).hidden_states[layer][0]
    v = h.mean(dim=0) if mode == "mean" else h[0]
    v = v / v.norm()
    return v.numpy()


def test_default_layer_matches_xtreme_references():
    assert default_layer(12) == 8  # mBERT: layer 8 of 12
    assert default_layer(24) == 14  # XLM-R large: layer 14 of 24
    assert default_layer(6) == 5
    assert default_layer(3) == 3
    assert default_layer(2) == 2  # clipped to the number of layers
    assert default_layer(1) == 1


@pytest.mark.parametrize("layer", [0, 1, 2, 3])
def test_layer_indexes_hidden_states_tuple(tiny, reference, layer):
    texts = _sentences(12, seed=layer)
    enc = SentenceEncoder(tiny, layer=layer, pooling="mean", progress=False)
    assert enc.layer == layer and enc.num_layers == 3
    got = enc.encode(texts)
    want = np.stack([_direct(reference, t, layer) for t in texts])
    np.testing.assert_allclose(got, want, atol=2e-5)
    if layer < 3:
        assert enc.layers_run == layer  # upper layers are never computed


def test_truncation_can_be_disabled_and_gives_same_result(tiny):
    texts = _sentences(20, seed=3)
    a = SentenceEncoder(tiny, layer=1, progress=False).encode(texts)
    enc = SentenceEncoder(tiny, layer=1, progress=False, truncate_layers=False)
    assert enc.layers_run == 3
    np.testing.assert_allclose(enc.encode(texts), a, atol=2e-5)


def test_default_layer_used_when_none(tiny):
    enc = SentenceEncoder(tiny, progress=False)
    assert enc.layer == default_layer(3) == 3


def test_cls_pooling_takes_first_token(tiny, reference):
    texts = _sentences(10, seed=5)
    got = SentenceEncoder(tiny, layer=2, pooling="cls", progress=False).encode(texts)
    want = np.stack([_direct(reference, t, 2, mode="cls") for t in texts])
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_pool_hidden_by_hand():
    h = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]],
                      [[5.0, -1.0], [7.0, 1.0], [9.0, 3.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    mean = pool_hidden(h, mask, "mean")
    np.testing.assert_allclose(mean.numpy(), [[2.0, 3.0], [7.0, 1.0]])  # padding ignored
    np.testing.assert_allclose(pool_hidden(h, mask, "cls").numpy(), [[1.0, 2.0], [5.0, -1.0]])
    np.testing.assert_allclose(pool_hidden(h, mask, "max").numpy(), [[3.0, 4.0], [9.0, 3.0]])
    np.testing.assert_allclose(pool_hidden(h, mask, "lasttoken").numpy(), [[3.0, 4.0], [9.0, 3.0]])
    np.testing.assert_allclose(pool_hidden(h, mask, "mean_sqrt_len_tokens").numpy(),
                               [[4.0 / np.sqrt(2), 6.0 / np.sqrt(2)], [21.0 / np.sqrt(3), 3.0 / np.sqrt(3)]], rtol=1e-6)
    # bf16 hidden states are pooled in float32
    assert pool_hidden(h.to(torch.bfloat16), mask, "mean").dtype == torch.float32


def test_padded_batches_equal_one_at_a_time(tiny, monkeypatch):
    texts = _sentences(40, seed=7)
    single = SentenceEncoder(tiny, layer=2, batch_tokens=1, progress=False)  # one sentence per batch
    one = single.encode(texts)
    assert single.stats["padded_tokens"] == single.stats["real_tokens"]
    # force real padding: one big batch, no length splitting
    monkeypatch.setattr(encoder_mod, "split_for_padding", lambda batch, lengths, **kw: [list(batch)])
    padded = SentenceEncoder(tiny, layer=2, batch_tokens=10**6, progress=False)
    many = padded.encode(texts)
    assert padded.stats["batches"] == 1
    assert padded.stats["padded_tokens"] > padded.stats["real_tokens"]
    np.testing.assert_allclose(many, one, atol=2e-5)


def test_order_preserved_and_normalised(tiny, reference):
    texts = _sentences(60, seed=11)
    enc = SentenceEncoder(tiny, layer=2, batch_tokens=64, progress=False)  # many length-sorted batches
    got = enc.encode(texts)
    assert got.dtype == np.float32 and got.shape == (60, 32)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    want = np.stack([_direct(reference, t, 2) for t in texts])
    np.testing.assert_allclose(got, want, atol=2e-5)
    assert enc.stats["batches"] > 5
    assert enc.stats["real_tokens"] <= enc.stats["padded_tokens"]
    assert 0 < enc.padding_efficiency() <= 1


def test_duplicates_encoded_once_and_empty_input(tiny):
    enc = SentenceEncoder(tiny, layer=1, progress=False)
    out = enc.encode(["a cat", "the dog", "a cat", "a cat"])
    assert enc.stats["encoded"] == 2 and enc.stats["duplicates"] == 2
    np.testing.assert_array_equal(out[0], out[2])
    assert enc.encode([]).shape == (0, 32)


def test_split_for_padding():
    lengths = [10] * 50 + [9] * 50 + [5, 3, 2]
    order = list(range(len(lengths)))
    subs = split_for_padding(order, lengths, min_tokens=100, floor=0.95)
    assert [i for s in subs for i in s] == order  # same order, nothing lost
    for s in subs:
        eff = sum(lengths[i] for i in s) / (max(lengths[i] for i in s) * len(s))
        assert eff >= 0.95 or len(s) == 1
    assert all(len({lengths[i] for i in s}) == 1 for s in subs[:2])
    # without min_tokens cuts, runs of slowly decreasing length stay together while above the floor
    subs = split_for_padding(order, lengths, min_tokens=10**6, floor=0.95)
    assert subs[0] == list(range(100))


def test_bfloat16_close_to_float32(tiny):
    texts = _sentences(30, seed=13)
    a = SentenceEncoder(tiny, layer=2, progress=False).encode(texts)
    enc = SentenceEncoder(tiny, layer=2, dtype="bfloat16", progress=False)
    b = enc.encode(texts)
    assert b.dtype == np.float32
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.99
    assert enc.settings()["dtype"] == "bfloat16"


def test_settings_and_stats(tiny):
    enc = SentenceEncoder(tiny, layer=1, pooling="cls", max_length=64, progress=False)
    s = enc.settings()
    for key in ("weights_hash", "tokenizer_hash", "layer", "pooling", "max_length", "dtype", "normalize"):
        assert key in s
    assert s["layer"] == 1 and s["pooling"] == "cls" and s["max_length"] == 64
    assert enc.weights_hash == s["weights_hash"] and len(enc.weights_hash) == 64
    enc.encode(["one two three"])
    assert enc.stats["real_tokens"] > 0 and enc.stats["seconds"] > 0


def test_truncation_to_max_length(tiny, reference):
    text = " ".join(WORDS * 3)
    enc = SentenceEncoder(tiny, layer=2, max_length=8, progress=False)
    got = enc.encode([text])[0]
    model, tok = reference
    ids = tok([text], truncation=True, max_length=8, return_tensors="pt")
    assert ids["input_ids"].shape[1] == 8 and enc.stats["real_tokens"] == 8
    with torch.inference_mode():
        h = model(**ids, output_hidden_states=True).hidden_states[2][0].mean(0)
    np.testing.assert_allclose(got, (h / h.norm()).numpy(), atol=2e-5)


def test_bad_arguments(tiny):
    with pytest.raises(XgapError):
        SentenceEncoder(tiny, pooling="avg", progress=False)
    with pytest.raises(XgapError):
        SentenceEncoder(tiny, layer=7, progress=False)
    with pytest.raises(XgapError):
        SentenceEncoder(tiny, dtype="float16", progress=False)
    with pytest.raises(XgapError):  # no modules.json: not a sentence-transformers checkpoint
        SentenceEncoder(tiny, pooling="model", progress=False)


def _add_st_files(folder, mode: str, max_seq_length: int, normalize: bool = True, legacy: bool = True):
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    if legacy:
        cfg = {"word_embedding_dimension": 32, "pooling_mode_cls_token": mode == "cls",
               "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": mode == "max",
               "pooling_mode_mean_sqrt_len_tokens": False}
    else:
        cfg = {"embedding_dimension": 32, "pooling_mode": mode, "include_prompt": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}))


@pytest.mark.parametrize("mode,legacy", [("mean", True), ("cls", False), ("max", True)])
def test_model_pooling_equals_sentence_transformers(tmp_path, mode, legacy):
    st = pytest.importorskip("sentence_transformers")
    folder = tmp_path / "st"
    build_tiny_checkpoint(folder, _sentences(200, seed=2), num_layers=2, hidden_size=32, seed=3)
    _add_st_files(folder, mode, max_seq_length=12, legacy=legacy)
    texts = _sentences(40, seed=17)
    enc = SentenceEncoder(ModelRef(str(folder)), pooling="model", max_length=512, progress=False)
    assert enc.layer == 2 and enc.max_length == 12 and enc.pool_mode == mode
    got = enc.encode(texts)
    model = st.SentenceTransformer(str(folder), device="cpu")
    want = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_model_pooling_refuses_unknown_modules(tmp_path):
    folder = tmp_path / "st-dense"
    build_tiny_checkpoint(folder, _sentences(100), num_layers=1, hidden_size=32)
    _add_st_files(folder, "mean", 32)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(XgapError, match="not supported"):
        SentenceEncoder(ModelRef(str(folder)), pooling="model", progress=False)
    with pytest.raises(XgapError, match="last layer"):
        _add_st_files(folder, "mean", 32)
        SentenceEncoder(ModelRef(str(folder)), pooling="model", layer=0, progress=False)


def test_xlmr_shaped_model(tmp_path):
    folder = build_tiny_checkpoint(tmp_path / "xlmr", _sentences(200, seed=4), num_layers=4, model_type="xlm-roberta")
    ref = ModelRef(str(folder))
    enc = SentenceEncoder(ref, progress=False)
    assert enc.layer == 4 and enc.max_length == 512  # 4 // 2 + 2; positions 514 - (padding_idx + 1)
    texts = _sentences(15, seed=8)
    enc2 = SentenceEncoder(ref, layer=2, progress=False)
    assert enc2.layers_run == 2
    reference = (load_model(ref, "AutoModel"), load_tokenizer(ref))
    want = np.stack([_direct(reference, t, 2) for t in texts])
    np.testing.assert_allclose(enc2.encode(texts), want, atol=2e-5)


def test_identical_token_sequences_run_once(tiny):
    enc = SentenceEncoder(tiny, layer=2, progress=False)
    # the tiny tokenizer lowercases: different strings, identical token ids
    out = enc.encode(["The Cat sat", "the cat sat", "THE CAT SAT", "a dog"])
    assert enc.stats["encoded"] == 4 and enc.stats["same_tokens"] == 2
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])
    assert enc.stats["real_tokens"] < 4 * 5
