"""``xgap grid plan|run|report``: experiment grids from the command line (standard library only here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _progress(args) -> bool:
    return not (getattr(args, "quiet", False) or os.environ.get("XGAP_QUIET"))


def _load(args):
    """The experiment, with ``--seeds`` (a subset or other seeds) applied."""
    from xgap.errors import XgapError
    from xgap.grid.spec import load_experiment

    exp = load_experiment(args.file)
    if getattr(args, "seeds", None):
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise XgapError(f"--seeds '{args.seeds}': expected integers, e.g. --seeds 0 or --seeds 0,1,2") from None
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise XgapError(f"--seeds '{args.seeds}': give distinct non-negative integers, e.g. --seeds 0,1")
        exp.seeds = seeds
    return exp


def cmd_plan(args) -> int:
    from xgap.grid.plan import format_plan, plan_grid

    exp = _load(args)
    plan = plan_grid(exp, args.output, root=args.checkpoints, data_dir=args.data_dir, cache_dir=args.cache_dir)
    print(format_plan(plan))
    return 0


def cmd_run(args) -> int:
    from xgap.errors import XgapError
    from xgap.grid.plan import plan_grid
    from xgap.grid.run import run_grid
    from xgap.harness.executors import make_executor

    exp = _load(args)
    ex = dict(exp.executor)
    kind = args.executor or ex.get("kind", "local")
    if kind == "local":
        executor = make_executor("local")
    else:
        executor = make_executor(kind, address=args.address or ex.get("address"), num_gpus=ex.get("gpus_per_job", 0),
                                 num_cpus=ex.get("cpus_per_job", 1), retries=ex.get("retries", 2), progress=_progress(args))
    if _progress(args):
        plan = plan_grid(exp, args.output, root=args.checkpoints, data_dir=args.data_dir, cache_dir=args.cache_dir)
        c = plan.counts()
        print(f"grid {exp.name}: {c['cells']} cells; to do: {c['encoders_to_prepare']} encoder(s), {c['phase2_todo']} phase (ii), "
              f"{c['phase3_todo']} phase (iii), {c['records_todo']} of {c['records']} records (executor: {kind})")
    out = run_grid(exp, args.output, root=args.checkpoints, data_dir=args.data_dir, cache_dir=args.cache_dir, executor=executor,
                   progress=_progress(args), force=args.force)
    trained = [t for t in out.trained if not t["reused"]]
    print(f"\ngrid {exp.name}: {len(trained)} training run(s) ({len(out.trained) - len(trained)} reused), "
          f"{out.records_computed} records computed, {out.records_reused} unchanged; "
          f"wall {out.seconds.get('total', 0):.0f}s ({', '.join(f'{k} {v:.0f}s' for k, v in out.seconds.items() if k != 'total')})")
    site = None
    if args.site:
        from xgap.leaderboard.render import build_site

        info = build_site(args.output, args.site)
        site = _grid_page(args.site, exp.name)
        print(f"site: {info['index']} (grid page: {site})")
    _print_report(exp.name, args.output, site)
    if out.failures:
        for name, err in out.failures:
            print(f"xgap: failed: {name}: {err}", file=sys.stderr)
        raise XgapError(f"{len(out.failures)} grid job(s) failed; finished work is kept - rerun `xgap grid run {args.file}` to retry")
    return 0


def _grid_page(site: str, name: str) -> Path:
    from xgap.leaderboard.grids import grid_file

    return Path(site) / "grids" / grid_file(name)


def _print_report(name: str, output: str, site) -> bool:
    """Print the grid's tables; False when the store holds none of its records."""
    from xgap.grid.summary import summarize_store
    from xgap.leaderboard.grid_report import markdown

    found = summarize_store(output, experiment=name) if Path(output).is_dir() else []
    if not found:
        print(f"xgap: no records of grid '{name}' in {output} yet - fix: run xgap grid run experiments/{name}.yaml", file=sys.stderr)
        return False
    for s in found:
        print()
        print(markdown(s))
    if site:
        print(f"\nplots: {site}")
    return True


def cmd_report(args) -> int:
    from xgap.grid.spec import load_experiment

    exp = load_experiment(args.file)
    site = None
    if args.site:
        from xgap.leaderboard.render import build_site

        build_site(args.output, args.site)
        site = _grid_page(args.site, exp.name)
    if not _print_report(exp.name, args.output, site):
        return 1
    if not site:
        print(f"\nplots: xgap grid report {args.file} --site site  (or xgap leaderboard build --results {args.output}) "
              f"writes them to {_grid_page('site', exp.name)}")
    return 0


def _common(p, with_data: bool = True) -> None:
    p.add_argument("file", help="experiment file, e.g. experiments/miniature.yaml")
    p.add_argument("--output", default="results", help="result store (default: results/)")
    if with_data:
        p.add_argument("--data-dir", help="local data (default: $XGAP_DATA_DIR, then the hub)")
        p.add_argument("--checkpoints", help="folder for truncated encoders and trained checkpoints "
                                             "(default: <cache>/grids/<experiment>; never inside the result store)")
        p.add_argument("--cache-dir", help="xgap cache folder (default: $XGAP_CACHE_DIR or ~/.cache/xgap)")
        p.add_argument("--seeds", metavar="N[,N...]", help="run these seeds instead of the file's (e.g. --seeds 0 for a quick pass)")


def register(subparsers) -> None:
    p = subparsers.add_parser("grid", help="experiment grids: encoders x intermediate tasks x targets as one YAML file")
    sub = p.add_subparsers(dest="grid_command", metavar="ACTION")

    pp = sub.add_parser("plan", help="list the jobs an experiment implies (trainings, evaluations) and which are done",
                        description="Expand the experiment into phase (ii) trainings (one per encoder size, setting and seed, "
                                    "shared by all targets), phase (iii) trainings and evaluations; mark what exists.")
    _common(pp)
    pp.set_defaults(func=cmd_plan)

    pr = sub.add_parser("run", help="run what is missing: encoders, phase (ii), phase (iii), evaluation (resumable)",
                        description="Each cell (encoder size x setting x seed) becomes a submission <experiment>-<encoder>-"
                                    "<setting>-s<seed> in the result store; rerunning does only what is missing.")
    _common(pr)
    pr.add_argument("--executor", choices=["local", "ray"], help="override the experiment's executor")
    pr.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    pr.add_argument("--site", help="also build the leaderboard site into this folder (the grid page: <site>/grids/<name>.html)")
    pr.add_argument("--force", action="store_true", help="re-evaluate records even when unchanged")
    pr.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="print the grid's gap and gain-vs-none tables (Markdown) and where the plots are")
    _common(rp, with_data=False)
    rp.add_argument("--site", help="build the leaderboard site into this folder first (grid page: <site>/grids/<name>.html)")
    rp.set_defaults(func=cmd_report)
