"""``xgap data check|pseudo-bucc``: look at a task's data through the loaders; build a pseudo-BUCC set."""

from __future__ import annotations

from pathlib import Path

from xgap.argtypes import nonneg_int, seed_int
from xgap.commands.options import add_data_acceptance_arguments
from xgap.commands.tables import print_table


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
    print_table(rows)
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


def register(subparsers) -> None:
    p_data = subparsers.add_parser("data", help="inspect data through the loaders")
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
