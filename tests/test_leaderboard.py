"""Ranking and aggregation of the leaderboard table on hand-built records."""

from __future__ import annotations

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.errors import XgapError
from xgap.leaderboard.model import build_leaderboard, target_tasks
from xgap.leaderboard.records import read_store
from xgap.leaderboard.render import overview_rows, table_records

TASKS = {t.name: t for t in target_tasks()}


def put(root, sub, task, scores, params=100_000_000, qa_f1_offset=10.0):
    """Write one record per language of ``scores`` ({lang: score}); QA: score is EM, F1 = EM + 10."""
    info = TASKS[task]
    for lang, s in scores.items():
        write_json(root / sub / task / f"{lang}.json",
                   evaluated_record(sub, task, lang, s, qa=info.is_qa, primary_metric=info.primary_metric, params=params))


def full(root, sub, value=50.0, params=100_000_000, en_bonus=0.0, skip=(), intermediate="none"):
    write_json(root / sub / "manifest.json", manifest_doc(sub, sub.upper(), intermediate, params))
    for name, info in TASKS.items():
        if name in skip:
            continue
        put(root, sub, name, {l: value + (en_bonus if l == info.english else 0.0) for l in info.languages}, params)


def published(root, sub, name, citation="Paper 2020"):
    """A published (reported) submission: XNLI accuracy and XQuAD F1 as task averages (``language: all``)."""
    write_json(root / sub / "manifest.json", manifest_doc(sub, name, params=559_000_000, reported=True))
    for task, metric, score in (("xnli", "accuracy", 79.2), ("xquad", "f1", 76.6)):
        write_json(root / sub / task / "all.json", {
            "record_version": 1, "status": "reported", "submission": sub, "task": task, "language": "all",
            "metrics": {metric: score}, "primary_metric": metric, "primary_score": score, "citation": citation,
            "provenance": {"xgap_version": "0.1.0", "source": "ref.yaml"}})


def board(root):
    return build_leaderboard(read_store(root))


def entry(b, sub):
    return next(e for e in b.entries if e.id == sub)


def test_complete_submission_gets_xtreme_score_and_gap(tmp_path):
    full(tmp_path, "a", value=50.0, en_bonus=10.0)
    e = entry(board(tmp_path), "a")
    # every task: en = 60, others 50 -> task mean depends on the language count
    expected = {}
    for name, info in TASKS.items():
        n = len(info.languages)
        has_en = info.english in info.languages
        if info.is_qa:  # primary = (EM + F1) / 2 = EM + 5
            expected[name] = (50.0 * (n - has_en) + 60.0 * has_en) / n + 5
        else:
            expected[name] = (50.0 * (n - has_en) + 60.0 * has_en) / n
    assert e.tasks["xnli"].score == pytest.approx(expected["xnli"])
    assert e.xtreme == pytest.approx(sum(expected.values()) / 9)
    for name, tr in e.tasks.items():
        assert tr.complete and tr.coverage == f"{len(TASKS[name].languages)}/{len(TASKS[name].languages)}"
        if TASKS[name].has_gap:
            assert tr.gap == pytest.approx(10.0)
            if TASKS[name].is_qa:
                assert tr.gap_f1 == pytest.approx(10.0)
        else:
            assert tr.gap is None  # BUCC and Tatoeba do not test English
    assert e.mean_gap == pytest.approx(10.0) and len(e.gap_tasks) == 7


def test_qa_gap_uses_exact_match_and_reports_f1_gap(tmp_path):
    info = TASKS["mlqa"]
    for lang in info.languages:
        rec = evaluated_record("q", "mlqa", lang, 0.0, qa=True)
        em, f1 = (70.0, 80.0) if lang == "en" else (50.0, 70.0)
        rec["metrics"] = {"exact_match": em, "f1": f1, "em_f1_mean": (em + f1) / 2}
        rec["primary_score"] = (em + f1) / 2
        write_json(tmp_path / "q" / "mlqa" / f"{lang}.json", rec)
    tr = entry(board(tmp_path), "q").tasks["mlqa"]
    assert tr.gap == pytest.approx(20.0) and tr.gap_f1 == pytest.approx(10.0)
    assert tr.en_em == 70.0 and tr.en_f1 == 80.0


def test_missing_task_means_incomplete_never_a_subset_mean(tmp_path):
    full(tmp_path, "eight", skip=("tatoeba",))
    b = board(tmp_path)
    e = entry(b, "eight")
    assert e.xtreme is None and e.n_complete == 8
    (row,) = overview_rows(b)
    assert row["xtreme"] == "incomplete"
    assert table_records(b)[0]["xtreme"] is None


