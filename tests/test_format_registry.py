"""The format registry: every card resolves, and a new format is one module plus one registry line.

The made-up format below (``x-token-length``: is a sentence longer than six tokens of the model's
tokenizer?) is everything a format needs -- a reader layout, an evaluator, an export writer and a
scorer -- declared in one place (the ``TokenLength`` evaluator and ``TOKEN_LENGTH`` spec, standing in
for a module) and added with one :func:`register_format` call. A card of that format then loads its
data, runs through ``xgap run`` into schema-valid records, exports, and scores with ``xgap score``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xgap.cards import list_cards
from xgap.data import hub, layouts
from xgap.data.examples import TextExample
from xgap.formats.base import Evaluator, LanguageResult
from xgap.formats.registry import Format, format_names, get_format, primary_of, register_format, unregister_format
from xgap.metrics.registry import get_metric, metric_value
from xgap.resources import tasks_dir

# ----------------------------------------------------------------------------- the made-up format's "module"


def read_toy(card, lang, files):
    """``text<TAB>label`` lines."""
    out = []
    for f in files:
        for i, line in enumerate(Path(f).read_text(encoding="utf-8").splitlines()):
            text, label = line.split("\t")
            out.append(TextExample(id=f"{lang}-{i}", text_a=text, text_b=None, label=label))
    return out


class TokenLength(Evaluator):
    """Predicts "long" when the model's tokenizer cuts the sentence into more than six tokens."""

    def evaluate(self, ctx, example_set) -> LanguageResult:
        from xgap.metrics.accuracy import accuracy
        from xgap.modeling.models import load_tokenizer

        tok = ctx.loaded("tokenizer", lambda: load_tokenizer(ctx.model))
        examples = example_set.examples
        pred = ["long" if len(tok(e.text_a)["input_ids"]) > 6 else "short" for e in examples]
        gold = [e.label for e in examples]
        metrics = {"accuracy": accuracy(pred, gold)}
        return LanguageResult(metrics=metrics, primary_score=primary_of(ctx.card, metrics), n_examples=len(examples),
                              predictions=pred, gold=gold)


def _score(pred: Path, gold: Path, lang: str) -> dict:
    from xgap.scoring import read_labels

    p, g = read_labels(pred), read_labels(gold)
    return {"accuracy": 100.0 * sum(a == b for a, b in zip(p, g)) / len(g)}


TOKEN_LENGTH = Format(
    name="x-token-length",
    layouts=(layouts.Layout("x-toy-tsv", read_toy),),
    evaluator=TokenLength,
    scorer=lambda card: _score,
)

CARD = """\
name: toylen
kind: target
format: x-token-length
description: A made-up task of a made-up format (tests/test_format_registry.py).
version: 1
languages: [en, de]
english: en
splits:
  test: {languages: all}
eval_split: test
inputs: {text_a: text, label: label}
labels: [short, long]
metrics: [accuracy]
primary_metric: accuracy
aggregation: mean-over-languages
gap: true
sources:
  local:
    layout: x-toy-tsv
    paths: {test: "toy/{lang}.tsv"}
citation: none
license: CC0
"""

