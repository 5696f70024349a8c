"""Hub sources offline: small ``datasets`` copies laid out like ``google/xtreme`` in an XGAP_HUB_MIRROR.

Each fixture dataset uses the same config name, split names, field names and feature types as the
real hub dataset, so the card's mapping (config template, split names, fields, filters, ClassLabel
ids -> label names, label aliases) is exercised end to end through ``load_examples``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Dataset, Features, Sequence, Value  # noqa: E402

from xgap.cards import load_card  # noqa: E402
from xgap.data import load_examples  # noqa: E402
from xgap.data.examples import Answer, Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample  # noqa: E402
from xgap.data.hub import rows_to_examples  # noqa: E402
from xgap.errors import XgapError  # noqa: E402

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
NLI_HUB = ["entailment", "neutral", "contradiction"]  # GLUE/ANLI/SNLI ClassLabel order (not the card's)

SQUAD_FEATURES = Features({
    "id": Value("string"), "title": Value("string"), "context": Value("string"), "question": Value("string"),
    "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")}),
})
BITEXT_FEATURES = Features({
    "source_sentence": Value("string"), "target_sentence": Value("string"),
    "source_lang": Value("string"), "target_lang": Value("string"),
})


def _save(mirror: Path, hub_id: str, config: str, split: str, rows: dict, features: Features) -> None:
    Dataset.from_dict(rows, features=features).save_to_disk(str(mirror / hub_id / config / split))


@pytest.fixture(autouse=True, scope="module")
def _quiet_datasets():
    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    yield
    if not was_disabled:
        datasets.enable_progress_bars()


@pytest.fixture()
def mirror(tmp_path, monkeypatch) -> Path:
    m = tmp_path / "mirror"
    m.mkdir()
    monkeypatch.setenv("XGAP_HUB_MIRROR", str(m))
    monkeypatch.delenv("XGAP_DATA_DIR", raising=False)
    return m


# ----------------------------------------------------------------------------- classification
def test_xnli_one_config_filtered_by_language_with_alias(mirror):
    rows = {
        "language": ["de", "fr", "fr", "en", "fr"],
        "sentence1": ["de p", "fr p1", "fr p2", "en p", "fr p3"],
        "sentence2": ["de h", "fr h1", "fr h2", "en h", "fr h3"],
        "gold_label": ["neutral", "contradiction", "entailment", "neutral", "contradictory"],
    }
    feats = Features({k: Value("string") for k in rows})
    _save(mirror, "google/xtreme", "XNLI", "test", rows, feats)
    _save(mirror, "google/xtreme", "XNLI", "validation", {k: v[:2] for k, v in rows.items()}, feats)
    es = load_examples("xnli", "fr", data_dir=None)
    assert es.split == "test"
    assert [(e.text_a, e.text_b, e.label) for e in es.examples] == [
        ("fr p1", "fr h1", "contradiction"), ("fr p2", "fr h2", "entailment"), ("fr p3", "fr h3", "contradiction"),
    ]
    assert es.origin.startswith("hub:google/xtreme/XNLI@") and es.origin.endswith("[test]")
    assert es.fingerprint.startswith("hub:")
    dev = load_examples("xnli", "fr", "dev", data_dir=None)  # dev -> hub split "validation"
    assert [e.text_a for e in dev.examples] == ["fr p1"]
    assert set(e.label for e in es.examples) <= set(load_card("xnli").labels)


def test_pawsx_string_labels(mirror):
    rows = {"id": [1, 2, 3], "sentence1": ["a", "b", "c"], "sentence2": ["A", "B", "C"], "label": ["0", "1", "1"]}
    feats = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"),
                      "label": Value("string")})
    _save(mirror, "google/xtreme", "PAWS-X.de", "test", rows, feats)
    es = load_examples("pawsx", "de", data_dir=None)
    assert es.examples == [TextExample("1", "a", "A", "0"), TextExample("2", "b", "B", "1"), TextExample("3", "c", "C", "1")]


def test_pawsx_english_train_allowed_non_english_refused(mirror):
    rows = {"id": [1], "sentence1": ["a"], "sentence2": ["b"], "label": ["1"]}
    feats = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"),
                      "label": Value("string")})
    _save(mirror, "google/xtreme", "PAWS-X.en", "train", rows, feats)
    _save(mirror, "google/xtreme", "PAWS-X.de", "train", rows, feats)  # machine-translated: must never be used
    assert len(load_examples("pawsx", "en", "train", data_dir=None)) == 1
    for task, lang in (("pawsx", "de"), ("xnli", "fr"), ("udpos", "de"), ("panx", "ja"), ("tydiqa", "ar")):
        with pytest.raises(XgapError) as ei:
            load_examples(task, lang, "train", data_dir=None)
        msg = str(ei.value)
        assert "\n" not in msg and f"'{task}'" in msg and f"'{lang}'" in msg and "English" in msg


def test_mnli_class_ids_use_the_hub_names_not_the_card_order(mirror):
    feats = Features({"premise": Value("string"), "hypothesis": Value("string"),
                      "label": ClassLabel(names=NLI_HUB), "idx": Value("int32")})
    rows = {"premise": ["p0", "p1", "p2"], "hypothesis": ["h0", "h1", "h2"], "label": [0, 1, 2], "idx": [0, 1, 2]}
    _save(mirror, "nyu-mll/glue", "mnli", "validation_matched", rows, feats)
    _save(mirror, "nyu-mll/glue", "mnli", "train", rows, feats)
    dev = load_examples("mnli", "en", data_dir=None)
    assert dev.split == "dev"
    assert [e.label for e in dev.examples] == ["entailment", "neutral", "contradiction"]
    # XNLI's English training data is MNLI train (SPEC §3)
    train = load_examples("xnli", "en", "train", data_dir=None)
    assert train.task == "mnli" and [e.text_a for e in train.examples] == ["p0", "p1", "p2"]
    assert [e.label for e in train.examples] == ["entailment", "neutral", "contradiction"]


def test_anli_plus_train_concatenates_anli_mnli_snli_and_drops_minus_one(mirror):
    """SPEC §4: ANLI+ = facebook/anli train_r1+r2+r3 + GLUE mnli + SNLI (label -1 dropped), one head."""
    anli_f = Features({"uid": Value("string"), "premise": Value("string"), "hypothesis": Value("string"),
                       "label": ClassLabel(names=NLI_HUB), "reason": Value("string")})
    for r in (1, 2, 3):
        _save(mirror, "facebook/anli", "default", f"train_r{r}",
              {"uid": [f"r{r}"], "premise": [f"anli{r}"], "hypothesis": ["h"], "label": [2], "reason": [""]}, anli_f)
    glue_f = Features({"premise": Value("string"), "hypothesis": Value("string"),
                       "label": ClassLabel(names=NLI_HUB), "idx": Value("int32")})
    _save(mirror, "nyu-mll/glue", "mnli", "train",
          {"premise": ["mnli"], "hypothesis": ["h"], "label": [0], "idx": [0]}, glue_f)
    snli_f = Features({"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=NLI_HUB)})
    _save(mirror, "stanfordnlp/snli", "default", "train",
          {"premise": ["snli-a", "snli-b"], "hypothesis": ["h", "h"], "label": [1, -1]}, snli_f)
    es = load_examples("anli_plus", "en", "train", data_dir=None)
    got = sorted((e.text_a, e.label) for e in es.examples)
    assert got == [("anli1", "contradiction"), ("anli2", "contradiction"), ("anli3", "contradiction"),
                   ("mnli", "entailment"), ("snli-a", "neutral")]


# ----------------------------------------------------------------------------- tagging
def test_udpos_classlabel_ids_to_upos_names(mirror):
    feats = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=UPOS))})
    rows = {"tokens": [["Ich", "gehe", "zu", "dem", "Markt", "."], ["Ja"]],
            "pos_tags": [[UPOS.index(t) for t in ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]], [UPOS.index("INTJ")]]}
    _save(mirror, "google/xtreme", "udpos.German", "test", rows, feats)
    es = load_examples("udpos", "de", data_dir=None)  # config udpos.{source} -> udpos.German
    assert es.origin.startswith("hub:google/xtreme/udpos.German@")
    assert [s.words for s in es.examples] == [("Ich", "gehe", "zu", "dem", "Markt", "."), ("Ja",)]
    assert [s.tags for s in es.examples] == [("PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"), ("INTJ",)]
    assert all(isinstance(s, TaggedSentence) for s in es.examples)


def test_udpos_last_class_id(mirror):
    feats = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=UPOS))})
    _save(mirror, "google/xtreme", "udpos.English", "validation",
          {"tokens": [["a", "b", "c"]], "pos_tags": [[0, 16, 15]]}, feats)
    (s,) = load_examples("udpos", "en", "dev", data_dir=None).examples
    assert s.tags == ("ADJ", "X", "VERB")


def test_panx_ner_ids_to_iob2_names(mirror):
    feats = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NER)),
                      "langs": Sequence(Value("string"))})
    rows = {"tokens": [["Angela", "Merkel", "in", "Berlin"], ["Deutsche", "Bahn"]],
            "ner_tags": [[1, 2, 0, 5], [3, 4]],
            "langs": [["de"] * 4, ["de"] * 2]}
    _save(mirror, "google/xtreme", "PAN-X.de", "test", rows, feats)
    es = load_examples("panx", "de", data_dir=None)
    assert [s.tags for s in es.examples] == [("B-PER", "I-PER", "O", "B-LOC"), ("B-ORG", "I-ORG")]
    assert es.examples[0].words == ("Angela", "Merkel", "in", "Berlin")


# ----------------------------------------------------------------------------- QA
def _squad_rows(ids, ctx="Berlin ist die Hauptstadt."):
    return {"id": ids, "title": ["T"] * len(ids), "context": [ctx] * len(ids), "question": ["Was?"] * len(ids),
            "answers": [{"text": ["Berlin", "Berlin ist"], "answer_start": [0, 0]}] * len(ids)}


def test_xquad_validation_split_is_the_test_set(mirror):
    _save(mirror, "google/xtreme", "XQuAD.de", "validation", _squad_rows(["q1", "q2"]), SQUAD_FEATURES)
    es = load_examples("xquad", "de", data_dir=None)
    assert es.split == "test" and es.origin.endswith("[validation]")
    q = es.examples[0]
    assert isinstance(q, QAExample)
    assert q.id == "q1" and q.context == "Berlin ist die Hauptstadt." and q.question == "Was?" and q.title == "T"
    assert q.answers == (Answer("Berlin", 0), Answer("Berlin ist", 0))


def test_mlqa_config_lang_lang(mirror):
    _save(mirror, "google/xtreme", "MLQA.de.de", "test", _squad_rows(["m1"]), SQUAD_FEATURES)
    es = load_examples("mlqa", "de", data_dir=None)
    assert [q.id for q in es.examples] == ["m1"]


def test_tydiqa_filtered_by_id_prefix(mirror):
    ids = ["arabic-2387335860751143628-1", "english-11-0", "arabic-99-3", "bengali-5-0", "english-12-1"]
    _save(mirror, "google/xtreme", "tydiqa", "validation", _squad_rows(ids), SQUAD_FEATURES)
    ar = load_examples("tydiqa", "ar", data_dir=None)
    assert [q.id for q in ar.examples] == ["arabic-2387335860751143628-1", "arabic-99-3"]
    en = load_examples("tydiqa", "en", data_dir=None)
    assert [q.id for q in en.examples] == ["english-11-0", "english-12-1"]
    assert ar.split == "dev"


# ----------------------------------------------------------------------------- retrieval
def test_tatoeba_iso3_config(mirror):
    rows = {"source_sentence": ["Ich bin müde.", "Hallo"], "target_sentence": ["I am tired.", "Hello"],
            "source_lang": ["deu", "deu"], "target_lang": ["eng", "eng"]}
    _save(mirror, "google/xtreme", "tatoeba.deu", "validation", rows, BITEXT_FEATURES)
    es = load_examples("tatoeba", "de", data_dir=None)
    assert isinstance(es.examples, Bitext)
    assert es.examples.source == ["Ich bin müde.", "Hallo"] and es.examples.target == ["I am tired.", "Hello"]
    assert es.origin.startswith("hub:google/xtreme/tatoeba.deu@")


def test_bucc_hub_gold_pairs(mirror):
    rows = {"source_sentence": ["Hallo", "Welt"], "target_sentence": ["Hello", "World"],
            "source_lang": ["de", "de"], "target_lang": ["en", "en"]}
    _save(mirror, "google/xtreme", "bucc18.de", "test", rows, BITEXT_FEATURES)
    es = load_examples("bucc2018", "de", data_dir=None)
    mc = es.examples
    assert isinstance(mc, MiningCorpus) and len(es) == 2
    assert sorted(mc.source.values()) == ["Hallo", "Welt"]
    for s, t in mc.gold:
        assert (mc.source[s], mc.target[t]) in {("Hallo", "Hello"), ("Welt", "World")}


# ----------------------------------------------------------------------------- rows_to_examples directly
def test_rows_to_examples_without_classlabel_uses_card_label_order():
    card = load_card("xnli")
    ds = Dataset.from_dict({"language": ["de"], "sentence1": ["a"], "sentence2": ["b"], "gold_label": [0]})
    (ex,) = rows_to_examples(card, ds, "de", "de", "test")
    assert ex.label == "contradiction"


# ----------------------------------------------------------------------------- failures
def test_mirror_without_the_config_is_a_one_line_error(mirror):
    with pytest.raises(XgapError) as ei:
        load_examples("pawsx", "fr", data_dir=None)
    msg = str(ei.value)
    assert "\n" not in msg and "pawsx" in msg and "'fr'" in msg and "PAWS-X.fr" in msg and "XGAP_HUB_MIRROR" in msg


def test_no_local_data_no_mirror_offline_fails_fast_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    monkeypatch.delenv("XGAP_DATA_DIR", raising=False)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    t0 = time.monotonic()
    with pytest.raises(XgapError) as ei:
        load_examples("xnli", "fr", data_dir=empty)
    elapsed = time.monotonic() - t0
    msg = str(ei.value)
    assert "\n" not in msg
    assert "'xnli'" in msg and "'fr'" in msg
    assert "google/xtreme" in msg and "XNLI" in msg
    assert "--data-dir" in msg
    assert "Traceback" not in msg
    assert elapsed < 60, f"offline hub failure took {elapsed:.1f}s"


def test_no_data_and_hub_disallowed(tmp_path, monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    with pytest.raises(XgapError) as ei:
        load_examples("udpos", "de", data_dir=tmp_path, allow_hub=False)
    msg = str(ei.value)
    assert "\n" not in msg and "'udpos'" in msg and "'de'" in msg and "--data-dir" in msg
    assert "udpos/UD_German-*" in msg  # says where it looked


def test_local_data_wins_over_hub(tmp_path, mirror):
    d = tmp_path / "data" / "pawsx" / "de"
    d.mkdir(parents=True)
    (d / "test.tsv").write_text("id\tsentence1\tsentence2\tlabel\n7\tlocal\tL\t1\n", encoding="utf-8")
    rows = {"id": [1], "sentence1": ["hub"], "sentence2": ["H"], "label": ["0"]}
    feats = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"),
                      "label": Value("string")})
    _save(mirror, "google/xtreme", "PAWS-X.de", "test", rows, feats)
    assert [e.text_a for e in load_examples("pawsx", "de", data_dir=tmp_path / "data").examples] == ["local"]
    # no local file for fr -> falls back to the hub (mirror)
    _save(mirror, "google/xtreme", "PAWS-X.fr", "test", rows, feats)
    assert [e.text_a for e in load_examples("pawsx", "fr", data_dir=tmp_path / "data").examples] == ["hub"]


# ----------------------------------------------------------------------------- intermediate multiple choice (SPEC §4)
def test_hellaswag_prompt_ctx_a_and_choices_ctx_b_plus_ending(mirror):
    feats = Features({"ind": Value("int32"), "activity_label": Value("string"), "ctx_a": Value("string"),
                      "ctx_b": Value("string"), "ctx": Value("string"), "endings": Sequence(Value("string")),
                      "source_id": Value("string"), "split": Value("string"), "split_type": Value("string"),
                      "label": Value("string")})
    rows = {"ind": [4, 5], "activity_label": ["x", "y"], "ctx_a": ["A man sits.", "She runs."], "ctx_b": ["he", "then"],
            "ctx": ["A man sits. he", "She runs. then"], "endings": [["e0", "e1", "e2", "e3"], ["f0", "f1", "f2", "f3"]],
            "source_id": ["s", "s"], "split": ["val", "val"], "split_type": ["indomain", "indomain"], "label": ["2", ""]}
    _save(mirror, "Rowan/hellaswag", "default", "validation", rows, feats)
    ex = load_examples("hellaswag", "en", data_dir=None).examples
    assert ex[0].prompt == "A man sits."
    assert ex[0].choices == ("he e0", "he e1", "he e2", "he e3")
    assert ex[0].label == 2
    assert ex[1].label is None  # unlabelled rows (HellaSwag test) have label ""


def test_cosmosqa_prompt_context_plus_question(mirror):
    feats = Features({"id": Value("string"), "context": Value("string"), "question": Value("string"),
                      **{f"answer{i}": Value("string") for i in range(4)}, "label": Value("int32")})
    rows = {"id": ["c1"], "context": ["It rained."], "question": ["Why wet?"],
            "answer0": ["a"], "answer1": ["b"], "answer2": ["c"], "answer3": ["d"], "label": [3]}
    _save(mirror, "allenai/cosmos_qa", "default", "validation", rows, feats)
    (ex,) = load_examples("cosmosqa", "en", data_dir=None).examples
    assert ex.id == "c1" and ex.prompt == "It rained. Why wet?" and ex.choices == ("a", "b", "c", "d") and ex.label == 3


def test_commonsenseqa_answer_key_letters(mirror):
    feats = Features({"id": Value("string"), "question": Value("string"), "question_concept": Value("string"),
                      "choices": Sequence({"label": Value("string"), "text": Value("string")}),
                      "answerKey": Value("string")})
    rows = {"id": ["q1", "q2"], "question": ["Where?", "What?"], "question_concept": ["x", "y"],
            "choices": [{"label": list("ABCDE"), "text": ["t0", "t1", "t2", "t3", "t4"]}] * 2,
            "answerKey": ["D", ""]}
    _save(mirror, "tau/commonsense_qa", "default", "validation", rows, feats)
    ex = load_examples("commonsenseqa", "en", data_dir=None).examples
    assert ex[0].choices == ("t0", "t1", "t2", "t3", "t4") and ex[0].label == 3 and ex[0].prompt == "Where?"
    assert ex[1].label is None
    assert len(ex[0].choices) == load_card("commonsenseqa").data["num_choices"]


def test_squad_train_is_the_english_training_set_of_xquad(mirror):
    _save(mirror, "rajpurkar/squad", "default", "train", _squad_rows(["s1", "s2"]), SQUAD_FEATURES)
    es = load_examples("xquad", "en", "train", data_dir=None)
    assert es.task == "squad" and [q.id for q in es.examples] == ["s1", "s2"]
