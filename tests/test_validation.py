"""Schema validation: bad cards, manifests and records give one-line ``file: field: what - fix: how`` messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xgap.cards import load_card_file
from xgap.documents import detect_kind, iter_documents, validate_paths
from xgap.errors import ValidationFailed, XgapError
from xgap.validation import check, problems
from xgap.yamlio import read_yaml

FIX = Path(__file__).parent / "fixtures" / "foundation"

# The parts every test card below writes itself (the rest comes from _defaults.yaml via include).
HEAD = "include: _defaults.yaml\nname: {name}\n"
CLS = "format: sentence-pair-classification\n"
LANGS = "languages: [en, de]\n"
LABELS = "labels: [contradiction, entailment, neutral]\n"
METRICS = "metrics: [accuracy]\nprimary_metric: accuracy\n"


@pytest.fixture()
def card_dir(tmp_path) -> Path:
    d = (tmp_path / "cards").resolve()
    d.mkdir()
    shutil.copy(FIX / "cards" / "_defaults.yaml", d / "_defaults.yaml")
    return d


def _card(d: Path, name: str, body: str) -> Path:
    p = d / f"{name}.yaml"
    p.write_text(body.replace("{name}", name), encoding="utf-8")
    return p


def _assert_one_line_messages(lines: list[str], path: Path) -> None:
    assert lines, f"{path} should not validate"
    for line in lines:
        assert "\n" not in line and "\r" not in line, line
        assert line.startswith(f"{path}:"), line
        assert " - fix: " in line, line
        head, fix = line.split(" - fix: ", 1)
        assert fix.strip(), line
        assert "Traceback" not in line


# (name, YAML body, expected start of the message after "<file>: ", substring of the message)
BAD_CARDS = [
    ("missing_metrics", HEAD + CLS + LANGS + LABELS + "primary_metric: accuracy\n",
     "(top level): missing required field 'metrics'", "metrics"),
    ("unknown_format", HEAD + "format: sentence-classification\n" + LANGS + LABELS + METRICS,
     "format:", "'sentence-classification' is not allowed"),
    ("empty_labels", HEAD + CLS + LANGS + "labels: []\n" + METRICS, "labels:", "empty"),
    ("duplicate_label", HEAD + CLS + LANGS + "labels: [entailment, neutral, entailment]\n" + METRICS,
     "labels:", "duplicate item 'entailment'"),
    ("iso3_language", HEAD + CLS + "languages: [en, deu]\n" + LABELS + METRICS, "languages[1]:", "deu"),
    ("uppercase_language", HEAD + CLS + "languages: [EN, de]\n" + LABELS + METRICS, "languages[0]:", "EN"),
    ("iso3_language_object", HEAD + CLS + "languages:\n  - en\n  - {code: deu, source: deu}\n" + LABELS + METRICS,
     "languages[1].code:", "deu"),
    ("version_string", HEAD.replace("name: {name}\n", "name: {name}\nversion: one\n") + CLS + LANGS + LABELS + METRICS,
     "version:", "expected integer"),
    ("languages_string", HEAD + CLS + "languages: en de\n" + LABELS + METRICS, "languages:", "expected array"),
    ("typo_top_level", HEAD + CLS + LANGS + "lables: [contradiction, entailment, neutral]\n" + METRICS,
     "(top level): unknown key 'lables'", "labels"),
    ("typo_nested", HEAD + CLS + LANGS + LABELS + METRICS + "protocol: {max_lenght: 128}\n",
     "protocol: unknown key 'max_lenght'", "max_length"),
    ("typo_recipe", HEAD + CLS + LANGS + LABELS + METRICS + "protocol:\n  recipe: {learnig_rate: 0.1}\n",
     "protocol.recipe: unknown key 'learnig_rate'", "learning_rate"),
    ("bad_primary_metric", HEAD + CLS + LANGS + LABELS + "metrics: [accuracy]\nprimary_metric: bleu\n",
     "primary_metric:", "'bleu' is not allowed"),
    ("bad_metric", HEAD + CLS + LANGS + LABELS + "metrics: [accuracy, bleu]\nprimary_metric: accuracy\n",
     "metrics[1]:", "'bleu' is not allowed"),
    ("bad_kind", HEAD + "kind: final\n" + CLS + LANGS + LABELS + METRICS, "kind:", "'final' is not allowed"),
    ("negative_epochs", HEAD + CLS + LANGS + LABELS + METRICS + "protocol:\n  recipe: {epochs: -1}\n",
     "protocol.recipe.epochs:", "-1"),
    ("bad_layout", HEAD + CLS + LANGS + LABELS + METRICS
     + "sources:\n  local: {layout: csv, paths: {test: x.csv}}\n", "sources.local.layout:", "'csv' is not allowed"),
    ("unpinned_hub", HEAD + CLS + LANGS + LABELS + METRICS + "sources:\n  hub: {id: google/xtreme}\n",
     "sources.hub: missing required field 'revision'", "revision"),
    ("bad_split_name", HEAD + CLS + LANGS + LABELS + METRICS + "splits:\n  validation: {size: 3}\n",
     "splits:", "validation"),
    ("mc_without_num_choices", HEAD + "format: multiple-choice\n" + "languages: [en]\n" + METRICS,
     "(top level): missing required field 'num_choices'", "num_choices"),
    ("qa_without_qa_evaluation", HEAD + "format: extractive-qa\n" + LANGS
     + "metrics: [exact_match, f1]\nprimary_metric: em_f1_mean\n",
     "(top level): missing required field 'qa_evaluation'", "qa_evaluation"),
]


def test_the_good_fixture_card_is_valid(card_dir):
    good = card_dir / "good.yaml"
    shutil.copy(FIX / "cards" / "good.yaml", good)
    assert validate_paths([good]) == []
    card = load_card_file(good)
    assert card.labels == ["contradiction", "entailment", "neutral"]
    assert card.kind == "target" and card.version == 1  # from the included defaults


@pytest.mark.parametrize("name,body,start,needle", BAD_CARDS, ids=[c[0] for c in BAD_CARDS])
def test_bad_card_one_line_message_naming_the_field(card_dir, name, body, start, needle):
    path = _card(card_dir, name, body)
    lines = validate_paths([path])
    _assert_one_line_messages(lines, path)
    hits = [ln for ln in lines if ln.startswith(f"{path}: {start}")]
    assert hits, f"no message starting with {start!r}: {lines}"
    assert any(needle in ln for ln in hits), (needle, hits)
    # the same problems through the Python API
    with pytest.raises(ValidationFailed) as ei:
        load_card_file(path)
    assert ei.value.problems == lines


def test_classification_card_without_labels_names_labels(card_dir):
    """A sentence-pair card with neither ``labels`` nor ``labels_from`` must say so by name."""
    path = _card(card_dir, "no_labels", HEAD + CLS + LANGS + METRICS)
    lines = validate_paths([path])
    _assert_one_line_messages(lines, path)
    assert len(lines) == 1
    line = lines[0]
    what = line[len(f"{path}: "):].split(" - fix: ")[0]
    # The message must name the missing field, not dump the card's JSON.
    assert "'labels'" in line, line
    assert "{" not in what, line


def test_invalid_language_code_hint_is_actionable(card_dir):
    """``languages: [deu]`` must point at the ISO 639-1 rule and ``source:`` (the schema's x-fix)."""
    path = _card(card_dir, "iso3", HEAD + CLS + "languages: [en, deu]\n" + LABELS + METRICS)
    (line,) = validate_paths([path])
    assert line.startswith(f"{path}: languages[1]:")
    fix = line.split(" - fix: ", 1)[1]
    assert "ISO 639-1" in fix, line


def test_include_cycle(card_dir):
    a = _card(card_dir, "cyc_a", "include: cyc_b.yaml\nname: cyc_a\n")
    b = _card(card_dir, "cyc_b", "include: cyc_a.yaml\n")
    lines = validate_paths([a])
    _assert_one_line_messages(lines, a)
    assert len(lines) == 1
    assert lines[0].startswith(f"{a}: include: cycle")
    assert "cyc_a.yaml -> cyc_b.yaml -> cyc_a.yaml" in lines[0]
    with pytest.raises(XgapError):
        load_card_file(b)


def test_self_include_is_a_cycle(card_dir):
    a = _card(card_dir, "selfish", "include: selfish.yaml\nname: selfish\n")
    (line,) = validate_paths([a])
    assert line.startswith(f"{a}: include: cycle") and " - fix: " in line


def test_include_of_a_missing_file(card_dir):
    p = _card(card_dir, "missing_include", "include: ../_nowhere/defaults.yaml\n" + "name: x\n")
    lines = validate_paths([p])
    _assert_one_line_messages(lines, p)
    assert lines[0].startswith(f"{p}: include:")
    assert "_nowhere/defaults.yaml" in lines[0] and "not found" in lines[0]


def test_include_errors_start_with_the_path_as_given(card_dir, monkeypatch):
    """Like every other problem line, include problems start with the path the user passed (here relative)."""
    _card(card_dir, "cyc_a", "include: cyc_b.yaml\nname: cyc_a\n")
    _card(card_dir, "cyc_b", "include: cyc_a.yaml\n")
    _card(card_dir, "missing_include", "include: nowhere.yaml\nname: x\n")
    _card(card_dir, "bad_version", HEAD + CLS + LANGS + LABELS + METRICS + "version: one\n")
    monkeypatch.chdir(card_dir.parent)
    for name in ("bad_version", "cyc_a", "missing_include"):
        rel = f"cards/{name}.yaml"
        (line,) = validate_paths([rel])
        assert line.startswith(f"{rel}: "), line


def test_include_must_be_paths(card_dir):
    p = _card(card_dir, "include_number", "include: [1, 2]\nname: x\n")
    (line,) = validate_paths([p])
    assert line.startswith(f"{p}: include:") and " - fix: " in line


def test_several_problems_give_several_lines(card_dir):
    p = _card(card_dir, "many", HEAD + "format: nope\nlanguages: [EN]\nlabels: [a, a]\nmetrics: []\nprimary_metric: x\n")
    lines = validate_paths([p])
    _assert_one_line_messages(lines, p)
    fields = {ln[len(f"{p}: "):].split(":")[0] for ln in lines}
    assert {"format", "languages[0]", "labels", "metrics", "primary_metric"} <= fields
    assert len(lines) == len(set(lines))


def test_non_mapping_card(card_dir):
    p = card_dir / "list.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    (line,) = validate_paths([p])
    assert line.startswith(f"{p}: (top level):") and " - fix: " in line


def test_malformed_yaml_names_file_and_line(card_dir):
    p = card_dir / "broken.yaml"
    p.write_text("name: x\nkind: target\nlanguages: [en, de\nformat: x\n", encoding="utf-8")
    lines = validate_paths([p])
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith(f"{p}:")
    line_no = int(lines[0][len(f"{p}:"):].split(":")[0])
    assert line_no in (3, 4, 5)
    assert "invalid YAML" in lines[0]
    with pytest.raises(XgapError) as ei:
        read_yaml(p)
    assert str(ei.value) == lines[0]


def test_malformed_yaml_with_indentation_error_line(card_dir):
    p = card_dir / "indent.yaml"
    p.write_text("name: x\n  kind: : [\n", encoding="utf-8")
    (line,) = validate_paths([p])
    assert line.startswith(f"{p}:2:")


def test_syntax_errors_follow_the_one_line_fix_format(card_dir):
    """SPEC/validation.py: every problem is ``<file>: ... - fix: <how>``, syntax errors included."""
    y = card_dir / "broken.yaml"
    y.write_text("name: x\n  kind: : [\n", encoding="utf-8")
    j = card_dir / "broken.json"
    j.write_text('{"record_version": 1, "status": \n', encoding="utf-8")
    for path in (y, j):
        (line,) = validate_paths([path])
        assert line.startswith(f"{path}:")
        assert " - fix: " in line, line


def test_malformed_json_names_file_and_line(card_dir):
    j = card_dir / "broken.json"
    j.write_text('{"record_version": 1,\n "status": \n', encoding="utf-8")
    (line,) = validate_paths([j])
    assert line.startswith(f"{j}:3:") and "invalid JSON" in line and " - fix: " in line


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(XgapError) as ei:
        validate_paths([tmp_path / "nope.yaml"])
    assert "nope.yaml" in str(ei.value)


def test_folder_validation_skips_defaults_and_shipped_tasks_pass():
    from xgap.resources import tasks_dir

    files = iter_documents([tasks_dir()])
    assert len(files) == 18
    assert not any("_defaults" in str(f) for f in files)
    assert validate_paths([tasks_dir()]) == []


# ----------------------------------------------------------------------------- manifests and records
def test_valid_submission_manifest_and_result_record():
    sub = FIX / "manifests" / "good-submission.yaml"
    rec = FIX / "records" / "good-record.json"
    assert detect_kind(sub, read_yaml(sub)) == "submission"
    assert detect_kind(rec, json.loads(rec.read_text())) == "result-record"
    assert validate_paths([sub, rec]) == []
    assert validate_paths([FIX / "manifests", FIX / "records"]) == []


def _manifest(tmp_path: Path, name: str, text: str) -> Path:
    d = tmp_path / "submissions"
    d.mkdir(exist_ok=True)
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD_MANIFEST = (FIX / "manifests" / "good-submission.yaml").read_text(encoding="utf-8")

BAD_MANIFESTS = [
    ("no_base_encoder", GOOD_MANIFEST.replace("base_encoder: xlm-roberta-base\n", ""),
     "(top level): missing required field 'base_encoder'"),
    ("no_model_source", GOOD_MANIFEST.replace("  hub: org/tiny-xlmr-mnli\n", ""), "model:"),
    ("trust_yes", GOOD_MANIFEST.replace("  revision: 0123", "  trust_remote_code: maybe\n  revision: 0123"),
     "model.trust_remote_code:"),
    ("bad_id", GOOD_MANIFEST.replace("id: tiny-xlmr.mnli", "id: Tiny XLMR"), "id:"),
    ("bad_task_entry", GOOD_MANIFEST.replace("{finetune: card-recipe}", "{finetune: my-recipe}"), "tasks.xnli.finetune:"),
    ("typo_key", GOOD_MANIFEST.replace("license: MIT", "licence: MIT"), "(top level): unknown key 'licence'"),
    ("no_authors", GOOD_MANIFEST.replace("authors: [A. Person]", "authors: []"), "authors:"),
]


@pytest.mark.parametrize("name,text,start", BAD_MANIFESTS, ids=[m[0] for m in BAD_MANIFESTS])
def test_invalid_submission_manifest(tmp_path, name, text, start):
    p = _manifest(tmp_path, f"{name}.yaml", text)
    assert detect_kind(p, read_yaml(p)) == "submission"
    lines = validate_paths([p])
    _assert_one_line_messages(lines, p)
    assert any(ln.startswith(f"{p}: {start}") for ln in lines), lines


GOOD_RECORD = json.loads((FIX / "records" / "good-record.json").read_text(encoding="utf-8"))


def _record_variant(change):
    d = json.loads(json.dumps(GOOD_RECORD))
    change(d)
    return d


BAD_RECORDS = [
    ("version2", lambda d: d.update(record_version=2), "record_version:"),
    ("bad_status", lambda d: d.update(status="guessed"), "status:"),
    ("bad_language", lambda d: d.update(language="Deutsch"), "language:"),
    ("string_metric", lambda d: d["metrics"].update(accuracy="high"), "metrics.accuracy:"),
    ("no_provenance", lambda d: d.pop("provenance"), "(top level): missing required field 'provenance'"),
    ("no_xgap_version", lambda d: d["provenance"].pop("xgap_version"),
     "provenance: missing required field 'xgap_version'"),
    ("bad_sha", lambda d: d.update(predictions={"file": "p.tsv", "sha256": "xyz"}), "predictions.sha256:"),
    ("short_ci", lambda d: d.update(ci95={"accuracy": [1.0]}), "ci95.accuracy:"),
    ("extra_key", lambda d: d.update(scores={}), "(top level): unknown key 'scores'"),
]


@pytest.mark.parametrize("name,change,start", BAD_RECORDS, ids=[r[0] for r in BAD_RECORDS])
def test_invalid_result_record(tmp_path, name, change, start):
    p = tmp_path / f"{name}.json"
    doc = _record_variant(change)
    p.write_text(json.dumps(doc), encoding="utf-8")
    assert detect_kind(p, doc) == "result-record"
    lines = validate_paths([p])
    _assert_one_line_messages(lines, p)
    assert any(ln.startswith(f"{p}: {start}") for ln in lines), lines
    # check() raises with the same lines
    with pytest.raises(ValidationFailed) as ei:
        check(doc, "result-record", str(p))
    assert ei.value.problems == lines


def test_problems_is_empty_for_valid_documents():
    assert problems(GOOD_RECORD, "result-record", "r.json") == []
    assert problems(read_yaml(FIX / "manifests" / "good-submission.yaml"), "submission", "s.yaml") == []


def test_unknown_document_kind():
    with pytest.raises(XgapError):
        problems({}, "nonsense", "x")
