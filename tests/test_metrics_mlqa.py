"""MLQA EM/F1 per language, hand-computed and cross-checked with mlqa_evaluation_v1.py."""

import random

import pytest

from xgap.errors import XgapError
from xgap.metrics.mlqa import exact_match_score, f1_score, mlqa_per_question, mlqa_scores, normalize_answer

try:
    from tests import reference_impls as ref
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    import reference_impls as ref


def test_chinese_splits_every_cjk_character():
    # '，' (U+FF0C, category Po) is dropped; CJK chars become tokens; "2020" stays one token
    assert normalize_answer("北京大学，2020年", "zh") == "北 京 大 学 2020 年"
    # pred 4 tokens [北 京 大 学], gold 2 [北 京]: P = 2/4, R = 1 -> F1 = 2*0.5/1.5 = 2/3
    assert f1_score("北京大学", "北京", "zh") == pytest.approx(2 / 3)
    assert exact_match_score("2020年。", "2020年", "zh")


def test_arabic_every_al_is_replaced_by_a_space():
    # word-initial article: "الكتاب" -> " كتاب" -> "كتاب"
    assert normalize_answer("الكتاب", "ar") == "كتاب"
    assert exact_match_score("الكتاب", "كتاب", "ar")
    # inside a word too (reference regex '\sال^|ال'): "والكتاب" (and the book) -> "و كتاب"
    assert normalize_answer("والكتاب", "ar") == "و كتاب"
    # so F1 vs "كتاب": tokens [و, كتاب] vs [كتاب]: P = 1/2, R = 1 -> 2/3
    assert f1_score("والكتاب", "كتاب", "ar") == pytest.approx(2 / 3)
    # Arabic comma '،' (Po) is punctuation
    assert normalize_answer("كتاب، قلم", "ar") == "كتاب قلم"


def test_german_spanish_vietnamese_articles():
    assert normalize_answer("Der Hund und die Katze", "de") == "hund und katze"
    assert normalize_answer("derselbe Eines", "de") == "derselbe"  # word boundaries: 'derselbe' stays
    assert normalize_answer("La casa de los espíritus", "es") == "casa de espíritus"
    assert normalize_answer("cái bàn của tôi", "vi") == "bàn tôi"
    # English articles are not removed for German
    assert normalize_answer("the Hund", "de") == "the hund"


def test_hindi_and_chinese_have_no_articles():
    assert normalize_answer("एक किताब।", "hi") == "एक किताब"  # danda '।' is Po; 'एक' stays
    assert normalize_answer("the 书", "zh") == "the 书"


def test_unicode_punctuation_vs_symbols():
    assert normalize_answer("the «Louvre»", "en") == "louvre"  # « » are Pi/Pf
    assert normalize_answer("Paris—France", "en") == "parisfrance"  # em dash Pd
    assert normalize_answer("¿Qué?", "es") == "qué"
    assert normalize_answer("$100", "en") == "100"  # '$' is in string.punctuation
    assert normalize_answer("€100", "en") == "€100"  # '€' is a symbol (Sc), kept


def test_scores_hand_computed():
    golds = {"q1": ["the «Louvre»", "Louvre Museum"], "q2": ["1990"], "q3": ["Paris"]}
    preds = {"q1": "Louvre", "q2": "in 1990"}
    # q1 EM 1 F1 1 | q2 EM 0 F1 2*(1/2)(1)/(3/2) = 2/3 | q3 unanswered 0
    r = mlqa_scores(preds, golds, "en")
    assert r["exact_match"] == pytest.approx(100 / 3)  # 33.33
    assert r["f1"] == pytest.approx(500 / 9)  # 100 * (1 + 2/3) / 3 = 55.56
    ids, em, f1 = mlqa_per_question(preds, golds, "en")
    assert ids == ["q1", "q2", "q3"] and em.tolist() == [100.0, 0.0, 0.0]
    assert f1 == pytest.approx([100.0, 200 / 3, 0.0])


def test_unknown_language_is_an_error():
    with pytest.raises(XgapError, match="'fr'"):
        normalize_answer("le chat", "fr")
    with pytest.raises(XgapError, match="'fr'"):
        mlqa_scores({"q": "x"}, {"q": ["x"]}, "fr")
    with pytest.raises(XgapError):
        mlqa_per_question({}, {"q": ["x"]}, "xx")


VOCAB = {
    "en": ["The", "a", "an", "Louvre", "museum", "«x»", "1990", "—", "state-of-the-art", "(y)"],
    "es": ["La", "el", "los", "unas", "casa", "¿qué?", "espíritus", "¡sí!", "Una"],
    "de": ["Der", "die", "das", "einem", "Hund", "derselbe", "„Haus“", "des"],
    "vi": ["của", "là", "cái", "chiếc", "những", "bàn", "tôi", "Cái", "“x”"],
    "ar": ["الكتاب", "والكتاب", "كتاب،", "مال", "ال", "قلم", "؟"],
    "hi": ["एक", "किताब।", "घर", "—", "क्या?"],
    "zh": ["北京大学", "，", "2020年", "上海", "the", "abc", "《书》", "ｘ"],
}


def test_matches_official_mlqa_script_on_random_cases():
    rng = random.Random(11)
    for lang, vocab in VOCAB.items():
        for case in range(8):
            def answer(vocab=vocab):
                return rng.choice(["", " "]).join(rng.choice(vocab) for _ in range(rng.randint(0, 4)))

            golds, preds, qas = {}, {}, []
            for q in range(rng.randint(1, 6)):
                qid = f"{lang}{case}q{q}"
                answers = [answer() for _ in range(rng.randint(1, 3))]
                golds[qid] = answers
                qas.append({"id": qid, "answers": [{"text": a} for a in answers]})
                if rng.random() < 0.85:
                    preds[qid] = rng.choice(answers) if rng.random() < 0.3 else answer()
            expected = ref.mlqa_evaluate([{"paragraphs": [{"qas": qas}]}], preds, lang)
            got = mlqa_scores(preds, golds, lang)
            assert got["exact_match"] == expected["exact_match"], (lang, golds, preds)
            assert got["f1"] == pytest.approx(expected["f1"], abs=1e-12), (lang, golds, preds)
