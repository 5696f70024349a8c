"""Sequence classification: batched predictions equal one-example-at-a-time inference, in order."""

import os
import random
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import _tiny_models as tm  # noqa: E402

from xgap.data.examples import TextExample  # noqa: E402
from xgap.errors import XgapError  # noqa: E402
from xgap.modeling.classify import predict_classification  # noqa: E402

LABELS = ("contradiction", "entailment", "neutral")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with tm.one_thread():
        yield


@pytest.fixture(scope="module")
def model_tok():
    return tm.load("sequence-classification", LABELS, seed=3)  # a seed whose random head predicts several classes


def _examples(pair: bool, n: int = 60, seed: int = 1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = " ".join(tm.random_sentence(rng, rng.randint(1, 40)))
        b = " ".join(tm.random_sentence(rng, rng.randint(1, 40))) if pair else None
        out.append(TextExample(id=str(i), text_a=a, text_b=b, label=None))
    return out


def _naive(model, tok, examples, max_length):
    preds, logits = [], []
    with torch.no_grad():
        for e in examples:
            enc = tok(e.text_a, e.text_b, truncation=True, max_length=max_length, return_tensors="pt")
            out = model(**enc).logits[0]
            logits.append(out.numpy())
            preds.append(LABELS[int(out.argmax())])
    return preds, np.stack(logits)


@pytest.mark.parametrize("pair", [False, True], ids=["single", "pair"])
def test_batched_equals_one_at_a_time(model_tok, pair):
    model, tok = model_tok
    examples = _examples(pair)
    # small budget: many batches of different widths; max_length small enough to truncate some pairs
    result = predict_classification(model, tok, examples, list(LABELS), max_length=48, batch_tokens=256, progress=False)
    expected, expected_logits = _naive(model, tok, examples, 48)
    assert result.predictions == expected
    np.testing.assert_allclose(result.logits, expected_logits, atol=1e-4)
    assert len(result) == len(examples) and list(result) == expected
    assert result.stats.batches > 1 and 0 < result.stats.padding_efficiency <= 1
    assert result.stats.inputs == len(examples)
    assert len(set(expected)) > 1  # the check is not vacuous


def test_output_order_follows_input_order(model_tok):
    model, tok = model_tok
    examples = _examples(True, n=40, seed=3)
    base = predict_classification(model, tok, examples, list(LABELS), progress=False)
    perm = list(range(len(examples)))
    random.Random(0).shuffle(perm)
    shuffled = predict_classification(model, tok, [examples[i] for i in perm], list(LABELS), batch_tokens=300, progress=False)
    assert shuffled.predictions == [base.predictions[i] for i in perm]


def test_mixed_single_and_pair_and_empty(model_tok):
    model, tok = model_tok
    examples = _examples(False, n=10) + _examples(True, n=10, seed=5)
    random.Random(1).shuffle(examples)
    result = predict_classification(model, tok, examples, list(LABELS), progress=False)
    assert result.predictions == _naive(model, tok, examples, 128)[0]
    assert predict_classification(model, tok, [], list(LABELS), progress=False).predictions == []


def test_label_count_must_match_head(model_tok):
    model, tok = model_tok
    with pytest.raises(XgapError, match="3 outputs but 2 label names"):
        predict_classification(model, tok, _examples(False, n=2), ["0", "1"], progress=False)


def test_bfloat16_runs_and_mostly_agrees(model_tok):
    model, tok = model_tok
    examples = _examples(True, n=60)
    fp32 = predict_classification(model, tok, examples, list(LABELS), progress=False)
    bf16 = predict_classification(model, tok, examples, list(LABELS), progress=False, dtype="bfloat16")
    assert bf16.stats.dtype == "bfloat16" and len(bf16) == len(examples)
    assert np.abs(bf16.logits - fp32.logits).max() < 0.1
    with pytest.raises(XgapError, match="unknown dtype"):
        predict_classification(model, tok, examples, list(LABELS), progress=False, dtype="float16")
