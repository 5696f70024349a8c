"""``lineage.json``: where a trained checkpoint came from, back to the pretrained encoder.

Every folder written by ``xgap train`` holds one. It records the base model (id, revision, weight
hash), the tasks (card version and hash, data origin and fingerprint, example counts, labels),
the effective recipe and what overrode it, the seed, dtype, steps, the dev scores of the selected
checkpoint, and -- when the input encoder was itself trained by xgap -- that encoder's whole
lineage under ``encoder_lineage``. ``chain`` is the flat summary, oldest first, e.g.::

    [{"phase": "encoder", "model": "xlm-roberta-base", "weights_hash": "..."},
     {"phase": "intermediate", "tasks": ["mnli"], "weights_hash": "...", "dev_score": 84.1},
     {"phase": "target", "tasks": ["xnli"], "weights_hash": "...", "dev_score": 83.0}]

This module imports only the standard library, so result writers can read lineages cheaply
(:func:`lineage_summary` is the piece meant to be copied into result records' provenance).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

LINEAGE_FILE = "lineage.json"
LINEAGE_VERSION = 1


def read_lineage(model_dir) -> dict | None:
    """The lineage of a local checkpoint folder, or None (not trained by xgap, or a hub id)."""
    try:
        path = Path(str(model_dir)).expanduser() / LINEAGE_FILE
    except (TypeError, ValueError):
        return None
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def lineage_summary(model_dir) -> dict | None:
    """``{"chain": [...], "lineage_sha256": ...}`` for result records, or None without a lineage."""
    path = Path(str(model_dir)).expanduser() / LINEAGE_FILE
    doc = read_lineage(model_dir)
    if doc is None:
        return None
    return {"chain": doc.get("chain", []), "lineage_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def base_link(model_name: str, revision: str | None, weights_hash: str) -> dict:
    return {"phase": "encoder", "model": model_name, "revision": revision, "weights_hash": weights_hash}


def chain_for(encoder_lineage: dict | None, model_name: str, revision: str | None, weights_hash: str, link: dict) -> list:
    """The input encoder's chain (or a one-link chain naming the pretrained encoder) + ``link``."""
    if encoder_lineage and encoder_lineage.get("chain"):
        prior = list(encoder_lineage["chain"])
    else:
        prior = [base_link(model_name, revision, weights_hash)]
    return prior + [link]


def describe_chain(chain: list) -> str:
    """``all-MiniLM-L6-v2 -> intermediate mnli -> target xnli`` (for messages and reports)."""
    parts = []
    for link in chain:
        if link.get("phase") == "encoder":
            p = Path(str(link.get("model", "?")))
            parts.append(f"{p.parent.name}/{p.name}" if p.name in ("model", "checkpoint") and p.parent.name else (p.name or str(p)))
        else:
            parts.append(f"{link.get('phase')} {'+'.join(link.get('tasks', []))}")
    return " -> ".join(parts)
