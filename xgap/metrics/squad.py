"""SQuAD v1.1 exact match and F1 (xquad, tydiqa; SPEC §5).

A re-implementation of the official ``evaluate-v1.1.py`` that XTREME downloads as
``third_party/evaluate_squad.py``: normalise by lower-casing, dropping ASCII punctuation
(``string.punctuation``), replacing ``\\b(a|an|the)\\b`` with a space and collapsing whitespace
(in that order); EM compares normalised strings, F1 is bag-of-token overlap; each question takes the
max over its gold answers; the averages run over **all gold questions**, so a question without a
prediction scores 0, and predictions for unknown ids are ignored, as in the official script.
Scores are 0-100 (the official script already multiplies by 100).

The per-question machinery here is shared with :mod:`xgap.metrics.mlqa`, which only swaps the
normaliser.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from xgap.errors import XgapError

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, English articles and extra whitespace (official order)."""
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1_from_tokens(pred_tokens: Sequence[str], gold_tokens: Sequence[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(pred_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def f1_score(prediction: str, ground_truth: str) -> float:
    return _f1_from_tokens(normalize_answer(prediction).split(), normalize_answer(ground_truth).split())


def golds_from_squad_json(doc: Any) -> dict[str, list[str]]:
    """``{question id: [gold answer texts]}`` from SQuAD v1.1 JSON (``data -> paragraphs -> qas``).

    Accepts the whole file (a dict with ``data``) or the bare article list, as XTREME's
    ``read_squad`` does. A repeated question id is an error (the dict could not keep both).
    """
    articles = doc["data"] if isinstance(doc, dict) and "data" in doc else doc
    if not isinstance(articles, list):
        raise XgapError("SQuAD JSON must hold a 'data' list of articles")
    golds: dict[str, list[str]] = {}
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    qid = str(qa["id"])
                    if qid in golds:
                        raise XgapError(f"SQuAD JSON repeats question id {qid!r}")
                    golds[qid] = [a["text"] for a in qa["answers"]]
    except (KeyError, TypeError) as exc:
        raise XgapError(f"SQuAD JSON is not in v1.1 layout (data -> paragraphs -> qas -> answers): missing {exc}") from None
    return golds


def qa_per_question(
    predictions: Mapping[str, str],
    golds: Mapping[str, Sequence[str]],
    em_fn: Callable[[str, str], Any],
    f1_fn: Callable[[str, str], float],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids in gold order, EM array, F1 array), per question on the 0-100 scale; unanswered = 0."""
    if not golds:
        raise XgapError("no gold questions to score")
    ids, ems, f1s = [], [], []
    for qid, answers in golds.items():
        answers = list(answers)
        if not answers:
            raise XgapError(f"question {qid!r} has no gold answer")
        ids.append(qid)
        if qid not in predictions:
            ems.append(0.0)
            f1s.append(0.0)
            continue
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise XgapError(f"prediction for question {qid!r} must be a string, got {type(pred).__name__}")
        ems.append(100.0 * max(float(em_fn(pred, a)) for a in answers))
        f1s.append(100.0 * max(f1_fn(pred, a) for a in answers))
    return ids, np.array(ems), np.array(f1s)


def qa_scores(predictions, golds, em_fn, f1_fn) -> dict:
    """Sum-then-divide averages, as the official scripts compute them."""
    if not golds:
        raise XgapError("no gold questions to score")
    exact_match = f1 = 0.0
    for qid, answers in golds.items():
        if not list(answers):
            raise XgapError(f"question {qid!r} has no gold answer")
        if qid not in predictions:
            continue
        pred = predictions[qid]
        if not isinstance(pred, str):
            raise XgapError(f"prediction for question {qid!r} must be a string, got {type(pred).__name__}")
        exact_match += max(em_fn(pred, a) for a in answers)
        f1 += max(f1_fn(pred, a) for a in answers)
    total = len(golds)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def squad_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> dict:
    """``{"exact_match", "f1"}`` in 0-100 over all gold questions (official SQuAD v1.1)."""
    return qa_scores(predictions, golds, exact_match_score, f1_score)


def squad_per_question(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]):
    """``(ids, em_array, f1_array)`` (0/100 EM, 0-100 F1); their means equal :func:`squad_scores`."""
    return qa_per_question(predictions, golds, exact_match_score, f1_score)
