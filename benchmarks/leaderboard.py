"""Benchmark: build the leaderboard site from 1,000 synthetic submissions x 9 tasks x all card languages.

Usage:  python benchmarks/leaderboard.py [--submissions 1000] [--keep DIR] [--stages]

Prints (wall seconds, and CPU seconds of this process and its worker processes in brackets, which
other load on the machine inflates less), each against its target, met / not met by wall and by CPU:

- the first (cold) build: read and check every record, rank, render every page, plots, JSON/CSV
  (target < 5 s); ``--stages`` adds a one-process breakdown (read, table, pages, plots);
- incremental rebuilds: nothing changed (target < 1 s), one submission added (target < 2 s), one
  record changed (through a rename, as the store writes) and one record deleted (both held to the
  added submission's 2 s), one manifest edited so that no plotted point moves (the scaling
  figures are reused, not drawn), one submission deleted; then the site is compared file by file
  with a from-scratch build (``--no-cache``) of the same store: it must be byte-identical;
- what drawing the two scaling figures costs when their points did change (one process), against
  a baseline in the same run: the same panels' points drawn by matplotlib, as xgap drew them
  before its pure-Python SVG (``xgap.leaderboard.svgplot``);
- peak resident memory of the build (this process, and the largest worker);
- the resume path on a finished run (target < 2 s, no model loaded). ``xgap run``'s resume needs
  real data (it fingerprints each language's examples before comparing input keys), so with
  synthetic records it is measured as what it does with the store: look up every (task, language)
  record of the finished submission, validate it, compare its ``input_key``.

Baseline in the same run: the store's own reader (jsonschema per record) against the leaderboard's.
Prediction sidecars are not written (the site never reads them). The store is written with
``tests/helpers/synthetic.py``'s records (the runner's shape) through orjson (2-space indent; the
store itself writes 1-space): creating the files dominates either way. Then the benchmark waits
out the build's "racy" window (a folder changed within it is read again next time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    import resource

    return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
               for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _t(fn, *a, **kw):
    w, c = time.perf_counter(), _cpu()
    out = fn(*a, **kw)
    return out, time.perf_counter() - w, _cpu() - c


def _fmt(w, c) -> str:
    return f"{w:.2f}s [cpu {c:.2f}s]"


TARGETS: list = []  # (what, wall, cpu, limit) of every line with a target, summed up at the end


def _target(what: str, w: float, c: float, limit: float) -> str:
    TARGETS.append((what, w, c, limit))
    return f"target < {limit:g} s: {_verdict(w, c, limit)}"


def _verdict(w: float, c: float, limit: float) -> str:
    return f"wall {'met' if w < limit else 'NOT met'}, CPU {'met' if c < limit else 'NOT met'}"


def _fast_writer():
    """``helpers.synthetic.write_json`` through orjson, each folder made once (the same records, faster)."""
    import orjson

    made: set = set()

    def write_json(path: Path, obj) -> None:
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        with open(path, "wb") as fh:
            fh.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2))
    return write_json


def _rename_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # as the store writes: temp file + rename


def _board_from_cache(site: Path):
    """The site's table as the last build left it (its cache rows), for timing the plots alone."""
    from xgap.leaderboard.model import Leaderboard, entry_from_plain, rank_entries, target_tasks
    from xgap.leaderboard.records import loads
    from xgap.leaderboard.render import CACHE_NAME

    rows = loads((site / CACHE_NAME).read_bytes())["submissions"]
    return Leaderboard(target_tasks(), rank_entries([entry_from_plain(r["e"]) for r in rows.values()]))


RASTER_LIMIT = 300


def _matplotlib_baseline(board) -> int:
    """The two scaling figures' panels drawn the way xgap drew them before :mod:`xgap.leaderboard.svgplot`
    (matplotlib, Agg, SVG; one scatter per panel, markers rasterized above RASTER_LIMIT points),
    without the fits, legend and names: a lower bound of what matplotlib cost. Returns the SVG bytes."""
    import io
    import math

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    entries = [e for e in board.entries if e.parameters]
    size = 0
    for attr in ("gap", "score"):
        panels = [[(e.parameters, getattr(e.tasks[t.name], attr)) for e in entries
                   if t.name in e.tasks and getattr(e.tasks[t.name], attr) is not None] for t in board.tasks]
        panels = [(t.name, pts) for t, pts in zip(board.tasks, panels) if pts]
        ncols = min(4, len(panels))
        fig = Figure(figsize=(3.3 * ncols, 2.7 * math.ceil(len(panels) / ncols) + 0.65))
        FigureCanvasAgg(fig)
        for ax, (name, pts) in zip(fig.subplots(math.ceil(len(panels) / ncols), ncols, squeeze=False).flat, panels):
            ax.set_xscale("log")
            ax.set_title(f"{name} {attr}", fontsize=9)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="", marker="o", markersize=4.5,
                    rasterized=len(pts) > RASTER_LIMIT)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=110)
        size += len(buf.getvalue())
    return size


