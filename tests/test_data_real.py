"""The loaders on the real data in ../shared/data (skipped when absent): counts from MANIFEST.md/SPEC §3."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from xgap.cards import load_card
from xgap.data import load_examples
from xgap.data.examples import Bitext, QAExample, TaggedSentence

TATOEBA_SMALL = {"jv": 205, "ka": 746, "kk": 575, "ml": 687, "sw": 390, "ta": 307, "te": 234, "th": 548}


def test_tatoeba_counts_for_all_36_xtreme_languages(data_dir):
    card = load_card("tatoeba")
    assert len(card.languages) == 36
    full = 0
    for code in card.languages:
        es = load_examples("tatoeba", code, data_dir=data_dir)
        assert isinstance(es.examples, Bitext)
        want = TATOEBA_SMALL.get(code, 1000)
        assert len(es) == want, code
        assert len(es.examples.source) == len(es.examples.target) == want
        assert all(s.strip() for s in es.examples.source[:20]), code
        full += want == 1000
    assert full == 28
    # the card's declared sizes agree with the data
    assert card.data["splits"]["test"]["sizes"] == TATOEBA_SMALL


def test_tatoeba_german_content_and_iso3(data_dir):
    es = load_examples("tatoeba", "deu", data_dir=data_dir)
    assert es.lang == "de"
    assert es.origin.endswith("tatoeba.deu-eng.deu," + str(Path(data_dir) / "tatoeba" / "tatoeba.deu-eng.eng"))
    # the English side is English (ASCII-heavy) and the German side differs from it
    assert sum(a != b for a, b in zip(es.examples.source, es.examples.target)) > 950


def test_xquad_11_languages_1190_questions(data_dir):
    card = load_card("xquad")
    assert len(card.languages) == 11 and "ro" not in card.languages
    ids = None
    for code in card.languages:
        es = load_examples("xquad", code, data_dir=data_dir)
        assert len(es) == 1190, code
        assert len({q.context for q in es.examples}) == 240, code
        for q in es.examples:
            assert isinstance(q, QAExample) and q.answers
            for a in q.answers:
                assert q.context[a.start:a.start + len(a.text)] == a.text, (code, q.id)
        # the same question ids in every language (parallel translations)
        these = [q.id for q in es.examples]
        ids = ids or these
        assert these == ids, code


UD_TEST = {"en": (2077, 25096), "de": (977, 16498), "fr": (416, 10019), "zh": (500, 12012),
           "ar": (1000, 20751), "hi": (1000, 23829)}


def _syntactic_words(path: Path) -> int:
    """Count CoNLL-U word lines (integer IDs), independently of xgap's reader."""
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            tok_id = line.split("\t", 1)[0]
            if tok_id.isdigit():
                n += 1
    return n


@pytest.mark.parametrize("code", sorted(UD_TEST))
def test_udpos_test_sentences_and_words(data_dir, code):
    sents, words = UD_TEST[code]
    es = load_examples("udpos", code, "test", data_dir=data_dir)
    assert len(es) == sents
    n_words = sum(len(s.words) for s in es.examples)
    files = [Path(p) for p in es.origin[len("local:"):].split(",")]
    assert n_words == sum(_syntactic_words(f) for f in files)
    assert n_words == words  # MANIFEST.md "tokens (words)"
    labels = set(load_card("udpos").labels)
    for s in es.examples:
        assert isinstance(s, TaggedSentence) and len(s.words) == len(s.tags) > 0
        assert set(s.tags) <= labels, set(s.tags) - labels


def test_udpos_english_dev(data_dir):
    es = load_examples("udpos", "en", "dev", data_dir=data_dir)
    assert len(es) == 2002
    assert sum(len(s.words) for s in es.examples) == 25148


def _mwt_forms(path: Path) -> Counter:
    """Surface forms of multi-word-token range lines (``3-4 zum``) in a CoNLL-U file."""
    out = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cols = line.split("\t")
            if "-" in cols[0]:
                out[cols[1].lower()] += 1
    return out


def test_udpos_german_and_french_contractions_are_split(data_dir):
    ud = Path(data_dir) / "udpos"
    de = load_examples("udpos", "de", "test", data_dir=data_dir).examples
    n_zum = _mwt_forms(ud / "UD_German-GSD" / "de_gsd-ud-test.conllu")["zum"]
    assert n_zum >= 29
    zu_dem = [(s.tags[i], s.tags[i + 1]) for s in de for i in range(len(s.words) - 1)
              if s.words[i].lower() == "zu" and s.words[i + 1] == "dem"]
    assert len(zu_dem) >= n_zum, "German 'zum' must be read as the syntactic words 'zu dem'"
    assert set(zu_dem) == {("ADP", "DET")}
    assert not any(w.lower() in ("zum", "zur", "im", "am") for s in de for w in s.words)
    sent = next(s for s in de if any(s.words[i:i + 2] == ("zu", "dem") for i in range(len(s.words))))
    assert len(sent.words) == len(sent.tags)

    fr = load_examples("udpos", "fr", "test", data_dir=data_dir).examples
    mwt = _mwt_forms(ud / "UD_French-GSD" / "fr_gsd-ud-test.conllu")
    assert mwt["du"] >= 100 and mwt["au"] >= 60
    de_le = sum(1 for s in fr for i in range(len(s.words) - 1)
                if s.words[i].lower() == "de" and s.words[i + 1] == "le")
    a_le = sum(1 for s in fr for i in range(len(s.words) - 1)
               if s.words[i].lower() == "à" and s.words[i + 1] == "le")
    assert de_le >= mwt["du"] and a_le >= mwt["au"]
    # the contracted surface forms are not words (only the syntactic words are)
    words = Counter(w for s in fr for w in s.words)
    assert words["au"] == 0 and words["aux"] == 0


def test_pawsx_de_test(data_dir):
    es = load_examples("pawsx", "de", data_dir=data_dir)
    assert len(es) == 2000
    assert Counter(e.label for e in es.examples) == {"0": 1105, "1": 895}
    assert len(load_examples("pawsx", "de", "dev", data_dir=data_dir)) == 2000


def test_xnli_de_test(data_dir):
    es = load_examples("xnli", "de", data_dir=data_dir)
    assert len(es) == 5010
    assert Counter(e.label for e in es.examples) == {"contradiction": 1670, "entailment": 1670, "neutral": 1670}
    assert len(load_examples("xnli", "de", "dev", data_dir=data_dir)) == 250  # XGLUE's dev subset


def test_mlqa_de_dev(data_dir):
    es = load_examples("mlqa", "de", "dev", data_dir=data_dir)
    assert len(es) == 512
    assert len({q.context for q in es.examples}) == 456
    for q in es.examples:
        for a in q.answers:
            assert q.context[a.start:a.start + len(a.text)] == a.text
