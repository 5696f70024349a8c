"""Task cards: the 18 shipped cards, SPEC §3/§4 contents, include: merging, hashing, languages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xgap.cards import Card, card_files, list_cards, load_card, load_card_file, resolve_includes
from xgap.errors import XgapError
from xgap.resources import tasks_dir
from xgap.validation import problems

TARGETS = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
INTERMEDIATE = ["anli_plus", "mnli", "qqp", "sst2", "squad", "hellaswag", "cosmosqa", "commonsenseqa", "ccg"]

# SPEC §3, languages in the order listed there.
SPEC_LANGUAGES = {
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "pawsx": "de en es fr ja ko zh",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh",
    "panx": "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my zh "
            "kk tr et fi hu",
    "xquad": "en es de el ru tr ar vi th zh hi",
    "mlqa": "en es de ar hi vi zh",
    "tydiqa": "en ar bn fi id ko ru sw te",
    "bucc2018": "de fr ru zh",
    "tatoeba": "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh kk tr et "
               "fi hu",
}
SPEC_LANGUAGE_COUNTS = {"xnli": 15, "pawsx": 7, "udpos": 33, "panx": 40, "xquad": 11, "mlqa": 7, "tydiqa": 9,
                        "bucc2018": 4, "tatoeba": 36}

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
SPEC_LABELS = {
    "xnli": ["contradiction", "entailment", "neutral"],
    "pawsx": ["0", "1"],
    "udpos": UPOS,
    "panx": ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"],
}

SPEC_FORMATS = {
    "xnli": "sentence-pair-classification", "pawsx": "sentence-pair-classification",
    "udpos": "token-classification", "panx": "token-classification",
    "xquad": "extractive-qa", "mlqa": "extractive-qa", "tydiqa": "extractive-qa",
    "bucc2018": "bitext-mining", "tatoeba": "bitext-retrieval",
    "anli_plus": "sentence-pair-classification", "mnli": "sentence-pair-classification",
    "qqp": "sentence-pair-classification", "sst2": "single-sentence-classification", "squad": "extractive-qa",
    "hellaswag": "multiple-choice", "cosmosqa": "multiple-choice", "commonsenseqa": "multiple-choice",
    "ccg": "token-classification",
}

# SPEC §5: QA (EM+F1)/2, tagging and BUCC F1, others accuracy.
SPEC_PRIMARY = {
    "xnli": "accuracy", "pawsx": "accuracy", "udpos": "f1", "panx": "f1", "xquad": "em_f1_mean",
    "mlqa": "em_f1_mean", "tydiqa": "em_f1_mean", "bucc2018": "f1", "tatoeba": "accuracy",
    "anli_plus": "accuracy", "mnli": "accuracy", "qqp": "accuracy", "sst2": "accuracy", "squad": "em_f1_mean",
    "hellaswag": "accuracy", "cosmosqa": "accuracy", "commonsenseqa": "accuracy", "ccg": "accuracy",
}


# ----------------------------------------------------------------------------- shipped cards
def test_list_cards_has_the_18_tasks():
    cards = list_cards()
    assert len(cards) == 18
    names = [c.name for c in cards]
    assert len(set(names)) == 18
    targets = [c.name for c in cards if c.kind == "target"]
    inter = [c.name for c in cards if c.kind == "intermediate"]
    assert sorted(targets) == sorted(TARGETS)
    assert sorted(inter) == sorted(INTERMEDIATE)
    # targets are listed first
    assert names[:9] == [n for n in names if n in TARGETS]


@pytest.mark.parametrize("name", TARGETS + INTERMEDIATE)
def test_every_shipped_card_resolves_and_validates(name):
    path = card_files()[name]
    data = resolve_includes(path)
    assert "include" not in data
    assert problems(data, "task-card", str(path)) == []
    card = load_card_file(path)
    assert isinstance(card, Card)
    assert card.name == name == path.stem
    assert card.format == SPEC_FORMATS[name]
    assert card.version >= 1
    assert card.eval_split in card.data["splits"]
    assert card.primary_metric == SPEC_PRIMARY[name]
    assert card.data["citation"] and card.data["license"]


def test_card_files_skip_defaults():
    files = card_files()
    assert len(files) == 18
    assert not any(part.startswith("_") for f in files.values() for part in f.relative_to(tasks_dir()).parts)


@pytest.mark.parametrize("name", TARGETS)
def test_target_languages_in_spec_order(name):
    card = load_card(name)
    assert card.kind == "target"
    assert card.languages == SPEC_LANGUAGES[name].split()
    assert len(card.languages) == SPEC_LANGUAGE_COUNTS[name]


def test_tatoeba_has_no_english_and_intermediate_tasks_are_english_only():
    assert "en" not in load_card("tatoeba").languages
    for name in INTERMEDIATE:
        card = load_card(name)
        assert card.languages == ["en"], name
        assert card.has_gap is False


def test_gap_defined_for_targets_except_retrieval():
    for name in TARGETS:
        assert load_card(name).has_gap is (name not in ("bucc2018", "tatoeba")), name


@pytest.mark.parametrize("name", sorted(SPEC_LABELS))
def test_label_lists_exactly_as_spec(name):
    assert load_card(name).labels == SPEC_LABELS[name]


def test_xnli_label_alias_and_retrieval_and_qa_cards_have_no_labels():
    assert load_card("xnli").label_aliases == {"contradictory": "contradiction"}
    for name in ("xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"):
        assert load_card(name).labels is None


def test_metrics_and_protocol_settings():
    assert load_card("udpos").metrics[0] == "f1" and "token_accuracy" in load_card("udpos").metrics
    assert set(load_card("xquad").metrics) == {"exact_match", "f1"}
    assert load_card("xquad").data["qa_evaluation"] == "squad"
    assert load_card("tydiqa").data["qa_evaluation"] == "squad"
    assert load_card("mlqa").data["qa_evaluation"] == "mlqa"
    # SPEC §3 phase-(iii) defaults (jiant X-STILTs recipe)
    epochs = {"xnli": 2, "pawsx": 5, "udpos": 10, "panx": 10, "xquad": 2, "mlqa": 2, "tydiqa": 2}
    for name, ep in epochs.items():
        card = load_card(name)
        r = card.recipe
        assert r["epochs"] == ep, name
        assert r["learning_rate"] == 1e-5 and r["schedule"] == "linear" and r["warmup_ratio"] == 0.1, name
        assert r["optimizer"] == "adamw", name
        qa = card.format == "extractive-qa"
        assert r["batch_size"] == (16 if qa else 32), name
        assert card.protocol["max_length"] == (384 if qa else 256), name
        if qa:
            assert card.protocol["doc_stride"] == 128
            assert card.protocol["max_answer_length"] == 30 and card.protocol["n_best"] == 20
    for name in ("bucc2018", "tatoeba"):
        ret = load_card(name).protocol["retrieval"]
        assert ret["layer"] == "n//2+2" and ret["pooling"] == "mean" and ret["max_length"] == 512
    assert load_card("tatoeba").protocol["retrieval"]["direction"] == "en->xx"
    assert load_card("bucc2018").protocol["retrieval"]["k"] == 4


def test_every_target_pins_the_xtreme_hub_revision_and_has_a_local_layout():
    for name in TARGETS:
        src = load_card(name).sources
        # PAWS-X comes from the standalone paws-x dataset (google/xtreme's reader drops rows)
        assert src["hub"]["id"] == ("google-research-datasets/paws-x" if name == "pawsx" else "google/xtreme"), name
        assert len(src["hub"]["revision"]) == 40 or src["hub"]["revision"] == "refs/convert/parquet", name
        assert "local" in src, name


def test_english_training_data_delegation():
    assert load_card("xnli").sources["train"]["task"] == "mnli"
    assert load_card("xquad").sources["train"]["task"] == "squad"
    assert load_card("mlqa").sources["train"]["task"] == "squad"


# ----------------------------------------------------------------------------- include merging
def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_include_merge_child_overrides_nested_merged_lists_replaced(tmp_path):
    _write(tmp_path / "_base" / "root.yaml", "a: 1\nnested: {x: 1, y: {p: 1, q: 2}}\nlst: [1, 2, 3]\nonly_root: r\n")
    _write(tmp_path / "_base" / "mid.yaml", "include: root.yaml\na: 2\nnested: {y: {q: 20}, z: 3}\nonly_mid: m\n")
    child = _write(tmp_path / "cards" / "child.yaml",
                   "include: ../_base/mid.yaml\nlst: [9]\nnested: {x: 10}\nb: child\n")
    got = resolve_includes(child)
    assert got == {
        "a": 2,  # mid overrides root
        "nested": {"x": 10, "y": {"p": 1, "q": 20}, "z": 3},  # deep merge at every level
        "lst": [9],  # lists are replaced, not concatenated
        "only_root": "r",
        "only_mid": "m",
        "b": "child",
    }


def test_include_list_later_files_win(tmp_path):
    _write(tmp_path / "one.yaml", "k: one\nd: {a: 1}\n")
    _write(tmp_path / "two.yaml", "k: two\nd: {b: 2}\n")
    child = _write(tmp_path / "c.yaml", "include: [one.yaml, two.yaml]\nextra: 1\n")
    assert resolve_includes(child) == {"k": "two", "d": {"a": 1, "b": 2}, "extra": 1}


def test_include_does_not_mutate_the_included_defaults(tmp_path):
    _write(tmp_path / "base.yaml", "d: {a: [1, 2]}\n")
    c1 = _write(tmp_path / "c1.yaml", "include: base.yaml\nd: {b: 1}\n")
    c2 = _write(tmp_path / "c2.yaml", "include: base.yaml\n")
    assert resolve_includes(c1) == {"d": {"a": [1, 2], "b": 1}}
    assert resolve_includes(c2) == {"d": {"a": [1, 2]}}


def test_shipped_card_override_of_defaults():
    # pawsx overrides the classification defaults' epochs (2) with 5 but keeps the rest of the recipe.
    card = load_card("pawsx")
    assert card.recipe["epochs"] == 5
    assert card.recipe["batch_size"] == 32 and card.recipe["learning_rate"] == 1e-5
    assert card.kind == "target"  # from _defaults/xtreme.yaml, two includes up
    assert card.sources["hub"]["config"] == "{lang}"
    assert card.sources["hub"]["id"] == "google-research-datasets/paws-x"  # the card's own id overrides xtreme.yaml's
    udpos = load_card("udpos").sources["hub"]
    assert udpos["id"] == "google/xtreme" and udpos["config"] == "udpos.{source}"  # merged from xtreme.yaml


# ----------------------------------------------------------------------------- hash
def _copy_tasks(tmp_path: Path) -> Path:
    root = tmp_path / "tasks"
    shutil.copytree(tasks_dir(), root)
    return root


def test_hash_is_stable_and_changes_with_a_setting(tmp_path):
    root = _copy_tasks(tmp_path)
    original = load_card("xnli")
    copy = load_card_file(root / "targets" / "xnli.yaml")
    assert copy.hash == original.hash  # same content -> same hash, whatever the path
    assert len(copy.hash) == 64
    f = root / "targets" / "xnli.yaml"
    f.write_text(f.read_text().replace("recipe: {epochs: 2}", "recipe: {epochs: 3}"), encoding="utf-8")
    changed = load_card_file(f)
    assert changed.recipe["epochs"] == 3
    assert changed.hash != original.hash


def test_hash_changes_when_an_included_default_changes(tmp_path):
    root = _copy_tasks(tmp_path)
    before = load_card_file(root / "targets" / "xnli.yaml").hash
    d = root / "_defaults" / "classification.yaml"
    d.write_text(d.read_text().replace("max_length: 256", "max_length: 128"), encoding="utf-8")
    after = load_card_file(root / "targets" / "xnli.yaml")
    assert after.protocol["max_length"] == 128
    assert after.hash != before


# ----------------------------------------------------------------------------- languages
def test_resolve_language_by_code_and_by_source_name():
    tat = load_card("tatoeba")
    assert tat.resolve_language("de") == ("de", "deu")
    assert tat.resolve_language("deu") == ("de", "deu")
    assert tat.resolve_language("zh") == ("zh", "cmn")
    assert tat.resolve_language("fa") == ("fa", "pes")
    assert tat.source_name("sw") == "swh"
    ud = load_card("udpos")
    assert ud.resolve_language("German") == ("de", "German")
    assert ud.resolve_language("de") == ("de", "German")
    ty = load_card("tydiqa")
    assert ty.resolve_language("arabic") == ("ar", "arabic")
    xnli = load_card("xnli")
    assert xnli.resolve_language("fr") == ("fr", "fr")
    assert xnli.source_name("fr") == "fr"


@pytest.mark.parametrize("task,lang", [("xnli", "xx"), ("xnli", "deu"), ("pawsx", "ru"), ("udpos", "Klingon")])
def test_unknown_language_is_an_error(task, lang):
    card = load_card(task)
    with pytest.raises(XgapError) as ei:
        card.resolve_language(lang)
    msg = str(ei.value)
    assert "\n" not in msg
    assert f"'{lang}'" in msg and task in msg and "fix:" in msg


def test_unknown_task_is_an_error():
    with pytest.raises(XgapError) as ei:
        load_card("xnlii")
    assert "xnlii" in str(ei.value) and "xnli" in str(ei.value).split("fix:")[1]


def test_adding_a_language_is_a_one_line_change(tmp_path):
    root = _copy_tasks(tmp_path)
    f = root / "targets" / "xnli.yaml"
    before = load_card_file(f)
    assert "nl" not in before.languages
    old_lines = f.read_text().splitlines()
    new_lines = [ln.replace(", zh]", ", zh, nl]") if ln.startswith("languages:") else ln for ln in old_lines]
    assert sum(a != b for a, b in zip(old_lines, new_lines)) == 1 and len(old_lines) == len(new_lines)
    f.write_text("\n".join(new_lines) + "\n", encoding="utf-8")
    after = load_card_file(f)
    assert after.languages == before.languages + ["nl"]
    assert after.resolve_language("nl") == ("nl", "nl")
    assert after.hash != before.hash


def test_adding_a_tatoeba_language_with_its_source_name_is_one_line(tmp_path):
    root = _copy_tasks(tmp_path)
    f = root / "targets" / "tatoeba.yaml"
    text = f.read_text()
    anchor = "  - {code: hu, source: hun}\n"
    assert anchor in text
    f.write_text(text.replace(anchor, anchor + "  - {code: pl, source: pol}\n"), encoding="utf-8")
    card = load_card_file(f)
    assert card.languages[-1] == "pl" and len(card.languages) == 37
    assert card.resolve_language("pol") == ("pl", "pol")
    assert card.resolve_language("pl") == ("pl", "pol")


def test_load_card_from_another_root(tmp_path):
    root = _copy_tasks(tmp_path)
    (root / "targets" / "xnli.yaml").unlink()
    assert len(list_cards(root)) == 17
    with pytest.raises(XgapError):
        load_card("xnli", root)
