"""Write predictions (``xgap export``) and gold labels (``xgap export-labels``) in XTREME's layout.

Layout (SPEC §8), written by each task format's module (``Format.write``, ``Format.suffix``,
``Format.gold``): ``<out>/<task>/test-<lang>.tsv`` (``.json`` for xquad, mlqa, tydiqa): one label
per line for xnli/pawsx; one tag per line with a blank line after each sentence for udpos/panx;
``{question_id: answer}`` JSON for QA predictions (SQuAD v1.1 JSON for QA labels, which is what
XTREME's ``evaluate.py`` reads as gold); ``src_id \\t tgt_id`` per pair for bucc2018; one integer per
query line for tatoeba. ``xgap score OUT LABELS`` reads exactly these files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xgap.errors import XgapError
from xgap.formats.registry import format_of
from xgap.store import ResultStore, atomic_write_bytes


def _target(out: Path, task: str, lang: str, fmt) -> Path:
    return out / task / f"test-{lang}.{fmt.suffix}"


def export_results(results: str | Path, out: str | Path, fmt: str = "xtreme") -> int:
    """Export every record's predictions under ``results`` (a store or one submission folder)."""
    from xgap.cards import load_card

    if fmt != "xtreme":
        raise XgapError(f"unknown export format '{fmt}' (only: xtreme)")
    root = Path(results)
    if not root.is_dir():
        raise XgapError(f"{root}: no such results folder")
    store = ResultStore(root)
    recs = [(p, r) for p, r in store.iter_records() if r["status"] == "evaluated"]
    subs = {r["submission"] for _, r in recs}
    if len(subs) > 1:
        raise XgapError(f"{root} holds several submissions ({', '.join(sorted(subs))}) - fix: export one submission folder, e.g. {root / sorted(subs)[0]}")
    n = 0
    for path, rec in recs:
        side = store.load_predictions(rec, path)
        if side is None:
            continue
        fmt = format_of(load_card(rec["task"]))
        atomic_write_bytes(_target(Path(out), rec["task"], rec["language"], fmt), fmt.write(side["predictions"]))
        n += 1
    if n == 0:
        raise XgapError(f"{root}: no evaluated records with predictions to export")
    return n


def gold_values(card, example_set):
    """Gold labels of one ExampleSet in the layout's shape (the format's ``gold``)."""
    return format_of(card).gold(card, example_set)


def export_labels(tasks: Iterable[str], out: str | Path, data_dir=None, langs: list[str] | None = None) -> int:
    from xgap.cards import load_card
    from xgap.data import load_examples

    n = 0
    for task in tasks:
        card = load_card(task.strip())
        for lang in langs or card.languages:
            try:
                code = card.resolve_language(lang)[0]
            except XgapError:
                continue
            es = load_examples(card, code, card.eval_split, data_dir=data_dir)
            fmt = format_of(card)
            atomic_write_bytes(_target(Path(out), card.name, code, fmt), fmt.write(fmt.gold(card, es)))
            n += 1
    return n
