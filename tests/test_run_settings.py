"""One frozen settings object from the plan to the job to the evaluator, and each (task, language)'s
data read once per local run."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from helpers.tiny import build_tiny_checkpoint

from xgap.formats.base import EvalContext
from xgap.harness.jobs import Job
from xgap.harness.runner import RunPlan, TaskPlan, plan_jobs, run_plans
from xgap.modeling.models import ModelRef
from xgap.settings import DEFAULT_BATCH_TOKENS, EvalSettings
from xgap.store import ResultStore


def test_settings_are_one_frozen_object_read_through():
    st = EvalSettings(limit=5, seed=3)
    plan = RunPlan("s", [], st)
    assert plan.settings is st and plan.limit == 5 and plan.batch_tokens == DEFAULT_BATCH_TOKENS
    assert RunPlan("s", [], limit=5, seed=3).settings == st  # keywords build the same object
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.limit = 6
    with pytest.raises(TypeError, match="not both"):
        RunPlan("s", [], st, limit=5)
    ctx = EvalContext(None, ModelRef("m"), st)
    assert ctx.seed == 3 and ctx.settings is st
    with pytest.raises(AttributeError):
        ctx.no_such_setting  # noqa: B018


def test_data_is_read_once_per_language_and_not_shipped_to_workers(tmp_path, data_dir, monkeypatch):
    import xgap.data

    texts = (data_dir / "tatoeba" / "tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    model = build_tiny_checkpoint(tmp_path / "enc", texts, head="encoder", hidden_size=32, num_layers=2)
    reads = []
    real = xgap.data.load_examples

    def counting(card, lang, *a, **k):
        reads.append((card.name, lang))
        return real(card, lang, *a, **k)

    monkeypatch.setattr(xgap.data, "load_examples", counting)
    plan = RunPlan("tiny", [TaskPlan("tatoeba", ModelRef(str(model)), ["de", "fr"])], EvalSettings(
        bootstrap=0, limit=30, data_dir=str(data_dir), cache_dir=str(tmp_path / "cache"), progress=False))
    jobs, _ = plan_jobs(plan, ResultStore(tmp_path / "probe"))
    assert set(jobs[0].preloaded) == {"de", "fr"}
    sent = pickle.loads(pickle.dumps(jobs[0]))  # what a Ray worker gets: no data (it reloads)
    assert isinstance(sent, Job) and sent.preloaded == {} and sent.settings == plan.settings
    reads.clear()
    run_plans([plan], tmp_path / "out")
    assert sorted(reads) == [("tatoeba", "de"), ("tatoeba", "fr")]
