"""An interrupted ``xgap run`` loses nothing: kill it mid-run, rerun, and get exactly the records
of an uninterrupted run, with the records finished before the kill left untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers.tiny import build_tiny_checkpoint

pytestmark = pytest.mark.slow

LANGS = "de,fr,es,it,pt,nl"


def _cmd(model, data_dir, out, cache):
    return [sys.executable, "-m", "xgap", "--quiet", "run", "--model", str(model), "--tasks", "tatoeba", "--langs", LANGS,
            "--data-dir", str(data_dir), "--output", str(out), "--submission-id", "tiny", "--cache-dir", str(cache),
            "--bootstrap", "100", "--limit", "400"]


def _records(out):
    recs = {}
    for p in sorted((out / "tiny" / "tatoeba").glob("*.json")):
        if not p.name.endswith(".predictions.json"):
            r = json.loads(p.read_text())
            recs[r["language"]] = r
    return recs


def test_kill_and_resume(tmp_path, data_dir):
    texts = (data_dir / "tatoeba" / "tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    model = build_tiny_checkpoint(tmp_path / "enc", texts, head="encoder", hidden_size=32, num_layers=2)
    env = dict(os.environ, XGAP_CACHE_DIR=str(tmp_path / "hashes"))
    out, cache = tmp_path / "interrupted", tmp_path / "cache"
    proc = subprocess.Popen(_cmd(model, data_dir, out, cache), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and len(_records(out)) < 2 and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("run finished before it could be interrupted")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {l: (r["input_key"], (out / "tiny" / "tatoeba" / f"{l}.json").stat().st_mtime_ns) for l, r in _records(out).items()}
    assert 2 <= len(before) < 6
    for leftover in (out / "tiny" / "tatoeba").glob(".*.tmp"):
        leftover.unlink()  # a temp file a kill may leave behind is never read as a record

    done = subprocess.run(_cmd(model, data_dir, out, cache), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{6 - len(before)} records computed, {len(before)} unchanged" in done.stdout
    after = _records(out)
    assert sorted(after) == sorted(LANGS.split(","))
    for lang, (key, mtime) in before.items():
        assert after[lang]["input_key"] == key
        assert (out / "tiny" / "tatoeba" / f"{lang}.json").stat().st_mtime_ns == mtime  # not rewritten

    fresh = tmp_path / "fresh"
    ok = subprocess.run(_cmd(model, data_dir, fresh, tmp_path / "cache2"), env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    for lang, rec in _records(fresh).items():
        assert after[lang]["metrics"] == rec["metrics"]
        assert after[lang]["input_key"] == rec["input_key"]
