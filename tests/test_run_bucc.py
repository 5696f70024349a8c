"""BUCC through ``xgap run`` on a pseudo-BUCC set built from real Tatoeba sentences: the real
all-MiniLM-L6-v2 mines the hidden gold pairs with a threshold chosen on dev (recorded) and F1 > 0."""

from __future__ import annotations

import json

import pytest

from xgap.cli import main

pytestmark = pytest.mark.slow


def test_pseudo_bucc_mines_with_dev_threshold(tmp_path, data_dir, minilm_dir, capsys):
    out = tmp_path / "mining-data"
    assert main(["data", "pseudo-bucc", "--lang", "de", "--out", str(out), "--distractors", "300", "--data-dir", str(data_dir)]) == 0
    files = sorted(p.name for p in (out / "bucc2018").iterdir())
    assert files == ["de-en.dev.de", "de-en.dev.en", "de-en.dev.gold", "de-en.test.de", "de-en.test.en", "de-en.test.gold"]
    rc = main(["--quiet", "run", "--model", str(minilm_dir), "--pooling", "model", "--tasks", "bucc2018", "--langs", "de",
               "--data-dir", str(out), "--output", str(tmp_path / "results"), "--submission-id", "minilm",
               "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "200"])
    assert rc == 0
    rec = json.loads((tmp_path / "results/minilm/bucc2018/de.json").read_text())
    assert rec["metrics"]["f1"] > 0
    assert rec["settings"]["threshold"] > 0 and rec["settings"]["dev_f1"] > 0
    assert rec["settings"]["k"] == 4 and rec["settings"]["margin"] == "ratio"
    lo, hi = rec["ci95"]["f1"]
    assert lo <= rec["metrics"]["f1"] <= hi
    assert rec["provenance"]["parameters"]["total"] == 22713216  # counted from the weights, before layer truncation
