"""Grid summaries (xgap.grid.summary) on hand-built stores, against hand-computed figures."""

from __future__ import annotations

import pytest
from helpers.synthetic import evaluated_record, manifest_doc, write_json

from xgap.grid.summary import gain_rows, summarize_store, summarize_submissions, t95
from xgap.leaderboard.grid_report import markdown
from xgap.leaderboard.records import read_store
from xgap.store import ResultStore

L2, L4 = 7_500_000, 15_000_000


def cell(root, sub, *, size, layers, params, setting, scores, seed=0, experiment="miniature", langs=None,
         half=None, name=None, title="Miniature X-STILTs", stand_ins=("squad: a 1,000-question stand-in",),
         manifest_params=True, record_params=22_713_216):
    """One grid cell: manifest.json with ``grid`` plus one udpos record per language of ``scores``.

    ``half``: {lang: half-width of the record's F1 bootstrap interval} (None: no ci95 at all).
    """
    doc = manifest_doc(sub, name or sub, "none" if setting == "none" else setting.split("+"), params if manifest_params else None)
    doc["manifest"]["grid"] = {
        "experiment": experiment, "title": title, "encoder": "minilm", "size": size, "layers": layers,
        "intermediate": setting, "intermediate_tasks": [] if setting == "none" else setting.split("+"), "seed": seed,
        "targets": ["udpos"], "languages": {"udpos": list(langs or scores)}, "stand_ins": list(stand_ins)}
    write_json(root / sub / "manifest.json", doc)
    store = ResultStore(root)
    for lang, s in scores.items():
        rec = evaluated_record(sub, "udpos", lang, s, primary_metric="f1", params=record_params)
        if half is None:
            del rec["ci95"]
        else:
            rec["ci95"] = {"f1": [s - half[lang], s + half[lang]]}
        store.write(rec)


# se = half / 1.96 -> en 1, de 2, fr 3
HALF = {"en": 1.96, "de": 3.92, "fr": 5.88}


def two_by_two(root):
    # ids chosen so that "squad" is seen before "none": the summary still puts none first
    cell(root, "a-l4-squad", size="L4", layers=4, params=L4, setting="squad", scores={"en": 86.0, "de": 62.0, "fr": 56.0}, half=HALF)
    cell(root, "b-l4-none", size="L4", layers=4, params=L4, setting="none", scores={"en": 85.0, "de": 55.0, "fr": 45.0}, half=HALF)
    cell(root, "c-l2-squad", size="L2", layers=2, params=L2, setting="squad", scores={"en": 82.0, "de": 50.0, "fr": 44.0}, half=HALF)
    cell(root, "d-l2-none", size="L2", layers=2, params=L2, setting="none", scores={"en": 80.0, "de": 40.0, "fr": 30.0}, half=HALF)


def test_cells_over_present_languages_with_bootstrap_interval(tmp_path):
    two_by_two(tmp_path)
    (s,) = summarize_store(tmp_path)
    assert s.experiment == "miniature" and s.title == "Miniature X-STILTs" and s.targets == ["udpos"]
    assert [(z.size, z.parameters) for z in s.sizes] == [("L2", L2), ("L4", L4)]  # smallest first
    assert s.settings == ["none", "squad"]
    assert s.stand_ins == ["squad: a 1,000-question stand-in"]
    c = s.cell("minilm", "L2", "none", "udpos")
    assert c.languages == ["en", "de", "fr"] and c.missing_langs == []
    assert c.english == 80.0 and c.others_mean == 35.0 and c.task_score == 50.0 and c.gap == 45.0
    assert c.per_lang == {"en": 80.0, "de": 40.0, "fr": 30.0}
    assert c.parameters == L2  # manifest.json's count, not the records' 22,713,216
    assert c.seeds == [0] and c.submissions == ["d-l2-none"] and c.gap_metric == "f1"
    # var = se_en^2 + (se_de^2 + se_fr^2) / 2^2 = 1 + (4 + 9) / 4 = 4.25; half-width 1.96 * sqrt(4.25) = 4.04063
    assert c.interval_kind == "bootstrap"
    assert c.gap_interval == pytest.approx((45.0 - 4.04063, 45.0 + 4.04063), abs=1e-4)
    sq = s.cell("minilm", "L4", "squad", "udpos")
    assert (sq.english, sq.others_mean, sq.task_score, sq.gap) == (86.0, 59.0, 68.0, 27.0)
    # cells ordered by size, then setting
    assert [(c.size, c.intermediate) for c in s.cells] == [("L2", "none"), ("L2", "squad"), ("L4", "none"), ("L4", "squad")]


