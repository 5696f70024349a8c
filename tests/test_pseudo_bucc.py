"""Pseudo-BUCC mining sets built from the real Tatoeba files (skipped without ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xgap.data.examples import MiningCorpus
from xgap.data.pseudo_bucc import build_pseudo_bucc, read_bucc_layout, read_tatoeba_pairs, write_bucc_layout
from xgap.errors import XgapError

ROOT = Path(__file__).resolve().parents[1]


def _tatoeba_dir() -> Path:
    base = Path(os.environ["XGAP_DATA_DIR"]) if os.environ.get("XGAP_DATA_DIR") else ROOT.parent / "shared" / "data"
    return base / "tatoeba"


TATOEBA = _tatoeba_dir()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (TATOEBA / "tatoeba.deu-eng.deu").is_file(),
                       reason=f"real Tatoeba data not found at {TATOEBA} (set XGAP_DATA_DIR or provide ../shared/data)"),
]


@pytest.fixture(scope="module")
def deu():
    return build_pseudo_bucc(TATOEBA, "deu", n_distractors=800, seed=0)


def test_gold_pairs_all_present(deu):
    pairs = read_tatoeba_pairs(TATOEBA, "deu")
    gold_texts = set()
    for split in ("dev", "test"):
        c = deu[split]
        assert isinstance(c, MiningCorpus)
        for s, t in c.gold:
            gold_texts.add((c.source[s], c.target[t]))
    assert gold_texts <= set(pairs)
    n_distinct = len({x for x, _ in pairs})  # gold keeps one pair per distinct text
    assert len(gold_texts) >= 0.95 * len(pairs) and len(gold_texts) <= n_distinct
    assert len(deu["dev"].gold) == pytest.approx(len(gold_texts) / 2, abs=1)
    # dev and test share no sentence
    for side in ("source", "target"):
        assert not set(getattr(deu["dev"], side).values()) & set(getattr(deu["test"], side).values())


def test_distractors_present_and_unrelated(deu):
    deu_src = {x for x, _ in read_tatoeba_pairs(TATOEBA, "deu")}
    deu_en = {e for _, e in read_tatoeba_pairs(TATOEBA, "deu")}
    for split in ("dev", "test"):
        c = deu[split]
        gold_src = {s for s, _ in c.gold}
        gold_tgt = {t for _, t in c.gold}
        assert len(c.source) - len(gold_src) == 800
        assert len(c.target) - len(gold_tgt) == 800
        # every text has exactly one id on its side
        assert len(set(c.source.values())) == len(c.source)
        assert len(set(c.target.values())) == len(c.target)
        # distractors are not German gold sentences / English gold translations
        for sid, text in c.source.items():
            if sid not in gold_src:
                assert text not in deu_src
        for tid, text in c.target.items():
            if tid not in gold_tgt:
                assert text not in deu_en
        assert all(s.startswith("de-") for s in c.source) and all(t.startswith("en-") for t in c.target)
        # gold is hidden: not the first ids
        first = sorted(c.source)[: len(gold_src)]
        assert set(first) != gold_src


def test_no_distractor_has_its_translation_on_the_other_side(deu):
    # collect every Tatoeba (foreign, english) pair of the other languages
    translations: dict[str, set[str]] = {}
    for f in sorted(TATOEBA.glob("tatoeba.*-eng.eng")):
        code = f.name[len("tatoeba."): -len("-eng.eng")]
        if code == "deu":
            continue
        for a, b in read_tatoeba_pairs(TATOEBA, code):
            translations.setdefault(a, set()).add(b)
    for split in ("dev", "test"):
        c = deu[split]
        gold_src = {s for s, _ in c.gold}
        en_side = set(c.target.values())
        for sid, text in c.source.items():
            if sid not in gold_src:
                assert not (translations.get(text, set()) & en_side), text


def test_deterministic_with_seed():
    a = build_pseudo_bucc(TATOEBA, "swh", n_distractors=200, seed=3)
    b = build_pseudo_bucc(TATOEBA, "swh", n_distractors=200, seed=3)
    c = build_pseudo_bucc(TATOEBA, "swh", n_distractors=200, seed=4)
    for split in ("dev", "test"):
        assert a[split].source == b[split].source and a[split].target == b[split].target
        assert a[split].gold == b[split].gold
    assert a["dev"].source != c["dev"].source
    assert all(s.startswith("sw-") for s in a["dev"].source)


def test_bucc_layout_round_trip(deu, tmp_path):
    written = write_bucc_layout(deu, tmp_path, pair="de-en")
    names = sorted(p.name for p in written)
    assert names == sorted(f"de-en.{s}.{x}" for s in ("dev", "test") for x in ("de", "en", "gold"))
    first = (tmp_path / "de-en.dev.de").read_text(encoding="utf-8").splitlines()[0]
    sid, text = first.split("\t")
    assert sid == "de-000001" and deu["dev"].source[sid] == text
    for split in ("dev", "test"):
        back = read_bucc_layout(tmp_path, "de-en", split)
        assert back.source == deu[split].source
        assert back.target == deu[split].target
        assert back.gold == deu[split].gold


def test_errors(tmp_path):
    with pytest.raises(XgapError):
        build_pseudo_bucc(tmp_path, "deu")
    with pytest.raises(XgapError):
        build_pseudo_bucc(TATOEBA, "deu", dev_fraction=1.5)
    with pytest.raises(XgapError, match="not enough distractor"):
        build_pseudo_bucc(TATOEBA, "deu", n_distractors=400, distractor_langs=["tzl"])
