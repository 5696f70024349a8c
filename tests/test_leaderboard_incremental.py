"""Incremental site builds give exactly the bytes of a from-scratch build (no change, add, change, delete)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from helpers.synthetic import synthetic_store

from xgap.leaderboard import records, render
from xgap.leaderboard.model import PLAIN_MANIFEST_FILE, build_leaderboard
from xgap.leaderboard.records import read_store
from xgap.leaderboard.render import build_site, write_site

BOOKKEEPING = set(render.BOOKKEEPING)


def _files(site: Path) -> dict:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and p.name not in BOOKKEEPING}


def _same_as_scratch(results: Path, site: Path, tmp_path: Path, plots: bool) -> None:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    build_site(results, fresh, plots=plots, cache=False)
    got, want = _files(site), _files(fresh)
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel] == want[rel], rel


def _rename_write(path: Path, rec: dict) -> None:
    """How the store writes: a temp file renamed over the record."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, path)


@pytest.fixture
def trust_fresh_stamps(monkeypatch):
    monkeypatch.setattr(records, "RACY_NS", 0)
    monkeypatch.setattr(records, "RACY_COARSE_NS", 0)


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "two-processes"])
def test_incremental_builds_equal_a_scratch_build(tmp_path, monkeypatch, trust_fresh_stamps, parallel):
    if parallel:  # the worker pool and the plot process run even on this small store
        monkeypatch.setattr(render, "PARALLEL_MIN", 1)
    plots = False  # see test_plots_drawn_in_a_second_process_are_the_same
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 3)
    first = build_site(results, site, plots=plots)
    assert first["reused_pages"] == 0 and first["submissions"] == 3
    _same_as_scratch(results, site, tmp_path, plots)

    # (a) nothing changed: no page is touched (the no-change check stops the build early)
    mtimes = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}
    again = build_site(results, site, plots=plots)
    assert again["reused_pages"] == 3
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} == mtimes
    _same_as_scratch(results, site, tmp_path, plots)

    # (b) one submission added: the others' pages are kept
    synthetic_store(results, 1, seed=1, start=3)
    added = build_site(results, site, plots=plots)
    assert added["submissions"] == 4 and added["reused_pages"] == 3
    _same_as_scratch(results, site, tmp_path, plots)

    # (c) one record changed through a rename: only its submission is read again
    path = results / "synthetic-0001" / "xnli" / "de.json"
    rec = json.loads(path.read_text())
    rec["primary_score"] = rec["metrics"]["accuracy"] = 3.25
    _rename_write(path, rec)
    changed = build_site(results, site, plots=plots)
    assert changed["reused_pages"] == 3
    assert "3.2" in (site / "tasks" / "xnli.html").read_text()
    _same_as_scratch(results, site, tmp_path, plots)

    # (d) one record deleted, then a whole submission deleted
    (results / "synthetic-0002" / "pawsx" / "fr.json").unlink()
    build_site(results, site, plots=plots)
    _same_as_scratch(results, site, tmp_path, plots)
    shutil.rmtree(results / "synthetic-0000")
    gone = build_site(results, site, plots=plots)
    assert gone["submissions"] == 3 and not (site / "submissions" / "synthetic-0000.html").exists()
    _same_as_scratch(results, site, tmp_path, plots)


def test_plots_drawn_in_a_second_process_are_the_same(tmp_path, monkeypatch):
    results = tmp_path / "results"
    synthetic_store(results, 3)
    build_site(results, tmp_path / "serial", cache=False)
    monkeypatch.setattr(render, "PARALLEL_MIN", 1)
    build_site(results, tmp_path / "site", cache=False)
    got = _files(tmp_path / "site")
    assert got == _files(tmp_path / "serial") and b"<svg" in got["scaling-gap.svg"]


def test_scratch_build_equals_the_plain_reference_path(tmp_path, monkeypatch):
    """Pages written by the read workers equal :func:`write_site` on a board read in one pass."""
    monkeypatch.setattr(render, "PARALLEL_MIN", 1)
    results = tmp_path / "results"
    synthetic_store(results, 3)
    build_site(results, tmp_path / "site", plots=False, cache=False)
    write_site(build_leaderboard(read_store(results)), tmp_path / "plain", plots=False)
    assert _files(tmp_path / "site") == _files(tmp_path / "plain")


def test_no_cache_build_refreshes_the_cache_after_an_in_place_edit(tmp_path, trust_fresh_stamps):
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 2)
    build_site(results, site, plots=False)
    path = results / "synthetic-0001" / "xnli" / "de.json"
    rec = json.loads(path.read_text())
    rec["primary_score"] = rec["metrics"]["accuracy"] = 3.25
    path.write_text(json.dumps(rec))  # in place: the folder's stamps do not change
    build_site(results, site, plots=False, cache=False)
    (site / "index.html").write_text("edited")  # forces the next build past the no-change check
    build_site(results, site, plots=False)
    assert "3.2" in (site / "tasks" / "xnli.html").read_text()
    _same_as_scratch(results, site, tmp_path, plots=False)


def test_edited_site_page_is_restored(tmp_path, trust_fresh_stamps):
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 2)
    build_site(results, site, plots=False)
    (site / "index.html").write_text("edited")
    (site / "submissions" / "stray.html").write_text("not ours")
    build_site(results, site, plots=False)
    assert not (site / "submissions" / "stray.html").exists()
    _same_as_scratch(results, site, tmp_path, plots=False)