def test_gain_rows_against_none(tmp_path):
    two_by_two(tmp_path)
    (s,) = summarize_store(tmp_path)
    rows = gain_rows(s, "udpos")
    assert [(r.size, r.setting) for r in rows] == [("L2", "squad"), ("L4", "squad")]
    # L2: score 58.6667 - 50 = 8.6667, en 82 - 80 = 2, gap 35 - 45 = -10
    assert rows[0].score_gain == pytest.approx(8.66667, abs=1e-4)
    assert rows[0].english_gain == pytest.approx(2.0) and rows[0].gap_change == pytest.approx(-10.0)
    # L4: score 68 - 61.6667 = 6.3333, en 86 - 85 = 1, gap 27 - 35 = -8
    assert rows[1].score_gain == pytest.approx(6.33333, abs=1e-4)
    assert rows[1].english_gain == pytest.approx(1.0) and rows[1].gap_change == pytest.approx(-8.0)
    assert rows[1].parameters == L4
    # One seed: half-width 1.96 * sqrt(se_a^2 + se_b^2); both cells have var(gap) = 4.25 -> 1.96 * sqrt(8.5) = 5.71434
    assert rows[0].interval_kind == "bootstrap" and rows[0].gap_change_halfwidth == pytest.approx(5.71434, abs=1e-4)


def test_gain_interval_pairs_the_seeds(tmp_path):
    for seed, none, squad in ((0, (80.0, 40.0, 30.0), (82.0, 50.0, 44.0)), (1, (81.0, 42.0, 34.0), (80.0, 45.0, 39.0)),
                              (2, (79.0, 41.0, 31.0), (81.0, 47.0, 41.0))):
        cell(tmp_path, f"n{seed}", size="L2", layers=2, params=L2, setting="none", seed=seed,
             scores=dict(zip(("en", "de", "fr"), none)), half=HALF)
        cell(tmp_path, f"q{seed}", size="L2", layers=2, params=L2, setting="squad", seed=seed,
             scores=dict(zip(("en", "de", "fr"), squad)), half=HALF)
    (s,) = summarize_store(tmp_path)
    (r,) = gain_rows(s, "udpos")
    # none gaps 45, 43, 43; squad gaps 35, 38, 37 -> paired differences -10, -5, -6: mean -7,
    # sd sqrt((9 + 4 + 1) / 2) = sqrt(7); half-width t(0.975, 2) * sqrt(7) / sqrt(3) = 4.303 * 1.527525 = 6.57294
    assert r.gap_change == pytest.approx(-7.0) and r.interval_kind == "paired seeds"
    assert r.gap_change_halfwidth == pytest.approx(6.57294, abs=1e-4)
    assert "-7.00 \u00b1 6.57" in markdown(s)


def test_gain_is_unknown_without_a_none_cell(tmp_path):
    cell(tmp_path, "c-l2-squad", size="L2", layers=2, params=L2, setting="squad", scores={"en": 82.0, "de": 50.0, "fr": 44.0})
    (s,) = summarize_store(tmp_path)
    assert s.settings == ["squad"]
    (r,) = gain_rows(s, "udpos")
    assert r.score_gain is None and r.english_gain is None and r.gap_change is None
    c = s.cells[0]
    assert c.gap == 35.0 and c.gap_interval is None and c.interval_kind is None  # records without ci95


