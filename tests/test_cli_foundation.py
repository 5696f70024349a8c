"""The foundation CLI: tasks list/show, validate, data check, --help/--version, one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xgap import __version__
from xgap.cli import main
from xgap.resources import tasks_dir

REPO = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "foundation"


def _run(*args, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "xgap", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


# ----------------------------------------------------------------------------- tasks
def test_tasks_list_shows_18_tasks(capsys):
    assert main(["tasks", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[-1] == "18 tasks (9 targets, 9 intermediate)"
    rows = lines[2:-1]  # header, rule, ..., summary
    assert len(rows) == 18
    names = [r.split()[0] for r in rows]
    assert set(names) == {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba",
                          "anli_plus", "mnli", "qqp", "sst2", "squad", "hellaswag", "cosmosqa", "commonsenseqa", "ccg"}
    xnli = next(r for r in rows if r.split()[0] == "xnli").split()
    assert xnli[1:4] == ["target", "sentence-pair-classification", "15"] and xnli[4] == "accuracy"
    panx = next(r for r in rows if r.split()[0] == "panx").split()
    assert panx[3] == "40" and panx[4] == "f1"


def test_tasks_show_xnli_resolves_includes(capsys):
    import yaml

    assert main(["tasks", "show", "xnli"]) == 0
    out = capsys.readouterr().out
    first, body = out.split("\n", 1)
    assert first.startswith("# xnli") and "hash" in first
    data = yaml.safe_load(body)
    assert data["languages"] == "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
    assert data["labels"] == ["contradiction", "entailment", "neutral"]
    assert "include" not in data
    # from the included defaults (classification.yaml and xtreme.yaml)
    assert data["kind"] == "target" and data["primary_metric"] == "accuracy"
    assert data["sources"]["hub"]["id"] == "google/xtreme"
    assert data["protocol"]["recipe"]["learning_rate"] == 1e-5


def test_tasks_show_json(capsys):
    import json

    assert main(["tasks", "show", "tatoeba", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["languages"]) == 36 and data["languages"][12] == {"code": "de", "source": "deu"}


def test_bad_task_name_is_one_line_error(capsys):
    assert main(["tasks", "show", "xnlii"]) != 0
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xgap: ") and "xnlii" in err[0]
    assert "Traceback" not in cap.err and cap.out == ""


def test_bad_task_name_subprocess_no_traceback():
    r = _run("tasks", "show", "nosuchtask")
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("xgap: ") and "nosuchtask" in lines[0]
    assert "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- validate
def test_validate_shipped_tasks_ok(capsys):
    assert main(["validate", str(tasks_dir())]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "ok (18 files)"


def test_validate_broken_card_one_line_per_problem(tmp_path, capsys):
    d = tmp_path / "cards"
    d.mkdir()
    shutil.copy(FIX / "cards" / "_defaults.yaml", d / "_defaults.yaml")
    bad = d / "bad.yaml"
    bad.write_text("include: _defaults.yaml\nname: bad\nformat: pairs\nlanguages: [en, deu]\n"
                   "labels: [a, a]\nmetrics: [accuracy]\nprimary_metric: accuracy\n", encoding="utf-8")
    good = d / "good.yaml"
    shutil.copy(FIX / "cards" / "good.yaml", good)
    assert main(["validate", str(d)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3
    assert all(ln.startswith(f"{bad}: ") and " - fix: " in ln for ln in out)
    assert [ln[len(f"{bad}: "):].split(":")[0] for ln in out] == ["format", "labels", "languages[1]"]


def test_validate_subprocess_exit_codes(tmp_path):
    r = _run("validate", "tasks/")
    assert r.returncode == 0 and r.stdout.strip() == "ok (18 files)"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\n", encoding="utf-8")
    r = _run("validate", str(bad))
    assert r.returncode == 1
    assert r.stdout.strip() and all(ln.startswith(f"{bad}: ") for ln in r.stdout.strip().splitlines())
    assert "Traceback" not in r.stderr


def test_validate_missing_path(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xgap: ") and "nope" in err[0]


# ----------------------------------------------------------------------------- data check
def test_data_check_tatoeba_real(data_dir, capsys):
    assert main(["data", "check", "tatoeba", "--lang", "de", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    row = out[2].split()
    assert row[:4] == ["tatoeba", "de", "test", "1000"]


def test_data_check_fixture_data(capsys):
    assert main(["data", "check", "xnli", "--lang", "de", "--data-dir", str(FIX / "data")]) == 0
    out = capsys.readouterr().out
    assert "contradiction=2, entailment=1, neutral=1" in out
    assert main(["data", "check", "udpos", "--lang", "de", "--data-dir", str(FIX / "data")]) == 0
    row = capsys.readouterr().out.strip().splitlines()[2].split()
    assert row[:6] == ["udpos", "de", "test", "3", "11", "words"]


def test_data_check_missing_data_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    assert main(["data", "check", "ccg", "--data-dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xgap: ") and "ccg" in err[0] and "--data-dir" in err[0]


def test_data_check_unknown_language(capsys):
    assert main(["data", "check", "xnli", "--lang", "xx", "--data-dir", str(FIX / "data")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xgap: ") and "'xx'" in err[0]


# ----------------------------------------------------------------------------- help, version, imports
def test_version(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"xgap {__version__}"
    r = _run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"xgap {__version__}"


def test_help_lists_the_commands():
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("tasks", "validate", "data", "run", "score", "export"):
        assert cmd in r.stdout


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: xgap" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["tasks", "data", "train", "grid", "submit", "leaderboard"])
def test_a_command_without_its_action_prints_its_own_help(capsys, command):
    assert main([command]) == 2
    assert capsys.readouterr().out.startswith(f"usage: xgap {command} ")


def test_parser_and_help_do_not_import_heavy_libraries():
    code = ("import sys; from xgap.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'jsonschema', 'yaml', 'numpy') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = eval(r.stdout.strip())  # noqa: S307 - our own printed list
    assert not {"torch", "transformers", "datasets"} & set(loaded), loaded
    # and through the real entry point
    code2 = ("import sys, contextlib, io\nfrom xgap.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
             "print([m for m in ('torch', 'transformers', 'datasets') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_tasks_list_does_not_import_torch():
    code = ("import sys, contextlib, io\nfrom xgap.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['tasks', 'list'])\n"
            "print([m for m in ('torch', 'transformers') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_console_script_help():
    exe = shutil.which("xgap")
    if exe is None:
        pytest.skip("xgap console script not on PATH")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "usage: xgap" in r.stdout
