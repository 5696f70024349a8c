"""``xgap export`` and ``xgap export-labels``: predictions and gold labels in XTREME's submission layout."""

from __future__ import annotations


def cmd_export(args) -> int:
    from xgap.export import export_results

    n = export_results(args.results, args.out, fmt=args.format)
    print(f"wrote {n} prediction files under {args.out}")
    return 0


def cmd_export_labels(args) -> int:
    from xgap.export import export_labels

    n = export_labels(args.tasks.split(","), args.out, data_dir=args.data_dir, langs=args.langs.split(",") if args.langs else None)
    print(f"wrote {n} label files under {args.out}")
    return 0


def register(subparsers) -> None:
    p_exp = subparsers.add_parser("export", help="write a run's predictions in XTREME's submission layout")
    p_exp.add_argument("results", help="result store folder (or one submission's folder)")
    p_exp.add_argument("out", help="folder to write <task>/test-<lang>.* prediction files into")
    p_exp.add_argument("--format", choices=["xtreme"], default="xtreme", help="submission layout (only xtreme)")
    p_exp.set_defaults(func=cmd_export)

    p_lab = subparsers.add_parser("export-labels", help="write gold labels from our data in XTREME's layout")
    p_lab.add_argument("out", help="folder to write the label files into")
    p_lab.add_argument("--tasks", required=True, help="comma-separated task names, e.g. xnli,tatoeba")
    p_lab.add_argument("--langs", help="comma-separated language codes (default: every language of each task)")
    p_lab.add_argument("--data-dir", help="local data in the original layouts (default: $XGAP_DATA_DIR, then the hub)")
    p_lab.set_defaults(func=cmd_export_labels)