def test_a_folder_changed_just_before_the_build_is_read_again(tmp_path):
    """The racy rule: a stamp taken in the same clock tick as a change is not trusted next time."""
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 2)
    folder = results / "synthetic-0001"
    assert records.folder_stamps(folder, time.time_ns()) is None  # just written: racy
    old = time.time_ns() - 10 * records.RACY_COARSE_NS
    for d in (folder, *[p for p in folder.iterdir() if p.is_dir()]):
        os.utime(d, ns=(old, old))
    stamps = records.folder_stamps(folder, time.time_ns())
    assert stamps is not None and records.stamps_unchanged(folder, stamps)
    (folder / "xnli" / "zz.tmp").write_text("")  # any entry added changes the folder's stamp
    assert not records.stamps_unchanged(folder, stamps)
    build_site(results, site, plots=False)
    index = json.loads((site / render.INDEX_NAME).read_text())
    assert index["subs"]["synthetic-0001"] is None  # changed right before the build: not trusted
    second = build_site(results, site, plots=False)
    assert second["reused_pages"] == int(index["subs"]["synthetic-0000"] is not None)


def _mixed_store(root: Path) -> None:
    """Complete, partial, extra-language, published and oddly named submissions: every kind of row the cache keeps."""
    from helpers.synthetic import evaluated_record, write_json
    from test_leaderboard import published

    synthetic_store(root, 2)
    (root / "synthetic-0001" / "pawsx" / "fr.json").unlink()  # partial task
    write_json(root / "synthetic-0000" / "xnli" / "gd.json", evaluated_record("synthetic-0000", "xnli", "gd", 12.5))  # extra language
    published(root, "pub", "Published <b>&'\"", citation="Paper <2020>")


def test_cached_rows_give_the_pages_of_full_records(tmp_path, monkeypatch, trust_fresh_stamps):
    """Submissions served from the cache (table row + task-page rows, no records) give the same site as records read in full."""
    results, site = tmp_path / "results", tmp_path / "site"
    _mixed_store(results)
    build_site(results, site, plots=False)
    write_site(build_leaderboard(read_store(results)), tmp_path / "plain", plots=False)
    assert _files(site) == _files(tmp_path / "plain")
    path = results / "synthetic-0001" / "xnli" / "de.json"  # one changed: the other three come from the cache
    rec = json.loads(path.read_text())
    rec["primary_score"] = rec["metrics"]["accuracy"] = 1.25
    _rename_write(path, rec)
    again = build_site(results, site, plots=False)
    assert again["reused_pages"] == 2  # the published one and synthetic-0000
    shutil.rmtree(tmp_path / "plain")
    write_site(build_leaderboard(read_store(results)), tmp_path / "plain", plots=False)
    assert _files(site) == _files(tmp_path / "plain")
    _same_as_scratch(results, site, tmp_path, plots=False)


def test_plain_entries_round_trip(tmp_path):
    from xgap.leaderboard.model import entry_from_plain, entry_plain

    _mixed_store(tmp_path)
    for e in build_leaderboard(read_store(tmp_path)).entries:
        plain = entry_plain(e)
        assert plain[PLAIN_MANIFEST_FILE] == e.manifest_file
        back = entry_from_plain(json.loads(json.dumps(plain)))
        for tr in e.tasks.values():
            tr.langs = {}
        e.records, e.other_records, back.rank = [], [], e.rank
        assert back == e


def test_a_changed_key_rebuilds_every_page(tmp_path, monkeypatch, trust_fresh_stamps):
    """Cards, templates or the site code changed (the key): nothing is taken from the cache."""
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 2)
    build_site(results, site, plots=False)
    monkeypatch.setattr(render, "_site_key", lambda plots: "another key")
    again = build_site(results, site, plots=False)
    assert again["reused_pages"] == 0
    _same_as_scratch(results, site, tmp_path, plots=False)


def test_plots_are_redrawn_only_when_their_inputs_change(tmp_path, monkeypatch, trust_fresh_stamps):
    from xgap.leaderboard import plots as plots_mod

    drawn = []
    real = plots_mod._figure
    monkeypatch.setattr(plots_mod, "_figure", lambda *a, **kw: drawn.append(a[3]) or real(*a, **kw))
    results, site = tmp_path / "results", tmp_path / "site"
    synthetic_store(results, 3)
    build_site(results, site)
    assert drawn == ["xgap-gap", "xgap-score"]
    svgs = {p: p.stat().st_mtime_ns for p in site.glob("*.svg")}

    # a manifest's description changes the overview, not a plotted point: both figures reused
    doc = json.loads((results / "synthetic-0001" / "manifest.json").read_text())
    doc["manifest"]["description"] = "described"
    _rename_write(results / "synthetic-0001" / "manifest.json", doc)
    drawn.clear()
    build_site(results, site)
    assert drawn == [] and {p: p.stat().st_mtime_ns for p in site.glob("*.svg")} == svgs
    assert "described" in (site / "index.html").read_text()
    _same_as_scratch(results, site, tmp_path, plots=True)

    # an SVG edited by hand is not reused
    (site / "scaling-gap.svg").write_text("<svg>edited</svg>")
    (site / "index.html").write_text("edited")  # past the no-change check
    drawn.clear()
    build_site(results, site)
    assert drawn == ["xgap-gap"]
    _same_as_scratch(results, site, tmp_path, plots=True)

    # a new submission moves the points: both redrawn
    synthetic_store(results, 1, seed=1, start=3)
    drawn.clear()
    build_site(results, site)
    assert drawn == ["xgap-gap", "xgap-score"]
    _same_as_scratch(results, site, tmp_path, plots=True)
