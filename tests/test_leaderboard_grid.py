"""Grid pages of the static site: built, linked, escaped, kept in step with incremental rebuilds."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.leaderboard.render import build_site

EVIL = '<script>alert(1)</script> "$x$'


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch):
    """Stores here are written milliseconds before the build; trust their stamps anyway (see test_leaderboard_incremental)."""
    monkeypatch.setattr("xgap.leaderboard.records.RACY_NS", 0)
    monkeypatch.setattr("xgap.leaderboard.records.RACY_COARSE_NS", 0)
SCORES = {  # (size, setting) -> en, de, fr
    ("L2", "none"): (80.0, 40.0, 30.0), ("L2", "squad"): (82.0, 50.0, 44.0),
    ("L4", "none"): (85.0, 55.0, 45.0), ("L4", "squad"): (86.0, 62.0, 56.0),
    ("L2", EVIL): (81.0, 45.0, 35.0),
}


def grid_store(root: Path, experiment: str = "miniature") -> None:
    for i, ((size, setting), scores) in enumerate(SCORES.items()):
        sub = f"{experiment}-{i}"
        layers = int(size[1:])
        params = {2: 7_500_000, 4: 15_000_000}[layers]
        doc = manifest_doc(sub, f"{EVIL} cell {i}", "none" if setting == "none" else [setting], params)
        doc["manifest"]["grid"] = {
            "experiment": experiment, "title": f"Grid {EVIL}", "encoder": "minilm", "size": size, "layers": layers,
            "intermediate": setting, "seed": 0, "targets": ["udpos"], "languages": {"udpos": ["en", "de", "fr"]},
            "stand_ins": [f"stand-in {EVIL}"]}
        write_json(root / sub / "manifest.json", doc)
        for lang, s in zip(("en", "de", "fr"), scores):
            write_json(root / sub / "udpos" / f"{lang}.json",
                       evaluated_record(sub, "udpos", lang, s, primary_metric="f1", params=params))


def plain_store(root: Path) -> None:
    write_json(root / "plain" / "manifest.json", manifest_doc("plain", "Plain model", "none", 50_000_000))
    for lang in ("en", "de"):
        write_json(root / "plain" / "xnli" / f"{lang}.json", evaluated_record("plain", "xnli", lang, 60.0))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def links(page: Path) -> list:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p.hrefs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("grid-site")
    grid_store(root / "results")
    plain_store(root / "results")
    info = build_site(root / "results", root / "site")
    assert info["grids"] == [str(root / "site" / "grids" / "miniature.html")]
    return root / "site"


def test_grid_page_has_the_figure_series_and_tables(site):
    page = (site / "grids" / "miniature.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.count("<svg") == 1
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S).group(0)
    for series in ("none", "squad"):
        assert f">{series}<" in svg  # legend entries (svg.fonttype none: text stays text)
    assert "udpos gap" in svg and "udpos score" in svg and "7.5M" in svg and "15M" in svg
    # cells table: en, mean others, score, gap +/- half-width (each record: F1 +/- 100/sqrt(1000) = 3.1623,
    # so se = 3.1623/1.96 and the half-width is 1.96 * se * sqrt(1 + 2/4) = 3.1623 * 1.2247 = 3.87)
    assert "<td>80.00</td><td>35.00</td><td>50.00</td>" in page
    assert re.search(r">45\.00 \u00b1 3\.87<", page)
    # gains table: L2 squad vs none
    # gap change interval with one seed: 1.96 * sqrt(var_a + var_b) = 3.1623 * sqrt(1.5 + 1.5) = 5.48
    assert "<td>+8.67</td><td>+2.00</td><td>-10.00 \u00b1 5.48</td>" in page
    assert 'href="../submissions/miniature-0.html"' in page


def test_grid_page_is_linked_from_the_overview_and_nav(site):
    assert "grids/miniature.html" in links(site / "index.html")
    assert "../grids/miniature.html" in links(site / "submissions" / "plain.html")
    assert "../grids/miniature.html" in links(site / "tasks" / "udpos.html")
    for page in [site / "index.html", site / "grids" / "miniature.html"]:
        for ref in links(page):
            if not ref.startswith(("#", "javascript")):
                assert (page.parent / unquote(ref)).resolve().is_file(), (page, ref)


def test_manifest_text_is_escaped(site):
    for page in (site / "grids" / "miniature.html", site / "index.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, page
    svg = re.search(r"<svg.*?</svg>", (site / "grids" / "miniature.html").read_text(), flags=re.S).group(0)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \"$x$" in svg or "&lt;script&gt;alert(1)&lt;/script&gt; &quot;$x$" in svg


def test_retrieval_target_gets_a_note_not_an_empty_gap_panel(tmp_path):
    """Tatoeba has no English score, so no gap: its column says so above its score panel."""
    root = tmp_path / "results"
    grid_store(root)
    for i, (size, _setting) in enumerate(SCORES):
        sub = f"miniature-{i}"
        params = {"L2": 7_500_000, "L4": 15_000_000}[size]
        write_json(root / sub / "tatoeba" / "de.json", evaluated_record(sub, "tatoeba", "de", 40.0 + i, params=params))
        path = root / sub / "manifest.json"
        doc = json.loads(path.read_text())
        doc["manifest"]["grid"]["targets"] = ["udpos", "tatoeba"]
        doc["manifest"]["grid"]["languages"]["tatoeba"] = ["de"]
        write_json(path, doc)
    build_site(root, tmp_path / "site")
    svg = re.search(r"<svg.*?</svg>", (tmp_path / "site" / "grids" / "miniature.html").read_text(), flags=re.S).group(0)
    assert "udpos gap" in svg and "tatoeba score" in svg
    assert "tatoeba gap" not in svg and "tatoeba: no gap" in svg and "no data" not in svg


def test_no_grid_no_grid_pages(tmp_path):
    plain_store(tmp_path / "results")
    info = build_site(tmp_path / "results", tmp_path / "site", plots=False)
    assert info["grids"] == [] and not (tmp_path / "site" / "grids").exists()
    assert "Grids" not in (tmp_path / "site" / "index.html").read_text()


def test_rebuilds_keep_nav_and_grid_pages_in_step(tmp_path):
    plain_store(tmp_path / "results")
    site = tmp_path / "site"
    build_site(tmp_path / "results", site, plots=False)
    # A grid arrives: the cached page of "plain" must be re-rendered to get the Grids link.
    grid_store(tmp_path / "results")
    info = build_site(tmp_path / "results", site, plots=False)
    assert info["reused_pages"] == 0
    assert "../grids/miniature.html" in links(site / "submissions" / "plain.html")
    assert "Plots were not built" in (site / "grids" / "miniature.html").read_text()
    again = build_site(tmp_path / "results", site, plots=False)
    assert again["reused_pages"] == 1 + len(SCORES)
    # Cached and uncached builds agree on the grid page.
    build_site(tmp_path / "results", tmp_path / "fresh", plots=False, cache=False)
    assert (site / "grids" / "miniature.html").read_text() == (tmp_path / "fresh" / "grids" / "miniature.html").read_text()
    # The grid goes away: its page is removed.
    import shutil

    for i in range(len(SCORES)):
        shutil.rmtree(tmp_path / "results" / f"miniature-{i}")
    build_site(tmp_path / "results", site, plots=False)
    assert not (site / "grids" / "miniature.html").exists()
    assert "grids/" not in "".join(links(site / "submissions" / "plain.html"))


def test_an_unchanged_grid_figure_is_reused_not_drawn(tmp_path, monkeypatch):
    """A change elsewhere in the store (a plain submission) does not redraw the grid's figure; a change
    in the grid does; either way the page equals a from-scratch build's."""
    from xgap.leaderboard import grids

    drawn = []
    real = grids.grid_figure
    monkeypatch.setattr(grids, "grid_figure", lambda s: drawn.append(s.experiment) or real(s))
    grid_store(tmp_path / "results")
    site = tmp_path / "site"
    build_site(tmp_path / "results", site)
    assert drawn == ["miniature"]
    plain_store(tmp_path / "results")
    build_site(tmp_path / "results", site)
    assert drawn == ["miniature"]  # reused
    record = tmp_path / "results" / "miniature-0" / "udpos" / "de.json"
    write_json(record.with_suffix(".tmp"), evaluated_record("miniature-0", "udpos", "de", 47.0, primary_metric="f1", params=7_500_000))
    record.with_suffix(".tmp").replace(record)  # as the store writes: temp file + rename
    build_site(tmp_path / "results", site)
    assert drawn == ["miniature", "miniature"]  # its inputs changed: drawn again
    build_site(tmp_path / "results", tmp_path / "fresh", cache=False)
    page = (site / "grids" / "miniature.html").read_text()
    assert page == (tmp_path / "fresh" / "grids" / "miniature.html").read_text() and "47.00" in page