def _rss_mb() -> tuple:
    import resource

    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _site_files(site: Path) -> dict:
    from xgap.leaderboard.render import BOOKKEEPING

    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file() and p.name not in BOOKKEEPING}


def _settle() -> None:
    """Wait out the racy window after writing to the store (see xgap.leaderboard.records.RACY_NS)."""
    from xgap.leaderboard.records import RACY_NS

    time.sleep(RACY_NS / 1e9 + 0.05)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--keep", help="keep the synthetic store and site in this folder")
    ap.add_argument("--stages", action="store_true", help="also time read / table / pages / plots separately, in one process")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test-only helpers: tests/helpers/
    import helpers.synthetic
    from helpers.synthetic import synthetic_store

    from xgap.leaderboard.model import build_leaderboard, target_tasks
    from xgap.leaderboard.plots import scaling_figures
    from xgap.leaderboard.records import read_store, read_submission
    from xgap.leaderboard.render import BOOKKEEPING, build_site, write_site
    from xgap.store import ResultStore

    helpers.synthetic.write_json = _fast_writer()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xgap-bench-"))
    results, site, scratch = work / "results", work / "site", work / "site-stages"
    try:
        shutil.rmtree(results / f"synthetic-{args.submissions:04d}", ignore_errors=True)  # from an earlier --keep run
        have = sum(1 for p in results.iterdir() if p.is_dir()) if results.exists() else 0
        if have != args.submissions:
            shutil.rmtree(results, ignore_errors=True)
            n, w, c = _t(synthetic_store, results, args.submissions)
            print(f"generated {n:,} records for {args.submissions:,} submissions in {_fmt(w, c)} (not part of the build)")
        _settle()
        tasks = target_tasks()
        n_langs = sum(len(t.languages) for t in tasks)
        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        print(f"store: {args.submissions:,} submissions x {len(tasks)} tasks x {n_langs} languages = {args.submissions * n_langs:,} "
              f"records; {os.cpu_count()} CPU(s), load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")

        for d in (site, scratch, work / "site-scratch"):
            shutil.rmtree(d, ignore_errors=True)
        _, w, c = _t(build_site, results, site)
        rss, rss_child = _rss_mb()
        size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
        cache_mb = sum((site / n).stat().st_size for n in BOOKKEEPING if (site / n).exists()) / 1e6
        print(f"cold build: {_fmt(w, c)}  {_target('cold build', w, c, 5)}  (xgap leaderboard build --results {results} "
              f"--output {site}); site {size / 1e6:.0f} MB ({cache_mb:.0f} MB of it the build's cache and index), "
              f"{sum(1 for _ in site.rglob('*.html'))} pages; peak RSS {rss:.0f} MB (largest worker {rss_child:.0f} MB)")

        if args.stages:
            subs, w1, c1 = _t(read_store, results)
            board, w2, c2 = _t(build_leaderboard, subs, tasks)
            _, w3, c3 = _t(write_site, board, scratch, plots=False)
            _, w4, c4 = _t(scaling_figures, board)
            print(f"  stages (one process): read+check {_fmt(w1, c1)}, table {_fmt(w2, c2)}, pages+JSON+CSV {_fmt(w3, c3)}, "
                  f"plots {_fmt(w4, c4)}")
            del subs, board
            shutil.rmtree(scratch, ignore_errors=True)

        # Baseline in the same run: the store's own reader validates each record with jsonschema.
        sample = sorted(p for p in results.iterdir() if p.is_dir())[:50]
        store = ResultStore(results)
        nb, wb, cb = _t(lambda: sum(1 for p in sample for _ in store.iter_records(p.name)))
        nf, wf, cf = _t(lambda: sum(len(read_submission(p).records) for p in sample))
        print(f"  baseline reader (ResultStore.iter_records, jsonschema per record) on {nb:,} records: {_fmt(wb, cb)}; "
              f"fast reader (records.read_submission): {_fmt(wf, cf)} -> {wb / wf:.1f}x")

        info, w, c = _t(build_site, results, site)
        print(f"rebuild, nothing changed: {_fmt(w, c)}  {_target('nothing changed', w, c, 1)}  "
              f"({info['reused_pages']} submissions reused)")
        synthetic_store(results, 1, seed=1, start=args.submissions)
        _settle()
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after adding 1 submission: {_fmt(w, c)}  {_target('one submission added', w, c, 2)}  "
              f"({info['reused_pages']} reused; its points move: both figures redrawn)")

        first = sorted(p.name for p in results.iterdir() if p.is_dir())[0]
        rec_path = results / first / tasks[0].name / f"{tasks[0].languages[-1]}.json"
        original = rec_path.read_bytes()
        rec = json.loads(original)
        rec["primary_score"] = rec["metrics"][rec["primary_metric"]] = 1.5
        _rename_write(rec_path, json.dumps(rec).encode())
        _settle()
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after changing 1 record: {_fmt(w, c)}  {_target('one record changed', w, c, 2)}  "
              f"({info['reused_pages']} reused)")
        other = results / first / tasks[1].name / f"{tasks[1].languages[-1]}.json"
        other_bytes = other.read_bytes()
        other.unlink()
        _settle()
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after deleting 1 record: {_fmt(w, c)}  {_target('one record deleted', w, c, 2)}  "
              f"({info['reused_pages']} reused)")
        manifest = results / first / "manifest.json"
        manifest_bytes = manifest.read_bytes()
        doc = json.loads(manifest_bytes)
        doc["manifest"]["description"] = "edited: a description moves no plotted point"
        _rename_write(manifest, json.dumps(doc).encode())
        _settle()
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after editing 1 manifest (no plotted point moves: figures reused): {_fmt(w, c)}  "
              f"({info['reused_pages']} reused)")
        last = results / f"synthetic-{args.submissions - 1:04d}"
        moved = work / "moved-away"
        shutil.rmtree(moved, ignore_errors=True)
        os.replace(last, moved)
        _settle()
        info, w, c = _t(build_site, results, site)
        print(f"rebuild after deleting 1 submission: {_fmt(w, c)}  ({info['reused_pages']} reused)")
        _, w, c = _t(build_site, results, work / "site-scratch", cache=False)
        same = _site_files(site) == _site_files(work / "site-scratch")
        print(f"from-scratch build of the same store (--no-cache, fresh folder): {_fmt(w, c)}; incremental site byte-identical: "
              f"{'yes' if same else 'NO'}")
        shutil.rmtree(work / "site-scratch", ignore_errors=True)
        board = _board_from_cache(site)
        _, w1, c1 = _t(scaling_figures, board)
        _, w2, c2 = _t(scaling_figures, board)
        print(f"scaling figures drawn when their points changed (both, one process, svgplot): {_fmt(w2, c2)}; the first "
              f"time in this process: {_fmt(w1, c1)}")
        try:
            wi, ci = _t(__import__, "matplotlib.figure")[1:]
            _matplotlib_baseline(board)  # the first figure of a process also loads fonts: timed the second time, as svgplot
            _, w3, c3 = _t(_matplotlib_baseline, board)
            print(f"  baseline: the same panels' points drawn by matplotlib (scatter, log x, titles, SVG with markers "
                  f"rasterized above {RASTER_LIMIT} points, as xgap did before svgplot): {_fmt(w3, c3)} "
                  f"(+ importing matplotlib {_fmt(wi, ci)}) -> svgplot {w3 / max(w2, 1e-9):.1f}x faster")
        except ImportError:
            print("  baseline: matplotlib not installed, not measured")
        del board
        _rename_write(rec_path, original)
        other.write_bytes(other_bytes)
        _rename_write(manifest, manifest_bytes)
        os.replace(moved, last)

        def resume_one(sub):
            skipped = 0
            for t in tasks:
                for lang in t.languages:
                    rec = store.find(sub, t.name, lang)
                    skipped += rec is not None and bool(rec.input_key)
            return skipped

        skipped, w, c = _t(resume_one, first)
        print(f"resume, one finished submission ({skipped} records found, validated, input_key compared): {_fmt(w, c)}  "
              f"{_target('resume', w, c, 2)}")
        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print("targets:")
        for what, w, c, limit in TARGETS:
            print(f"  {what}: {_fmt(w, c)} against < {limit:g} s: {_verdict(w, c, limit)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
