"""Tatoeba scoring: both directions, FAISS exact 1-NN, MTEB's weighted P/R/F1."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from xgap.errors import XgapError
from xgap.metrics.retrieval import weighted_prf
from xgap.modeling.tatoeba import nearest_neighbours, tatoeba_scores


def _unit(rows):
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


# xx side (index for the XTREME direction) and English side; line i <-> line i.
XX = _unit([[1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.7, 0.7, 0.0]])
EN = _unit([[0.9, 0.1, 0.0],    # en0 -> xx0 (hit)
            [0.1, 0.9, 0.0],    # en1 -> xx1 (hit)
            [0.8, 0.0, 0.3],    # en2 -> xx0 (miss)
            [0.0, 0.9, 0.8]])   # en3 -> xx1 (cos .75 vs xx2 .66 vs xx3 .53): miss


def test_known_neighbours_both_directions():
    # English queries against the xx index (XTREME's direction)
    assert nearest_neighbours(EN, XX).tolist() == [0, 1, 0, 1]
    # xx queries against the English index (MTEB's direction):
    # xx0 -> en0 (.99); xx1 -> en1 (.99); xx2 -> en3 (.66); xx3 -> en0/en1 tie (.78 each): lowest index
    assert nearest_neighbours(XX, EN).tolist() == [0, 1, 3, 0]
    r = tatoeba_scores(XX, EN)
    assert r["predictions"] == [0, 1, 0, 1]
    assert r["accuracy"] == pytest.approx(50.0)
    assert r["predictions_xx_en"] == [0, 1, 3, 0]
    assert r["accuracy_xx_en"] == pytest.approx(50.0)
    assert r["n"] == 4


def test_weighted_prf_by_hand():
    # labels 0..3, predictions [0, 1, 3, 0]
    # precision per class: c0 1/2, c1 1, c2 0 (never predicted), c3 0 -> mean .375
    # recall per class:    c0 1,   c1 1, c2 0, c3 0 -> .5 ; f1: c0 2/3, c1 1 -> (5/3)/4
    m = weighted_prf([0, 1, 2, 3], [0, 1, 3, 0])
    assert m["precision"] == pytest.approx(37.5)
    assert m["recall"] == pytest.approx(50.0)
    assert m["f1"] == pytest.approx(100 * (2 / 3 + 1) / 4)
    assert m["accuracy"] == pytest.approx(50.0)
    r = tatoeba_scores(XX, EN)
    assert r["precision_xx_en"] == pytest.approx(37.5)
    assert r["f1_xx_en"] == pytest.approx(m["f1"])


def test_matches_sklearn_and_numpy_on_random_case():
    rng = np.random.default_rng(0)
    en = _unit(rng.standard_normal((200, 16)))
    xx = _unit(en + 0.9 * rng.standard_normal((200, 16)))
    r = tatoeba_scores(xx, en)
    sims = xx @ en.T
    en_xx = sims.T.argmax(axis=1)
    xx_en = sims.argmax(axis=1)
    assert r["predictions"] == en_xx.tolist()
    assert r["predictions_xx_en"] == xx_en.tolist()
    labels = np.arange(200)
    assert r["accuracy"] == pytest.approx(100 * np.mean(en_xx == labels))
    assert r["accuracy_xx_en"] == pytest.approx(100 * np.mean(xx_en == labels))
    kw = dict(average="weighted", zero_division=0)
    assert r["precision_xx_en"] == pytest.approx(100 * precision_score(labels, xx_en, **kw))
    assert r["recall_xx_en"] == pytest.approx(100 * recall_score(labels, xx_en, **kw))
    assert r["f1_xx_en"] == pytest.approx(100 * f1_score(labels, xx_en, **kw))
    assert 0 < r["accuracy"] < 100


def test_shape_errors():
    with pytest.raises(XgapError):
        tatoeba_scores(XX[:3], EN)
    with pytest.raises(XgapError):
        tatoeba_scores(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(XgapError):
        tatoeba_scores(XX[:, :2], EN)
