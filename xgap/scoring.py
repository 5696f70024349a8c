"""Score a prediction directory in XTREME's submission layout against a label directory (SPEC §8).

Layout: ``<dir>/<task>/test-<lang>.tsv`` (``.json`` for xquad, mlqa, tydiqa: the suffix and the scorer
are the task format's, see :mod:`xgap.formats.registry`). Files are read the way XTREME's official
``evaluate.py`` reads them, and scored with the same metrics:

- xnli, pawsx: one label per line, each line stripped (``read_label``); accuracy.
- udpos, panx: one tag per stripped line, a blank line ends a sentence, a last sentence without a
  trailing blank line still counts (``read_tag``); seqeval F1/precision/recall, plus token accuracy.
- xquad, tydiqa: SQuAD v1.1 EM/F1; mlqa: MLQA EM/F1 with the file's language. Predictions are
  ``{question_id: answer}`` JSON; labels are SQuAD v1.1 JSON (``data -> paragraphs -> qas ->
  answers``, or the bare article list, like ``read_squad``), or ``{question_id: answer(s)}``.
  Unanswered questions score 0 and there is no count check, as in XTREME.
- bucc2018: ``src_id \\t tgt_id`` per line; pair-set F1/precision/recall (``bucc_f1``).
- tatoeba: one integer per line; accuracy (XTREME compares the stripped line strings; we parse
  integers, which gives the same result for integers written canonically).

Averages are the unweighted mean over languages per metric; the primary score, category scores and
XTREME score follow ``evaluate.py`` (see :mod:`xgap.metrics.aggregate`).

Deliberate differences from ``evaluate.py``, none of which changes a score it would accept:
- languages are those present in the prediction directory (XTREME loops over its fixed language
  list and crashes on a missing file); the label directory must hold exactly the same files, else
  :class:`XgapError` names the file that is missing;
- blank lines at the end of label/index files are ignored (XTREME would count them as ``''``
  items), and empty sentences in tag files (runs of blank lines) are skipped (they add nothing to
  seqeval but would break XTREME's count check); blank lines in BUCC files are skipped;
- count mismatches raise :class:`XgapError` naming both files instead of an ``AssertionError``;
- sub-directories that are not a target task with a scorable format (the nine, or a card added
  since) are ignored and listed under ``"ignored"``; tasks beyond the nine come after them, by name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from xgap.errors import XgapError
from xgap.metrics.accuracy import accuracy
from xgap.metrics.aggregate import (
    XTREME_TASKS,
    average_metrics,
    category_scores,
    primary_metric,
    primary_score,
    task_gaps,
    xtreme_score,
)
from xgap.metrics.bucc import pair_f1
from xgap.metrics.mlqa import mlqa_scores
from xgap.metrics.registry import get_metric
from xgap.metrics.retrieval import retrieval_accuracy
from xgap.metrics.squad import golds_from_squad_json, squad_scores
from xgap.metrics.tagging import tagging_f1, token_accuracy

_FILE_RE = re.compile(r"^test-(.+)\.(tsv|json)$")


def scorable(task: str):
    """``(card, format)`` when ``task`` is a target task whose format has a scorer, else None.

    Which tasks ``xgap score`` knows is read from the cards and the format registry (mirroring
    XTREME's ``READER_FUNCTION``/``METRIC_FUNCTION``, which are per task there)."""
    from xgap.cards import card_files, load_card
    from xgap.formats.registry import format_of

    if task not in card_files():
        return None
    card = load_card(task)
    fmt = format_of(card)
    return (card, fmt) if card.kind == "target" and fmt.scorer is not None else None


def suffix_for(task: str) -> str:
    return scorable(task)[1].suffix


# ---------------------------------------------------------------------------- readers


def _lines(path: Path) -> list[str]:
    """Stripped lines, read by the one line reader of xgap's layouts (:func:`xgap.data.readers.read_lines`)."""
    from xgap.data.readers import read_lines

    return [line.strip() for line in read_lines(path)]


def read_labels(path: Path) -> list[str]:
    """One stripped label per line; trailing blank lines dropped."""
    lines = _lines(path)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def read_tags(path: Path) -> list[list[str]]:
    """Sentences of tags: one tag per stripped line, blank line between sentences (empty ones skipped)."""
    sentences, current = [], []
    for line in _lines(path):
        if line:
            current.append(line)
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def read_pairs(path: Path) -> set[tuple[str, str]]:
    """``{(src_id, tgt_id)}`` from ``src_id \\t tgt_id`` lines (blank lines skipped): the BUCC gold parser,
    :func:`xgap.data.readers.read_bucc_gold`, reads predictions and labels alike."""
    from xgap.data.readers import read_bucc_gold

    return read_bucc_gold(path)


def read_indices(path: Path) -> list[int]:
    """One integer per line; trailing blank lines dropped."""
    values = []
    for i, line in enumerate(read_labels(path), 1):
        try:
            values.append(int(line))
        except ValueError:
            raise XgapError(f"{path}:{i}: expected an integer, got {line!r}") from None
    return values


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise XgapError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise XgapError(f"{path}: cannot read ({exc})") from None


def read_qa_predictions(path: Path) -> dict[str, str]:
    """``{question_id: answer}`` JSON."""
    doc = _load_json(path)
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise XgapError(f"{path}: QA predictions must be a JSON object {{question_id: answer string}}")
    return {str(k): v for k, v in doc.items()}


def read_qa_golds(path: Path) -> dict[str, list[str]]:
    """Gold answers from SQuAD v1.1 JSON, or from ``{question_id: answer or [answers]}``."""
    doc = _load_json(path)
    if isinstance(doc, list) or (isinstance(doc, dict) and "data" in doc):
        try:
            return golds_from_squad_json(doc)
        except XgapError as exc:
            raise XgapError(f"{path}: {exc}") from None
    if isinstance(doc, dict):
        golds = {}
        for qid, ans in doc.items():
            if isinstance(ans, str):
                golds[str(qid)] = [ans]
            elif isinstance(ans, list) and ans and all(isinstance(a, str) for a in ans):
                golds[str(qid)] = list(ans)
            else:
                raise XgapError(f"{path}: answers for question {qid!r} must be a string or a non-empty list of strings")
        return golds
    raise XgapError(f"{path}: QA labels must be SQuAD v1.1 JSON or {{question_id: answers}}")


# ---------------------------------------------------------------------------- per file


def score_labels(pred: Path, gold: Path, lang: str) -> dict:
    return {"accuracy": accuracy(read_labels(pred), read_labels(gold))}


def score_tags(pred: Path, gold: Path, lang: str) -> dict:
    p, g = read_tags(pred), read_tags(gold)
    return {**tagging_f1(p, g), "token_accuracy": token_accuracy(p, g)}


def score_squad(pred: Path, gold: Path, lang: str) -> dict:
    return squad_scores(read_qa_predictions(pred), read_qa_golds(gold))


def score_mlqa(pred: Path, gold: Path, lang: str) -> dict:
    return mlqa_scores(read_qa_predictions(pred), read_qa_golds(gold), lang)


def score_pairs(pred: Path, gold: Path, lang: str) -> dict:
    return pair_f1(read_pairs(gold), read_pairs(pred))


def score_index(pred: Path, gold: Path, lang: str) -> dict:
    return {"accuracy": retrieval_accuracy(read_indices(pred), read_indices(gold))}


def score_file(task: str, lang: str, pred_path: Path, label_path: Path) -> dict[str, float]:
    """Metrics for one ``(task, language)`` file pair; errors name both files."""
    try:
        card, fmt = scorable(task)
        return fmt.scorer(card)(Path(pred_path), Path(label_path), lang)
    except XgapError as exc:
        msg = str(exc)
        if str(pred_path) in msg or str(label_path) in msg:
            raise
        raise XgapError(f"{task} {lang}: {pred_path} vs {label_path}: {msg}") from None


# ---------------------------------------------------------------------------- directories


def _lang_files(task_dir: Path, suffix: str) -> dict[str, Path]:
    files = {}
    for path in task_dir.iterdir():
        m = _FILE_RE.match(path.name)
        if m and m.group(2) == suffix and path.is_file():
            files[m.group(1)] = path
    return files


def score_directory(pred_dir, label_dir) -> dict:
    """Score every task directory in ``pred_dir`` against ``label_dir`` (see module doc).

    Returns ``{"tasks": {task: {"languages": {lang: {metric: value}}, "average": {metric: value},
    "primary": value, "gap": value|None[, "gap_f1": value|None]}}, "categories": {category: value},
    "xtreme": value|None, "ignored": [directory names]}``.
    """
    pred_dir, label_dir = Path(pred_dir), Path(label_dir)
    for d, what in ((pred_dir, "prediction"), (label_dir, "label")):
        if not d.is_dir():
            raise XgapError(f"{what} directory {d} does not exist")
    present = sorted(p.name for p in pred_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    known = [name for name in present if scorable(name)]
    tasks = [t for t in XTREME_TASKS if t in known] + [t for t in known if t not in XTREME_TASKS]
    ignored = [name for name in present if name not in known]
    if not tasks:
        raise XgapError(f"{pred_dir} holds no task directory (expected some of: {', '.join(XTREME_TASKS)})")

    results: dict[str, dict] = {}
    for task in tasks:
        suffix = suffix_for(task)
        pred_files = _lang_files(pred_dir / task, suffix)
        if not pred_files:
            raise XgapError(f"{pred_dir / task} holds no test-<lang>.{suffix} file")
        label_task_dir = label_dir / task
        if not label_task_dir.is_dir():
            raise XgapError(f"missing label directory {label_task_dir} for predictions in {pred_dir / task}")
        label_files = _lang_files(label_task_dir, suffix)
        for lang in sorted(pred_files):
            if lang not in label_files:
                raise XgapError(f"missing label file {label_task_dir / f'test-{lang}.{suffix}'} for {pred_files[lang]}")
        for lang in sorted(label_files):
            if lang not in pred_files:
                raise XgapError(f"missing prediction file {pred_dir / task / f'test-{lang}.{suffix}'} for {label_files[lang]}")
        languages = {lang: score_file(task, lang, pred_files[lang], label_files[lang]) for lang in sorted(pred_files)}
        average = average_metrics(languages)
        results[task] = {
            "languages": languages,
            "average": average,
            "primary": primary_score(task, average),
            **task_gaps(task, languages),
        }
    primaries = {task: r["primary"] for task, r in results.items()}
    return {
        "tasks": results,
        "categories": category_scores(primaries),
        "xtreme": xtreme_score(primaries),
        "ignored": ignored,
    }


# ---------------------------------------------------------------------------- table


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_score_table(result: dict) -> str:
    """Plain-text report: per task a language x metric table, its average, primary score and gap."""
    out: list[str] = []
    for task, r in result["tasks"].items():
        metrics = list(r["average"])
        primary_name = primary_metric(task, metrics)
        label = get_metric(primary_name).display()
        if "gap_f1" in r:
            gaps = f"EM gap {_fmt(r['gap'])}, F1 gap {_fmt(r['gap_f1'])}"
        else:
            gaps = f"gap {_fmt(r.get('gap'))}"
        out.append(f"== {task}: {label} {_fmt(r['primary'])} ({gaps})")
        widths = [max(8, len(m)) for m in metrics]
        out.append("lang  " + "  ".join(m.rjust(w) for m, w in zip(metrics, widths)))
        rows = list(r["languages"].items()) + [("avg", r["average"])]
        for lang, scores in rows:
            out.append(f"{lang:<5} " + "  ".join(_fmt(scores[m]).rjust(w) for m, w in zip(metrics, widths)))
        out.append("")
    out.append("== categories")
    if result["categories"]:
        for cat, value in result["categories"].items():
            out.append(f"{cat:<22} {_fmt(value)}")
    else:
        out.append("(none complete)")
    xt = result["xtreme"]
    out.append("")
    out.append(f"XTREME score: {_fmt(xt)}" + ("" if xt is not None else " (needs all nine tasks)"))
    if result.get("ignored"):
        out.append(f"ignored directories: {', '.join(result['ignored'])}")
    return "\n".join(out) + "\n"
