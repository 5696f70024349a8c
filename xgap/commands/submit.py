"""``xgap submit check``: validate manifests and their parameter claims (:mod:`xgap.submit`)."""

from __future__ import annotations


def cmd_submit_check(args) -> int:
    from xgap.submit import check_submission

    for f in args.files:
        for line in check_submission(f, count=not args.no_count, trust_remote_code=args.trust_remote_code):
            print(line)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("submit", help="check a submission manifest before running it")
    ssub = p.add_subparsers(dest="submit_command", metavar="ACTION")
    c = ssub.add_parser("check", help="validate manifest(s) and verify claimed_parameters against the weights",
                        description="Validate submission manifest(s); count parameters from the weights where the model is "
                                    "available offline (>1% off the claim: exit 1).")
    c.add_argument("files", nargs="+", metavar="FILE", help="submissions/<id>.yaml")
    c.add_argument("--no-count", action="store_true", help="validate only; do not load the model to count parameters")
    c.add_argument("--trust-remote-code", action="store_true", help="allow the checkpoint's own Python code when counting (off by default)")
    c.set_defaults(func=cmd_submit_check)
