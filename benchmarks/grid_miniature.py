"""The miniature X-STILTs grid on CPU: ``experiments/miniature.yaml`` end to end, timed, then resumed.

What it runs (see the experiment file's comments for the stand-ins): all-MiniLM-L6-v2 truncated to
2, 4 and 6 layers x intermediate {none, English extractive QA trained on XQuAD's English file} ->
UD-POS fine-tuned on English-EWT dev (80%), zero-shot on the UD test sets of en, de, fr, zh, ar, hi.

Figures printed: wall time per stage (encoder copies, phase ii, phase iii, evaluation) of the run,
the same for an immediate rerun (the baseline for resume: it must do no work), the tables of
``xgap grid report`` (gap per cell with 95% intervals; gain of intermediate training vs none per
size), the phase-(ii) dev scores, and where the site's grid page is. A JSON summary goes to
``<work>/summary.json``.

Usage::

    python benchmarks/grid_miniature.py [--work DIR] [--data-dir DIR]

Not a test: the first run trains nine models (about half an hour on 2 CPU cores). A rerun reuses
every checkpoint and record.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _common import REPO, data_dir  # noqa: E402 - benchmarks/ is on sys.path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiment", default=str(REPO / "experiments" / "miniature.yaml"))
    ap.add_argument("--data-dir")
    ap.add_argument("--work", default=str(REPO / "benchmarks" / "out" / "miniature"), help="results/ and site/ go here")
    ap.add_argument("--checkpoints", help="default: <cache>/grids/<experiment>")
    args = ap.parse_args(argv)

    import torch

    from xgap.grid import load_experiment, plan_grid, run_grid
    from xgap.grid.summary import gain_rows, summarize_store
    from xgap.leaderboard.grid_report import markdown
    from xgap.leaderboard.grids import grid_file
    from xgap.leaderboard.render import build_site
    from xgap.training.lineage import read_lineage

    data = data_dir(args.data_dir, "UD v2.5 under udpos/, XQuAD under xquad/")
    work = Path(args.work)
    results, site = work / "results", work / "site"
    exp = load_experiment(args.experiment)
    print(f"experiment: {args.experiment}\ndata: {data}\ntorch threads: {torch.get_num_threads()}; load average {os.getloadavg()}")

    t0 = time.perf_counter()
    plan = plan_grid(exp, results, root=args.checkpoints, data_dir=data)
    t_plan = time.perf_counter() - t0
    c = plan.counts()
    print(f"plan ({t_plan:.1f}s): {c['cells']} cells; to do {c['phase2_todo']}/{c['phase2']} phase (ii), "
          f"{c['phase3_todo']}/{c['phase3']} phase (iii), {c['records_todo']}/{c['records']} records")

    first = run_grid(exp, results, root=args.checkpoints, data_dir=data)
    rerun = run_grid(exp, results, root=args.checkpoints, data_dir=data, progress=False)
    t1 = time.perf_counter()
    info = build_site(results, site)
    t_site = time.perf_counter() - t1
    if first.failures or rerun.failures:
        print(f"FAILED: {first.failures + rerun.failures}")
        return 1

    print(f"\nrun:   {first.records_computed} records computed, {first.records_reused} reused; "
          f"{sum(not t['reused'] for t in first.trained)} trainings; seconds {first.seconds}")
    print(f"rerun: {rerun.records_computed} records computed, {rerun.records_reused} reused; "
          f"{sum(not t['reused'] for t in rerun.trained)} trainings; seconds {rerun.seconds}")
    print(f"site built in {t_site:.1f}s -> {site / 'grids' / grid_file(exp.name)}")

    print("\nphase (ii) English dev (QA: mean of EM and F1 on the held-out 20% of XQuAD-en):")
    for s in plan.phase2:
        lin = read_lineage(s.output) or {}
        dev = (lin.get("selection") or {}).get("dev") or {}
        shown = ", ".join(f"{k} {v:.2f}" for task in dev.values() for k, v in task.items())
        print(f"  {s.key}: {shown} (best step {lin.get('steps', {}).get('best')})")

    summaries = summarize_store(results, experiment=exp.name)
    for s in summaries:
        print()
        print(markdown(s))
    doc = {"experiment": exp.name, "load_average": os.getloadavg(), "seconds": {"plan": round(t_plan, 1), "run": first.seconds,
           "rerun": rerun.seconds, "site": round(t_site, 1)},
           "cells": [{k: getattr(c, k) for k in ("encoder", "size", "parameters", "intermediate", "target", "english", "others_mean",
                                                 "task_score", "gap", "gap_interval", "per_lang")} for s in summaries for c in s.cells],
           "gains": [{"target": t, **r._asdict()} if hasattr(r, "_asdict") else {"target": t, **r.__dict__}
                     for s in summaries for t in s.targets for r in gain_rows(s, t)],
           "site": info["index"]}
    (work / "summary.json").write_text(json.dumps(doc, indent=1, default=str))
    print(f"\nsummary -> {work / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
