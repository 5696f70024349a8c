"""SQuAD v1.1 EM/F1 (xquad, tydiqa), hand-computed and cross-checked with the official script."""

import random

import numpy as np
import pytest

from xgap.errors import XgapError
from xgap.metrics.squad import (
    exact_match_score,
    f1_score,
    golds_from_squad_json,
    normalize_answer,
    squad_per_question,
    squad_scores,
)

try:
    from tests import reference_impls as ref
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    import reference_impls as ref


def test_normalize_lower_punct_articles_whitespace():
    # "The Cat, a dog!" -> "the cat, a dog!" -> "the cat a dog" -> " cat   dog" -> "cat dog"
    assert normalize_answer("The Cat, a dog!") == "cat dog"
    # punctuation goes first, so hyphenated words fuse and their articles survive
    assert normalize_answer("state-of-the-art") == "stateoftheart"
    # only ASCII punctuation: guillemets stay
    assert normalize_answer("«Paris»") == "«paris»"
    # "an" only as a word
    assert normalize_answer("An answer and Anna") == "answer and anna"


def test_em_and_f1_hand_computed():
    assert exact_match_score("the Eiffel Tower.", "Eiffel Tower")
    assert not exact_match_score("state of the art", "state-of-the-art")
    # [big red barn] vs [red barn door]: 2 common; P = R = 2/3 -> F1 = 2/3
    assert f1_score("big red barn", "red barn door") == pytest.approx(2 / 3)
    # bag of tokens: [a b b] vs [b]: common 1; P = 1/3, R = 1 -> F1 = 2*(1/3)/(4/3) = 0.5
    assert f1_score("x y y", "y") == pytest.approx(0.5)
    assert f1_score("", "") == 0  # official: no common token -> 0, even though EM is 1
    assert exact_match_score("", "the")


GOLDS = {
    "q1": ["Eiffel Tower", "tower"],
    "q2": ["red barn door"],
    "q3": ["1990"],
    "q4": ["Paris"],
}
PREDS = {"q1": "the Eiffel Tower.", "q2": "big red barn", "q3": "in 1990", "qx": "ignored"}


def test_squad_scores_max_over_golds_and_missing_prediction_scores_zero():
    r = squad_scores(PREDS, GOLDS)
    # q1 EM 1 F1 1 | q2 EM 0 F1 2/3 | q3 EM 0 F1 2*(1/2)(1)/(3/2) = 2/3 | q4 unanswered 0, 0
    assert r["exact_match"] == pytest.approx(25.0)  # 100 * 1/4
    assert r["f1"] == pytest.approx(58.333333333333)  # 100 * (1 + 2/3 + 2/3) / 4 = 100 * 7/12


def test_squad_per_question_arrays():
    ids, em, f1 = squad_per_question(PREDS, GOLDS)
    assert ids == ["q1", "q2", "q3", "q4"]
    assert em.tolist() == [100.0, 0.0, 0.0, 0.0]
    assert f1 == pytest.approx([100.0, 200 / 3, 200 / 3, 0.0])
    r = squad_scores(PREDS, GOLDS)
    assert em.mean() == pytest.approx(r["exact_match"]) and f1.mean() == pytest.approx(r["f1"])


def test_squad_errors():
    with pytest.raises(XgapError):
        squad_scores({}, {})
    with pytest.raises(XgapError, match="no gold answer"):
        squad_scores({"q": "x"}, {"q": []})
    with pytest.raises(XgapError, match="must be a string"):
        squad_scores({"q": None}, {"q": ["x"]})


def test_golds_from_squad_json_both_shapes():
    articles = [{"paragraphs": [{"context": "c", "qas": [{"id": "a", "answers": [{"text": "x", "answer_start": 0}]}]}]}]
    assert golds_from_squad_json({"version": "1.1", "data": articles}) == {"a": ["x"]}
    assert golds_from_squad_json(articles) == {"a": ["x"]}
    with pytest.raises(XgapError):
        golds_from_squad_json({"data": [{"no": "paragraphs"}]})


WORDS = ["The", "the", "a", "An", "Eiffel", "tower", "Tower", "1990", "in", "big", "red", "x,", "(y)", "«z»", "—", "state-of-the-art", "  "]


def _random_answer(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 5))) + rng.choice(["", ".", "!", " "])


def test_matches_official_squad_script_on_random_cases():
    rng = random.Random(7)
    for case in range(40):
        golds, preds, qas = {}, {}, []
        for q in range(rng.randint(1, 8)):
            qid = f"c{case}q{q}"
            answers = [_random_answer(rng) for _ in range(rng.randint(1, 3))]
            golds[qid] = answers
            qas.append({"id": qid, "answers": [{"text": a} for a in answers]})
            if rng.random() < 0.85:
                preds[qid] = rng.choice(answers) if rng.random() < 0.3 else _random_answer(rng)
        dataset = [{"paragraphs": [{"qas": qas}]}]
        expected = ref.squad_evaluate(dataset, preds)
        got = squad_scores(preds, golds)
        assert got["exact_match"] == expected["exact_match"]
        assert got["f1"] == pytest.approx(expected["f1"], abs=1e-12)
        _, em, f1 = squad_per_question(preds, golds)
        assert np.mean(em) == pytest.approx(expected["exact_match"]) and np.mean(f1) == pytest.approx(expected["f1"])
