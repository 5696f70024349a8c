"""Benchmark: build the leaderboard site from 1,000 synthetic submissions x 9 tasks x all card languages.

Usage:  python benchmarks/leaderboard.py [--submissions 1000] [--keep DIR]

Prints (wall seconds, and CPU seconds of this process in brackets, which other load on the machine
inflates less):

- the first (cold) build: read and check every record, rank, render every page, plots, JSON/CSV
  (target < 5 s), with a per-stage breakdown;
- an incremental rebuild with nothing changed, and one after a new submission was added (unchanged
  submissions are fingerprinted by file metadata, not re-read, and their pages kept);
- the resume path on a finished run (target < 2 s, no model loaded). ``xgap run``'s resume needs
  real data (it fingerprints each language's examples before comparing input keys), so with
  synthetic records it is measured as what it does with the store: look up every (task, language)
  record of the finished submission, validate it, compare its ``input_key`` -- for one submission
  (one rerun of ``xgap run``) and, for scale, for the whole store.

Prediction sidecars are not written (the site never reads them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _t(fn, *a, **kw):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*a, **kw)
    return out, time.perf_counter() - w, time.process_time() - c


def _fmt(w, c) -> str:
    return f"{w:.2f}s [cpu {c:.2f}s]"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--keep", help="keep the synthetic store and site in this folder")
    args = ap.parse_args(argv)

    from xgap.leaderboard.model import build_leaderboard, target_tasks
    from xgap.leaderboard.plots import scaling_figures
    from xgap.leaderboard.records import read_store, read_submission
    from xgap.leaderboard.render import build_site, write_site
    from xgap.leaderboard.synthetic import synthetic_store
    from xgap.store import ResultStore

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xgap-bench-"))
    results, site, scratch = work / "results", work / "site", work / "site-stages"
    try:
        shutil.rmtree(results / f"synthetic-{args.submissions:04d}", ignore_errors=True)  # from an earlier --keep run
        if not results.exists():
            n, w, _ = _t(synthetic_store, results, args.submissions)
            print(f"generated {n:,} records for {args.submissions:,} submissions in {w:.1f}s (not part of the build)")
        tasks = target_tasks()
        n_langs = sum(len(t.languages) for t in tasks)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"store: {args.submissions:,} submissions x {len(tasks)} tasks x {n_langs} languages = {args.submissions * n_langs:,} "
              f"records; {os.cpu_count()} CPU(s), load average {load:.1f}")

        for d in (site, scratch):
            shutil.rmtree(d, ignore_errors=True)
        _, w, c = _t(build_site, results, site)
        print(f"cold build: {_fmt(w, c)}  (xgap leaderboard build --results {results} --output {site})")

        subs, w1, c1 = _t(read_store, results)
        board, w2, c2 = _t(build_leaderboard, subs, tasks)
        _, w3, c3 = _t(write_site, board, scratch, plots=False)
        _, w4, c4 = _t(scaling_figures, board)
        size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
        print(f"  stages (second pass): read+check {_fmt(w1, c1)}, table {_fmt(w2, c2)}, pages+JSON+CSV {_fmt(w3, c3)}, "
              f"plots {_fmt(w4, c4)}; site {size / 1e6:.0f} MB, {sum(1 for _ in site.rglob('*.html'))} pages")

        # Baseline in the same run: the store's own reader validates each record with jsonschema.
        sample = sorted(p for p in results.iterdir() if p.is_dir())[:50]
        store = ResultStore(results)
        nb, wb, cb = _t(lambda: sum(1 for p in sample for _ in store.iter_records(p.name)))
        nf, wf, cf = _t(lambda: sum(len(read_submission(p).records) for p in sample))
        print(f"  baseline reader (ResultStore.iter_records, jsonschema per record) on {nb:,} records: {_fmt(wb, cb)}; "
              f"fast reader (records.read_submission): {_fmt(wf, cf)} -> {wb / wf:.1f}x")

        info, w, c = _t(build_site, results, site)
        print(f"rebuild, nothing changed: {_fmt(w, c)} ({info['reused_pages']} submissions reused)")
        synthetic_store(results, 1, seed=1, start=args.submissions)
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after adding 1 submission: {_fmt(w, c)} ({info['reused_pages']} reused)")

        first = sorted(p.name for p in results.iterdir() if p.is_dir())[0]

        def resume_one(sub):
            skipped = 0
            for t in tasks:
                for lang in t.languages:
                    rec = store.find(sub, t.name, lang)
                    skipped += rec is not None and bool(rec.get("input_key"))
            return skipped

        skipped, w, c = _t(resume_one, first)
        print(f"resume, one finished submission ({skipped} records found, validated, input_key compared): {_fmt(w, c)}")
        subs2, w, c = _t(read_store, results)
        keys = sum(1 for s in subs2 for _, r in s.records if r.get("input_key"))
        print(f"resume scan, whole store ({keys:,} records read, checked, input keys collected): {_fmt(w, c)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
