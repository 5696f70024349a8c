"""Token classification: one tag per word, first sub-word, long sentences chunked and re-joined."""

import os
import random
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import _tiny_models as tm  # noqa: E402

from xgap.data.examples import TaggedSentence  # noqa: E402
from xgap.errors import XgapError  # noqa: E402
from xgap.modeling.tagging import predict_tags  # noqa: E402

UPOS = tuple("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split())


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with tm.one_thread():
        yield


@pytest.fixture(scope="module")
def tagger():
    return tm.load("token-classification", UPOS)


def _sentences(n, lo, hi, seed=0):
    rng = random.Random(seed)
    return [TaggedSentence(id=f"s{i}", words=tuple(tm.random_sentence(rng, rng.randint(lo, hi))), tags=None) for i in range(n)]


def _echo_expected(tok, words, labels):
    """What an EchoTagger must predict for each word if the FIRST sub-word is used."""
    out = []
    for w in words:
        ids = tok([[w]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
        first = ids[0] if ids else tok.unk_token_id
        out.append(labels[first % len(labels)])
    return out


def test_one_tag_per_word_with_chunking_echo_model(tagger):
    """max_length 16 with 50-word sentences: several chunks each, every word tagged from its first sub-word."""
    _, tok = tagger
    echo = tm.EchoTagger(len(UPOS))
    sentences = _sentences(12, 40, 60) + _sentences(5, 1, 6, seed=1)
    result = predict_tags(echo, tok, sentences, list(UPOS), max_length=16, batch_tokens=64, progress=False)
    assert [len(p) for p in result.predictions] == [len(s.words) for s in sentences]
    for s, p in zip(sentences, result.predictions):
        assert p == _echo_expected(tok, s.words, UPOS)
    assert result.split_sentences >= 12 and result.chunks > 12 * 3
    assert max(w for _, w in echo.calls) <= 16  # no model input exceeds max_length


def test_first_subword_is_used_not_later_ones(tagger):
    """Multi-sub-word words: echo predictions equal the first piece's class, not the last piece's."""
    _, tok = tagger
    words = ("riverbread", "coffeevalley", "the", "marketmorning", "Happy,")
    pieces = [tok([[w]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0] for w in words]
    assert any(len(p) > 1 and p[0] % len(UPOS) != p[-1] % len(UPOS) for p in pieces)  # discriminating case
    result = predict_tags(tm.EchoTagger(len(UPOS)), tok, [TaggedSentence("x", words, None)], list(UPOS), progress=False)
    assert result.predictions[0] == [UPOS[p[0] % len(UPOS)] for p in pieces]


def test_real_model_matches_direct_forward_pass(tagger):
    """Random tiny BERT: batched predictions == argmax at each word's first sub-word of a direct forward."""
    model, tok = tagger
    sentences = _sentences(30, 1, 30, seed=2)
    result = predict_tags(model, tok, sentences, list(UPOS), max_length=128, batch_tokens=200, progress=False)
    n_diff_last = 0
    for s, pred in zip(sentences, result.predictions):
        enc = tok([list(s.words)], is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            best = model(**enc).logits[0].argmax(-1).tolist()
        word_ids = enc.word_ids(0)
        first = {w: p for p, w in reversed(list(enumerate(word_ids))) if w is not None}
        last = {w: p for p, w in enumerate(word_ids) if w is not None}
        assert pred == [UPOS[best[first[w]]] for w in range(len(s.words))]
        n_diff_last += sum(UPOS[best[last[w]]] != pred[w] for w in range(len(s.words)))
    assert n_diff_last > 0  # the first-sub-word rule is actually exercised
    assert len({t for p in result.predictions for t in p}) > 1


def test_long_sentences_real_model_one_tag_per_word(tagger):
    model, tok = tagger
    sentences = _sentences(10, 45, 55, seed=3)
    result = predict_tags(model, tok, sentences, list(UPOS), max_length=16, progress=False)
    assert [len(p) for p in result.predictions] == [len(s.words) for s in sentences]
    assert all(t in UPOS for p in result.predictions for t in p)
    assert result.split_sentences == 10


def test_words_that_tokenize_to_nothing_get_a_tag(tagger):
    """Zero-width / control characters and empty strings: tagged as the unknown token (XTREME's rule)."""
    _, tok = tagger
    words = ("the", "\u200b", "river", "", "\u200c", "flows", "\x00")
    counts = [len(tok([[w]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]) for w in words]
    assert counts.count(0) == 4
    echo = tm.EchoTagger(len(UPOS))
    result = predict_tags(echo, tok, [TaggedSentence("z", words, None)], list(UPOS), progress=False)
    assert len(result.predictions[0]) == len(words)
    assert result.predictions[0] == _echo_expected(tok, words, UPOS)  # zero-token words -> unk id's class
    assert result.substituted_words == 4
    # also at the ends of a chunk and as whole sentences
    edge = [TaggedSentence("a", ("\u200b",), None), TaggedSentence("b", ("\u200b", "the", "\u200b"), None), TaggedSentence("c", (), None)]
    r = predict_tags(echo, tok, edge, list(UPOS), max_length=4, progress=False)
    assert [len(p) for p in r.predictions] == [1, 3, 0]


def test_sentencepiece_style_tokenizer():
    """XLM-R-style tokenizer ('▁' pieces, <s> </s>): first sub-word may be a bare '▁'; still one tag per word."""
    tok = tm.sp_tokenizer()
    sentences = _sentences(8, 30, 50, seed=4) + [TaggedSentence("u", ("Der", "\u200b", ",", "Fluss"), None)]
    result = predict_tags(tm.EchoTagger(len(UPOS)), tok, sentences, list(UPOS), max_length=20, progress=False)
    for s, p in zip(sentences, result.predictions):
        assert p == _echo_expected(tok, s.words, UPOS)


def test_left_padding_tokenizer(tagger):
    model, tok = tagger
    sentences = _sentences(20, 1, 30, seed=5)
    right = predict_tags(tm.EchoTagger(len(UPOS)), tok, sentences, list(UPOS), batch_tokens=100, progress=False)
    tok.padding_side = "left"
    try:
        left = predict_tags(tm.EchoTagger(len(UPOS)), tok, sentences, list(UPOS), batch_tokens=100, progress=False)
    finally:
        tok.padding_side = "right"
    assert left.predictions == right.predictions


def test_errors(tagger):
    model, tok = tagger
    with pytest.raises(XgapError, match="label names"):
        predict_tags(model, tok, _sentences(1, 3, 3), ["O", "B-PER"], progress=False)
    with pytest.raises(XgapError, match="max_length"):
        predict_tags(model, tok, _sentences(1, 3, 3), list(UPOS), max_length=2, progress=False)
