"""``xgap leaderboard build``: render the static site from a result store.

Only the standard library is imported here (``xgap --help`` must stay fast); the handler imports
Jinja, the plotting and the table logic when it runs.
"""

from __future__ import annotations

import sys
import time


def cmd_build(args) -> int:
    from xgap.leaderboard.render import build_site

    problems: list = []

    def on_problem(msg: str) -> None:
        problems.append(msg)
        print(f"xgap: skipped: {msg}", file=sys.stderr)

    t0 = time.perf_counter()
    info = build_site(args.results, args.output, on_problem=on_problem if args.skip_invalid else None,
                      plots=not args.no_plots, cache=not args.no_cache)
    reused = f", {info['reused_pages']} unchanged submission(s) reused" if info.get("reused_pages") else ""
    print(f"built {info['submissions']} submission(s) x {info['tasks']} task(s) in {time.perf_counter() - t0:.1f}s{reused} -> "
          f"{info['index']} (open it from file://; scaling view: {info['scaling']})")
    if problems:
        print(f"{len(problems)} invalid record(s) skipped (listed above)", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("leaderboard", help="build the static leaderboard site from result records")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    b = lsub.add_parser("build", help="render overview, task, submission and scaling pages plus leaderboard.json/.csv",
                        description="Render the static leaderboard (works from file://, no network) from a result store.")
    b.add_argument("--results", default="results", help="result store folder (default: results/)")
    b.add_argument("--output", default="site", help="site folder to write (default: site/; must be new, empty or an earlier xgap site)")
    b.add_argument("--skip-invalid", action="store_true",
                   help="skip corrupt or schema-invalid records (each listed; exit 1) instead of stopping at the first")
    b.add_argument("--no-plots", action="store_true", help="skip the scaling and grid plots (faster)")
    b.add_argument("--no-cache", action="store_true",
                   help="re-read every record, re-render every page and redraw the figures, then refresh the cache (default: reuse "
                        "submissions whose folders are unchanged; a record edited in place, not replaced, needs --no-cache)")
    b.set_defaults(func=cmd_build)
