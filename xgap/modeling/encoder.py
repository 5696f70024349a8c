"""Sentence embeddings from an encoder's hidden states (SPEC §6), fast on CPU and cached.

What it computes (the XTREME retrieval protocol, ``third_party/evaluate_retrieval.py``):
tokenize each sentence with the model's tokenizer, add the special tokens, truncate to
``max_length``; run the encoder; take hidden state ``layer`` (index into the ``L + 1`` hidden
states, 0 = embedding output; default ``num_layers // 2 + 2``, which is XTREME's layer 8 of 12 for
mBERT and 14 of 24 for XLM-R large); mean-pool over **all** real tokens including ``[CLS]``/``[SEP]``
(attention-mask weighted; XTREME's default ``pool_skip_special_token=False``) or take the first
token (``cls``); L2-normalise. ``pooling="model"`` instead follows a sentence-transformers
checkpoint's own files (``modules.json``, ``1_Pooling/config.json``, ``sentence_bert_config.json``):
the last layer, its pooling mode, its ``max_seq_length`` (which then replaces ``max_length``) and
``do_lower_case``; its output equals ``SentenceTransformer.encode(..., normalize_embeddings=True)``
to float tolerance. Outputs are always L2-normalised float32.

How it is fast:
- every text is tokenized once, in one fast-tokenizer call, without padding; identical strings,
  and different strings with identical token ids, are run once (the latter also makes exact ties
  exact: e.g. all-``[UNK]`` sentences of a script the vocabulary lacks);
- batches come from :func:`token_budget_batches` (length-sorted, ``longest * size <= batch_tokens``,
  which bounds memory), cut further by :func:`split_for_padding` and each padded only to its own
  longest member: >= 97% of computed tokens are real; a batch without padding runs with no
  attention mask;
- layers above ``layer`` are never run: the encoder's layer list is truncated (verified once on a
  probe sentence against the full model's ``hidden_states[layer]``; kept whole if they differ);
- ``torch.inference_mode`` and all CPU cores; ``dtype="bfloat16"`` runs a bf16 copy of the weights
  (faster than ``torch.autocast`` on CPU, which re-casts every weight on every call; measured in
  ``benchmarks/retrieval.py``), pooling and normalisation stay float32;
- an optional :class:`EmbeddingCache` returns rows already computed under the same settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xgap.errors import XgapError
from xgap.modeling.batching import token_budget_batches
from xgap.modeling.embedding_cache import EmbeddingCache
from xgap.modeling.models import UNUSED_POOLER, ModelRef, checkpoint_dir, load_model, load_tokenizer, parameter_counts
from xgap.modeling.models import weights_hash as _weights_hash
from xgap.settings import DEFAULT_BATCH_TOKENS

POOLINGS = ("mean", "cls", "model")
DTYPES = ("float32", "bfloat16")
# Version of the embedding recipe; bump when a change in this file changes embeddings.
ENCODER_VERSION = 1
_ST_POOL_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_ST_POOL_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
#: Where common architectures keep their list of transformer layers (BERT/XLM-R, others, DistilBERT, bare stacks).
LAYER_LIST_PATHS = ("encoder.layer", "encoder.layers", "transformer.layer", "layers", "layer")


def default_layer(num_layers: int) -> int:
    """SPEC §6 default: ``N // 2 + 2`` clipped to ``N`` (mBERT 12 -> 8, XLM-R large 24 -> 14)."""
    return min(num_layers // 2 + 2, num_layers)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def use_all_cores() -> int:
    """Make torch use every core this process may run on; returns the thread count."""
    import torch

    cores = available_cores()
    if torch.get_num_threads() < cores:
        torch.set_num_threads(cores)
    return torch.get_num_threads()


def read_st_config(folder: Path) -> dict:
    """A sentence-transformers checkpoint's pooling recipe, from its own files.

    Supports the module chain ``Transformer -> Pooling [-> Normalize]`` (what nearly every ST
    text model is); anything else (Dense, LayerNorm, Router...) is refused with a clear message
    rather than silently computing something different.
    """
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        raise XgapError(f"pooling 'model' needs a sentence-transformers checkpoint, but {folder} has no modules.json")
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise XgapError(f"{modules_file}: not valid JSON ({exc})") from exc
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer" or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds) or kinds.count("Pooling") != 1:
        raise XgapError(
            f"{modules_file}: module chain {kinds} is not supported by pooling 'model' "
            "(xgap supports Transformer -> Pooling [-> Normalize]); use pooling 'mean' or 'cls' instead"
        )
    if kinds.index("Pooling") != 1 or ("Normalize" in kinds and kinds.index("Normalize") != 2):
        raise XgapError(f"{modules_file}: unexpected module order {kinds}")
    pool_module = modules[kinds.index("Pooling")]
    pool_cfg_file = folder / pool_module.get("path", "1_Pooling") / "config.json"
    try:
        pool_cfg = json.loads(pool_cfg_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise XgapError(f"cannot read pooling config {pool_cfg_file}: {exc}") from exc
    mode = pool_cfg.get("pooling_mode")
    if mode is None:  # legacy boolean flags; ST takes the active ones in this order, "mean" if none
        active = [m for k, m in _ST_POOL_KEYS.items() if pool_cfg.get(k)]
        mode = active if active else ["mean"]
    modes = [mode] if isinstance(mode, str) else list(mode)
    if len(modes) != 1 or modes[0] not in _ST_POOL_MODES:
        raise XgapError(f"{pool_cfg_file}: pooling mode {modes} is not supported (one of {', '.join(_ST_POOL_MODES)})")
    st_cfg = {}
    st_file = folder / "sentence_bert_config.json"
    if st_file.is_file():
        try:
            st_cfg = json.loads(st_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise XgapError(f"{st_file}: not valid JSON ({exc})") from exc
    return {
        "mode": modes[0],
        "include_prompt": bool(pool_cfg.get("include_prompt", True)),  # no prompts are used: no effect
        "normalize": "Normalize" in kinds,
        "max_seq_length": st_cfg.get("max_seq_length"),
        "do_lower_case": bool(st_cfg.get("do_lower_case", False)),
    }


def pool_hidden(hidden, mask, mode: str):
    """Pool ``hidden`` (b, t, d) under ``mask`` (b, t) -> float32 (b, d), not normalised.

    ``mean`` averages every real token (special tokens included); the formula and operation order
    follow sentence-transformers' ``Pooling`` so ``pooling="model"`` agrees with it bit for bit
    where the hidden states agree.
    """
    import torch

    h = hidden.float()
    if mode == "cls":
        return h[:, 0]
    m = mask.unsqueeze(-1).to(h.dtype)
    if mode in ("mean", "mean_sqrt_len_tokens"):
        s = (h * m).sum(dim=1)
        n = torch.clamp(m.sum(dim=1), min=1e-9)
        return s / (n if mode == "mean" else torch.sqrt(n))
    if mode == "max":
        return h.masked_fill(m == 0, float("-inf")).max(dim=1).values
    if mode == "weightedmean":
        w = torch.arange(1, h.shape[1] + 1, dtype=h.dtype).view(1, -1, 1) * m
        return (h * w).sum(dim=1) / torch.clamp(w.sum(dim=1), min=1e-9)
    if mode == "lasttoken":
        last = mask.sum(dim=1).long() - 1
        return h[torch.arange(h.shape[0]), last.clamp(min=0)]
    raise ValueError(f"unknown pooling mode {mode!r}")


def split_for_padding(batch: Sequence[int], lengths: Sequence[int], min_tokens: int = 2048,
                      floor: float = 0.97) -> list[list[int]]:
    """Cut a longest-first batch into sub-batches that need (almost) no padding.

    ``token_budget_batches`` bounds memory (``longest * size <= batch_tokens``) but one budget
    batch of short sentences spans many lengths. Walking it in its (descending-length) order, a
    sentence starts a new sub-batch when adding it would drop the current sub-batch's padding
    efficiency (real / padded tokens) below ``floor``, or at a length change once the current
    sub-batch holds ``min_tokens`` real tokens. Small sub-batches are cheap on CPU (a forward pass
    over a few hundred tokens has a few % of fixed overhead; a new batch shape costs oneDNN's bf16
    kernels ~2 ms of set-up per linear layer, measured); padding is pure waste. On a quiet 2-core
    machine (0.97, 2048) was as fast as or faster than (0.93, 4096) and (0.90, 8192) in both dtypes.
    Same-length runs need no attention mask at all.
    """
    out: list[list[int]] = []
    cur: list[int] = []
    real = 0
    longest = 0
    last = -1
    for i in batch:
        n = max(int(lengths[i]), 1)
        if cur:
            width = max(longest, n)
            if (real + n) / (width * (len(cur) + 1)) < floor or (n != last and real >= min_tokens):
                out.append(cur)
                cur, real, longest = [], 0, 0
        cur.append(i)
        real += n
        longest = max(longest, n)
        last = n
    if cur:
        out.append(cur)
    return out


def find_layer_list(model, num_layers: int):
    """``(attribute path, ModuleList)`` of ``model``'s ``num_layers`` transformer layers, or None.

    Shared by layer truncation here (retrieval never runs layers above the one it reads) and by
    grid size series (:mod:`xgap.grid.encoders` saves the first N layers as a smaller model).
    """
    import torch

    for path in LAYER_LIST_PATHS:
        layers = _get_attr_path(model, path)
        if isinstance(layers, torch.nn.ModuleList) and len(layers) == num_layers:
            return path, layers
    return None


def set_layer_list(model, path: str, layers) -> None:
    """Replace the layer list at ``path`` (from :func:`find_layer_list`) with ``layers``."""
    import torch

    _set_attr_path(model, path, layers if isinstance(layers, torch.nn.ModuleList) else torch.nn.ModuleList(list(layers)))


def _get_attr_path(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _set_attr_path(obj, path: str, value) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part)
    setattr(obj, parts[-1], value)


class SentenceEncoder:
    """Embed sentences with hidden state ``layer`` of ``ref`` (see the module docstring).

    ``encode(texts)`` returns an L2-normalised float32 array ``(len(texts), hidden)`` in input
    order. ``settings()`` lists everything that determines the embeddings; ``stats`` accumulates
    real/padded token counts and timings over all ``encode`` calls.
    """

    #: :func:`split_for_padding`'s ``floor`` and ``min_tokens`` for this encoder's batches (benchmarks
    #: vary them per instance: ``benchmarks/retrieval.py --floors``).
    padding_floor: float = 0.97
    min_sub_batch_tokens: int = 2048

    def __init__(
        self,
        ref: ModelRef,
        layer: int | None = None,
        pooling: str = "mean",
        max_length: int = 512,
        dtype: str = "float32",
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        cache: EmbeddingCache | None = None,
        progress: bool = True,
        truncate_layers: bool = True,
    ):
        import torch

        if pooling not in POOLINGS:
            raise XgapError(f"unknown pooling '{pooling}' (choose one of: {', '.join(POOLINGS)})")
        if dtype not in DTYPES:
            raise XgapError(f"unknown dtype '{dtype}' (choose one of: {', '.join(DTYPES)})")
        if int(max_length) < 2:
            raise XgapError(f"max_length must be at least 2 (got {max_length})")
        self.ref = ref
        self.pooling = pooling
        self.dtype = dtype
        self.batch_tokens = int(batch_tokens)
        self.cache = cache
        self.progress = progress
        self.threads = use_all_cores()

        self.tokenizer = load_tokenizer(ref)
        self.model = load_model(ref, "AutoModel", allow_missing=UNUSED_POOLER)
        # Counted before any layer truncation: the size of the model is what was loaded (SPEC §1).
        self.parameter_counts = parameter_counts(self.model)
        config = self.model.config
        self.num_layers = int(getattr(config, "num_hidden_layers", 0) or 0)
        if self.num_layers <= 0:
            raise XgapError(f"model '{ref.name}' does not say how many layers it has (config.num_hidden_layers)")

        self.st_config: dict | None = None
        self.lowercase = False
        if pooling == "model":
            folder = checkpoint_dir(ref)
            if folder is None:
                raise XgapError(f"pooling 'model' needs the checkpoint's files, but '{ref.name}' is not available locally")
            self.st_config = read_st_config(folder)
            self.pool_mode = self.st_config["mode"]
            self.lowercase = self.st_config["do_lower_case"]
            if self.lowercase:
                self._add_lowercase()
            if layer is not None and int(layer) != self.num_layers:
                raise XgapError(f"pooling 'model' uses the last layer ({self.num_layers}); got layer {layer}")
            self.layer = self.num_layers
            if self.st_config["max_seq_length"]:
                max_length = int(self.st_config["max_seq_length"])
        else:
            self.pool_mode = pooling
            self.layer = default_layer(self.num_layers) if layer is None else int(layer)
            if not 0 <= self.layer <= self.num_layers:
                raise XgapError(f"layer {layer} is out of range for '{ref.name}' (0..{self.num_layers}; 0 = embedding output)")
        model_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(model_max, int) and 0 < model_max < 100_000:
            max_length = min(int(max_length), model_max)
        positions = getattr(config, "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            # RoBERTa-style models number positions from padding_idx + 1 (XLM-R: 514 -> 512 tokens)
            offset = getattr(getattr(self.model, "embeddings", None), "padding_idx", None)
            usable = positions - (offset + 1 if isinstance(offset, int) else 0)
            if usable > 1:
                max_length = min(int(max_length), usable)
        self.max_length = int(max_length)

        if getattr(self.model, "pooler", None) is not None and hasattr(self.model, "pooler"):
            try:
                self.model.pooler = None  # BERT-style pooler output is never used here
            except (AttributeError, TypeError):
                pass
        if dtype == "bfloat16":
            self.model.to(torch.bfloat16)
        self.layers_run = self.num_layers
        self._use_last = self.layer == self.num_layers
        if truncate_layers and self.layer < self.num_layers:
            self._truncate_layers()

        self._mask_optional = self._check_mask_optional()
        self._weights_hash: str | None = None
        self._tokenizer_hash: str | None = None
        self.stats = {"sentences": 0, "encoded": 0, "cache_hits": 0, "duplicates": 0, "same_tokens": 0, "batches": 0,
                      "real_tokens": 0, "padded_tokens": 0, "padded_token_width": 0,
                      "seconds": 0.0, "model_seconds": 0.0}

    # -- setup helpers ---------------------------------------------------------------------
    def _truncate_layers(self) -> None:
        """Drop layers above ``self.layer`` if that provably leaves hidden_states[layer] unchanged."""
        import torch

        found = find_layer_list(self.model, self.num_layers)
        if found is None:
            return
        path, layers = found
        enc = self.tokenizer(["xgap probe sentence, 1 2 3.", "a"], padding=True, return_tensors="pt")
        probe = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        with torch.inference_mode():
            full = self.model(**probe, output_hidden_states=True).hidden_states[self.layer].float()
            set_layer_list(self.model, path, list(layers)[: self.layer])
            try:
                cut = self.model(**probe).last_hidden_state.float()
                ok = cut.shape == full.shape and torch.allclose(cut, full, rtol=1e-4, atol=1e-4)
            except Exception:  # noqa: BLE001 - any failure: keep the full model
                ok = False
        if ok:
            self.layers_run = self.layer
            self._use_last = True
        else:
            set_layer_list(self.model, path, layers)

    def _check_mask_optional(self) -> bool:
        """True if this model treats ``attention_mask=None`` as all ones (checked on a probe)."""
        import torch

        ids = self.tokenizer(["xgap probe sentence, 1 2 3."], return_tensors="pt")["input_ids"]
        try:
            with torch.inference_mode():
                a = self.model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.float()
                b = self.model(input_ids=ids).last_hidden_state.float()
            return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
        except Exception:  # noqa: BLE001
            return False

    def _add_lowercase(self) -> None:
        """Prepend a Lowercase normalizer, as sentence-transformers does for ``do_lower_case``."""
        from tokenizers import normalizers

        backend = self.tokenizer.backend_tokenizer
        current = backend.normalizer
        if isinstance(current, normalizers.Lowercase) or (
            isinstance(current, normalizers.Sequence) and any(isinstance(n, normalizers.Lowercase) for n in current)
        ):
            return
        parts = [normalizers.Lowercase()]
        if isinstance(current, normalizers.Sequence):
            parts += list(current)
        elif current is not None:
            parts.append(current)
        backend.normalizer = normalizers.Sequence(parts)

    # -- identity --------------------------------------------------------------------------
    @property
    def weights_hash(self) -> str:
        if self._weights_hash is None:
            self._weights_hash = _weights_hash(self.ref, self.model)
        return self._weights_hash

    @property
    def tokenizer_hash(self) -> str:
        if self._tokenizer_hash is None:
            backend = getattr(self.tokenizer, "backend_tokenizer", None)
            blob = backend.to_str() if backend is not None else repr(sorted(self.tokenizer.get_vocab().items()))
            self._tokenizer_hash = hashlib.sha256(blob.encode("utf-8")).hexdigest()
        return self._tokenizer_hash

    def settings(self) -> dict:
        """Everything that determines the embeddings (goes into result records and cache keys)."""
        s = {
            "model": self.ref.name,
            "revision": self.ref.revision,
            "weights_hash": self.weights_hash,
            "tokenizer_hash": self.tokenizer_hash,
            "layer": self.layer,
            "num_layers": self.num_layers,
            "pooling": self.pooling,
            "pooling_mode": self.pool_mode,
            "special_tokens": True,
            "lowercase": self.lowercase,
            "max_length": self.max_length,
            "dtype": self.dtype,
            "normalize": True,
            "encoder_version": ENCODER_VERSION,
        }
        if self.st_config is not None:
            s["st_config"] = dict(self.st_config)
        return s

    def cache_key(self) -> dict:
        """``settings()`` without names that do not change embeddings (model id, revision)."""
        s = self.settings()
        s.pop("model")
        s.pop("revision")
        return s

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    # -- encoding --------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings ``(len(texts), dim)``, rows in input order."""
        t0 = time.perf_counter()
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise XgapError(f"encode() expects strings; item {i} is {type(t).__name__}")
        first: dict[str, int] = {}
        inverse = np.empty(len(texts), dtype=np.int64)
        unique: list[str] = []
        for i, t in enumerate(texts):
            j = first.get(t)
            if j is None:
                j = first[t] = len(unique)
                unique.append(t)
            inverse[i] = j
        self.stats["sentences"] += len(texts)
        self.stats["duplicates"] += len(texts) - len(unique)
        if self.cache is not None and unique:
            key = self.cache_key()
            emb, missing = self.cache.lookup(key, unique)
            self.stats["cache_hits"] += len(unique) - len(missing)
            if missing:
                miss_texts = [unique[i] for i in missing]
                new = self._encode_unique(miss_texts)
                self.cache.store(key, miss_texts, new)
                if emb is None:
                    emb = np.zeros((len(unique), new.shape[1]), dtype=np.float32)
                emb[np.asarray(missing, dtype=np.int64)] = new
        else:
            emb = self._encode_unique(unique)
        out = emb[inverse] if len(texts) else np.zeros((0, self.dim), dtype=np.float32)
        self.stats["seconds"] += time.perf_counter() - t0
        return np.ascontiguousarray(out, dtype=np.float32)

    def _encode_unique(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        enc = self.tokenizer(
            texts,
            add_special_tokens=True,
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        # different strings can tokenize identically (e.g. all-[UNK] sentences of an unseen
        # script): run each distinct token sequence once, so such sentences get bit-identical
        # embeddings (exact ties, broken by index downstream) instead of float noise
        seq_index: dict[tuple, int] = {}
        ids: list[list[int]] = []
        which = np.empty(len(texts), dtype=np.int64)
        for i, seq in enumerate(enc["input_ids"]):
            key = tuple(seq)
            j = seq_index.get(key)
            if j is None:
                j = seq_index[key] = len(ids)
                ids.append(seq)
            which[i] = j
        self.stats["same_tokens"] += len(texts) - len(ids)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        lengths = [len(x) for x in ids]
        batches = [sub for b in token_budget_batches(lengths, self.batch_tokens)
                   for sub in split_for_padding(b, lengths, min_tokens=self.min_sub_batch_tokens, floor=self.padding_floor)]
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = 0
        from xgap.progress import active

        run_display, bar = active(), None  # the run's one display; else (library use) a bar of this pass
        if self.progress and run_display is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(ids), desc="encoding", unit="sent", leave=False)
        t_model = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                width = max(lengths[i] for i in batch)
                arr = np.full((len(batch), width), pad_id, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for r, i in enumerate(batch):
                    n = lengths[i]
                    arr[r, :n] = ids[i]
                    mask[r, :n] = 1
                input_ids = torch.from_numpy(arr)
                attn = torch.from_numpy(mask)
                # no padding in this batch: no mask, so attention can take its unmasked fast path
                model_mask = None if self._mask_optional and min(lengths[i] for i in batch) == width else attn
                if self._use_last:
                    hidden = self.model(input_ids=input_ids, attention_mask=model_mask).last_hidden_state
                else:
                    hidden = self.model(input_ids=input_ids, attention_mask=model_mask, output_hidden_states=True).hidden_states[self.layer]
                pooled = pool_hidden(hidden, attn, self.pool_mode)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
                out[np.asarray(batch, dtype=np.int64)] = pooled.numpy()
                self.stats["batches"] += 1
                self.stats["real_tokens"] += int(sum(lengths[i] for i in batch))
                self.stats["padded_tokens"] += width * len(batch)
                self.stats["padded_token_width"] += width * width * len(batch)  # attention cost ~ sum b*w^2
                if run_display is not None:
                    run_display.advance(len(batch))
                if bar is not None:
                    bar.update(len(batch))
        if bar is not None:
            bar.close()
        self.stats["model_seconds"] += time.perf_counter() - t_model
        self.stats["encoded"] += len(texts)
        return out[which]

    def flops(self) -> float:
        """Approximate multiply-add FLOPs of the encoder layers run so far (2 per MAC; the
        embedding lookup, layer norms and activations are not counted)."""
        cfg = self.model.config
        h = int(cfg.hidden_size)
        inter = int(getattr(cfg, "intermediate_size", 4 * h))
        per_token = 2 * (4 * h * h + 2 * h * inter)  # Q, K, V, output projections + feed-forward
        attention = 2 * 2 * h  # QK^T and attention x V, per token per attended position
        return float(self.layers_run * (per_token * self.stats["padded_tokens"] + attention * self.stats["padded_token_width"]))

    def padding_efficiency(self) -> float:
        """Real / padded tokens over everything encoded so far (1.0 = no padding)."""
        p = self.stats["padded_tokens"]
        return self.stats["real_tokens"] / p if p else 1.0

    def reset_stats(self) -> None:
        for k in self.stats:
            self.stats[k] = 0.0 if isinstance(self.stats[k], float) else 0
