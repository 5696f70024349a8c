"""Write predictions (``xgap export``) and gold labels (``xgap export-labels``) in XTREME's layout.

Layout (SPEC §8): ``<out>/<task>/test-<lang>.tsv`` (``.json`` for xquad, mlqa, tydiqa): one label
per line for xnli/pawsx; one tag per line with a blank line after each sentence for udpos/panx;
``{question_id: answer}`` JSON for QA predictions (SQuAD v1.1 JSON for QA labels, which is what
XTREME's ``evaluate.py`` reads as gold); ``src_id \\t tgt_id`` per pair for bucc2018; one integer per
query line for tatoeba. ``xgap score OUT LABELS`` reads exactly these files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from xgap.errors import XgapError
from xgap.store import ResultStore, atomic_write_bytes

QA_TASKS = ("xquad", "mlqa", "tydiqa")


def _target(out: Path, task: str, lang: str) -> Path:
    return out / task / f"test-{lang}.{'json' if task in QA_TASKS else 'tsv'}"


def render(task: str, fmt: str, values, is_label: bool = False) -> bytes:
    """File bytes for one (task, language) in XTREME's layout."""
    if fmt == "extractive-qa":
        return json.dumps(values, ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "token-classification":
        return "".join("".join(f"{t}\n" for t in sent) + "\n" for sent in values).encode("utf-8")
    if fmt == "bitext-mining":
        return "".join(f"{s}\t{t}\n" for s, t in values).encode("utf-8")
    return "".join(f"{v}\n" for v in values).encode("utf-8")


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
        card = load_card(rec["task"])
        atomic_write_bytes(_target(Path(out), rec["task"], rec["language"]), render(rec["task"], card.format, side["predictions"]))
        n += 1
    if n == 0:
        raise XgapError(f"{root}: no evaluated records with predictions to export")
    return n


def _squad_json(examples) -> dict:
    paragraphs: dict[str, list] = {}
    for e in examples:
        paragraphs.setdefault(e.context, []).append(
            {"id": e.id, "question": e.question, "answers": [{"text": a.text, "answer_start": a.start} for a in e.answers]}
        )
    return {"version": "1.1", "data": [{"title": "", "paragraphs": [{"context": c, "qas": q} for c, q in paragraphs.items()]}]}


def gold_values(card, example_set):
    """Gold labels of one ExampleSet in the layout's shape."""
    ex = example_set.examples
    if card.format == "extractive-qa":
        return _squad_json(ex)
    if card.format == "token-classification":
        return [list(s.tags) for s in ex]
    if card.format == "bitext-retrieval":
        return list(range(len(ex)))
    if card.format == "bitext-mining":
        return sorted(ex.gold)
    return [e.label for e in ex]


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
            atomic_write_bytes(_target(Path(out), card.name, code), render(card.name, card.format, gold_values(card, es), is_label=True))
            n += 1
    return n
