"""``xgap validate``: check task cards, submission manifests, result records and experiment grids."""

from __future__ import annotations


def cmd_validate(args) -> int:
    from xgap.documents import iter_documents, validate_paths

    skipped: list = []
    problems = validate_paths(args.paths, skipped)
    if problems:
        for p in problems:
            print(p)
        return 1
    n = len(iter_documents(args.paths)) - len(skipped)
    other = f"; {len(skipped)} other file{'s' if len(skipped) != 1 else ''} skipped" if skipped else ""
    print(f"ok ({n} file{'s' if n != 1 else ''}{other})")
    return 0


def register(subparsers) -> None:
    p_val = subparsers.add_parser("validate", help="validate task cards, submission manifests and result records")
    p_val.add_argument("paths", nargs="+", metavar="PATH",
                       help="files or folders; each file is checked as what it is (task card, submission manifest, "
                            "a result store's manifest.json, result record, experiment grid)")
    p_val.set_defaults(func=cmd_validate)
