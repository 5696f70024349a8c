"""Hub sources offline: an XGAP_HUB_MIRROR built from the hub datasets' own definitions.

``tests/fixtures/hub/definitions.json`` holds, for every hub dataset and config the cards use, the
features (field names, types, ClassLabel orders) and the split names with their row counts from
the datasets' ``dataset_infos.json`` (staged in shared/reference/hub-datasets; rebuilt by
``build_definitions.py`` and compared with the staged files below when they are present). Every
dataset saved into the mirror is typed with those features and may only use real config and split
names, so each card's hub mapping (config template, split names, fields, filters, labels by name,
sizes) is exercised as the real hub copy would be -- including each known defect of those copies.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")
from datasets import Dataset, Features  # noqa: E402

from xgap.cards import list_cards, load_card  # noqa: E402
from xgap.data import load_examples  # noqa: E402
from xgap.data.examples import Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample  # noqa: E402
from xgap.data.hub import accepting, align_answer, deviation, expected_size, fill, rows_to_examples  # noqa: E402
from xgap.errors import XgapError  # noqa: E402

HUB = Path(__file__).parent / "fixtures" / "hub"
DEFS = json.loads((HUB / "definitions.json").read_text(encoding="utf-8"))
STAGED = Path("/work/shared/reference/hub-datasets")
UPOS = DEFS["google/xtreme"]["udpos.German"]["features"]["pos_tags"]["feature"]["names"]


def features(hub_id: str, config: str) -> Features:
    return Features.from_dict(DEFS[hub_id][config]["features"])


class OfflineHub:
    """A mirror folder whose datasets have the real config names, split names and feature types."""

    def __init__(self, root: Path):
        self.root = root

    def save(self, hub_id: str, config: str, split: str, rows: dict, mirror_config: str | None = None) -> None:
        assert config in DEFS[hub_id], f"{hub_id} has no config {config}"
        assert split in DEFS[hub_id][config]["splits"], f"{hub_id}/{config} has no split {split}"
        ds = Dataset.from_dict(rows, features=features(hub_id, config))
        ds.save_to_disk(str(self.root / hub_id / (mirror_config or config) / split))


@pytest.fixture(autouse=True, scope="module")
def _quiet_datasets():
    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    yield
    if not was_disabled:
        datasets.enable_progress_bars()


@pytest.fixture()
def hub(tmp_path, monkeypatch) -> OfflineHub:
    m = tmp_path / "mirror"
    m.mkdir()
    monkeypatch.setenv("XGAP_HUB_MIRROR", str(m))
    monkeypatch.delenv("XGAP_DATA_DIR", raising=False)
    monkeypatch.delenv("XGAP_ACCEPT", raising=False)
    return OfflineHub(m)


@pytest.fixture()
def few(hub):
    """The mirror, with size mismatches accepted: for mapping tests that use a few rows, not the full split."""
    with accepting(size_mismatch=True):
        yield hub


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# ----------------------------------------------------------------------------- definitions
def test_definitions_equal_the_staged_dataset_infos():
    if not STAGED.is_dir():
        pytest.skip("staged hub dataset definitions not present")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_definitions", HUB / "build_definitions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.definitions(STAGED) == DEFS
    for rel in mod.DUMMY:
        assert (HUB / "dummy" / Path(rel).name).read_bytes() == (STAGED / "dummy" / rel).read_bytes()


def _hub_cards():
    return [c for c in list_cards() if "hub" in c.sources]


def _card_splits(card):
    """(lang, source, split) the card promises, by its per-split language lists (targets train English only)."""
    for split, spec in card.data["splits"].items():
        langs = spec.get("languages", "all")
        for code in card.languages:
            if langs != "all" and code not in langs:
                continue
            if split == "train" and (card.kind == "target" and code != card.english or "train" in card.sources):
                continue
            yield code, card.resolve_language(code)[1], split


@pytest.mark.parametrize("card", _hub_cards(), ids=lambda c: c.name)
def test_card_hub_block_matches_the_dataset_definitions(card):
    """Config per language, split names, fields, label names and declared sizes, against the real definitions."""
    hub = card.sources["hub"]
    defs = DEFS[hub["id"]]
    fields = hub.get("fields", {})
    for code, source, split in _card_splits(card):
        config = fill(hub["config"], code, source) if hub.get("config") else next(iter(defs))
        assert config in defs, f"{card.name} {code}: no config {config} in {hub['id']}"
        names = hub["splits"][split]
        names = [names] if isinstance(names, str) else names
        for n in names:
            assert n in defs[config]["splits"], f"{card.name} {code} {split}: {hub['id']}/{config} has no split {n}"
        feats = defs[config]["features"]
        for f in fields.values():
            assert f.split(".")[0] in feats, f"{card.name}: field {f} not in {hub['id']}/{config}"
        label_col = fields.get("label") or fields.get("tags")
        if card.labels and label_col:
            ft = feats[label_col].get("feature", feats[label_col])
            if "names" in ft:
                assert {card.label_aliases.get(x, x) for x in ft["names"]} <= set(card.labels)
        want = expected_size(card, code, split)
        rows = sum(defs[config]["splits"][n] for n in names)
        if want is not None and not hub.get("filter") and not hub.get("parts") and deviation(card, code, split) is None:
            assert want == rows, f"{card.name} {code} {split}: card says {want}, {hub['id']}/{config} has {rows}"


def test_filtered_configs_sizes_add_up_to_the_config_rows():
    xnli, tydiqa = load_card("xnli"), load_card("tydiqa")
    for split, hub_split in (("dev", "validation"), ("test", "test")):
        assert sum(expected_size(xnli, c, split) for c in xnli.languages) == DEFS["google/xtreme"]["XNLI"]["splits"][hub_split]
    assert sum(expected_size(tydiqa, c, "dev") for c in tydiqa.languages) == DEFS["google/xtreme"]["tydiqa"]["splits"]["validation"]
    anli = load_card("anli_plus")
    a = DEFS["facebook/anli"]["plain_text"]["splits"]
    assert expected_size(anli, "en", "dev") == a["dev_r1"] + a["dev_r2"] + a["dev_r3"]
    snli_without_gold = 785  # SNLI train rows whose gold label is "-" (label -1, dropped as X-STILTs does)
    assert expected_size(anli, "en", "train") == (a["train_r1"] + a["train_r2"] + a["train_r3"]
                                                   + DEFS["nyu-mll/glue"]["mnli"]["splits"]["train"]
                                                   + DEFS["stanfordnlp/snli"]["plain_text"]["splits"]["train"] - snli_without_gold)


def test_every_hub_revision_is_a_commit_or_the_parquet_branch():
    for card in _hub_cards():
        hub = card.sources["hub"]
        for rev in [hub["revision"]] + [p["revision"] for p in hub.get("parts", [])]:
            assert len(rev) == 40 and int(rev, 16) >= 0 or rev == "refs/convert/parquet", (card.name, rev)


# ----------------------------------------------------------------------------- labels by name
def _xnli_rows(name: str) -> dict:
    """The XNLI dummy rows as the loading script read them (csv.DictReader over the TSV)."""
    text = (HUB / "dummy" / name).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    return {k: [r[k] for r in rows] for k in ("language", "sentence1", "sentence2", "gold_label")}


def test_xnli_real_dummy_rows_labels_by_name(few):
    few.save("google/xtreme", "XNLI", "test", _xnli_rows("xnli.test.tsv"))
    few.save("google/xtreme", "XNLI", "validation", _xnli_rows("xnli.dev.tsv"))
    test = load_examples("xnli", "ar", data_dir=None)
    assert [e.label for e in test.examples] == ["contradiction", "entailment"]
    assert test.origin.startswith("hub:google/xtreme/XNLI@") and "[test]" in test.origin
    dev = load_examples("xnli", "ar", "dev", data_dir=None)
    assert [e.label for e in dev.examples] == ["neutral", "contradiction"]
    assert dev.examples[0].text_a == "وقال، ماما، لقد عدت للمنزل."


def test_nli_class_ids_map_by_classlabel_name_not_card_order(few):
    """GLUE/ANLI/SNLI encode (entailment, neutral, contradiction); the card lists (contradiction, entailment, neutral)."""
    assert load_card("mnli").labels == ["contradiction", "entailment", "neutral"]
    rows = {"premise": ["p0", "p1", "p2"], "hypothesis": ["h0", "h1", "h2"], "label": [0, 1, 2], "idx": [0, 1, 2]}
    few.save("nyu-mll/glue", "mnli", "validation_matched", rows)
    few.save("nyu-mll/glue", "mnli", "train", rows)
    dev = load_examples("mnli", "en", data_dir=None)
    assert [e.label for e in dev.examples] == ["entailment", "neutral", "contradiction"]
    train = load_examples("xnli", "en", "train", data_dir=None)  # XNLI's English training data is MNLI
    assert train.task == "mnli" and [e.label for e in train.examples] == ["entailment", "neutral", "contradiction"]


def test_anli_plus_joins_anli_mnli_snli_each_by_its_own_names_and_drops_minus_one(few):
    for r in (1, 2, 3):
        few.save("facebook/anli", "plain_text", f"train_r{r}",
                 {"uid": [f"r{r}"], "premise": [f"anli{r}"], "hypothesis": ["h"], "label": [2], "reason": [""]})
    few.save("nyu-mll/glue", "mnli", "train", {"premise": ["mnli"], "hypothesis": ["h"], "label": [0], "idx": [0]})
    few.save("stanfordnlp/snli", "plain_text", "train", {"premise": ["snli-a", "snli-b"], "hypothesis": ["h", "h"], "label": [1, -1]})
    es = load_examples("anli_plus", "en", "train", data_dir=None)
    assert sorted((e.text_a, e.label) for e in es.examples) == [
        ("anli1", "contradiction"), ("anli2", "contradiction"), ("anli3", "contradiction"),
        ("mnli", "entailment"), ("snli-a", "neutral")]


def test_integer_labels_without_classlabel_names_are_an_error_not_a_position():
    card = load_card("xnli")
    ds = Dataset.from_dict({"language": ["de"], "sentence1": ["a"], "sentence2": ["b"], "gold_label": [0]})
    with pytest.raises(XgapError) as ei:
        rows_to_examples(card, ds, "de", "de", "test")
    msg = one_line(ei)
    assert "gold_label" in msg and "ClassLabel" in msg and "label_ids" in msg


def test_declared_label_ids_map_ids_by_those_names(monkeypatch):
    card = load_card("mnli")
    hub = dict(card.sources["hub"], label_ids=["entailment", "neutral", "contradiction"])
    monkeypatch.setitem(card.data["sources"], "hub", hub)
    ds = Dataset.from_dict({"premise": ["a", "b"], "hypothesis": ["c", "d"], "label": [2, 0]})  # plain ints
    assert [e.label for e in rows_to_examples(card, ds, "en", "en", "dev")] == ["contradiction", "entailment"]


def test_a_hub_label_name_outside_the_card_is_an_error():
    card = load_card("xnli")
    ds = Dataset.from_dict({"language": ["de"], "sentence1": ["a"], "sentence2": ["b"], "gold_label": ["maybe"]})
    with pytest.raises(XgapError) as ei:
        rows_to_examples(card, ds, "de", "de", "test")
    assert "'maybe'" in one_line(ei) and "label_aliases" in str(ei.value)


def test_pawsx_from_the_standalone_dataset_classlabel_0_1(few):
    card = load_card("pawsx")
    assert card.sources["hub"]["id"] == "google-research-datasets/paws-x"
    # google/xtreme's PAWS-X reader dropped rows; the standalone dataset has the card's sizes
    assert DEFS["google/xtreme"]["PAWS-X.en"]["splits"]["train"] == 49175
    assert DEFS["google-research-datasets/paws-x"]["en"]["splits"]["train"] == expected_size(card, "en", "train") == 49401
    few.save("google-research-datasets/paws-x", "de", "test",
             {"id": [1, 2, 3], "sentence1": ["a", "b", "c"], "sentence2": ["A", "B", "C"], "label": [0, 1, 1]})
    es = load_examples("pawsx", "de", data_dir=None)
    assert es.examples == [TextExample("1", "a", "A", "0"), TextExample("2", "b", "B", "1"), TextExample("3", "c", "C", "1")]
    assert es.origin.startswith("hub:google-research-datasets/paws-x/de@refs/convert/parquet")


def test_non_english_training_data_is_refused(few):
    for task, lang in (("pawsx", "de"), ("xnli", "fr"), ("udpos", "de"), ("panx", "ja"), ("tydiqa", "ar")):
        with pytest.raises(XgapError) as ei:
            load_examples(task, lang, "train", data_dir=None)
        msg = one_line(ei)
        assert f"'{task}'" in msg and f"'{lang}'" in msg and "English" in msg


# ----------------------------------------------------------------------------- tagging
def test_udpos_classlabel_ids_to_upos_names(few):
    tags = ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    few.save("google/xtreme", "udpos.German", "validation",
             {"tokens": [["Ich", "gehe", "zu", "dem", "Markt", "."], ["Ja"]], "pos_tags": [[UPOS.index(t) for t in tags], [UPOS.index("INTJ")]]})
    es = load_examples("udpos", "de", "dev", data_dir=None)
    assert es.origin.startswith("hub:google/xtreme/udpos.German@")
    assert [s.tags for s in es.examples] == [tuple(tags), ("INTJ",)]
    assert all(isinstance(s, TaggedSentence) for s in es.examples)


def test_udpos_split_missing_for_a_language_is_a_clear_error(hub):
    card = load_card("udpos")
    have_dev = {c for c in card.languages if "validation" in DEFS["google/xtreme"][f"udpos.{card.source_name(c)}"]["splits"]}
    assert set(card.data["splits"]["dev"]["languages"]) == have_dev  # no language left out that has a dev split
    for lang in ("kk", "tl", "th", "yo"):
        assert "validation" not in DEFS["google/xtreme"][f"udpos.{load_card('udpos').source_name(lang)}"]["splits"]
        with pytest.raises(XgapError) as ei:
            load_examples("udpos", lang, "dev", data_dir=None)
        msg = one_line(ei)
        assert "no 'dev' split" in msg and f"'{lang}'" in msg and "'udpos'" in msg


def test_udpos_greek_refused_with_what_to_use_instead(hub):
    hub.save("google/xtreme", "udpos.Greek", "test", {"tokens": [["α"]], "pos_tags": [[0]]})
    with pytest.raises(XgapError) as ei:
        load_examples("udpos", "el", data_dir=None)
    msg = one_line(ei)
    assert "Ancient_Greek" in msg and "UD_Greek-GDT" in msg and "--data-dir" in msg and "--accept-non-comparable-hub" in msg
    with pytest.raises(XgapError) as ei:  # German: only the test split holds another treebank
        load_examples("udpos", "de", "test", data_dir=None)
    assert "Swiss_German" in one_line(ei)


def test_udpos_greek_accepted_only_with_the_flag_and_marked(hub):
    hub.save("google/xtreme", "udpos.Greek", "test", {"tokens": [["α", "β"]], "pos_tags": [[0, 7]]})
    with accepting(non_comparable=True, size_mismatch=True):
        es = load_examples("udpos", "el", data_dir=None)
    assert es.examples[0].tags == ("ADJ", "NOUN")
    assert any("non-comparable" in c and "Ancient_Greek" in c for c in es.caveats)
    assert "[NON-COMPARABLE: non-comparable hub data" in es.origin  # carried by every copy of the origin
    assert any("expected 456" in c for c in es.caveats)


def test_udpos_substring_captures_are_all_declared():
    """Every udpos language whose hub config sweeps in another UD v2.5 language's treebanks is a deviation."""
    card = load_card("udpos")
    declared = {(tuple(d.get("languages")), tuple(d.get("splits", ["all"]))) for d in card.sources["hub"]["deviations"]}
    assert declared == {(("el",), ("all",)), (("fr",), ("all",)), (("zh",), ("all",)), (("ru",), ("all",)), (("de",), ("test",))}
    # German train/dev are exactly GSD + HDT; only test has 100 more (Swiss German UZH) than the card's count
    assert DEFS["google/xtreme"]["udpos.German"]["splits"]["test"] - expected_size(card, "de", "test") == 100
    g = DEFS["google/xtreme"]["udpos.Greek"]["splits"]
    assert sum(g.values()) == 33520 and expected_size(card, "el", "dev") + expected_size(card, "el", "test") + 1662 == 2521


