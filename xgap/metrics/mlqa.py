"""MLQA exact match and F1 with per-language normalisation (mlqa; SPEC §5).

A re-implementation of ``mlqa_evaluation_v1.py`` (facebookresearch/MLQA), which XTREME downloads
unchanged as ``third_party/evaluate_mlqa.py`` and calls with the test language. Order of operations,
as in the reference: lower-case -> drop punctuation (every character whose Unicode category starts
with ``P``, plus ``string.punctuation``) -> remove articles with a word-boundary regex, replacing each
with a space -> tokenize (zh: each CJK character U+4E00-U+9FA5 and each punctuation mark is its own
token, the rest is whitespace-split; other languages: whitespace split) -> join with single spaces.
F1 then whitespace-splits the normalised string; EM compares normalised strings; max over gold
answers; average over all gold questions (unanswered = 0). Unknown language -> :class:`XgapError`.

SPEC vs reference, Arabic: SPEC says "delete every occurrence of ال". The reference's rule is
``re.sub('\\sال^|ال', ' ', text)``: the first alternative (``^`` after a character) can never match,
so the effective rule is the second one, which *replaces* every occurrence with a space. We follow
the reference (SPEC §5 and §8 also require equality with XTREME's scorer): for a word-initial
article the two readings agree after whitespace collapsing; for ``ال`` inside a word (``والكتاب``)
the reference splits the word (``و كتاب``), and so do we.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

from xgap.errors import XgapError
from xgap.metrics.squad import _f1_from_tokens, qa_per_question, qa_scores

_ASCII_PUNCT = frozenset(string.punctuation)

_ARTICLE_RULES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,  # Hindi has no formal articles
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),  # effectively: every 'ال' -> ' ' (see module doc)
    "zh": None,  # Chinese has no formal articles
}
WHITESPACE_LANGS = frozenset({"en", "es", "hi", "vi", "de", "ar"})
MIXED_SEGMENTATION_LANGS = frozenset({"zh"})
LANGUAGES = tuple(_ARTICLE_RULES)
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=65536)
def is_punct(ch: str) -> bool:
    """The reference's PUNCT set: Unicode category P* or ASCII ``string.punctuation``."""
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _check_lang(lang: str) -> None:
    if lang not in _ARTICLE_RULES:
        raise XgapError(f"MLQA evaluation has no rules for language {lang!r} (known: {', '.join(LANGUAGES)})")


def mixed_segmentation(text: str) -> list[str]:
    """zh tokenizer: CJK characters and punctuation marks alone, whitespace-split in between."""
    segs: list[str] = []
    buf = ""
    for ch in text:
        if _CJK.search(ch) or is_punct(ch):
            if buf:
                segs.extend(buf.split())
                buf = ""
            segs.append(ch)
        else:
            buf += ch
    if buf:
        segs.extend(buf.split())
    return segs


def normalize_answer(s: str, lang: str) -> str:
    """Lower-case, drop punctuation, remove ``lang``'s articles, re-tokenize and join with spaces."""
    _check_lang(lang)
    text = s.lower()
    text = "".join(ch for ch in text if not is_punct(ch))
    rule = _ARTICLE_RULES[lang]
    if rule is not None:
        text = rule.sub(" ", text)
    tokens = mixed_segmentation(text) if lang in MIXED_SEGMENTATION_LANGS else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def exact_match_score(prediction: str, ground_truth: str, lang: str) -> bool:
    return normalize_answer(prediction, lang) == normalize_answer(ground_truth, lang)


def f1_score(prediction: str, ground_truth: str, lang: str) -> float:
    return _f1_from_tokens(normalize_answer(prediction, lang).split(), normalize_answer(ground_truth, lang).split())


def mlqa_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], lang: str) -> dict:
    """``{"exact_match", "f1"}`` in 0-100 over all gold questions, normalised for ``lang``."""
    _check_lang(lang)
    return qa_scores(
        predictions, golds, lambda p, g: exact_match_score(p, g, lang), lambda p, g: f1_score(p, g, lang)
    )


def mlqa_per_question(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], lang: str):
    """``(ids, em_array, f1_array)`` on the 0-100 scale; means equal :func:`mlqa_scores`."""
    _check_lang(lang)
    return qa_per_question(
        predictions, golds, lambda p, g: exact_match_score(p, g, lang), lambda p, g: f1_score(p, g, lang)
    )
