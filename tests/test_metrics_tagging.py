"""Tagging F1 (seqeval default mode, as XTREME) incl. the udpos run-merging quirk; token accuracy;
and the numpy chunker behind the bootstrap statistic, checked against seqeval itself."""

import random
import warnings

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics.sequence_labeling import get_entities

from xgap.errors import XgapError
from xgap.metrics.tagging import TaggingF1Statistic, tagging_f1, token_accuracy


def test_udpos_runs_of_identical_tags_merge_into_one_chunk():
    gold = [["NOUN", "NOUN", "VERB"]]
    pred = [["NOUN", "VERB", "VERB"]]
    # seqeval chunks: gold {NOUN[0..1], VERB[2]}, pred {NOUN[0], VERB[1..2]} -> no chunk matches
    assert tagging_f1(pred, gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    # ... although 2 of 3 tokens are right
    assert token_accuracy(pred, gold) == pytest.approx(200 / 3)  # 66.67


def test_udpos_two_sentences_hand_computed():
    gold = [["NOUN", "NOUN", "VERB"], ["DET", "NOUN"]]
    pred = [["NOUN", "NOUN", "VERB"], ["DET", "VERB"]]
    # gold chunks: NOUN[0..1] VERB[2] | DET NOUN -> 4; pred: NOUN[0..1] VERB[2] | DET VERB -> 4
    # 3 match: P = R = F1 = 3/4
    r = tagging_f1(pred, gold)
    assert r["f1"] == pytest.approx(75.0)
    assert r["precision"] == pytest.approx(75.0)
    assert r["recall"] == pytest.approx(75.0)
    assert token_accuracy(pred, gold) == pytest.approx(80.0)  # 4 of 5 tokens


def test_runs_do_not_merge_across_sentences():
    # NOUN | NOUN in two sentences: two chunks, not one
    r = tagging_f1([["NOUN"], ["NOUN"]], [["NOUN"], ["NOUN"]])
    assert r["f1"] == 100.0
    assert _reference_counts([["NOUN"], ["NOUN"]], [["NOUN"], ["NOUN"]]) == (2, 2, 2)


def test_panx_entity_f1_hand_computed():
    gold = [["B-PER", "O", "B-ORG", "I-ORG"]]
    pred = [["B-PER", "B-LOC", "B-ORG", "I-ORG"]]
    # gold {PER[0], ORG[2..3]}; pred {PER[0], LOC[1], ORG[2..3]}: 2 correct
    # P = 2/3, R = 2/2, F1 = 2*(2/3)*1/(2/3+1) = (4/3)/(5/3) = 0.8
    r = tagging_f1(pred, gold)
    assert r["precision"] == pytest.approx(66.666666666667)
    assert r["recall"] == pytest.approx(100.0)
    assert r["f1"] == pytest.approx(80.0)
    assert token_accuracy(pred, gold) == pytest.approx(75.0)  # 3 of 4 tokens


def test_panx_partial_span_is_wrong_and_iob_i_starts_a_chunk():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["I-ORG", "O"]]
    # gold {PER[0..1], LOC[3], ORG(from bare I-)}: 3; pred {PER[0], LOC[3], ORG}: 3; 2 match
    r = tagging_f1(pred, gold)
    assert r["f1"] == pytest.approx(200 / 3)  # P = R = 2/3


