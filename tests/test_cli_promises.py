"""What the README promises a newcomer: validate knows every file of a result store, bad names and
missing data fail at once with one plain line, and runs are named after what they ran."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xgap.cli import main, setup_logging

REPO = Path(__file__).resolve().parents[1]


def _store(root: Path) -> None:
    from helpers.synthetic import evaluated_record, manifest_doc, write_json

    write_json(root / "tiny" / "manifest.json", manifest_doc("tiny", "Tiny", "none", 1_000_000))
    for lang in ("en", "de"):
        write_json(root / "tiny" / "xnli" / f"{lang}.json", evaluated_record("tiny", "xnli", lang, 50.0))
    write_json(root / "tiny" / "xnli" / "de.predictions.json", {"predictions": []})
    write_json(root / "tiny" / "lineage.json", {"phase": "iii"})  # a training file: not a document validate knows


def test_validate_a_result_store_gives_no_false_errors(tmp_path, capsys):
    _store(tmp_path / "results")
    assert main(["validate", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "ok (3 files; 1 other file skipped)"


def test_validate_checks_the_store_manifest_it_finds(tmp_path, capsys):
    _store(tmp_path / "results")
    f = tmp_path / "results" / "tiny" / "manifest.json"
    doc = json.loads(f.read_text())
    doc["manifest"]["tasks"] = {"xnlii": {}}
    f.write_text(json.dumps(doc))
    assert main(["validate", str(tmp_path / "results")]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "manifest: tasks.xnlii: unknown task" in lines[0] and "did you mean 'xnli'" in lines[0]


def test_a_task_typo_in_a_manifest_fails_validate(tmp_path, capsys):
    text = (REPO / "submissions" / "minilm.yaml").read_text(encoding="utf-8").replace("  tatoeba: {}", "  tatoebaa: {}")
    (tmp_path / "minilm.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "minilm.yaml")]) == 1
    assert "tasks.tatoebaa: unknown task - fix: did you mean 'tatoeba'?" in capsys.readouterr().out


def test_an_unknown_file_named_explicitly_is_an_error(tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"a": 1}')
    assert main(["validate", str(tmp_path / "x.json")]) == 1
    assert "not a task card, submission manifest, result record or experiment grid" in capsys.readouterr().out


def test_missing_data_offline_fails_before_importing_datasets(tmp_path):
    """With the hub offline and nothing cached, the error comes from xgap's own check: no retries, no datasets import."""
    code = ("import sys; from xgap.cli import main; rc = main(['data', 'check', 'pawsx', '--lang', 'fr', '--data-dir', sys.argv[1]]); "
            "print('datasets imported:', 'datasets' in sys.modules); sys.exit(rc)")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert "datasets imported: False" in r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xgap: task 'pawsx' language 'fr'") and "hub is unreachable (HF_HUB_OFFLINE is set)" in err[0]


def test_unknown_languages_fail_before_any_data_access(tmp_path, capsys, monkeypatch):
    import xgap.data.loader as loader

    monkeypatch.setattr(loader, "load_examples", lambda *a, **k: pytest.fail("data was loaded"))
    rc = main(["run", "--model", str(tmp_path), "--tasks", "xnli,udpos", "--langs", "de,xx", "--output", str(tmp_path / "r")])
    assert rc == 2
    assert "--langs: 'xx' is not a language of any of the tasks xnli, udpos" in capsys.readouterr().err


def test_a_missing_model_folder_says_so(tmp_path, capsys):
    rc = main(["run", "--model", str(tmp_path / "nope" / "model"), "--tasks", "tatoeba", "--langs", "de"])
    assert rc == 2
    assert f"model folder '{tmp_path / 'nope' / 'model'}' does not exist" in capsys.readouterr().err


def test_a_model_folder_named_model_names_the_run_after_its_parent(tmp_path):
    from xgap.harness.runner import slug

    (tmp_path / "my_encoder" / "model").mkdir(parents=True)
    assert slug(str(tmp_path / "my_encoder" / "model")) == "my_encoder"
    assert slug(str(tmp_path / "my_encoder" / "model") + "/") == "my_encoder"
    assert slug("org/name") == "org--name"


def test_faiss_loader_noise_is_silenced():
    setup_logging(quiet=False, verbose=False)
    assert logging.getLogger("faiss.loader").getEffectiveLevel() == logging.WARNING


def test_compare_help_shows_a_plain_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert "95% interval" in out and "%%" not in out
