"""The result store: atomic writes, the run lock, and bad records reported with their path."""

from __future__ import annotations

import json
import os

import pytest
from helpers.synthetic import evaluated_record

from xgap.cli import main
from xgap.errors import ValidationFailed, XgapError
from xgap.record import record_ok
from xgap.store import ResultStore, read_record, read_store, read_submission
from xgap.validation import problems


def _rec(sub="m", task="xnli", lang="de", score=70.0):
    return evaluated_record(sub, task, lang, score)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write(_rec(), predictions={"predictions": ["a"], "gold": ["a"], "per_example": {"accuracy": [1]}})
    assert read_record(path)["primary_score"] == 70.0
    meta = read_record(path)["predictions"]
    assert (path.parent / meta["file"]).exists()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_crash_before_rename_keeps_the_old_record(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    path = store.write(_rec(score=70.0))

    def boom(src, dst):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(XgapError, match="cannot write"):
        store.write(_rec(score=10.0))
    monkeypatch.undo()
    # The failed write removed its temp file, and the record is still the complete old one ...
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert read_record(path)["primary_score"] == 70.0
    # ... and readers of the whole store skip the leftover.
    (sub,) = read_store(tmp_path)
    assert [r["primary_score"] for _, r in sub.records] == [70.0]
    assert [r["primary_score"] for _, r in store.iter_records()] == [70.0]


def test_leftover_partial_temp_file_is_ignored(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write(_rec())
    (path.parent / f".{path.name}.12345.tmp").write_text('{"record_version": 1, "stat')  # torn write
    (sub,) = read_store(tmp_path)
    assert len(sub.records) == 1


def test_second_lock_fails_with_one_line(tmp_path):
    store = ResultStore(tmp_path)
    with store.lock():
        with pytest.raises(XgapError) as err:
            with ResultStore(tmp_path).lock():
                pass
        msg = str(err.value)
        assert "\n" not in msg and "lock" in msg and str(tmp_path) in msg
    with ResultStore(tmp_path).lock():  # released: can be taken again
        pass


def test_locked_store_stops_a_cli_writer_with_one_line(tmp_path, capsys):
    ref = tmp_path / "ref.yaml"
    ref.write_text("sources: {s: {cite: 'Someone 2020'}}\nmodels:\n  - {id: m1, name: M1, scores: {xnli: 50.0}, source: s}\n")
    with ResultStore(tmp_path / "results").lock():
        rc = main(["import-reported", str(ref), "--output", str(tmp_path / "results"), "--manifests", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "lock" in err


def test_store_write_validates(tmp_path):
    bad = _rec()
    bad["primary_score"] = "high"
    with pytest.raises(ValidationFailed):
        ResultStore(tmp_path).write(bad)


@pytest.mark.parametrize("content, expect", [
    (b"{not json", "corrupt result record"),
    (b'{"record_version": 1}', "missing required field"),
])
def test_corrupt_or_invalid_record_is_reported_with_its_path(tmp_path, content, expect):
    store = ResultStore(tmp_path)
    good = store.write(_rec(lang="de"))
    bad = store.write(_rec(lang="fr"))
    bad.write_bytes(content)
    for reader in (lambda: read_record(bad), lambda: read_store(tmp_path), lambda: list(store.iter_records())):
        with pytest.raises(XgapError) as err:
            reader()
        assert str(bad) in str(err.value) and expect in str(err.value) and "\n" not in str(err.value)
    # With a problem handler the bad record is dropped and listed, never used.
    seen = []
    (sub,) = read_store(tmp_path, on_problem=seen.append)
    assert [p for p, _ in sub.records] == [str(good)] and len(seen) == 1 and str(bad) in seen[0]


def test_schema_invalid_field_is_named(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write(_rec())
    rec = json.loads(path.read_text())
    rec["metrics"]["accuracy"] = "seventy"
    path.write_text(json.dumps(rec))
    with pytest.raises(XgapError) as err:
        read_store(tmp_path)
    assert str(path) in str(err.value) and "metrics.accuracy" in str(err.value)


def test_record_in_the_wrong_folder_is_refused(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write(_rec(lang="de"))
    wrong = path.with_name("fr.json")
    path.rename(wrong)
    with pytest.raises(XgapError) as err:
        read_submission(tmp_path / "m")
    assert str(wrong) in str(err.value) and "sits at" in str(err.value)


def test_records_of_any_size_are_read_whole(tmp_path):
    """The store's reader takes a file in one os.read when it is short; a long one (here a 40 kB
    citation, past the first 16 kB read) is read on to its end."""
    store = ResultStore(tmp_path)
    short = store.write(_rec(lang="de"))
    rec = _rec(lang="fr")
    rec["citation"] = "x" * 40_000
    long = store.write(rec)
    assert long.stat().st_size > 2 * 16384 > short.stat().st_size
    got = {p.rsplit("/", 1)[1]: r for p, r in read_submission(tmp_path / "m").records}
    assert got["fr.json"]["citation"] == "x" * 40_000 and got["de.json"] == json.loads(short.read_bytes())


def test_short_reads_and_chunk_sized_records_are_read_whole(tmp_path, monkeypatch):
    """A read may return less than asked (network or FUSE file systems, a signal): the reader goes on
    to the end of the file. A record of exactly one read chunk (16,384 bytes) is read whole too."""
    import xgap.store as store_mod

    store = ResultStore(tmp_path)
    rec = _rec(lang="fr")
    rec["citation"] = "c"
    path = store.write(rec)
    rec["citation"] = "c" * (1 + 16384 - path.stat().st_size)  # pad the file to exactly 16,384 bytes
    path = store.write(rec)
    assert path.stat().st_size == 16384
    whole = read_submission(tmp_path / "m").records[0][1]
    assert whole["citation"] == rec["citation"]
    real_read = os.read
    monkeypatch.setattr(store_mod.os, "read", lambda fd, n: real_read(fd, min(n, 100)))  # at most 100 bytes a call
    assert read_submission(tmp_path / "m").records[0][1] == whole


def test_unreadable_record_is_one_line_with_its_path(tmp_path):
    store = ResultStore(tmp_path)
    store.write(_rec(lang="de"))
    odd = tmp_path / "m" / "xnli" / "fr.json"
    odd.mkdir()  # a folder where a record should be: os.open works, os.read fails (EISDIR)
    found: list = []
    sub = read_submission(tmp_path / "m", found.append)
    assert [p.rsplit("/", 1)[1] for p, _ in sub.records] == ["de.json"]
    assert len(found) == 1 and str(odd) in found[0] and "unreadable result record" in found[0] and "\n" not in found[0]
    assert "fix or remove it" in found[0]
    with pytest.raises(XgapError, match="unreadable result record"):
        read_submission(tmp_path / "m")


def test_leaderboard_build_stops_at_a_corrupt_record(tmp_path, capsys):
    store = ResultStore(tmp_path / "results")
    bad = store.write(_rec())
    bad.write_text("garbage")
    rc = main(["leaderboard", "build", "--results", str(tmp_path / "results"), "--output", str(tmp_path / "site"), "--no-plots"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and str(bad) in err and err.count("\n") == 0
    rc = main(["leaderboard", "build", "--results", str(tmp_path / "results"), "--output", str(tmp_path / "site"),
               "--no-plots", "--skip-invalid"])
    assert rc == 1 and str(bad) in capsys.readouterr().err
    assert (tmp_path / "site" / "index.html").exists()


# --------------------------------------------------------------------- the fast record check
def _mutations(rec):
    """Records that differ from ``rec`` in one place, valid or not."""
    import copy

    edits = [
        ("record_version", 2), ("record_version", True), ("record_version", 1.0), ("status", "guessed"), ("submission", ""),
        ("language", "DE"), ("language", "all"), ("language", "deu"), ("language", "de\n"), ("metrics", {}),
        ("metrics", {"accuracy": "x"}), ("metrics", {"accuracy": True}), ("primary_score", None), ("n_examples", -1),
        ("n_examples", 1.5), ("n_examples", None), ("ci95", {"accuracy": [1.0]}), ("ci95", {"accuracy": [1, "2"]}),
        ("predictions", None), ("predictions", {"file": "x", "sha256": "0" * 64}), ("predictions", {"file": "x", "sha256": "Z" * 64}),
        ("predictions", {"file": "x"}), ("settings", []), ("citation", 3), ("unknown_key", 1), ("split", None),
    ]
    for key, value in edits:
        r = copy.deepcopy(rec)
        r[key] = value
        yield r
    for key in ("metrics", "provenance", "primary_metric"):
        r = copy.deepcopy(rec)
        del r[key]
        yield r
    prov_edits = [("xgap_version", 1), ("git_commit", None), ("git_commit", 5), ("card_version", "1"), ("seed", 0.5),
                  ("wall_seconds", -1), ("wall_seconds", 0), ("model", {"id": 3}), ("model", {"revision": None}),
                  ("parameters", {"total": 1.5}), ("parameters", {"total": 10}), ("libraries", {"torch": None}),
                  ("libraries", {"torch": 2}), ("extra", {"anything": [1]}), ("device", None)]
    for key, value in prov_edits:
        r = copy.deepcopy(rec)
        r["provenance"][key] = value
        yield r
    r = copy.deepcopy(rec)
    del r["provenance"]["xgap_version"]
    yield r


def test_fast_check_is_never_more_permissive_than_the_schema():
    base = evaluated_record("m", "xquad", "de", 50.0, qa=True)
    base["predictions"] = {"file": "de.predictions.json", "sha256": "a" * 64}
    assert record_ok(base) and not problems(base, "result-record", "x")
    for rec in _mutations(base):
        if record_ok(rec):
            assert not problems(rec, "result-record", "x"), rec


# --------------------------------------------------------------------- resume protocol
def _run(store, inputs: dict, computed: list) -> None:
    """What ``xgap run`` does per (task, language): skip when the stored input_key matches."""
    from xgap.store import input_key

    for lang, parts in inputs.items():
        key = input_key(**parts)
        old = store.find("m", "xnli", lang)
        if old is not None and old.input_key == key:
            continue
        rec = _rec(lang=lang)
        rec["input_key"] = key
        store.write(rec)
        computed.append(lang)


def test_resume_recomputes_exactly_the_changed_record(tmp_path):
    from xgap.store import input_key

    assert input_key(a=1, b={"x": 2, "y": 3}) == input_key(b={"y": 3, "x": 2}, a=1)
    store = ResultStore(tmp_path)
    inputs = {lang: {"card_hash": "c1", "data": f"d-{lang}", "weights": "w1", "settings": {"max_length": 256}} for lang in ("de", "fr", "en")}
    first, second, third = [], [], []
    _run(store, inputs, first)
    _run(store, inputs, second)
    inputs["fr"] = dict(inputs["fr"], data="d-fr-v2")  # the French data changed
    _run(store, inputs, third)
    assert sorted(first) == ["de", "en", "fr"] and second == [] and third == ["fr"]
    # A corrupt record is never reused: find() misses it, so the run recomputes it.
    store.record_path("m", "xnli", "de").write_text("{torn")
    fourth = []
    _run(store, inputs, fourth)
    assert fourth == ["de"]