def test_seeds_pool_with_a_t_interval(tmp_path):
    cell(tmp_path, "s0", size="L2", layers=2, params=L2, setting="none", seed=0, scores={"en": 80.0, "de": 40.0, "fr": 30.0}, half=HALF)
    cell(tmp_path, "s1", size="L2", layers=2, params=L2, setting="none", seed=1, scores={"en": 81.0, "de": 42.0, "fr": 34.0}, half=HALF)
    (s,) = summarize_store(tmp_path)
    (c,) = s.cells
    assert c.seeds == [0, 1] and c.submissions == ["s0", "s1"]
    # gaps 45 and 43 -> mean 44, sd sqrt(2), half-width t(0.975, 1) * sqrt(2) / sqrt(2) = 12.706
    assert c.gap == pytest.approx(44.0) and c.interval_kind == "seeds"
    assert c.gap_interval == pytest.approx((44.0 - 12.706, 44.0 + 12.706))
    assert c.english == pytest.approx(80.5) and c.others_mean == pytest.approx(36.5)
    assert c.task_score == pytest.approx((50.0 + 157.0 / 3) / 2)  # 51.1667
    assert c.per_lang == pytest.approx({"en": 80.5, "de": 41.0, "fr": 32.0})
    assert t95(1) == 12.706 and t95(2) == 4.303 and t95(35) == 2.042 and t95(1000) == 1.980


def test_missing_languages_are_noted_and_not_averaged(tmp_path):
    cell(tmp_path, "m", size="L2", layers=2, params=L2, setting="none", scores={"en": 80.0, "de": 40.0, "fr": 30.0},
         langs=["en", "de", "fr", "zh"], manifest_params=False, record_params=7_400_000)
    (s,) = summarize_store(tmp_path)
    (c,) = s.cells
    assert c.missing_langs == ["zh"] and c.languages == ["en", "de", "fr"] and c.gap == 45.0
    assert c.parameters == 7_400_000  # no count in manifest.json: the records' provenance


def test_a_target_added_for_one_seed_counts_only_that_seed(tmp_path):
    """Seed 0 was run again with tatoeba added; seed 1 never asked for it. On tatoeba the cell is seed 0's
    alone, with nothing missing; on udpos both seeds pool."""
    import json

    cell(tmp_path, "s0", size="L2", layers=2, params=L2, setting="none", seed=0, scores={"en": 80.0, "de": 40.0}, half=HALF)
    cell(tmp_path, "s1", size="L2", layers=2, params=L2, setting="none", seed=1, scores={"en": 81.0, "de": 42.0}, half=HALF)
    path = tmp_path / "s0" / "manifest.json"
    doc = json.loads(path.read_text())
    doc["manifest"]["grid"]["targets"].append("tatoeba")
    doc["manifest"]["grid"]["languages"]["tatoeba"] = ["de"]
    write_json(path, doc)
    ResultStore(tmp_path).write(evaluated_record("s0", "tatoeba", "de", 70.0))
    (s,) = summarize_store(tmp_path)
    tat = s.cell("minilm", "L2", "none", "tatoeba")
    assert tat.seeds == [0] and tat.missing_langs == [] and tat.task_score == 70.0
    assert s.cell("minilm", "L2", "none", "udpos").seeds == [0, 1]
    # a seed that asked for the target but has no records yet is still missing it
    doc = json.loads((tmp_path / "s1" / "manifest.json").read_text())
    doc["manifest"]["grid"]["targets"].append("tatoeba")
    write_json(tmp_path / "s1" / "manifest.json", doc)
    (s,) = summarize_store(tmp_path)
    tat = s.cell("minilm", "L2", "none", "tatoeba")
    assert tat.seeds == [0] and "de" in tat.missing_langs


