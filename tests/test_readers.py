"""Local-layout readers (SPEC §7) on small fixtures, directly and through ``load_examples``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xgap.data import load_examples, readers
from xgap.data.examples import Answer, Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample
from xgap.errors import XgapError

FIX = Path(__file__).parent / "fixtures" / "foundation" / "data"


# ----------------------------------------------------------------------------- CoNLL-U
def test_conllu_skips_multiword_ranges_and_empty_nodes():
    (s,) = readers.read_conllu([FIX / "udpos" / "UD_German-Alpha" / "de_zeta-ud-test.conllu"])
    assert s.words == ("Ich", "gehe", "zu", "dem", "Markt", ".")
    assert s.tags == ("PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT")
    assert "zum" not in s.words and "geht" not in s.words  # 3-4 range and 5.1 empty node skipped
    assert s.id == "z-1"  # from "# sent_id"


def test_conllu_sentence_ids_fall_back_to_file_stem_and_index():
    sents = readers.read_conllu([FIX / "udpos" / "UD_German-Beta" / "de_alpha-ud-test.conllu"])
    assert [s.words for s in sents] == [("zu", "dem", "Haus"), ("Ja", "!")]
    assert [s.tags for s in sents] == [("ADP", "DET", "NOUN"), ("INTJ", "PUNCT")]
    assert sents[0].id == "a-1"
    assert sents[1].id == "de_alpha-ud-test-1"


def test_conllu_files_concatenated_in_file_name_order_via_loader_glob():
    es = load_examples("udpos", "de", "test", data_dir=FIX)
    assert es.task == "udpos" and es.lang == "de" and es.split == "test" and es.format == "token-classification"
    # de_alpha (in UD_German-Beta) sorts before de_zeta (in UD_German-Alpha): file-name order, not folder order
    assert [s.words for s in es.examples] == [("zu", "dem", "Haus"), ("Ja", "!"), ("Ich", "gehe", "zu", "dem", "Markt", ".")]
    assert es.origin.startswith("local:")
    files = es.origin[len("local:"):].split(",")
    assert [Path(f).name for f in files] == ["de_alpha-ud-test.conllu", "de_zeta-ud-test.conllu"]
    assert es.fingerprint.startswith("sha256:") and len(es.fingerprint) == len("sha256:") + 64
    assert len(es) == 3
    # every tag is a card label
    from xgap.cards import load_card

    labels = set(load_card("udpos").labels)
    assert all(t in labels for s in es.examples for t in s.tags)


def test_conllu_by_source_name_and_missing_split():
    es = load_examples("udpos", "German", "test", data_dir=FIX)
    assert es.lang == "de" and len(es) == 3
    with pytest.raises(XgapError) as ei:
        load_examples("udpos", "de", "dev", data_dir=FIX, allow_hub=False)
    msg = str(ei.value)
    assert "\n" not in msg and "udpos" in msg and "'de'" in msg and "--data-dir" in msg


def test_conllu_malformed_line_names_file_and_line(tmp_path):
    f = tmp_path / "x-ud-test.conllu"
    f.write_text("# sent_id = 1\n1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n2\tB only\n\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_conllu([f])
    assert str(ei.value).startswith(f"{f}:3:")


def test_fingerprint_changes_with_content(tmp_path):
    import shutil

    shutil.copytree(FIX, tmp_path / "d")
    before = load_examples("udpos", "de", "test", data_dir=tmp_path / "d").fingerprint
    f = tmp_path / "d" / "udpos" / "UD_German-Beta" / "de_alpha-ud-test.conllu"
    f.write_text(f.read_text().replace("Haus", "Hof"), encoding="utf-8")
    assert load_examples("udpos", "de", "test", data_dir=tmp_path / "d").fingerprint != before


# ----------------------------------------------------------------------------- PAN-X
def test_panx_strips_language_prefix_up_to_first_colon():
    sents = readers.read_panx(FIX / "panx" / "test-de.tsv")
    assert [s.words for s in sents] == [("Angela", "Merkel", "besucht", "Berlin"),
                                        ("Siehe", "http://x.org", "Deutsche", "Bahn")]
    assert [s.tags for s in sents] == [("B-PER", "I-PER", "O", "B-LOC"), ("O", "O", "B-ORG", "I-ORG")]


def test_panx_via_loader():
    es = load_examples("panx", "de", data_dir=FIX)
    assert es.split == "test" and len(es) == 2
    assert isinstance(es.examples[0], TaggedSentence)
    assert es.examples[1].words[1] == "http://x.org"


def test_panx_malformed_line(tmp_path):
    f = tmp_path / "test-de.tsv"
    f.write_text("de:Berlin\tB-LOC\n\nBerlin\tB-LOC\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_panx(f)
    assert str(ei.value).startswith(f"{f}:3:")


# ----------------------------------------------------------------------------- SQuAD JSON
def test_squad_json_with_several_answers():
    qs = readers.read_squad_json(FIX / "xquad" / "xquad.de.json")
    assert [q.id for q in qs] == ["q1", "q2", "q3"]
    q1 = qs[0]
    assert isinstance(q1, QAExample) and q1.title == "Berlin"
    assert q1.answers == (Answer("Berlin", 0), Answer("Berlin ist die Hauptstadt", 0), Answer("Berlin", 0))
    assert qs[1].answers == (Answer("3,7 Millionen", 47),)
    for q in qs:
        for a in q.answers:
            assert q.context[a.start:a.start + len(a.text)] == a.text
    assert qs[2].title == "Rhein" and qs[2].context == "Der Rhein fließt durch Köln."


def test_squad_json_via_loader():
    es = load_examples("xquad", "de", data_dir=FIX)
    assert es.split == "test" and len(es) == 3 and es.format == "extractive-qa"


def test_squad_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_squad_json(bad)
    assert str(ei.value).startswith(f"{bad}:")
    nodata = tmp_path / "nodata.json"
    nodata.write_text(json.dumps({"version": "1.1"}), encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_squad_json(nodata)
    assert str(ei.value).startswith(f"{nodata}:") and "data" in str(ei.value)


# ----------------------------------------------------------------------------- PAWS-X
def test_pawsx_tsv_with_header():
    ex = readers.read_pawsx_tsv(FIX / "pawsx" / "de" / "test.tsv")
    assert ex == [
        TextExample("1", "Der Hund bellt.", "Der Hund bellt laut.", "0"),
        TextExample("2", "Er kam spät.", "Spät kam er.", "1"),
        TextExample("3", "A", "B", "1"),
    ]
    es = load_examples("pawsx", "de", data_dir=FIX)
    assert es.examples == ex


def test_pawsx_bad_header_and_short_row(tmp_path):
    f = tmp_path / "test.tsv"
    f.write_text("a\tb\tc\n1\tx\ty\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_pawsx_tsv(f)
    assert str(ei.value).startswith(f"{f}:1:")
    f.write_text("id\tsentence1\tsentence2\tlabel\n1\tx\ty\t0\n2\tonly one\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_pawsx_tsv(f)
    assert str(ei.value).startswith(f"{f}:3:")


def test_non_english_train_split_is_refused():
    with pytest.raises(XgapError) as ei:
        load_examples("pawsx", "de", "train", data_dir=FIX)
    msg = str(ei.value)
    assert "\n" not in msg and "pawsx" in msg and "'de'" in msg and "English" in msg


# ----------------------------------------------------------------------------- XNLI
def test_xnli_tsv_and_contradictory_alias_via_loader():
    es = load_examples("xnli", "de", data_dir=FIX)
    labels = [e.label for e in es.examples]
    assert labels == ["contradiction", "entailment", "neutral", "contradiction"]
    assert es.examples[0].text_a == "Der Mann schläft." and es.examples[0].text_b == "Der Mann ist wach."
    # the raw reader keeps the source spelling unless given the card's aliases
    raw = readers.read_xnli_tsv(FIX / "xnli" / "de" / "test.txt")
    assert raw[0].label == "contradictory"


def test_xnli_header_tolerated_and_bad_row(tmp_path):
    f = tmp_path / "test.txt"
    f.write_text("premise\thypothesis\tlabel\nA\tB\tneutral\n", encoding="utf-8")
    assert [e.label for e in readers.read_xnli_tsv(f)] == ["neutral"]
    f.write_text("A\tB\tneutral\nA\tB\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_xnli_tsv(f)
    assert str(ei.value).startswith(f"{f}:2:")


# ----------------------------------------------------------------------------- Tatoeba
def test_tatoeba_pairs_via_loader_by_code_and_iso3():
    for lang in ("de", "deu"):
        es = load_examples("tatoeba", lang, data_dir=FIX)
        assert es.lang == "de" and len(es) == 3
        assert isinstance(es.examples, Bitext)
        assert es.examples.source == ["Ich bin müde.", "Guten Morgen!", "Wo ist der Bahnhof?"]
        assert es.examples.target == ["I am tired.", "Good morning!", "Where is the station?"]


def test_tatoeba_line_count_mismatch(tmp_path):
    a, b = tmp_path / "tatoeba.deu-eng.deu", tmp_path / "tatoeba.deu-eng.eng"
    a.write_text("x\ny\n", encoding="utf-8")
    b.write_text("x\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_tatoeba(a, b)
    assert str(ei.value).startswith(str(a)) and "2" in str(ei.value) and "1" in str(ei.value)


def test_tatoeba_not_utf8(tmp_path):
    a, b = tmp_path / "tatoeba.deu-eng.deu", tmp_path / "tatoeba.deu-eng.eng"
    a.write_bytes(b"gr\xfc\xdfe\n")
    b.write_text("hello\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_tatoeba(a, b)
    assert str(ei.value).startswith(str(a))


# ----------------------------------------------------------------------------- BUCC
def test_bucc_files_and_gold_via_loader():
    es = load_examples("bucc2018", "de", data_dir=FIX)
    mc = es.examples
    assert isinstance(mc, MiningCorpus)
    assert mc.source == {"de-000000001": "Das ist ein Haus.", "de-000000002": "Der Himmel ist blau.",
                         "de-000000003": "Nichts passt hier."}
    assert len(mc.target) == 4 and mc.target["en-000000002"] == "That is a house."
    assert mc.gold == {("de-000000001", "en-000000002"), ("de-000000002", "en-000000001")}
    assert len(es) == 2
    assert [Path(p).name for p in es.origin[len("local:"):].split(",")] == ["de-en.test.de", "de-en.test.en", "de-en.test.gold"]


def test_bucc_malformed_lines(tmp_path):
    prefix = tmp_path / "de-en.test"
    Path(f"{prefix}.de").write_text("de-1\tHallo\nde-2 no tab\n", encoding="utf-8")
    Path(f"{prefix}.en").write_text("en-1\tHello\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_bucc(prefix, "de")
    assert str(ei.value).startswith(f"{prefix}.de:2:")
    Path(f"{prefix}.de").write_text("de-1\tHallo\n", encoding="utf-8")
    Path(f"{prefix}.gold").write_text("de-1\ten-1\nde-1 en-1\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_bucc(prefix, "de")
    assert str(ei.value).startswith(f"{prefix}.gold:2:")


# ----------------------------------------------------------------------------- CCG / GLUE
def test_ccg_tsv_and_malformed(tmp_path):
    f = tmp_path / "dev.tsv"
    f.write_text("The\tNP[nb]/N\ncat\tN\n\nRuns\tS\\NP\n", encoding="utf-8")
    sents = readers.read_ccg_tsv(f)
    assert [s.words for s in sents] == [("The", "cat"), ("Runs",)]
    assert sents[0].tags == ("NP[nb]/N", "N")
    f.write_text("The\tNP\ncat\n", encoding="utf-8")
    with pytest.raises(XgapError) as ei:
        readers.read_ccg_tsv(f)
    assert str(ei.value).startswith(f"{f}:2:")


def test_glue_tsv(tmp_path):
    f = tmp_path / "dev_matched.tsv"
    f.write_text('premise\thypothesis\tlabel\nA "quoted" one\tB\tneutral\nC\tD\tentailment\n', encoding="utf-8")
    ex = readers.read_glue_tsv(f, "premise", "hypothesis", "label")
    assert ex == [TextExample("0", 'A "quoted" one', "B", "neutral"), TextExample("1", "C", "D", "entailment")]
    with pytest.raises(XgapError) as ei:
        readers.read_glue_tsv(f, "sentence1", None, "label")
    assert str(ei.value).startswith(str(f)) and "sentence1" in str(ei.value)