def test_figure_is_deterministic(tmp_path):
    grid_store(tmp_path / "results")
    build_site(tmp_path / "results", tmp_path / "a", cache=False)
    build_site(tmp_path / "results", tmp_path / "b", cache=False)
    assert (tmp_path / "a" / "grids" / "miniature.html").read_text() == (tmp_path / "b" / "grids" / "miniature.html").read_text()


def test_cached_rebuild_keeps_the_qa_em_interval(tmp_path):
    """The build cache keeps only the primary metric's interval; QA grid cells (gap on EM) are re-read."""
    doc = manifest_doc("q", "Q", ["squad"], 7_500_000)
    doc["manifest"]["grid"] = {"experiment": "qa", "encoder": "minilm", "size": "L2", "intermediate": "squad", "seed": 0,
                               "targets": ["xquad"], "languages": {"xquad": ["en", "de"]}}
    write_json(tmp_path / "results" / "q" / "manifest.json", doc)
    for lang, em in (("en", 70.0), ("de", 50.0)):
        rec = evaluated_record("q", "xquad", lang, em, qa=True)
        rec["ci95"]["exact_match"] = [em - 1.96, em + 1.96]
        write_json(tmp_path / "results" / "q" / "xquad" / f"{lang}.json", rec)
    site = tmp_path / "site"
    build_site(tmp_path / "results", site, plots=False)
    first = (site / "grids" / "qa.html").read_text()
    build_site(tmp_path / "results", site, plots=False)  # from the cache
    # EM gap 70 - 50 = 20; se 1 each on EM: half-width 1.96 * sqrt(1 + 1) = 2.77
    assert ">20.00 \u00b1 2.77<" in first and (site / "grids" / "qa.html").read_text() == first
