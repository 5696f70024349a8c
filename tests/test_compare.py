"""``xgap compare``: a planted regression fails the gate, noise within the interval passes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic import evaluated_record

from xgap.cli import main
from xgap.compare import compare, gate, markdown
from xgap.store import ResultStore

N = 2000
LANGS = ("en", "de", "fr")


def write(store, sub, task, lang, correct, qa=False, sidecar=True, gold=None):
    """A record whose score is the mean of per-example values (accuracy 0/1, or QA EM/F1 0/100)."""
    if qa:
        em = np.asarray(correct, dtype=float) * 100
        f1 = np.minimum(100.0, em + 20.0)
        rec = evaluated_record(sub, task, lang, 0.0, qa=True)
        rec["metrics"] = {"exact_match": em.mean(), "f1": f1.mean(), "em_f1_mean": (em.mean() + f1.mean()) / 2}
        rec["primary_score"] = rec["metrics"]["em_f1_mean"]
        rec["ci95"] = {"em_f1_mean": [rec["primary_score"] - 2, rec["primary_score"] + 2]}
        per = {"exact_match": em.tolist(), "f1": f1.tolist()}
    else:
        acc = 100 * float(np.mean(correct))
        rec = evaluated_record(sub, task, lang, acc)
        rec["ci95"] = {"accuracy": [acc - 2.0, acc + 2.0]}
        per = {"accuracy": [int(c) for c in correct]}
    preds = {"predictions": [], "gold": gold if gold is not None else list(range(len(correct))), "per_example": per}
    store.write(rec, preds if sidecar else None)


@pytest.fixture()
def base(tmp_path):
    rng = np.random.default_rng(0)
    store = ResultStore(tmp_path)
    correct = {lang: rng.random(N) < 0.7 for lang in LANGS}
    for lang in LANGS:
        write(store, "base", "xnli", lang, correct[lang])
    return store, correct


def test_planted_two_point_regression_fails(base, tmp_path, capsys):
    store, correct = base
    rng = np.random.default_rng(1)
    for lang in LANGS:
        c = correct[lang].copy()
        if lang == "de":  # drop 2 points: 40 of 2,000 correct answers become wrong
            c[rng.choice(np.flatnonzero(c), size=int(0.02 * N), replace=False)] = False
        write(store, "new", "xnli", lang, c)
    result = compare(tmp_path / "base", tmp_path / "new")
    de = next(r for r in result["rows"] if r["lang"] == "de")
    assert de["method"] == "paired" and de["delta"] == pytest.approx(-2.0)
    assert de["high"] < 0 and de["status"] == "FAIL" and result["failed"] == 1
    assert all(r["status"] == "ok" for r in result["rows"] if r["lang"] != "de")
    report_file = tmp_path / "report.md"
    rc = main(["compare", "base", "new", "--results", str(tmp_path), "--report", str(report_file)])
    assert rc == 1
    text = report_file.read_text()
    assert "**FAIL**" in text and "| xnli | de |" in text and "paired" in text
    assert "**FAIL**" in capsys.readouterr().out


def _churn(c, rng, down, up):
    """Flip ``down`` correct answers to wrong and ``up`` wrong answers to correct."""
    c = c.copy()
    right, wrong = np.flatnonzero(c), np.flatnonzero(~c)
    c[rng.choice(right, size=down, replace=False)] = False
    c[rng.choice(wrong, size=up, replace=False)] = True
    return c


def test_noise_within_the_interval_passes(base, tmp_path):
    store, correct = base
    rng = np.random.default_rng(2)
    churn = {"en": (30, 27), "de": (30, 33), "fr": (200, 185)}  # fr: -0.75 points, but heavy churn: the interval spans 0
    for lang in LANGS:
        write(store, "new", "xnli", lang, _churn(correct[lang], rng, *churn[lang]))
    result = compare(tmp_path / "base", tmp_path / "new", tolerance=0.5)
    assert result["failed"] == 0, markdown(result)
    fr = next(r for r in result["rows"] if r["lang"] == "fr")
    assert fr["delta"] == pytest.approx(-0.75) and fr["low"] < fr["delta"] < 0 < fr["high"]
    assert all(r["method"] == "paired" for r in result["rows"])
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "new")]) == 0


def test_qa_pairs_on_em_f1_mean(tmp_path):
    store = ResultStore(tmp_path)
    rng = np.random.default_rng(3)
    c = rng.random(N) < 0.6
    write(store, "base", "xquad", "en", c, qa=True)
    worse = c.copy()
    worse[np.flatnonzero(c)[:100]] = False  # 5 points of EM
    write(store, "new", "xquad", "en", worse, qa=True)
    (row,) = compare(tmp_path / "base", tmp_path / "new")["rows"]
    assert row["method"] == "paired" and row["status"] == "FAIL" and row["delta"] < -2


def test_without_predictions_the_interval_is_unpaired(tmp_path):
    store = ResultStore(tmp_path)
    c = np.ones(N, dtype=bool)
    c[:600] = False
    write(store, "base", "xnli", "en", c, sidecar=False)
    d = c.copy()
    d[600:630] = False  # -1.5 points: beyond tolerance, but inside the unpaired interval (+-2.83)
    write(store, "new", "xnli", "en", d, sidecar=False)
    (row,) = compare(tmp_path / "base", tmp_path / "new")["rows"]
    assert row["method"] == "unpaired" and row["status"] == "ok" and "no predictions" in row["note"]


def test_different_examples_are_not_paired(tmp_path):
    store = ResultStore(tmp_path)
    c = np.zeros(N, dtype=bool)
    write(store, "base", "xnli", "en", c, gold=["a"] * N)
    write(store, "new", "xnli", "en", c, gold=["b"] * N)
    (row,) = compare(tmp_path / "base", tmp_path / "new")["rows"]
    assert row["method"] == "unpaired" and "gold differs" in row["note"]


def test_missing_results_fail_unless_allowed(base, tmp_path):
    store, correct = base
    write(store, "new", "xnli", "en", correct["en"])
    write(store, "new", "pawsx", "en", correct["en"])
    result = compare(tmp_path / "base", tmp_path / "new")
    kinds = {(r["task"], r["lang"]): (r["kind"], r["status"]) for r in result["rows"]}
    assert kinds[("xnli", "de")] == ("missing", "FAIL") and kinds[("pawsx", "en")] == ("new", "new")
    assert compare(tmp_path / "base", tmp_path / "new", allow_missing=True)["failed"] == 0


def test_gate_rule():
    assert gate({"delta": -2.0, "high": -0.1}, 0.5)
    assert not gate({"delta": -2.0, "high": 0.3}, 0.5)  # the interval allows no change
    assert not gate({"delta": -0.4, "high": -0.1}, 0.5)  # within tolerance
    assert gate({"delta": -0.6, "high": None}, 0.5)  # no interval: the tolerance alone decides


def test_unknown_submission_is_a_one_line_error(tmp_path, capsys):
    assert main(["compare", "nope", "nada", "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
