"""``xgap import-reported``: published figures into 'reported' records (:mod:`xgap.reported`)."""

from __future__ import annotations


def cmd_import_reported(args) -> int:
    from xgap.reported import import_reported

    info = import_reported(args.file, args.output, args.manifests)
    print(f"imported {info['records']} reported record(s) for {info['models']} published model(s) into {info['output']} "
          f"(status 'reported', language 'all'; gap unknown)")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("import-reported", help="turn published figures (with citations) into result records marked 'reported'",
                              description="Import published task averages as 'reported' result records, one submission folder per model.")
    p.add_argument("file", help="published figures, e.g. ../shared/reference/published-xtreme.yaml")
    p.add_argument("--output", default="results", help="result store folder (default: results/)")
    p.add_argument("--manifests", help="folder of submission manifests <id>.yaml to use (default: submissions/ if present)")
    p.set_defaults(func=cmd_import_reported)
