"""Accuracy (xnli, pawsx) and retrieval accuracy (tatoeba)."""

import numpy as np
import pytest

from xgap.errors import XgapError
from xgap.metrics.accuracy import accuracy, accuracy_per_example
from xgap.metrics.retrieval import retrieval_accuracy, retrieval_hits


def test_accuracy_hand_computed():
    preds = ["entailment", "neutral", "neutral", "entailment"]
    golds = ["entailment", "neutral", "contradiction", "entailment"]
    assert accuracy(preds, golds) == 75.0  # 3 of 4 correct -> 3/4*100


def test_accuracy_compares_exact_strings():
    # "1" vs "1 " and "Entailment" vs "entailment" are different labels: 1 of 3 correct
    assert accuracy(["1", "1 ", "Entailment"], ["1", "1", "entailment"]) == pytest.approx(100 / 3)  # 33.33


def test_accuracy_per_example_mean_equals_accuracy():
    per = accuracy_per_example(["a", "b", "c", "a"], ["a", "b", "a", "a"])
    assert per.tolist() == [100.0, 100.0, 0.0, 100.0]
    assert per.mean() == 75.0  # (100+100+0+100)/4


def test_accuracy_count_mismatch_names_both_counts():
    with pytest.raises(XgapError) as err:
        accuracy(["a", "b", "c"], ["a", "b"])
    msg = str(err.value)
    assert "3 predictions" in msg and "2 gold" in msg and "\n" not in msg


def test_accuracy_empty_is_an_error_not_zero_division():
    with pytest.raises(XgapError):
        accuracy([], [])


def test_retrieval_accuracy_default_gold_is_identity():
    assert retrieval_accuracy([0, 2, 1, 3]) == 50.0  # hits at 0 and 3 -> 2/4
    assert retrieval_accuracy(np.array([0, 1, 2])) == 100.0


def test_retrieval_accuracy_explicit_gold():
    assert retrieval_accuracy([0, 2, 1, 3], [0, 1, 1, 3]) == 75.0  # hits at 0, 2, 3 -> 3/4
    assert retrieval_hits([5, 1], [5, 0]).tolist() == [100.0, 0.0]


def test_retrieval_accuracy_errors():
    with pytest.raises(XgapError, match="3 predicted indices but 2 gold"):
        retrieval_accuracy([0, 1, 2], [0, 1])
    with pytest.raises(XgapError):
        retrieval_accuracy([])
