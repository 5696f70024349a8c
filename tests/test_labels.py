"""Label mapping between a checkpoint's id2label and a task card's label list."""

import pytest

from xgap.errors import XgapError
from xgap.modeling.labels import parse_label_map, resolve_label_map

XNLI = ["contradiction", "entailment", "neutral"]
XNLI_ALIASES = {"contradictory": "contradiction"}


def test_names_match_case_insensitively_in_checkpoint_order():
    id2label = {0: "ENTAILMENT", 1: "Neutral", 2: "contradiction"}
    assert resolve_label_map(id2label, XNLI) == ["entailment", "neutral", "contradiction"]


def test_string_keys_as_stored_in_config_json():
    assert resolve_label_map({"1": "1", "0": "0"}, ["0", "1"]) == ["0", "1"]
    assert resolve_label_map({"0": "1", "1": "0"}, ["0", "1"]) == ["1", "0"]


def test_alias_maps_source_spelling():
    id2label = {0: "entailment", 1: "neutral", 2: "Contradictory"}
    assert resolve_label_map(id2label, XNLI, aliases=XNLI_ALIASES) == ["entailment", "neutral", "contradiction"]
    with pytest.raises(XgapError):
        resolve_label_map(id2label, XNLI)  # no alias: 'Contradictory' is unknown


def test_generic_names_need_an_explicit_map_one_line_message():
    with pytest.raises(XgapError) as exc:
        resolve_label_map({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, XNLI)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "LABEL_0, LABEL_1, LABEL_2" in msg  # what was found
    assert "contradiction, entailment, neutral" in msg  # what was expected
    assert "--label-map" in msg and "label_map" in msg and "manifest" in msg  # how to fix
    # pawsx labels are '0'/'1': LABEL_0 must still not be assumed to mean '0'
    with pytest.raises(XgapError, match="generic"):
        resolve_label_map({0: "LABEL_0", 1: "LABEL_1"}, ["0", "1"])


def test_explicit_map_by_name_or_id():
    generic = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    by_name = {"LABEL_0": "neutral", "LABEL_1": "contradiction", "LABEL_2": "entailment"}
    assert resolve_label_map(generic, XNLI, explicit=by_name) == ["neutral", "contradiction", "entailment"]
    by_id = {2: "entailment", "0": "neutral", 1: "contradiction"}
    assert resolve_label_map(generic, XNLI, explicit=by_id) == ["neutral", "contradiction", "entailment"]
    # aliases apply to explicit values too, and explicit beats matching names
    named = {0: "entailment", 1: "neutral", 2: "contradiction"}
    flipped = {"entailment": "neutral", "neutral": "entailment", "contradiction": "contradictory"}
    assert resolve_label_map(named, XNLI, explicit=flipped, aliases=XNLI_ALIASES) == ["neutral", "entailment", "contradiction"]


def test_explicit_map_must_cover_every_checkpoint_label_and_use_card_labels():
    generic = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    with pytest.raises(XgapError, match="LABEL_2 unmapped"):
        resolve_label_map(generic, XNLI, explicit={"LABEL_0": "neutral", "LABEL_1": "entailment"})
    with pytest.raises(XgapError, match="not a label of the task"):
        resolve_label_map(generic, XNLI, explicit={"LABEL_0": "neutral", "LABEL_1": "entailment", "LABEL_2": "maybe"})
    with pytest.raises(XgapError, match="neither a label"):
        resolve_label_map(generic, XNLI, explicit={"LABEL_9": "neutral"})


def test_different_set_is_an_error_unless_explicit():
    with pytest.raises(XgapError) as exc:
        resolve_label_map({0: "entailment", 1: "not_entailment"}, XNLI)
    msg = str(exc.value)
    assert "not_entailment" in msg and "contradiction, entailment, neutral" in msg and "--label-map" in msg
    # fewer labels than the card, all matching, is still a different set
    with pytest.raises(XgapError, match="missing neutral"):
        resolve_label_map({0: "entailment", 1: "contradiction"}, XNLI)
    # explicit: allowed, the user says what each unit means
    assert resolve_label_map(
        {0: "entailment", 1: "not_entailment"}, ["0", "1"], explicit={"entailment": "1", "not_entailment": "0"}
    ) == ["1", "0"]


def test_more_labels_than_the_card_is_an_error_unless_explicit():
    id2label = {0: "contradiction", 1: "entailment", 2: "neutral", 3: "other"}
    with pytest.raises(XgapError, match="4 labels"):
        resolve_label_map(id2label, XNLI)
    explicit = {"contradiction": "contradiction", "entailment": "entailment", "neutral": "neutral", "other": "neutral"}
    assert resolve_label_map(id2label, XNLI, explicit=explicit) == ["contradiction", "entailment", "neutral", "neutral"]


def test_duplicate_names_after_normalisation_are_an_error():
    with pytest.raises(XgapError, match="several ids"):
        resolve_label_map({0: "Entailment", 1: "entailment", 2: "neutral"}, XNLI)


def test_parse_label_map_command_line_form():
    assert parse_label_map("LABEL_0=entailment, LABEL_1=neutral") == {"LABEL_0": "entailment", "LABEL_1": "neutral"}
    with pytest.raises(XgapError):
        parse_label_map("LABEL_0:entailment")