def test_panx_ner_ids_to_iob2_names(few):
    few.save("google/xtreme", "PAN-X.de", "test", {"tokens": [["Angela", "Merkel", "in", "Berlin"], ["Deutsche", "Bahn"]],
                                                   "ner_tags": [[1, 2, 0, 5], [3, 4]], "langs": [["de"] * 4, ["de"] * 2]})
    es = load_examples("panx", "de", data_dir=None)
    assert [s.tags for s in es.examples] == [("B-PER", "I-PER", "O", "B-LOC"), ("B-ORG", "I-ORG")]


# ----------------------------------------------------------------------------- QA spans
def _script_rows(name: str) -> dict:
    """google/xtreme's tydiqa/MLQA/XQuAD conversion: context, question and answers stripped, answer_start kept."""
    doc = json.loads((HUB / "dummy" / name).read_text(encoding="utf-8"))
    cols = {k: [] for k in ("id", "title", "context", "question", "answers")}
    for art in doc["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                cols["id"].append(qa["id"])
                cols["title"].append(art.get("title", "").strip())
                cols["context"].append(para["context"].strip())
                cols["question"].append(qa["question"].strip())
                cols["answers"].append({"answer_start": [a["answer_start"] for a in qa["answers"]],
                                        "text": [a["text"].strip() for a in qa["answers"]]})
    return cols


def _spans_ok(examples) -> bool:
    return all(q.context[a.start:a.start + len(a.text)] == a.text for q in examples for a in q.answers)


def test_tydiqa_training_spans_realigned_after_the_scripts_strip():
    rows = _script_rows("tydiqa-goldp-v1.1-train.json")
    ds = Dataset.from_dict(rows, features=features("google/xtreme", "tydiqa"))
    altruismi = rows["id"].index("finnish-8742325368463988542-0")
    ctx, start = rows["context"][altruismi], rows["answers"][altruismi]["answer_start"][0]
    assert ctx[start:].startswith("itsekästä")  # the shifted span the hub copy holds
    notes = []
    ex = rows_to_examples(load_card("tydiqa"), ds, "fi", "finnish", "train", notes)
    assert _spans_ok(ex)
    q = next(q for q in ex if q.id == "finnish-8742325368463988542-0")
    assert q.context[q.answers[0].start:].startswith("epäitsekästä") and q.answers[0].start == start - 3
    assert notes == ["1 answer span(s) re-aligned to the answer text (hub contexts are stripped)"]


def test_tydiqa_dev_by_id_prefix_with_verified_spans(few):
    few.save("google/xtreme", "tydiqa", "validation", _script_rows("tydiqa-goldp-v1.1-dev.json"))
    ar = load_examples("tydiqa", "ar", data_dir=None)
    assert [q.id for q in ar.examples] == ["arabic-2387335860751143628-1"] and ar.split == "dev"
    assert _spans_ok(ar.examples)
    assert load_examples("tydiqa", "en", data_dir=None).examples == []


def test_xquad_hub_span_realigned_and_validation_is_the_test_set(few):
    original = "  Berlin ist die Hauptstadt. Berlin liegt an der Spree."
    few.save("google/xtreme", "XQuAD.de", "validation",
             {"id": ["q1"], "context": [original.strip()], "question": ["Wo?"],
              "answers": [{"answer_start": [original.index("Spree")], "text": ["Spree"]}]})
    es = load_examples("xquad", "de", data_dir=None)
    assert es.split == "test" and "[validation]" in es.origin and "re-aligned" in es.origin
    (q,) = es.examples
    assert isinstance(q, QAExample) and q.answers[0].start == original.strip().index("Spree") and _spans_ok(es.examples)


def test_align_answer_prefers_the_nearest_occurrence():
    ctx = "Berlin und Berlin und Berlin"
    assert align_answer(ctx, "Berlin", 11) == 11
    assert align_answer(ctx, "Berlin", 13) == 11
    assert align_answer(ctx, "Paris", 0) is None


def test_mlqa_and_squad(few):
    squad = {"id": ["s1"], "title": ["T"], "context": ["Berlin ist die Hauptstadt."], "question": ["Was?"],
             "answers": [{"text": ["Berlin"], "answer_start": [0]}]}
    few.save("google/xtreme", "MLQA.de.de", "test", squad)
    assert [q.id for q in load_examples("mlqa", "de", data_dir=None).examples] == ["s1"]
    few.save("rajpurkar/squad", "plain_text", "train", squad)
    es = load_examples("xquad", "en", "train", data_dir=None)  # XQuAD's English training set is SQuAD v1.1
    assert es.task == "squad" and es.origin.startswith("hub:rajpurkar/squad/plain_text@")


# ----------------------------------------------------------------------------- retrieval
def test_tatoeba_trailing_newlines_stripped_and_size_checked(hub):
    n = expected_size(load_card("tatoeba"), "jv", "test")
    assert n == DEFS["google/xtreme"]["tatoeba.jav"]["splits"]["validation"] == 205
    rows = {"source_sentence": [f"jv {i}\n" for i in range(n)], "target_sentence": [f"en {i}\n" for i in range(n)],
            "source_lang": ["jav"] * n, "target_lang": ["eng"] * n}
    hub.save("google/xtreme", "tatoeba.jav", "validation", rows)
    es = load_examples("tatoeba", "jv", data_dir=None)
    assert isinstance(es.examples, Bitext) and es.examples.source[:2] == ["jv 0", "jv 1"] and es.examples.target[-1] == "en 204"
    assert es.caveats == []


def test_bucc_hub_refused_with_one_line_and_marked_when_accepted(hub):
    rows = {"source_sentence": ["Hallo\n"], "target_sentence": ["Hello\n"], "source_lang": ["de-000001"], "target_lang": ["en-000001"]}
    hub.save("google/xtreme", "bucc18.de", "test", rows)
    with pytest.raises(XgapError) as ei:
        load_examples("bucc2018", "de", data_dir=None)
    msg = one_line(ei)
    assert "gold pairs only" in msg and "--data-dir" in msg and "bucc2018/" in msg
    with accepting(non_comparable=True, size_mismatch=True):
        es = load_examples("bucc2018", "de", data_dir=None)
    assert isinstance(es.examples, MiningCorpus) and sorted(es.examples.source.values()) == ["Hallo"]
    assert any("non-comparable" in c for c in es.caveats)


# ----------------------------------------------------------------------------- sizes
def test_size_mismatch_is_an_error_naming_task_language_split_expected_found(hub):
    hub.save("google/xtreme", "XQuAD.de", "validation", {"id": ["q1"], "context": ["a b"], "question": ["?"],
                                                         "answers": [{"answer_start": [0], "text": ["a"]}]})
    with pytest.raises(XgapError) as ei:
        load_examples("xquad", "de", data_dir=None)
    msg = one_line(ei)
    assert "'xquad'" in msg and "'de'" in msg and "'test'" in msg and "expected 1190" in msg and "found 1" in msg
    assert "--accept-size-mismatch" in msg
    with accepting(size_mismatch=True):
        es = load_examples("xquad", "de", data_dir=None)
    assert es.caveats == ["size mismatch accepted: expected 1190, found 1"]


def test_cli_flags_accept_and_the_caveat_reaches_provenance(hub, capsys):
    from xgap.cli import main

    hub.save("google/xtreme", "udpos.Greek", "test", {"tokens": [["α"]], "pos_tags": [[0]]})
    assert main(["data", "check", "udpos", "--lang", "el"]) == 2
    assert "Ancient_Greek" in capsys.readouterr().err
    assert main(["--quiet", "data", "check", "udpos", "--lang", "el", "--accept-non-comparable-hub", "--accept-size-mismatch"]) == 0
    assert "NON-COMPARABLE" in capsys.readouterr().out
    import os

    assert "XGAP_ACCEPT" not in os.environ  # the acceptance ends with the command


def test_records_with_caveats_are_not_comparable_on_the_site():
    from xgap.leaderboard.records import pack, unpack

    rec = {"task": "udpos", "language": "el", "status": "evaluated", "primary_metric": "f1", "primary_score": 0.5,
           "metrics": {"f1": 0.5}, "provenance": {"xgap_version": "x", "data_caveats": ["non-comparable hub data: x"]}}
    _, slim = unpack("f", "s", pack(rec))
    assert slim["provenance"]["data_caveats"] == ["non-comparable hub data: x"]
    from xgap.leaderboard.model import _task_from_langs, target_tasks

    info = next(t for t in target_tasks() if t.name == "udpos")
    recs = {lang: dict(rec, language=lang, provenance={"xgap_version": "x"}) for lang in info.languages}
    assert _task_from_langs(info, "evaluated", recs).comparable
    recs["el"] = slim
    assert not _task_from_langs(info, "evaluated", recs).comparable


# ----------------------------------------------------------------------------- intermediate multiple choice
def test_hellaswag_prompt_ctx_a_and_choices_ctx_b_plus_ending(few):
    rows = {"ind": [4, 5], "activity_label": ["x", "y"], "ctx_a": ["A man sits.", "She runs."], "ctx_b": ["he", "then"],
            "ctx": ["A man sits. he", "She runs. then"], "endings": [["e0", "e1", "e2", "e3"], ["f0", "f1", "f2", "f3"]],
            "source_id": ["s", "s"], "split": ["val", "val"], "split_type": ["indomain", "indomain"], "label": ["2", ""]}
    few.save("Rowan/hellaswag", "default", "validation", rows)
    ex = load_examples("hellaswag", "en", data_dir=None).examples
    assert ex[0].prompt == "A man sits." and ex[0].choices == ("he e0", "he e1", "he e2", "he e3") and ex[0].label == 2
    assert ex[1].label is None


def test_cosmosqa_prompt_context_plus_question_and_unlabelled_minus_one(few):
    rows = {"id": ["c1", "c2"], "context": ["It rained.", "x"], "question": ["Why wet?", "y"],
            **{f"answer{i}": ["abcd"[i], "-"] for i in range(4)}, "label": [3, -1]}
    few.save("allenai/cosmos_qa", "default", "validation", rows)
    ex = load_examples("cosmosqa", "en", data_dir=None).examples
    assert ex[0].prompt == "It rained. Why wet?" and ex[0].choices == ("a", "b", "c", "d") and ex[0].label == 3
    assert ex[1].label is None


def test_commonsenseqa_answer_key_letters(few):
    rows = {"id": ["q1", "q2"], "question": ["Where?", "What?"], "question_concept": ["x", "y"],
            "choices": [{"label": list("ABCDE"), "text": ["t0", "t1", "t2", "t3", "t4"]}] * 2, "answerKey": ["D", ""]}
    few.save("tau/commonsense_qa", "default", "validation", rows)
    ex = load_examples("commonsenseqa", "en", data_dir=None).examples
    assert ex[0].choices == ("t0", "t1", "t2", "t3", "t4") and ex[0].label == 3 and ex[1].label is None


# ----------------------------------------------------------------------------- failures
def test_mirror_without_the_config_is_a_one_line_error(hub):
    with pytest.raises(XgapError) as ei:
        load_examples("pawsx", "fr", data_dir=None)
    msg = one_line(ei)
    assert "pawsx" in msg and "'fr'" in msg and "paws-x/fr" in msg and "XGAP_HUB_MIRROR" in msg


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
    msg = one_line(ei)
    assert "'xnli'" in msg and "'fr'" in msg and "google/xtreme" in msg and "XNLI" in msg and "--data-dir" in msg
    assert "unreachable" in msg
    assert time.monotonic() - t0 < 60


def test_loading_script_revision_error_says_what_fixes_it(monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    monkeypatch.delenv("XGAP_DATA_DIR", raising=False)

    def script(*a, **k):
        raise RuntimeError("Dataset scripts are no longer supported, but found xtreme.py")

    import xgap.data.offline as offline

    monkeypatch.setattr(offline, "offline_reason", lambda: None)  # as if the hub answered
    monkeypatch.setattr(datasets, "load_dataset", script)
    with pytest.raises(XgapError) as ei:
        load_examples("udpos", "de", "dev", data_dir=None)
    msg = one_line(ei)
    assert "loading script" in msg and "--data-dir" in msg and "refs/convert/parquet" in msg


def test_a_moving_revision_is_refused_before_loading(monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    monkeypatch.delenv("XGAP_DATA_DIR", raising=False)
    card = load_card("hellaswag")
    monkeypatch.setitem(card.data["sources"], "hub", dict(card.sources["hub"], revision="main"))
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("must not reach the hub"))
    with pytest.raises(XgapError) as ei:
        load_examples(card, "en", data_dir=None)
    assert "'main' is a moving name" in one_line(ei) and "refs/convert/parquet" in str(ei.value)


def test_no_data_and_hub_disallowed(tmp_path, monkeypatch):
    monkeypatch.delenv("XGAP_HUB_MIRROR", raising=False)
    with pytest.raises(XgapError) as ei:
        load_examples("udpos", "de", data_dir=tmp_path, allow_hub=False)
    msg = one_line(ei)
    assert "'udpos'" in msg and "'de'" in msg and "--data-dir" in msg and "udpos/UD_German-*" in msg


def test_local_data_wins_over_hub(tmp_path, few):
    d = tmp_path / "data" / "pawsx" / "de"
    d.mkdir(parents=True)
    (d / "test.tsv").write_text("id\tsentence1\tsentence2\tlabel\n7\tlocal\tL\t1\n", encoding="utf-8")
    rows = {"id": [1], "sentence1": ["hub"], "sentence2": ["H"], "label": [0]}
    few.save("google-research-datasets/paws-x", "de", "test", rows)
    few.save("google-research-datasets/paws-x", "fr", "test", rows)
    assert [e.text_a for e in load_examples("pawsx", "de", data_dir=tmp_path / "data").examples] == ["local"]
    assert [e.text_a for e in load_examples("pawsx", "fr", data_dir=tmp_path / "data").examples] == ["hub"]
