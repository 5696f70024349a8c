"""``xgap submit check``: manifests validate and claimed sizes are checked against the weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from xgap.cli import main
from xgap.submit import check_submission

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = sorted((REPO / "submissions").glob("*.yaml"))


def test_every_shipped_manifest_is_valid(capsys):
    assert len(SUBMISSIONS) >= 10
    assert main(["submit", "check", "--no-count", *map(str, SUBMISSIONS)]) == 0
    out = capsys.readouterr().out
    assert out.count("valid submission") == len(SUBMISSIONS)


def test_minilm_parameters_are_counted_from_the_weights(minilm_dir, capsys):
    assert main(["submit", "check", str(REPO / "submissions" / "minilm.yaml")]) == 0
    out = capsys.readouterr().out
    assert "22,713,216 counted from the weights" in out and "ok" in out


def test_a_wrong_claim_fails_with_one_line(minilm_dir, tmp_path, capsys):
    text = (REPO / "submissions" / "minilm.yaml").read_text().replace("claimed_parameters: 22713216", "claimed_parameters: 30000000")
    f = tmp_path / "minilm.yaml"
    f.write_text(text)
    assert main(["submit", "check", str(f)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "differs from the 22,713,216 counted" in err and "> 1%" in err


def test_hub_model_not_cached_is_counted_at_run_time(tmp_path):
    f = tmp_path / "nocache.yaml"
    f.write_text("id: nocache\nname: N\nmodel: {hub: org-that-does-not-exist/model-xyz}\nbase_encoder: x\n"
                 "intermediate: none\nclaimed_parameters: 1000\nlicense: mit\nauthors: [me]\n")
    lines = check_submission(f)
    assert "not in the local cache" in lines[-1] and "xgap run" in lines[-1]


@pytest.mark.parametrize("body, message", [
    ("id: bad\nname: B\n", "missing required field 'model'"),
    ("id: bad\nname: B\nmodel: {hub: a/b}\nbase_encoder: x\nintermediate: none\nlicense: mit\nauthors: [me]\ntasks: {nosuch: {}}\n", "unknown task"),
    ("id: other\nname: B\nmodel: {hub: a/b}\nbase_encoder: x\nintermediate: none\nlicense: mit\nauthors: [me]\n", "differs from the file name"),
])
def test_invalid_manifests_give_one_line_errors(tmp_path, capsys, body, message):
    f = tmp_path / "bad.yaml"
    f.write_text(body)
    assert main(["submit", "check", "--no-count", str(f)]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0
