"""The size axis: where each encoder of a grid comes from, and truncated copies of one checkpoint.

Why truncation: a real size series needs several pretrained sizes of one family, which this
machine cannot download. Keeping the first N transformer layers of one checkpoint (embeddings,
layers 0..N-1, and whatever follows the layer stack, e.g. BERT's pooler) is an honest, documented
way to get one: each size is a real model whose parameters are counted from its saved weights,
and nothing is retrained -- but it is *a family of truncations*, not of separately pretrained
models, and the report says so (``grid.layers`` in each submission's manifest).

A truncated copy is saved once (safetensors + tokenizer) under ``<grid root>/encoders/`` in a
folder named from the source's identity and N, with ``xgap-encoder.json`` recording both and the
parameter counts; a rerun reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from xgap.errors import XgapError
from xgap.grid.spec import EncoderVariant
from xgap.modeling.encoder import find_layer_list, set_layer_list
from xgap.modeling.models import ModelRef

log = logging.getLogger(__name__)

INFO_FILE = "xgap-encoder.json"


def source_ref(variant: EncoderVariant) -> ModelRef:
    """The (untruncated) checkpoint a variant starts from."""
    from xgap.harness.runner import ref_from_manifest_model

    path = variant.spec.get("path")
    if path and not Path(path).expanduser().is_dir():
        raise XgapError(f"encoder '{variant.name}': model folder '{path}' does not exist - fix: give an existing checkpoint "
                        f"folder as path:, or a hub id as hub:")
    # An experiment spec is the operator's own file (unlike a submitted manifest): its opt-in counts.
    return ref_from_manifest_model(variant.spec, bool(variant.spec.get("trust_remote_code", False)))


def identity(variant: EncoderVariant) -> str:
    """A stable string naming the variant's inputs (source spec and layer count), for folder keys."""
    return json.dumps({"source": variant.spec, "layers": variant.layers}, sort_keys=True)


def variant_dir(variant: EncoderVariant, root: Path) -> Path | None:
    """Folder of the truncated copy (None for an untruncated encoder, which is used in place)."""
    if not variant.layers:
        return None
    h = hashlib.sha256(identity(variant).encode()).hexdigest()[:10]
    return Path(root) / "encoders" / f"{variant.key}-{h}"


def materialized(variant: EncoderVariant, root: Path) -> bool:
    d = variant_dir(variant, root)
    return d is None or (d / INFO_FILE).is_file()


def variant_ref(variant: EncoderVariant, root: Path) -> ModelRef:
    """The model a cell's training starts from: the truncated copy, or the source itself."""
    d = variant_dir(variant, root)
    src = source_ref(variant)
    return src if d is None else ModelRef(str(d), None, src.trust_remote_code)


def materialize(variant: EncoderVariant, root: Path) -> ModelRef:
    """Write the truncated copy if it is missing; return the ref to train from."""
    d = variant_dir(variant, root)
    if d is None or (d / INFO_FILE).is_file():
        return variant_ref(variant, root)
    from xgap.modeling.models import (
        UNUSED_POOLER,
        load_model,
        load_tokenizer,
        parameter_counts,
        quiet_transformers,
        weights_hash,
    )
    from xgap.store import atomic_write_json

    src = source_ref(variant)
    model = load_model(src, "AutoModel", allow_missing=UNUSED_POOLER)
    n_layers = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    if not 1 <= variant.layers <= n_layers:
        raise XgapError(f"encoder '{variant.name}': cannot keep {variant.layers} layers of a {n_layers}-layer model "
                        f"- fix: use layers between 1 and {n_layers}")
    found = find_layer_list(model, n_layers)
    if found is None:
        raise XgapError(f"encoder '{variant.name}': cannot find the layer list of a {type(model).__name__} to truncate")
    path, layers = found
    set_layer_list(model, path, list(layers)[: variant.layers])
    model.config.num_hidden_layers = variant.layers
    quiet_transformers()
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    load_tokenizer(src).save_pretrained(d)
    counts = parameter_counts(model)
    info = {"source": variant.spec, "source_layers": n_layers, "layers": variant.layers, "layer_list": path,
            "source_weights_hash": weights_hash(src), "parameters": counts,
            "note": "first N transformer layers of the source checkpoint; embeddings and the rest unchanged"}
    atomic_write_json(d / INFO_FILE, info)  # written last: its presence means the copy is complete
    log.info("encoder %s: kept %d of %d layers -> %s (%s parameters)", variant.name, variant.layers, n_layers, d, f"{counts['total']:,}")
    return variant_ref(variant, root)


def encoder_parameters(variant: EncoderVariant, root: Path) -> dict:
    """Parameter counts of the variant's encoder (``AutoModel``), from its weights; cached on disk."""
    d = variant_dir(variant, root)
    if d is not None:
        materialize(variant, root)
        return json.loads((d / INFO_FILE).read_text())["parameters"]
    from xgap.store import atomic_write_json

    cache = Path(root) / "encoders" / f"{variant.key}-{hashlib.sha256(identity(variant).encode()).hexdigest()[:10]}.params.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from xgap.modeling.models import UNUSED_POOLER, load_model, parameter_counts

    counts = parameter_counts(load_model(source_ref(variant), "AutoModel", allow_missing=UNUSED_POOLER))
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cache, counts)
    return counts
