"""Visual regression of the static site in headless Chromium: every page type is screenshotted into
``test-artifacts/`` (gitignored) from a demo-like site and from a site with an experiment grid, and
the test fails where labels overlap or a headline panel is empty although data exists.

How overlaps are found: a copy of each page gets a small script that measures every SVG ``<text>``
(``getBoundingClientRect``, i.e. ``getBBox`` mapped through the element's transforms to the page) and
writes the overlapping pairs into the DOM, which ``--dump-dom`` returns. Skips cleanly without Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.leaderboard.render import build_site

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install -y chromium)")

MEASURE = """<script>
window.addEventListener("load", function () {
  var boxes = [];
  document.querySelectorAll("svg text").forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && t.textContent.trim()) boxes.push({t: t.textContent.trim(), r: r});
  });
  var bad = [];
  for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
    var a = boxes[i].r, b = boxes[j].r;
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) bad.push([boxes[i].t, boxes[j].t]);
  }
  // sticky name column: scroll the widest table sideways; the submission names must stay at its left edge
  var sticky = null, box = document.querySelector(".scroll"), name = box && box.querySelector("td.name");
  if (box && name && box.scrollWidth > box.clientWidth) {
    box.scrollLeft = box.scrollWidth;
    sticky = Math.abs(name.getBoundingClientRect().left - box.getBoundingClientRect().left) < 2;
  }
  var out = document.createElement("pre");
  out.id = "xgap-measure";
  out.textContent = JSON.stringify({texts: boxes.length, overlaps: bad, sticky: sticky});
  document.body.appendChild(out);
});
</script>"""


def _chromium(args, tmp_path, timeout=120):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


MINILM_DESCRIPTION = ("all-MiniLM-L6-v2 has an English-only vocabulary and English-only training: most words of other "
                      "languages fall apart into pieces it never learned to align, so its Tatoeba accuracy is near chance.")


def demo_store(root: Path) -> None:
    """What ``xgap demo`` leaves: published baselines plus one evaluated model on Tatoeba (36 languages, near chance)."""
    from xgap.cards import load_card
    from xgap.reported import import_reported

    ref = REPO.parent / "shared" / "reference" / "published-xtreme.yaml"
    if not ref.exists():
        ref = root / "ref.yaml"
        ref.write_text("sources: {s: {cite: 'Xue et al. 2021'}}\nmodels:\n"
                       "  - {id: mbert, name: mBERT, params: 177853440, scores: {xnli: 65.4, xquad: 64.5, tatoeba: 38.7}, source: s}\n"
                       "  - {id: mt5-large, name: mT5-Large, params: 1229581312, scores: {xnli: 81.1, xquad: 77.8}, source: s}\n",
                       encoding="utf-8")
    import_reported(ref, root, manifests=REPO / "submissions")
    doc = manifest_doc("minilm", "all-MiniLM-L6-v2", "none", 22_713_216)
    doc["manifest"]["description"] = MINILM_DESCRIPTION
    write_json(root / "minilm" / "manifest.json", doc)
    for i, lang in enumerate(load_card("tatoeba").languages):
        write_json(root / "minilm" / "tatoeba" / f"{lang}.json",
                   evaluated_record("minilm", "tatoeba", lang, round(0.3 + (i * 7 % 13) / 4, 2), params=22_713_216))


def grid_store(root: Path) -> None:
    """An experiment grid on top: 3 depths x {none, squad} -> UD-POS on en, de, fr (partial on the main board)."""
    for layers, params in ((2, 7_500_000), (4, 15_000_000), (6, 22_700_000)):
        for setting, bonus in (("none", 0.0), ("squad", 4.0)):
            sub = f"miniature-minilm-l{layers}-{setting}-s0"
            doc = manifest_doc(sub, f"MiniLM L{layers} {setting}", "none" if setting == "none" else [setting], params)
            doc["manifest"]["grid"] = {"experiment": "miniature", "title": "Miniature grid", "encoder": "minilm",
                                       "size": f"L{layers}", "layers": layers, "intermediate": setting, "seed": 0,
                                       "targets": ["udpos"], "languages": {"udpos": ["en", "de", "fr"]}}
            write_json(root / sub / "manifest.json", doc)
            for lang, base in (("en", 80.0), ("de", 50.0), ("fr", 45.0)):
                score = base + 2 * layers + (bonus if lang != "en" else 1.0)
                write_json(root / sub / "udpos" / f"{lang}.json", evaluated_record(sub, "udpos", lang, score, primary_metric="f1", params=params))


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("visual")
    demo_store(root / "demo-results")
    build_site(root / "demo-results", root / "demo")
    shutil.copytree(root / "demo-results", root / "grid-results")
    grid_store(root / "grid-results")
    build_site(root / "grid-results", root / "grid")
    return root


PAGES = {  # page type -> (site, page)
    "overview": ("demo", "index.html"),
    "task-reported": ("demo", "tasks/xnli.html"),
    "task-36-languages": ("demo", "tasks/tatoeba.html"),
    "submission": ("demo", "submissions/minilm.html"),
    "scaling-demo": ("demo", "scaling.html"),
    "scaling-grid": ("grid", "scaling.html"),
    "grid": ("grid", "grids/miniature.html"),
    "task-partial": ("grid", "tasks/udpos.html"),
    "overview-grid": ("grid", "index.html"),
}


def _measure(page: Path, tmp_path) -> dict:
    probe = page.with_name(page.stem + ".measure.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(["--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", probe.resolve().as_uri()], tmp_path).stdout
    probe.unlink()
    m = re.search(r'<pre id="xgap-measure">(.*?)</pre>', dom, flags=re.S)
    assert m, f"the measuring script did not run on {page}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(PAGES))
def test_page_screenshot_without_overlapping_labels(sites, kind, tmp_path):
    site, page = PAGES[kind]
    path = sites / site / page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"site-{kind}.png"
    shot.unlink(missing_ok=True)
    _chromium([f"--screenshot={shot}", "--window-size=1400,1000", path.resolve().as_uri()], tmp_path)
    assert shot.is_file() and shot.stat().st_size > 5_000, f"no screenshot of {page}"
    html = path.read_text(encoding="utf-8")
    found = _measure(path, tmp_path)
    if "<svg" in html:
        assert found["texts"] > 0
        assert not found["overlaps"], f"{site}/{page}: overlapping labels {found['overlaps'][:8]}"
    if kind in ("task-36-languages", "task-partial"):
        assert found["sticky"] is True, f"{page}: the submission column does not stay in view when the table scrolls"
        scrolled = path.with_name(path.stem + ".scrolled.html")
        scrolled.write_text(html.replace("</body>", '<script>window.addEventListener("load", function () {'
                                         'var b = document.querySelector(".scroll"); b.scrollLeft = b.scrollWidth; });</script></body>'),
                            encoding="utf-8")
        _chromium([f"--screenshot={ARTIFACTS / f'site-{kind}-scrolled.png'}", "--window-size=1400,1000", scrolled.resolve().as_uri()], tmp_path)
        scrolled.unlink()
    assert ">no data<" not in html  # panels are drawn only where data exists


@pytest.mark.slow
def test_headline_panels_show_what_exists(sites):
    demo = (sites / "demo" / "scaling.html").read_text(encoding="utf-8")
    # the demo has no task with a gap: the gap figure says why instead of drawing empty panels
    assert 'id="scaling-gap" class="empty-figure"' in demo and "tatoeba" in demo
    score_svg = re.search(r'<figure id="scaling-score">(.*?)</figure>', demo, flags=re.S).group(1)
    assert "tatoeba score" in score_svg and "all-MiniLM-L6-v2" in score_svg
    grid = (sites / "grid" / "scaling.html").read_text(encoding="utf-8")
    gap_svg = re.search(r'<figure id="scaling-gap">(.*?)</figure>', grid, flags=re.S).group(1)
    assert "mean gap over tasks with a gap" in gap_svg and "udpos gap" in gap_svg
    assert "half-filled: partial" in gap_svg  # partial grid cells are drawn, with their own legend entry
    # the demo explains MiniLM's near-chance Tatoeba numbers on the front page
    assert "near chance" in (sites / "demo" / "index.html").read_text(encoding="utf-8")