def test_all_o_has_no_chunks_and_scores_zero_without_error():
    assert tagging_f1([["O", "O"]], [["O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    assert token_accuracy([["O", "O"]], [["O", "O"]]) == 100.0


def test_mismatches_raise():
    with pytest.raises(XgapError, match="1 predicted sentences but 2 gold"):
        tagging_f1([["NOUN"]], [["NOUN"], ["VERB"]])
    with pytest.raises(XgapError, match="sentence 1: 1 predicted tags but 2 gold"):
        token_accuracy([["NOUN"], ["VERB"]], [["NOUN"], ["VERB", "NOUN"]])
    with pytest.raises(XgapError):
        tagging_f1([], [])
    with pytest.raises(XgapError):
        tagging_f1([[""]], [["NOUN"]])


def test_seqeval_called_like_xtreme():
    # XTREME: f1_score(labels, predictions) * 100 on list-of-lists
    gold = [["B-PER", "I-PER", "O"], ["B-LOC"]]
    pred = [["B-PER", "O", "O"], ["B-LOC"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = seqeval_f1(gold, pred) * 100
    assert tagging_f1(pred, gold)["f1"] == expected == pytest.approx(50.0)


# ------------------------------------------------------------------ bootstrap statistic vs seqeval

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
ODD = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER", "B", "I", ".", "X", "OTHER", "I-B-C"]


def _random_corpus(rng, tagset, n_sent):
    gold, pred = [], []
    for _ in range(n_sent):
        length = rng.randint(0, 6)
        g = [rng.choice(tagset) for _ in range(length)]
        p = [t if rng.random() < 0.6 else rng.choice(tagset) for t in g]
        gold.append(g)
        pred.append(p)
    return gold, pred


def _reference_counts(gold, pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g, p = set(get_entities(gold)), set(get_entities(pred))
    return len(g & p), len(p), len(g)


@pytest.mark.parametrize("tagset", [UPOS, ODD, UPOS + ODD])
def test_numpy_chunker_equals_seqeval_on_random_resamples(tagset):
    rng = random.Random(1234)
    for trial in range(25):
        gold, pred = _random_corpus(rng, tagset, rng.randint(1, 12))
        if not any(gold):
            gold[0], pred[0] = ["X"], ["X"]
        stat = TaggingF1Statistic(pred, gold)
        idx = np.array([rng.randrange(len(gold)) for _ in range(len(gold))])
        rs_gold, rs_pred = [gold[i] for i in idx], [pred[i] for i in idx]
        assert stat.counts(idx) == _reference_counts(rs_gold, rs_pred), (trial, rs_gold, rs_pred)
        assert stat.resample(idx[None, :])[0] == pytest.approx(tagging_f1(rs_pred, rs_gold)["f1"], abs=1e-9)
        assert stat.value() == pytest.approx(tagging_f1(pred, gold)["f1"], abs=1e-9)


def test_numpy_chunker_reproduces_cross_sentence_x_quirk():
    # 'X' has seqeval type '_' like the sentence separator 'O', so an X chunk is not closed by the
    # sentence break: seqeval's result depends on sentence order (order [0, 1] yields a chunk
    # ('_', 1, 3) spanning the break; [0, 0] loses both X chunks). The statistic must follow it.
    gold = [["NOUN", "X"], ["X", "VERB"]]
    pred = [["NOUN", "X"], ["X", "NOUN"]]
    for idx in ([0, 1], [1, 0], [1, 1], [0, 0]):
        rs_gold, rs_pred = [gold[i] for i in idx], [pred[i] for i in idx]
        assert TaggingF1Statistic(pred, gold).counts(np.array(idx)) == _reference_counts(rs_gold, rs_pred)


def _read_upos(path):
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if "-" in cols[0] or "." in cols[0]:
            continue
        current.append(cols[3])
    if current:
        sentences.append(current)
    return sentences


@pytest.mark.slow
def test_statistic_equals_seqeval_on_real_udpos_resamples(data_dir):
    path = data_dir / "udpos" / "UD_English-EWT" / "en_ewt-ud-test.conllu"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    gold = _read_upos(path)
    rng = random.Random(5)
    pred = [[t if rng.random() < 0.9 else rng.choice(UPOS) for t in s] for s in gold]
    stat = TaggingF1Statistic(pred, gold)
    assert stat.value() == pytest.approx(tagging_f1(pred, gold)["f1"], abs=1e-9)
    nprng = np.random.default_rng(0)
    for _ in range(2):
        idx = nprng.integers(0, len(gold), size=len(gold))
        rs_gold, rs_pred = [gold[i] for i in idx], [pred[i] for i in idx]
        assert stat.counts(idx) == _reference_counts(rs_gold, rs_pred)
