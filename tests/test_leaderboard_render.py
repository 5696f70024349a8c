"""Rendering: every page builds, user text is escaped everywhere, links resolve, a real browser renders it."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.cli import main
from xgap.errors import XgapError
from xgap.leaderboard.model import target_tasks
from xgap.leaderboard.render import build_site

REPO = Path(__file__).resolve().parents[1]
EVIL = '<script>alert(1)</script> "onerror=alert(2) \'x'
TASKS = target_tasks()


def _store(root: Path) -> None:
    """An evil-named submission with every task, a plain one, and a reported one."""
    for sub, name, inter, params, bonus in (("evil", EVIL, ["mnli", EVIL], 200_000_000, 8.0),
                                            ("plain", "Plain model", "none", 50_000_000, 12.0)):
        doc = manifest_doc(sub, name, inter, params)
        doc["manifest"].update(description=EVIL, authors=[EVIL], links=[f"javascript:{EVIL}"])
        write_json(root / sub / "manifest.json", doc)
        for t in TASKS:
            for lang in t.languages:
                rec = evaluated_record(sub, t.name, lang, 50.0 + (bonus if lang == t.english else 0.0), qa=t.is_qa,
                                       primary_metric=t.primary_metric, params=params)
                rec["provenance"]["data_origin"] = f"local:{EVIL}/{t.name}/{lang}"
                rec["settings"]["note"] = EVIL
                write_json(root / sub / t.name / f"{lang}.json", rec)
    write_json(root / "pub" / "manifest.json", manifest_doc("pub", "Published baseline", params=559_000_000, reported=True))
    write_json(root / "pub" / "xnli" / "all.json", {
        "record_version": 1, "status": "reported", "submission": "pub", "task": "xnli", "language": "all",
        "metrics": {"accuracy": 79.2}, "primary_metric": "accuracy", "primary_score": 79.2, "citation": EVIL,
        "provenance": {"xgap_version": "0.1.0", "source": "ref.yaml"}})


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lb")
    _store(root / "results")
    build_site(root / "results", root / "site")
    return root / "site"


def pages(site: Path) -> list:
    return sorted(site.rglob("*.html"))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.rows, self.tags = [], 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("href", "src") and v is not None:
                self.refs.append((k, v))
        if tag == "tr":
            self.rows += 1


def test_every_page_builds(site):
    expected = {"index.html", "by-size.html", "by-gap.html", "scaling.html",
                *(f"tasks/{t.name}.html" for t in TASKS), "submissions/evil.html", "submissions/plain.html", "submissions/pub.html"}
    built = {str(p.relative_to(site)) for p in pages(site)}
    assert expected <= built
    for p in pages(site):
        text = p.read_text(encoding="utf-8")
        assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
        parser = _Links()
        parser.feed(text)
        assert "table" in parser.tags or p.name == "scaling.html"
    assert (site / "scaling-gap.svg").read_text().startswith("<svg")


def _outside_svg(text: str) -> str:
    return re.sub(r"<svg.*?</svg>", "", text, flags=re.S)


def test_user_text_is_escaped_in_every_page(site):
    for p in pages(site):
        text = p.read_text(encoding="utf-8")
        assert "<script>alert" not in text, p
        assert "javascript:" not in text.replace("javascript:&lt;", ""), p  # shown as text, never a link
        assert '"onerror=' not in _outside_svg(text), p
        assert "&lt;script&gt;alert" in text, f"{p}: the evil name should be shown, escaped"
    sub = (site / "submissions" / "evil.html").read_text()
    assert "&#34;onerror=alert(2)" in sub or "&quot;onerror=alert(2)" in sub
    assert sub.count("&lt;script&gt;alert(1)&lt;/script&gt;") > 150  # every provenance row (data_origin varies)
    # Plots: svgplot escapes text; nothing executable inside the inline SVG.
    scaling = (site / "scaling.html").read_text()
    for svg in re.findall(r"<svg.*?</svg>", scaling, flags=re.S):
        assert "<script" not in svg and "onerror=" not in re.sub(r">[^<]*<", "><", svg)


def test_links_resolve_and_nothing_is_fetched_from_the_network(site):
    for p in pages(site):
        parser = _Links()
        parser.feed(p.read_text(encoding="utf-8"))
        for _attr, ref in parser.refs:
            url = urlparse(ref)
            assert url.scheme not in ("http", "https", "javascript") and not ref.startswith("//"), (p, ref)
            if not url.path:
                continue
            target = (p.parent / unquote(url.path)).resolve()
            assert target.is_file(), f"{p.relative_to(site)}: broken link {ref}"
        assert "url(http" not in p.read_text() and "@import" not in p.read_text()


def test_json_and_csv_match_the_table(site):
    data = json.loads((site / "leaderboard.json").read_text())
    ids = [r["id"] for r in data["rows"]]
    assert set(ids) == {"evil", "plain", "pub"}
    pub = next(r for r in data["rows"] if r["id"] == "pub")
    assert pub["status"] == "reported" and pub["mean_gap"] is None and pub["xtreme"] is None
    evil = next(r for r in data["rows"] if r["id"] == "evil")
    assert evil["name"] == EVIL and evil["xtreme"] is not None and evil["mean_gap"] == pytest.approx(8.0)
    rows = list(csv.DictReader((site / "leaderboard.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ids
    assert next(r for r in rows if r["id"] == "pub")["mean_gap"] == ""  # unknown, never 0


def test_sorted_pages_order(site):
    def order(page):
        return re.findall(r'<tr class="\w+" data-id="([^"]+)"', (site / page).read_text())

    assert order("index.html")[0] == "plain" or order("index.html")[0] == "evil"
    assert order("by-size.html") == ["plain", "evil", "pub"]
    assert order("by-gap.html") == ["evil", "plain", "pub"]


def test_rebuild_replaces_stale_pages_and_refuses_foreign_folders(tmp_path):
    _store(tmp_path / "results")
    build_site(tmp_path / "results", tmp_path / "site", plots=False)
    shutil.rmtree(tmp_path / "results" / "plain")
    build_site(tmp_path / "results", tmp_path / "site", plots=False)
    assert not (tmp_path / "site" / "submissions" / "plain.html").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(XgapError, match="not empty"):
        build_site(tmp_path / "results", tmp_path / "other", plots=False)


def test_cli_build(tmp_path, capsys):
    _store(tmp_path / "results")
    rc = main(["leaderboard", "build", "--results", str(tmp_path / "results"), "--output", str(tmp_path / "site"), "--no-plots"])
    assert rc == 0 and "index.html" in capsys.readouterr().out
    rc = main(["leaderboard", "build", "--results", str(tmp_path / "nope"), "--output", str(tmp_path / "site2")])
    assert rc == 2 and "no such results folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- real browser
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "") if p and Path(p).exists()), None)


def _chromium(args, tmp_path, timeout=120):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory) -> tuple:
    """Published baselines (the shared reference file when present) beside six evaluated synthetic models."""
    from helpers.synthetic import synthetic_store

    from xgap.reported import import_reported

    root = tmp_path_factory.mktemp("browser")
    ref = REPO.parent / "shared" / "reference" / "published-xtreme.yaml"
    if not ref.exists():
        ref = root / "ref.yaml"
        ref.write_text("sources: {s: {cite: 'Xue et al. 2021'}}\nmodels:\n"
                       "  - {id: mbert, name: mBERT, params: 177853440, scores: {xnli: 65.4, xquad: 64.5}, source: s}\n")
    import_reported(ref, root / "results", manifests=REPO / "submissions")
    synthetic_store(root / "results", 6)
    build_site(root / "results", root / "site")
    n = sum(1 for p in (root / "results").iterdir() if p.is_dir())
    return root / "site", n


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs it in .ci/run)")
def test_real_browser_renders_overview_and_scaling(browser_site, tmp_path):
    site, n_subs = browser_site
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    for page, shot in (("index.html", "leaderboard-overview.png"), ("scaling.html", "leaderboard-scaling.png")):
        url = (site / page).resolve().as_uri()
        dom = _chromium(["--dump-dom", url], tmp_path).stdout
        if page == "index.html":
            body = dom[dom.index("<tbody>"):dom.index("</tbody>")]
            assert body.count("<tr") == n_subs and "Synthetic model 0" in body and "mBERT" in body
            assert 'class="badge reported"' in body and 'class="badge evaluated"' in body
        else:
            assert dom.count("<svg") >= 2 and 'id="scaling-gap"' in dom and 'id="scaling-score"' in dom
        out = artifacts / shot
        out.unlink(missing_ok=True)
        _chromium([f"--screenshot={out}", "--window-size=1280,900", url], tmp_path)
        assert out.is_file() and out.stat().st_size > 10_000, f"no screenshot at {out}"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs it in .ci/run)")
def test_real_browser_keeps_user_text_inert(site, tmp_path):
    dom = _chromium(["--dump-dom", (site / "index.html").resolve().as_uri()], tmp_path).stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # shown as text: the DOM has no injected script


# --------------------------------------------------------------------------- incremental rebuilds
@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch):
    """Stores here are written milliseconds before the build; trust their stamps anyway (see test_leaderboard_incremental)."""
    monkeypatch.setattr("xgap.leaderboard.records.RACY_NS", 0)
    monkeypatch.setattr("xgap.leaderboard.records.RACY_COARSE_NS", 0)


def test_rebuild_reuses_unchanged_submissions_and_rereads_changed_ones(tmp_path):
    _store(tmp_path / "results")
    site = tmp_path / "site"
    first = build_site(tmp_path / "results", site, plots=False)
    assert first["reused_pages"] == 0 and (site / ".xgap-cache.json").exists()
    page = site / "submissions" / "plain.html"
    before = page.stat().st_mtime_ns
    second = build_site(tmp_path / "results", site, plots=False)
    assert second["reused_pages"] == 3 and page.stat().st_mtime_ns == before
    assert (site / "index.html").read_text() == (site / "index.html").read_text()
    # Change one record through the store's atomic rename: only that submission is re-read and re-rendered.
    rec_path = tmp_path / "results" / "plain" / "xnli" / "de.json"
    rec = json.loads(rec_path.read_text())
    rec["primary_score"] = rec["metrics"]["accuracy"] = 11.5
    tmp = rec_path.with_name(".de.json.tmp")
    tmp.write_text(json.dumps(rec))
    tmp.replace(rec_path)
    third = build_site(tmp_path / "results", site, plots=False)
    assert third["reused_pages"] == 2
    data = json.loads((site / "leaderboard.json").read_text())
    plain = next(r for r in data["rows"] if r["id"] == "plain")
    assert plain["tasks"]["xnli"]["score"] == pytest.approx((50.0 * 14 + 62.0 + 11.5 - 50.0) / 15)
    # A record corrupted in place (not through a rename) leaves its folder's stamps as they were:
    # the cache does not see it, --no-cache (cache=False) does.
    rec_path.write_text("garbage")
    with pytest.raises(XgapError, match="corrupt result record"):
        build_site(tmp_path / "results", site, plots=False, cache=False)
    # A deleted page is re-rendered from the full records even though the folder is unchanged.
    rec_path.write_text(json.dumps(rec))
    build_site(tmp_path / "results", site, plots=False)
    (site / "submissions" / "evil.html").unlink()
    build_site(tmp_path / "results", site, plots=False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (site / "submissions" / "evil.html").read_text()


def test_cached_and_uncached_builds_are_identical(tmp_path):
    _store(tmp_path / "results")
    build_site(tmp_path / "results", tmp_path / "a", plots=False)
    build_site(tmp_path / "results", tmp_path / "a", plots=False)  # second pass from the cache
    build_site(tmp_path / "results", tmp_path / "b", plots=False, cache=False)
    for p in pages(tmp_path / "b"):
        rel = p.relative_to(tmp_path / "b")
        assert (tmp_path / "a" / rel).read_text() == p.read_text(), rel
    assert (tmp_path / "a" / "leaderboard.json").read_text() == (tmp_path / "b" / "leaderboard.json").read_text()