SENTENCES = {
    "en": [("the river", "short"), ("the old town where people live and work every day", "long"), ("birds sing", "short")],
    "de": [("der fluss", "short"), ("die stadt ist ein haus und nicht mit von zu auf", "long"), ("das haus", "long")],
}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The registry line, a card of the format among the shipped ones, and its data."""
    register_format(TOKEN_LENGTH)  # <- the one registry line of a format defined outside xgap/formats
    root = tmp_path / "tasks"
    shutil.copytree(tasks_dir(), root)
    (root / "targets" / "toylen.yaml").write_text(CARD, encoding="utf-8")
    monkeypatch.setattr("xgap.cards.tasks_dir", lambda: root)
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    for lang, rows in SENTENCES.items():
        (data / "toy" / f"{lang}.tsv").write_text("".join(f"{t}\t{lab}\n" for t, lab in rows), encoding="utf-8")
    yield data
    unregister_format(TOKEN_LENGTH.name)


def test_a_new_format_runs_exports_and_scores_end_to_end(toy, tmp_path, capsys):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _tiny_models import checkpoint

    from xgap.cli import main
    from xgap.data import load_examples
    from xgap.store import ResultStore
    from xgap.validation import check

    es = load_examples("toylen", "de", data_dir=toy)  # through its declared layout
    assert [e.label for e in es.examples] == ["short", "long", "long"] and es.origin.startswith("local:")

    model = checkpoint("sequence-classification", ("short", "long"))
    results = tmp_path / "results"
    assert main(["--quiet", "run", "--tasks", "toylen", "--data-dir", str(toy), "--output", str(results),
                 "--submission-id", "toy", "--bootstrap", "0", "--model", str(model)]) == 0
    recs = {r["language"]: (p, r) for p, r in ResultStore(results).iter_records() if r["task"] == "toylen"}
    assert sorted(recs) == ["de", "en"]
    for path, rec in recs.values():
        check(rec, "result-record", str(path))  # schema-valid
        assert rec["status"] == "evaluated" and rec["primary_metric"] == "accuracy"
        assert rec["primary_score"] == rec["metrics"]["accuracy"]

    preds, labels = tmp_path / "preds", tmp_path / "labels"
    assert main(["--quiet", "export", str(results / "toy"), str(preds)]) == 0
    assert main(["--quiet", "export-labels", "--tasks", "toylen", "--data-dir", str(toy), str(labels)]) == 0
    assert (labels / "toylen" / "test-de.tsv").read_text(encoding="utf-8") == "short\nlong\nlong\n"
    capsys.readouterr()
    assert main(["--quiet", "score", "--json", str(preds), str(labels)]) == 0
    scored = json.loads(capsys.readouterr().out)
    task = scored["tasks"]["toylen"]
    assert {lang: s["accuracy"] for lang, s in task["languages"].items()} == pytest.approx(
        {lang: recs[lang][1]["metrics"]["accuracy"] for lang in recs})
    assert task["primary"] == pytest.approx(task["average"]["accuracy"]) and "toylen" not in scored["ignored"]


def test_every_card_resolves_in_the_registries():
    for card in list_cards():
        fmt = get_format(card.format)
        for name in [*card.metrics, card.primary_metric]:
            get_metric(name)
        local = card.sources.get("local")
        if local:
            assert local["layout"] in {x.name for x in fmt.layouts}, (card.name, local["layout"])
        if "hub" in card.sources:
            assert fmt.hub_rows is not None, card.name
        if card.kind == "target":
            assert fmt.evaluator is not None and fmt.scorer is not None, card.name
        else:
            assert fmt.trainable and fmt.dev_metrics is not None, card.name


def test_builtin_formats_agree_with_the_data_layer_tables():
    """The data layer lists the built-in layouts and hub mappers (it sits below the formats); each
    format module names the same objects."""
    for name in format_names():
        fmt = get_format(name)
        assert fmt.name == name
        for layout in fmt.layouts:
            assert layouts._LAYOUTS[layout.name] is layout
        if fmt.hub_rows is not None:
            assert hub._ROW_MAPPERS[name] is fmt.hub_rows
        if fmt.trainable:
            assert fmt.train_features and fmt.collate and fmt.loss_units, name


def test_unknown_names_are_one_line_errors():
    from xgap.errors import XgapError

    with pytest.raises(XgapError, match="unknown task format 'nope' - fix: use one of sentence-pair-classification"):
        get_format("nope")
    with pytest.raises(XgapError, match="unknown metric 'bleu'"):
        get_metric("bleu")
    with pytest.raises(XgapError, match="'x-toy' is already registered"):
        register_format(Format("x-toy"))
        register_format(Format("x-toy"))
    unregister_format("x-toy")


def test_primary_metric_is_read_when_reported_and_derived_otherwise():
    """em_f1_mean: a record keeps its evaluator's value (the mean of per-question means); task averages
    derive it from the averaged EM and F1, as XTREME does."""
    assert metric_value("em_f1_mean", {"exact_match": 60.0, "f1": 70.0, "em_f1_mean": 64.99}) == 64.99
    assert metric_value("em_f1_mean", {"exact_match": 60.0, "f1": 70.0}) == pytest.approx(65.0)
    assert get_metric("em_f1_mean").gap_metrics() == {"gap": "exact_match", "gap_f1": "f1"}
    assert get_metric("f1").gap_metrics() == {"gap": "f1"}


def test_categories_come_from_the_cards():
    from xgap.metrics.aggregate import CATEGORIES, TASK_CATEGORY

    assert dict(CATEGORIES) == {
        "classification": ("pawsx", "xnli"),
        "structured_prediction": ("udpos", "panx"),
        "question_answering": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("bucc2018", "tatoeba"),
    }
    assert TASK_CATEGORY["mlqa"] == "question_answering"


def test_help_imports_no_format_module():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "xgap", "--help"], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0
    imported = r.stderr
    assert "torch" not in imported and "xgap.formats.classification" not in imported
