"""``xgap compare``: the regression gate between two submissions (:mod:`xgap.compare`)."""

from __future__ import annotations


def cmd_compare(args) -> int:
    from pathlib import Path

    from xgap.compare import compare, markdown, resolve_submission

    base = resolve_submission(args.base, args.results)
    new = resolve_submission(args.new, args.results)
    result = compare(base, new, tolerance=args.tolerance, n_resamples=args.bootstrap, seed=args.seed, allow_missing=args.allow_missing)
    report = markdown(result)
    print(report)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(report, encoding="utf-8")
    return 1 if result["failed"] else 0


def register(subparsers) -> None:
    from xgap.argtypes import finite_nonneg_float, nonneg_int, seed_int

    p = subparsers.add_parser("compare", help="regression gate: per (task, language) deltas of NEW vs BASE with paired-bootstrap intervals",
                              description="Compare two submissions' results; exit 1 when a score drops by more than --tolerance "
                                          "and its 95% interval excludes no change (see the Markdown report's gate line).")
    p.add_argument("base", metavar="BASE", help="baseline: a submission results folder (results/<id>) or an id under --results")
    p.add_argument("new", metavar="NEW", help="candidate: a submission results folder or an id under --results")
    p.add_argument("--results", default="results", help="result store for ids given as BASE/NEW (default: results/)")
    p.add_argument("--tolerance", type=finite_nonneg_float, default=0.5, help="points a score may drop before the gate looks at it (default: 0.5)")
    p.add_argument("--report", metavar="FILE", help="also write the Markdown report here (e.g. for a CI comment)")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000, help="paired bootstrap resamples (default: 1000; 0 = unpaired only)")
    p.add_argument("--seed", type=seed_int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--allow-missing", action="store_true", help="do not fail on results missing from NEW or on a changed metric")
    p.set_defaults(func=cmd_compare)
