"""Task averages, primary scores, gaps, category and XTREME scores (SPEC §1 and §5)."""

import pytest

from xgap.errors import XgapError
from xgap.metrics.aggregate import (
    CATEGORIES,
    XTREME_TASKS,
    average_metrics,
    category_scores,
    gap,
    primary_score,
    task_gaps,
    task_score,
    xtreme_score,
)


def test_task_score_is_unweighted_mean_over_languages():
    per_lang = {"en": {"accuracy": 80.0}, "de": {"accuracy": 70.0}, "zh": {"accuracy": 60.0}}
    assert task_score(per_lang, "accuracy") == pytest.approx(70.0)  # (80+70+60)/3
    with pytest.raises(XgapError, match="'f1' missing"):
        task_score(per_lang, "f1")
    with pytest.raises(XgapError):
        task_score({}, "accuracy")


def test_gap():
    assert gap({"en": 80.0, "de": 70.0, "fr": 60.0}) == pytest.approx(15.0)  # 80 - (70+60)/2
    assert gap({"en": 50.0, "de": 60.0}) == pytest.approx(-10.0)  # negative gap allowed
    assert gap({"de": 70.0, "fr": 60.0}) is None  # no English
    assert gap({"en": 80.0}) is None  # nothing to compare with


def test_primary_scores():
    assert primary_score("xquad", {"exact_match": 60.0, "f1": 70.0}) == pytest.approx(65.0)  # (60+70)/2
    assert primary_score("udpos", {"f1": 40.0, "precision": 1.0, "recall": 2.0, "token_accuracy": 90.0}) == 40.0
    assert primary_score("bucc2018", {"f1": 55.0, "precision": 50.0, "recall": 60.0}) == 55.0
    assert primary_score("xnli", {"accuracy": 75.0}) == 75.0
    with pytest.raises(XgapError):
        primary_score("xnli", {"bleu": 1.0})


def test_qa_gap_uses_exact_match_and_reports_f1_gap():
    per_lang = {
        "en": {"exact_match": 70.0, "f1": 80.0},
        "de": {"exact_match": 50.0, "f1": 66.0},
        "es": {"exact_match": 40.0, "f1": 60.0},
    }
    g = task_gaps("mlqa", per_lang)
    assert g["gap"] == pytest.approx(25.0)  # 70 - (50+40)/2
    assert g["gap_f1"] == pytest.approx(17.0)  # 80 - (66+60)/2
    assert average_metrics(per_lang) == {"exact_match": pytest.approx(160 / 3), "f1": pytest.approx(206 / 3)}


def test_non_qa_gap_uses_primary_metric_and_is_none_for_retrieval():
    udpos = {"en": {"f1": 90.0, "token_accuracy": 95.0}, "de": {"f1": 80.0, "token_accuracy": 85.0}}
    assert task_gaps("udpos", udpos) == {"gap": pytest.approx(10.0)}
    tatoeba = {"de": {"accuracy": 90.0}, "fr": {"accuracy": 80.0}}
    assert task_gaps("tatoeba", tatoeba) == {"gap": None}


ALL_NINE = {
    "pawsx": 80.0, "xnli": 70.0,  # classification (80+70)/2 = 75
    "udpos": 60.0, "panx": 50.0,  # structured prediction 55
    "xquad": 40.0, "mlqa": 30.0, "tydiqa": 20.0,  # QA (40+30+20)/3 = 30
    "bucc2018": 90.0, "tatoeba": 10.0,  # retrieval 50
}


def test_category_scores_only_complete_categories():
    partial = {"pawsx": 80.0, "xnli": 70.0, "udpos": 60.0, "xquad": 40.0, "mlqa": 30.0, "tydiqa": 20.0}
    assert category_scores(partial) == {"classification": pytest.approx(75.0), "question_answering": pytest.approx(30.0)}
    assert category_scores(ALL_NINE) == {
        "classification": pytest.approx(75.0),
        "structured_prediction": pytest.approx(55.0),
        "question_answering": pytest.approx(30.0),
        "retrieval": pytest.approx(50.0),
    }


def test_xtreme_score_only_with_all_nine():
    # (80+70+60+50+40+30+20+90+10)/9 = 450/9 = 50
    assert xtreme_score(ALL_NINE) == pytest.approx(50.0)
    eight = dict(ALL_NINE)
    del eight["tatoeba"]
    assert xtreme_score(eight) is None
    assert sorted(XTREME_TASKS) == sorted(ALL_NINE)
    assert sum(len(t) for t in CATEGORIES.values()) == 9
