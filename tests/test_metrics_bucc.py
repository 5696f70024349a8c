"""BUCC pair F1 (as XTREME's bucc_f1) and its bootstrap statistic."""

import numpy as np
import pytest

from xgap.metrics.bucc import pair_f1, pair_f1_statistic

GOLD = {("de-1", "en-1"), ("de-2", "en-2"), ("de-3", "en-3")}


def test_pair_f1_hand_computed():
    pred = {("de-1", "en-1"), ("de-2", "en-5")}
    r = pair_f1(GOLD, pred)
    # 1 correct: P = 1/2, R = 1/3, F1 = 2*(1/2)*(1/3) / (1/2+1/3) = (1/3)/(5/6) = 0.4
    assert r["precision"] == pytest.approx(50.0)
    assert r["recall"] == pytest.approx(33.333333333333)
    assert r["f1"] == pytest.approx(40.0)


def test_pair_f1_perfect_and_duplicates_collapse():
    r = pair_f1(GOLD, list(GOLD) + [("de-1", "en-1")])  # a repeated pair counts once (sets)
    assert r == {"f1": 100.0, "precision": 100.0, "recall": 100.0}


def test_pair_f1_zero_correct_is_all_zero():
    assert pair_f1(GOLD, {("de-1", "en-2")}) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_pair_f1_empty_inputs_do_not_divide_by_zero():
    zero = {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    assert pair_f1(GOLD, set()) == zero
    assert pair_f1(set(), {("a", "b")}) == zero
    assert pair_f1(set(), set()) == zero


def test_pair_f1_statistic_full_value_and_a_resample():
    pred = {("de-1", "en-1"), ("de-2", "en-5")}
    stat = pair_f1_statistic(GOLD, pred)
    assert stat.n == 3  # units: source ids de-1, de-2, de-3 (sorted)
    assert stat.value() == pytest.approx(40.0)
    # units (correct, predicted, gold): de-1 (1,1,1), de-2 (0,1,1), de-3 (0,0,1)
    # resample [de-1, de-1, de-2]: tp 2, pred 3, gold 3 -> P = R = 2/3 -> F1 66.67
    # resample [de-3, de-3, de-3]: tp 0 -> 0
    out = stat.resample(np.array([[0, 0, 1], [2, 2, 2]]))
    assert out.tolist() == pytest.approx([200 / 3, 0.0])
