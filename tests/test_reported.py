"""``xgap import-reported``: published figures become 'reported' records, never mixed with evaluated ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.synthetic import evaluated_record

from xgap.cli import main
from xgap.errors import XgapError
from xgap.leaderboard.model import build_leaderboard
from xgap.reported import import_reported
from xgap.store import ResultStore, read_store

REPO = Path(__file__).resolve().parents[1]
SHARED_REF = REPO.parent / "shared" / "reference" / "published-xtreme.yaml"

SMALL = """
sources:
  paper: {cite: "Someone et al. 2021, A paper", note: "F1 for QA"}
models:
  - {id: base-a, name: Base A, params: 300000000, params_source: paper, intermediate: none,
     scores: {xnli: 70.0, xquad: 60.0, panx: 55.5}, source: paper}
  - {id: base-b, name: Base B, params: 900000000, intermediate: [mnli, squad],
     scores: {xnli: 75.0}, source: paper}
"""


@pytest.fixture()
def ref(tmp_path):
    p = tmp_path / "ref.yaml"
    p.write_text(SMALL)
    return p


def test_import_writes_one_reported_record_per_model_and_task(tmp_path, ref):
    info = import_reported(ref, tmp_path / "results", manifests=tmp_path)  # no manifests there: synthesised
    assert info == {"models": 2, "records": 4, "output": str(tmp_path / "results")}
    rec = json.loads((tmp_path / "results" / "base-a" / "xquad" / "all.json").read_text())
    assert rec["status"] == "reported" and rec["language"] == "all"
    assert rec["metrics"] == {"f1": 60.0} and rec["primary_metric"] == "f1"  # published QA columns are F1
    assert rec["citation"].startswith("Someone et al.") and "ref.yaml" in rec["provenance"]["source"]
    assert json.loads((tmp_path / "results" / "base-a" / "panx" / "all.json").read_text())["primary_metric"] == "f1"
    assert json.loads((tmp_path / "results" / "base-a" / "xnli" / "all.json").read_text())["primary_metric"] == "accuracy"
    man = json.loads((tmp_path / "results" / "base-b" / "manifest.json").read_text())
    assert man["manifest"]["reported"] is True and man["manifest"]["intermediate"] == ["mnli", "squad"]
    assert man["parameters"]["total"] == 900_000_000 and man["parameters"]["reported"] is True


def test_leaderboard_shows_reported_with_unknown_gap(tmp_path, ref):
    import_reported(ref, tmp_path / "results", manifests=tmp_path)
    board = build_leaderboard(read_store(tmp_path / "results"))
    a = next(e for e in board.entries if e.id == "base-a")
    assert a.status == "reported" and a.parameters_source == "reported"
    assert a.mean_gap is None and a.xtreme is None
    assert all(t.gap is None for t in a.tasks.values())
    assert a.tasks["xquad"].metric == "f1" and not a.tasks["xquad"].counts


def test_reimport_is_idempotent_and_drops_tasks_no_longer_listed(tmp_path, ref):
    import_reported(ref, tmp_path / "results", manifests=tmp_path)
    ref.write_text(SMALL.replace(", xquad: 60.0", ""))
    import_reported(ref, tmp_path / "results", manifests=tmp_path)
    assert not (tmp_path / "results" / "base-a" / "xquad" / "all.json").exists()
    assert len(list(ResultStore(tmp_path / "results").iter_records())) == 3


def test_refuses_a_folder_with_evaluated_records(tmp_path, ref):
    ResultStore(tmp_path / "results").write(evaluated_record("base-a", "xnli", "en", 50.0))
    with pytest.raises(XgapError, match="holds evaluated records"):
        import_reported(ref, tmp_path / "results", manifests=tmp_path)


@pytest.mark.parametrize("text, message", [
    ("models: []", "non-empty 'models:'"),
    ("sources: {}\nmodels: [{id: a, name: A, scores: {xnli: 1}, source: nope}]", "unknown source"),
    ("sources: {s: {cite: c}}\nmodels: [{id: a, name: A, scores: {xnli: 101}, source: s}]", "between 0 and 100"),
    ("sources: {s: {cite: c}}\nmodels: [{id: a, name: A, scores: {nonesuch: 1}, source: s}]", "unknown task"),
    ("sources: {s: {cite: c}}\nmodels: [{id: a, name: A, scores: {mnli: 1}, source: s}]", "not a target task"),
])
def test_bad_reference_files_give_one_line_errors(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(XgapError) as err:
        import_reported(p, tmp_path / "results", manifests=tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_repository_manifests_are_used(tmp_path):
    if not SHARED_REF.exists():
        pytest.skip("../shared/reference/published-xtreme.yaml not present")
    rc = main(["import-reported", str(SHARED_REF), "--output", str(tmp_path / "results"), "--manifests", str(REPO / "submissions")])
    assert rc == 0
    board = build_leaderboard(read_store(tmp_path / "results"))
    assert len(board.entries) == 9 and all(e.status == "reported" for e in board.entries)
    stilts = next(e for e in board.entries if e.id == "x-stilts")
    assert stilts.manifest["model"]["hub"] == "FacebookAI/xlm-roberta-large" and stilts.intermediate == ["best-per-target"]
    mbert = next(e for e in board.entries if e.id == "mbert")
    assert mbert.parameters == 177_853_440 and mbert.tasks["xquad"].score == 64.5
    assert board.entries[0].id == "mt5-xxl"  # orders by the mean over its six published tasks (no XTREME score)
