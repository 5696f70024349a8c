"""``--executor ray`` on a local Ray cluster: the same records as a local run, worker crashes
retried, a job that always fails reported while the others finish, and resume after the driver dies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'xgap[ray]')")

from helpers.tiny import build_tiny_checkpoint  # noqa: E402

from xgap.harness.executors import LocalExecutor  # noqa: E402
from xgap.harness.ray_executor import RayExecutor  # noqa: E402
from xgap.harness.runner import RunPlan, TaskPlan, run_plans  # noqa: E402
from xgap.modeling.models import ModelRef  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def models(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("ray-models")
    texts = (data_dir / "tatoeba/tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    texts += [l.split("\t")[1] for l in (data_dir / "pawsx/de/test.tsv").read_text(encoding="utf-8").splitlines()[1:300]]
    return {
        "enc_a": build_tiny_checkpoint(root / "a", texts, head="encoder", seed=1),
        "enc_b": build_tiny_checkpoint(root / "b", texts, head="encoder", seed=2),
        "cls": build_tiny_checkpoint(root / "cls", texts, head="sequence-classification", labels=["0", "1"]),
    }


def _plans(models, data_dir, cache):
    common = dict(bootstrap=100, data_dir=str(data_dir), cache_dir=str(cache), progress=False)
    return [
        RunPlan("sub-a", [TaskPlan("tatoeba", ModelRef(str(models["enc_a"])), ["de", "fr", "sw"]),
                          TaskPlan("pawsx", ModelRef(str(models["cls"])), ["de"])], limit=300, **common),
        RunPlan("sub-b", [TaskPlan("tatoeba", ModelRef(str(models["enc_b"])), ["de", "fr", "sw"])], limit=300, **common),
    ]


def _records(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*.json")):
        if p.name.endswith(".predictions.json") or p.name in ("manifest.json",) or p.name.startswith("."):
            continue
        r = json.loads(p.read_text())
        out[(r["submission"], r["task"], r["language"])] = r
    return out


def _comparable(r: dict) -> dict:
    keep = {k: r[k] for k in ("metrics", "primary_score", "n_examples", "ci95", "input_key", "settings")}
    return json.loads(json.dumps(keep))


def test_ray_equals_local(cluster, models, data_dir, tmp_path):
    run_plans(_plans(models, data_dir, tmp_path / "c1"), tmp_path / "local", LocalExecutor())
    run_plans(_plans(models, data_dir, tmp_path / "c2"), tmp_path / "ray", RayExecutor(progress=False, group_size=1))
    local, remote = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert len(local) == 7 and set(local) == set(remote)
    for key in local:
        assert _comparable(local[key]) == _comparable(remote[key]), key
        sidecar = lambda root, key=key: json.loads((root / key[0] / key[1] / f"{key[2]}.predictions.json").read_text())  # noqa: E731
        assert sidecar(tmp_path / "local")["predictions"] == sidecar(tmp_path / "ray")["predictions"]


def test_crash_once_is_retried_and_always_failing_job_is_reported(cluster, models, data_dir, tmp_path):
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()

    def flaky(job):
        from xgap.harness.jobs import execute_job

        if job.submission == "sub-b":
            raise RuntimeError("this job always fails")
        marker = marker_dir / job.name.replace("/", "_")
        if job.task == "tatoeba" and not marker.exists():
            marker.write_text("crashed once")
            os._exit(1)  # the worker process dies mid-job
        return execute_job(job)

    from xgap.errors import XgapError

    with pytest.raises(XgapError, match="1 job\\(s\\) failed.*always fails"):
        run_plans(_plans(models, data_dir, tmp_path / "c"), tmp_path / "store",
                  RayExecutor(progress=False, retries=2, execute=flaky))
    recs = _records(tmp_path / "store")
    assert set(recs) == {("sub-a", "tatoeba", "de"), ("sub-a", "tatoeba", "fr"), ("sub-a", "tatoeba", "sw"), ("sub-a", "pawsx", "de")}
    assert len(list(marker_dir.iterdir())) == 1  # the crashed job ran again and then succeeded

    # Rerun without the failure: only sub-b's job is scheduled.
    scheduled = []

    def counting(job):
        from xgap.harness.jobs import execute_job

        return execute_job(job)

    class Counting(RayExecutor):
        def run(self, jobs, on_result):
            scheduled.extend(j.name for j in jobs)
            return super().run(jobs, on_result)

    run_plans(_plans(models, data_dir, tmp_path / "c"), tmp_path / "store", Counting(progress=False, execute=counting))
    assert scheduled == ["sub-b/tatoeba/de,fr,sw"]
    assert len(_records(tmp_path / "store")) == 7
