"""Extractive QA: sliding windows, n-best span selection, answers cut from the original context."""

import os
import random
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import _tiny_models as tm  # noqa: E402

from xgap.data.examples import Answer, QAExample  # noqa: E402
from xgap.errors import XgapError  # noqa: E402
from xgap.modeling.qa import predict_answers  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with tm.one_thread():
        yield


@pytest.fixture(scope="module")
def qa():
    return tm.load("question-answering")


def _tid(tok, word):
    ids = tok(word, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, (word, ids)
    return ids[0]


def _filler(rng, n):
    return " ".join(rng.choice(tm.WORDS) for _ in range(n))


def test_answer_found_in_a_later_window_cut_from_original_context(qa):
    _, tok = qa
    rng = random.Random(0)
    context = _filler(rng, 300) + " Alpha Zebra  Quagga omega. " + _filler(rng, 40)
    ex = QAExample(id="q1", context=context, question="what is the zebra ?", answers=())
    model = tm.PeakQA({_tid(tok, "zebra"): 10.0}, {_tid(tok, "quagga"): 10.0})
    # the question also contains 'zebra': a start there is outside the context and must be skipped
    result = predict_answers(model, tok, [ex], max_length=64, doc_stride=16, progress=False)
    assert result.windows > 5
    assert result.predictions == {"q1": "Zebra  Quagga"}  # original case and spacing, by offsets
    first_window_chars = len(tok.decode(tok(context)["input_ids"][:64]))
    assert context.index("Zebra") > first_window_chars


def test_left_padding_tokenizer_puts_context_first(qa):
    _, tok = qa
    rng = random.Random(1)
    context = _filler(rng, 200) + " zebra quagga " + _filler(rng, 20)
    ex = QAExample(id="q", context=context, question="zebra ?", answers=())
    model = tm.PeakQA({_tid(tok, "zebra"): 10.0}, {_tid(tok, "quagga"): 10.0})
    tok.padding_side = "left"
    try:
        result = predict_answers(model, tok, [ex], max_length=48, doc_stride=8, progress=False)
    finally:
        tok.padding_side = "right"
    assert result.predictions["q"] == "zebra quagga"


def test_max_answer_length_respected(qa):
    _, tok = qa
    rng = random.Random(2)
    # 'alpha' ... 'zebra' is 40 words apart; 'omega' 3 words after 'alpha'
    context = _filler(rng, 10) + " alpha a b omega " + _filler(rng, 36) + " zebra " + _filler(rng, 10)
    ex = QAExample(id="q", context=context, question="what ?", answers=())
    model = tm.PeakQA({_tid(tok, "alpha"): 10.0}, {_tid(tok, "zebra"): 20.0, _tid(tok, "omega"): 5.0})
    long_ok = predict_answers(model, tok, [ex], max_answer_length=60, progress=False).predictions["q"]
    assert long_ok.startswith("alpha") and long_ok.endswith("zebra")
    result = predict_answers(model, tok, [ex], max_answer_length=30, progress=False)
    assert result.predictions["q"] == "alpha a b omega"
    for limit in (1, 2, 5):
        ans = predict_answers(model, tok, [ex], max_answer_length=limit, progress=False).predictions["q"]
        assert ans in context and 0 < len(tok(ans, add_special_tokens=False)["input_ids"]) <= limit


def _hf_reference(model, tok, examples, max_length, doc_stride, max_answer_length=30, n_best=20):
    """HF run_qa + postprocess_qa_predictions, one window at a time (no padding)."""
    preds = {}
    for ex in examples:
        enc = tok(ex.question.lstrip(), ex.context, truncation="only_second", max_length=max_length, stride=doc_stride,
                  return_overflowing_tokens=True, return_offsets_mapping=True)
        prelim = []
        for w in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(w)
            offsets = [o if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][w])]
            inputs = {k: torch.tensor([enc[k][w]]) for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc}
            with torch.no_grad():
                out = model(**inputs)
            start, end = out["start_logits"][0].numpy(), out["end_logits"][0].numpy()
            for s in np.argsort(start)[-1: -n_best - 1: -1].tolist():
                for e in np.argsort(end)[-1: -n_best - 1: -1].tolist():
                    if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                        continue
                    prelim.append({"offsets": (offsets[s][0], offsets[e][1]), "score": start[s] + end[e]})
        best = sorted(prelim, key=lambda x: x["score"], reverse=True)
        preds[ex.id] = ex.context[best[0]["offsets"][0]: best[0]["offsets"][1]] if best else ""
    return preds


def _random_examples(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ctx = " ".join(tm.random_sentence(rng, rng.randint(5, 120)))
        q = "  " + " ".join(tm.random_sentence(rng, rng.randint(2, 12))) + " ?"
        out.append(QAExample(id=f"id{i}", context=ctx, question=q, answers=(Answer("x", 0),)))
    return out


def test_random_model_equals_hf_reference_and_every_id_answered(qa):
    model, tok = qa
    examples = _random_examples(40, seed=3)
    result = predict_answers(model, tok, examples, max_length=64, doc_stride=16, batch_tokens=256, progress=False)
    assert set(result.predictions) == {e.id for e in examples}
    assert result.windows > len(examples) and result.stats.batches > 1
    assert result.unanswered == 0
    for e in examples:
        ans = result.predictions[e.id]
        assert ans and ans in e.context
    assert result.predictions == _hf_reference(model, tok, examples, 64, 16)


def test_bfloat16_and_long_questions(qa):
    model, tok = qa
    examples = _random_examples(10, seed=4)
    long_q = QAExample(id="long", context=examples[0].context, question=" ".join(["river"] * 200), answers=())
    result = predict_answers(model, tok, examples + [long_q], dtype="bfloat16", progress=False)
    assert result.truncated_questions == 1 and len(result.predictions) == 11
    assert all(result.predictions[e.id] in e.context for e in examples)


def test_no_valid_span_gives_empty_string_and_errors(qa):
    model, tok = qa
    empty = QAExample(id="e", context="", question="what ?", answers=())
    result = predict_answers(model, tok, [empty], progress=False)
    assert result.predictions == {"e": ""} and result.unanswered == 1
    dup = [QAExample(id="d", context="a b", question="q", answers=())] * 2
    with pytest.raises(XgapError, match="duplicate question id"):
        predict_answers(model, tok, dup, progress=False)
    with pytest.raises(XgapError, match="doc_stride"):
        predict_answers(model, tok, _random_examples(1, 5), max_length=40, doc_stride=32, progress=False)
    assert predict_answers(model, tok, [], progress=False).predictions == {}
