"""The ``xgap`` command line. Each subcommand is a thin wrapper over the Python API.

Every subcommand is registered the same way: a module with ``register(subparsers)``, listed once in
:data:`COMMANDS` (in ``xgap --help`` order). This module holds only the plumbing: the parser, the
global flags, logging set-up and the one-line error contract of :func:`main`.

Only argparse and the standard library are imported at start-up: ``xgap --help`` must answer
instantly, so torch/transformers/datasets are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys

from xgap import __version__

#: Every module that contributes subcommands through ``register(subparsers)``, in ``xgap --help``
#: order. Each must import only the standard library at module level (keeps --help fast).
COMMANDS: list[str] = [
    "commands.tasks", "commands.validate", "commands.data", "commands.run", "commands.score", "commands.export",
    "leaderboard.commands", "grid.commands", "commands.reported", "commands.compare", "commands.submit", "training.commands", "demo",
]


class ArgumentError(Exception):
    """A bad command line (unknown flag, value out of range); :func:`main` prints it as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become one ``xgap:`` line and exit 2 (a bad flag value is input like any other)."""

    def error(self, message: str):
        where = self.prog.removeprefix("xgap").strip()  # "run", "train target"; "" for the top level
        raise ArgumentError(f"{where + ': ' if where else ''}{message[:300]} - see {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xgap",
        description="Zero-shot cross-lingual transfer benchmark harness (XTREME targets, X-STILTs intermediate tasks).",
    )
    parser.add_argument("--version", action="version", version=f"xgap {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display or log lines (also accepted after any command)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        try:
            mod = importlib.import_module(f"xgap.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"xgap.{module}":
                raise
            continue  # optional command module not present in this build
        mod.register(sub)
    _add_global_flags_everywhere(parser)
    return parser


def _add_global_flags_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``-q/--quiet`` and ``-v/--verbose`` after every (sub)command too, not only before it.

    One rule for all subcommands, including those that modules register: every subparser gets the
    flags with ``default=SUPPRESS``, so a subparser that was not given the flag leaves the value that
    the top-level parser set (``xgap -q run`` and ``xgap run -q`` mean the same)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                present = {s for a in child._actions for s in a.option_strings}
                if "--quiet" not in present:
                    child.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                                       help="no progress display or log lines")
                if "--verbose" not in present:
                    child.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                                       help="debug logging")
                _add_global_flags_everywhere(child)


def _command_parser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The subparser of ``command`` (``parser`` itself when there is none), so that every command
    given without its action prints its own help and exits 2 -- one rule for all of them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    # faiss logs which SIMD build it tried ("Could not load library with AVX2 support ...") at INFO
    # on every import; that is an implementation detail, not news for the user.
    logging.getLogger("faiss.loader").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if quiet:
        os.environ["XGAP_QUIET"] = "1"
        os.environ.setdefault("TQDM_DISABLE", "1")


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgumentError as exc:
        print(f"xgap: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):  # ``xgap`` alone: its help; ``xgap data`` without an action: that command's
        _command_parser(parser, args.command).print_help()
        return 0 if args.command is None else 2
    setup_logging(args.quiet, args.verbose)
    from xgap.errors import XgapError

    try:
        return int(args.func(args) or 0)
    except XgapError as exc:
        msg = str(exc)  # bounded: a message must never echo attacker-sized input in full
        print(f"xgap: {msg if len(msg) <= 2000 else msg[:2000] + ' [...]'}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xgap: interrupted - finished records are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk or read-only folder outside the store's own writes: still one line
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            raise
        print(f"xgap: {exc.filename or 'write'}: {exc.strerror} - free space or fix permissions, then rerun", file=sys.stderr)
        return 2


#: OSErrors caused by the machine, not by a bug: reported as one line by :func:`main`.
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT})


if __name__ == "__main__":
    sys.exit(main())
