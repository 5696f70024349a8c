"""End to end through ``xgap run`` on real data with tiny random checkpoints (plumbing, not accuracy):
records are schema-valid, a rerun skips unchanged records without loading a model, and
export -> export-labels -> score reproduces the records' numbers exactly."""

from __future__ import annotations

import json

import pytest
from helpers.tiny import build_tiny_checkpoint

from xgap.cli import main
from xgap.store import ResultStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("tiny-run")
    pawsx = (data_dir / "pawsx/de/test.tsv").read_text(encoding="utf-8").splitlines()[1:400]
    xquad = json.loads((data_dir / "xquad/xquad.en.json").read_text(encoding="utf-8"))
    ctx = [p["context"] for a in xquad["data"] for p in a["paragraphs"]][:60]
    texts = [c for l in pawsx for c in l.split("\t")[1:3]] + ctx
    return {
        "cls": build_tiny_checkpoint(root / "cls", texts, head="sequence-classification", labels=["0", "1"]),
        "generic": build_tiny_checkpoint(root / "generic", texts, head="sequence-classification", labels=["LABEL_0", "LABEL_1", "LABEL_2"]),
        "tag": build_tiny_checkpoint(root / "tag", texts, head="token-classification",
                                     labels="ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()),
        "qa": build_tiny_checkpoint(root / "qa", texts, head="question-answering"),
    }


def test_run_resume_export_score(tiny_models, data_dir, tmp_path, capsys, monkeypatch):
    # pawsx and xquad have no local English / French data here: ask only for what exists locally.
    out = tmp_path / "results"
    rc = main(["--quiet", "run", "--model", f"udpos={tiny_models['tag']}", "--model", f"xquad={tiny_models['qa']}",
               "--tasks", "udpos,xquad", "--langs", "en,de,fr", "--data-dir", str(data_dir), "--output", str(out),
               "--submission-id", "tiny", "--bootstrap", "200"])
    assert rc == 0
    rc = main(["--quiet", "run", "--model", str(tiny_models["cls"]), "--tasks", "pawsx", "--langs", "de", "--data-dir", str(data_dir),
               "--output", str(out), "--submission-id", "tiny", "--bootstrap", "200"])
    assert rc == 0
    store = ResultStore(out)
    recs = {(r["task"], r["language"]): r for _, r in store.iter_records("tiny")}
    assert set(recs) == {("udpos", "en"), ("udpos", "de"), ("udpos", "fr"), ("xquad", "en"), ("xquad", "de"), ("pawsx", "de")}
    assert recs[("udpos", "fr")]["n_examples"] == 416
    assert recs[("xquad", "de")]["n_examples"] == 1190
    assert recs[("pawsx", "de")]["n_examples"] == 2000
    for r in recs.values():
        lo, hi = r["ci95"][r["primary_metric"]]
        assert lo <= r["primary_score"] <= hi
        assert r["provenance"]["parameters"]["total"] > 0
    printed = capsys.readouterr().out
    assert "gap EM" in printed and "udpos" in printed

    # Rerun: everything unchanged, so no model may be loaded at all.
    import xgap.modeling.models as models

    def boom(*a, **k):
        raise AssertionError("model loaded on an unchanged rerun")

    monkeypatch.setattr(models, "load_model", boom)
    assert main(["--quiet", "run", "--model", str(tiny_models["cls"]), "--tasks", "pawsx", "--langs", "de", "--data-dir", str(data_dir),
                 "--output", str(out), "--submission-id", "tiny", "--bootstrap", "200"]) == 0
    assert "0 records computed, 1 unchanged" in capsys.readouterr().out

    # Export, gold labels, official-style scoring: the same numbers as the records.
    pred, lab = tmp_path / "pred", tmp_path / "labels"
    assert main(["export", str(out / "tiny"), str(pred)]) == 0
    for tasks, langs in (("pawsx", "de"), ("udpos", "de,fr,en"), ("xquad", "de,en")):
        assert main(["export-labels", str(lab), "--tasks", tasks, "--langs", langs, "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert main(["score", str(pred), str(lab), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    for (task, lang), r in recs.items():
        got = scored["tasks"][task]["languages"][lang]
        for m, v in r["metrics"].items():
            if m in got:
                assert got[m] == pytest.approx(v, abs=1e-6), (task, lang, m)


def test_mlqa_dev_and_xnli_full(tiny_models, data_dir, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["--quiet", "run", "--model", str(tiny_models["qa"]), "--tasks", "mlqa", "--langs", "de", "--split", "dev",
                 "--data-dir", str(data_dir), "--output", str(out), "--submission-id", "t", "--bootstrap", "100"]) == 0
    rec = json.loads((out / "t/mlqa/de.json").read_text())
    assert rec["split"] == "dev" and rec["n_examples"] == 512 and rec["settings"]["qa_evaluation"] == "mlqa"
    assert main(["--quiet", "run", "--model", str(tiny_models["generic"]), "--tasks", "xnli", "--langs", "de",
                 "--label-map", "LABEL_0=contradiction,LABEL_1=entailment,LABEL_2=neutral", "--data-dir", str(data_dir),
                 "--output", str(out), "--submission-id", "t", "--bootstrap", "100"]) == 0
    rec = json.loads((out / "t/xnli/de.json").read_text())
    assert rec["n_examples"] == 5010 and rec["settings"]["label_map"] == {"LABEL_0": "contradiction", "LABEL_1": "entailment", "LABEL_2": "neutral"}
    pred, lab = tmp_path / "pred", tmp_path / "lab"
    assert main(["export", str(out / "t"), str(pred)]) == 0
    assert main(["export-labels", str(lab), "--tasks", "xnli", "--langs", "de", "--data-dir", str(data_dir)]) == 0
    (pred / "mlqa").rename(tmp_path / "mlqa-pred")  # MLQA labels for dev: exported by hand below
    capsys.readouterr()
    assert main(["score", str(pred), str(lab), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["tasks"]["xnli"]["languages"]["de"]["accuracy"] == pytest.approx(rec["metrics"]["accuracy"], abs=1e-6)


def test_generic_label_names_need_a_map(tiny_models, data_dir, tmp_path, capsys):
    rc = main(["--quiet", "run", "--model", str(tiny_models["generic"]), "--tasks", "xnli", "--langs", "de", "--limit", "20",
               "--data-dir", str(data_dir), "--output", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and err[0].startswith("xgap: ") and "label" in err[0].lower()
    rc = main(["--quiet", "run", "--model", str(tiny_models["generic"]), "--tasks", "xnli", "--langs", "de", "--limit", "20",
               "--label-map", "LABEL_0=contradiction", "--label-map", "LABEL_1=entailment", "--label-map", "LABEL_2=neutral",
               "--data-dir", str(data_dir), "--output", str(tmp_path / "r"), "--bootstrap", "0"])
    assert rc == 0