def test_partial_language_coverage_is_marked_and_not_counted(tmp_path):
    full(tmp_path, "p", skip=("xnli",))
    put(tmp_path, "p", "xnli", {"en": 80.0, "de": 60.0, "fr": 70.0})
    e = entry(board(tmp_path), "p")
    tr = e.tasks["xnli"]
    assert not tr.complete and tr.coverage == "partial 3/15" and not tr.counts
    assert tr.score == pytest.approx(70.0)  # shown, marked partial
    assert e.xtreme is None
    assert "xnli" not in e.gap_tasks  # partial tasks stay out of the mean gap
    cell = overview_rows(board(tmp_path))[0]["cells"][[t.name for t in target_tasks()].index("xnli")]
    assert cell["mark"] == "partial 3/15"


def test_extra_language_is_shown_but_not_averaged(tmp_path):
    put(tmp_path, "t", "tatoeba", {l: 50.0 for l in TASKS["tatoeba"].languages})
    put(tmp_path, "t", "tatoeba", {"gd": 0.0})  # a Tatoeba language outside XTREME's 36
    tr = entry(board(tmp_path), "t").tasks["tatoeba"]
    assert tr.complete and tr.score == pytest.approx(50.0) and tr.langs["gd"].extra


def test_ranking_ties_share_a_rank_and_incomplete_rank_by_task_count(tmp_path):
    full(tmp_path, "best", value=60.0)
    full(tmp_path, "tie-a", value=50.0)
    full(tmp_path, "tie-b", value=50.0)
    full(tmp_path, "seven", value=99.0, skip=("bucc2018", "tatoeba"))
    full(tmp_path, "eight", value=10.0, skip=("tatoeba",))
    b = board(tmp_path)
    order = [(e.id, e.rank) for e in b.entries]
    assert order == [("best", 1), ("tie-a", 2), ("tie-b", 2), ("eight", 4), ("seven", 5)]


def test_reported_figures_stay_reported_with_unknown_gap(tmp_path):
    full(tmp_path, "evald", value=50.0, en_bonus=5.0)
    published(tmp_path, "pub", "Published")
    b = board(tmp_path)
    pub, evald = entry(b, "pub"), entry(b, "evald")
    assert pub.status == "reported" and evald.status == "evaluated"
    assert pub.parameters == 559_000_000 and pub.parameters_source == "reported"
    assert evald.parameters_source == "measured"
    assert pub.tasks["xnli"].counts and pub.tasks["xnli"].coverage == "reported"
    assert not pub.tasks["xquad"].comparable  # published QA F1 is not (EM+F1)/2
    assert pub.tasks["xnli"].gap is None and pub.mean_gap is None and pub.xtreme is None
    row = next(r for r in overview_rows(b) if r["id"] == "pub")
    assert row["gap"] == "unknown" and row["status"] == "reported"
    data = next(r for r in table_records(b) if r["id"] == "pub")
    assert data["mean_gap"] is None and data["tasks"]["xnli"]["gap"] is None
    assert evald.rank == 1 and pub.rank == 2


def test_mixing_reported_and_evaluated_in_one_folder_is_an_error(tmp_path):
    put(tmp_path, "mix", "xnli", {"en": 50.0})
    write_json(tmp_path / "mix" / "pawsx" / "all.json", {
        "record_version": 1, "status": "reported", "submission": "mix", "task": "pawsx", "language": "all",
        "metrics": {"accuracy": 80.0}, "primary_metric": "accuracy", "primary_score": 80.0,
        "provenance": {"xgap_version": "0.1.0"}})
    with pytest.raises(XgapError, match="mixes evaluated and reported"):
        board(tmp_path)


def test_parameters_from_records_when_no_manifest(tmp_path):
    put(tmp_path, "np", "xnli", {"en": 50.0}, params=12345)
    e = entry(board(tmp_path), "np")
    assert e.parameters == 12345 and e.parameters_source == "measured" and e.name == "np"


def test_sorted_variants(tmp_path):
    full(tmp_path, "small", params=10_000_000, en_bonus=9.0)
    full(tmp_path, "big", params=900_000_000, en_bonus=1.0)
    put(tmp_path, "nosize", "xnli", {"en": 1.0}, params=None)
    b = board(tmp_path)
    assert [e.id for e in b.by_size()] == ["small", "big", "nosize"]
    assert [e.id for e in b.by_gap()] == ["big", "small", "nosize"]