def test_experiments_are_separate_and_non_grid_submissions_ignored(tmp_path):
    two_by_two(tmp_path)
    cell(tmp_path, "other", size="L2", layers=2, params=L2, setting="none", scores={"en": 70.0, "de": 60.0}, experiment="second")
    write_json(tmp_path / "plain" / "manifest.json", manifest_doc("plain", "Plain", "none", 1000))
    ResultStore(tmp_path).write(evaluated_record("plain", "udpos", "en", 50.0, primary_metric="f1"))
    assert [s.experiment for s in summarize_store(tmp_path)] == ["miniature", "second"]
    (only,) = summarize_store(tmp_path, "second")
    assert only.cells[0].gap == 10.0
    # the same from already-read submissions (the leaderboard's path)
    assert [len(s.cells) for s in summarize_submissions(read_store(tmp_path))] == [4, 1]


def test_qa_gap_is_on_exact_match_with_its_interval(tmp_path):
    doc = manifest_doc("q", "Q", ["squad"], L2)
    doc["manifest"]["grid"] = {"experiment": "qa", "encoder": "minilm", "size": "L2", "intermediate": "squad", "seed": 0,
                               "targets": ["xquad"], "languages": {"xquad": ["en", "de", "ar"]}}
    write_json(tmp_path / "q" / "manifest.json", doc)
    for lang, (em, f1) in {"en": (70.0, 80.0), "de": (50.0, 70.0), "ar": (40.0, 50.0)}.items():
        rec = evaluated_record("q", "xquad", lang, 0.0, qa=True)
        rec["metrics"] = {"exact_match": em, "f1": f1, "em_f1_mean": (em + f1) / 2}
        rec["primary_score"] = (em + f1) / 2
        rec["ci95"] = {"exact_match": [em - 1.96, em + 1.96], "em_f1_mean": [0.0, 100.0]}
        ResultStore(tmp_path).write(rec)
    (c,) = summarize_store(tmp_path)[0].cells
    # EM gap 70 - 45 = 25; F1 gap 80 - 60 = 20; primary (EM+F1)/2: en 75, others (60 + 45) / 2 = 52.5
    assert c.gap_metric == "exact_match" and c.gap == 25.0 and c.gap_f1 == 20.0
    assert c.english == 75.0 and c.others_mean == 52.5
    # se 1 each on EM: var = 1 + 2 / 4 = 1.5 -> half-width 1.96 * sqrt(1.5) = 2.40050
    assert c.gap_interval == pytest.approx((25.0 - 2.40050, 25.0 + 2.40050), abs=1e-4)


def test_markdown_has_the_tables(tmp_path):
    two_by_two(tmp_path)
    md = markdown(summarize_store(tmp_path)[0])
    assert md.startswith("# Miniature X-STILTs (experiment `miniature`)")
    assert "## udpos" in md and "### Gain from intermediate training vs none (udpos)" in md
    assert "| minilm | L2 | 7.5M | none | 0 | 80.00 | 35.00 | 50.00 | 45.00 \u00b1 4.04 | 80.00 | 40.00 | 30.00 |" in md
    assert "| minilm | L4 | 15M | squad | 0 | 86.00 | 59.00 | 68.00 | 27.00 \u00b1 4.04 | 86.00 | 62.00 | 56.00 |" in md
    assert "| minilm | L2 | 7.5M | squad | +8.67 | +2.00 | -10.00 ± 5.71 |" in md
    assert "| minilm | L4 | 15M | squad | +6.33 | +1.00 | -8.00 ± 5.71 |" in md
    assert "Stand-ins: squad: a 1,000-question stand-in" in md


def test_markdown_escapes_table_breakers(tmp_path):
    cell(tmp_path, "x", size="L|2", layers=2, params=L2, setting="none", scores={"en": 80.0, "de": 40.0})
    md = markdown(summarize_store(tmp_path)[0])
    assert "| L\\|2 |" in md
