"""The typed record (:mod:`xgap.record`): one builder, one parser, and the store's byte format kept exactly."""

from __future__ import annotations

import json

import pytest
from helpers.synthetic import evaluated_record

from xgap.errors import XgapError
from xgap.record import Record, as_dict, parse_record
from xgap.store import ResultStore, read_record

#: A reported record as ``import-reported`` wrote it before the typed record (key order included).
REPORTED = {
    "record_version": 1, "status": "reported", "submission": "xlmr", "task": "xnli", "language": "all", "split": "test",
    "metrics": {"accuracy": 79.2}, "primary_metric": "accuracy", "primary_score": 79.2, "n_examples": None,
    "settings": {"zero_shot": True, "published": True}, "citation": "Conneau et al., 2020",
    "provenance": {"xgap_version": "0.1.0", "source": "published-xtreme.yaml: sources.xtreme"},
}


@pytest.mark.parametrize("doc", [evaluated_record("m", "xnli", "de", 71.25), evaluated_record("m", "xquad", "en", 60.0, qa=True),
                                 REPORTED], ids=["evaluated", "qa", "reported"])
def test_round_trip_is_byte_identical(doc):
    rec = Record.from_dict(doc)
    assert json.dumps(rec.to_dict(), indent=1) == json.dumps(doc, indent=1)  # same keys, same order, same numbers
    assert as_dict(rec) == doc and as_dict(doc) is doc


def test_store_writes_the_record_as_its_dict(tmp_path):
    doc = evaluated_record("m", "xnli", "de", 71.25)
    store = ResultStore(tmp_path)
    a = store.write(Record.from_dict(doc), predictions={"predictions": [1], "gold": [1], "per_example": {}})
    side = json.loads((a.parent / "de.predictions.json").read_text())
    assert side["predictions"] == [1]
    written = read_record(a)
    assert list(written) == list(doc) + ["predictions"]  # the sidecar's binding comes last, as before
    assert Record.from_dict(written).predictions["file"] == "de.predictions.json"
    assert store.find("m", "xnli", "de") == Record.from_dict(written)


def test_one_parser_for_typed_and_plain_reading(tmp_path):
    data = json.dumps(REPORTED).encode()
    assert parse_record("x.json", data) == REPORTED
    assert Record.parse("x.json", data) == Record.from_dict(REPORTED)
    with pytest.raises(XgapError, match=r"^x.json: corrupt result record"):
        Record.parse("x.json", b"{")


def test_record_fields_are_the_schema_properties():
    from xgap.validation import load_schema

    schema = load_schema("result-record")
    assert set(Record.__dataclass_fields__) == set(schema["properties"])
    required = {n for n, f in Record.__dataclass_fields__.items() if f.default is f.default_factory}  # no default: required
    assert required <= set(schema["required"])


def test_manifest_is_parsed_once_against_the_schema():
    from xgap.errors import ValidationFailed
    from xgap.manifest import Manifest

    doc = {"id": "m", "name": "M", "model": {"hub": "org/m"}, "base_encoder": "org/m", "intermediate": "none",
           "license": "mit", "authors": ["a"]}
    m = Manifest.parse(doc, "m.yaml")
    assert (m.id, m.tasks, m.retrieval, m.prompts, m.claimed_parameters, m.reported) == ("m", {}, {}, None, None, False)
    assert m.doc is doc  # kept verbatim: the store writes it back as given
    with pytest.raises(ValidationFailed, match=r"^m.yaml: .*name"):
        Manifest.parse({k: v for k, v in doc.items() if k != "name"}, "m.yaml")
