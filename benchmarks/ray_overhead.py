"""Ray executor overhead vs the local executor on this machine (tiny models; not a test).

Runs the same 2-submission plan (Tatoeba in 6 languages + PAWS-X de with tiny random checkpoints)
with ``--executor local`` and ``--executor ray`` (a fresh local Ray with 2 CPUs), checks the
records are identical and prints wall times, Ray start-up time and the per-job scheduling
overhead (ray time minus the jobs' own compute, divided by the job count).

    python benchmarks/ray_overhead.py [--data-dir ../shared/data] [--group-size 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("XGAP_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--group-size", type=int, default=1)
    ap.add_argument("--limit", type=int, default=500)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test-only helpers: tests/helpers/
    from helpers.tiny import build_tiny_checkpoint

    from xgap.harness.executors import LocalExecutor
    from xgap.harness.ray_executor import RayExecutor
    from xgap.harness.runner import RunPlan, TaskPlan, plan_jobs, run_plans
    from xgap.modeling.models import ModelRef
    from xgap.store import ResultStore

    data = Path(args.data_dir)
    tmp = Path(tempfile.mkdtemp(prefix="xgap-ray-bench-"))
    texts = (data / "tatoeba/tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    enc_a = build_tiny_checkpoint(tmp / "a", texts, head="encoder", hidden_size=64, num_layers=4, seed=1)
    enc_b = build_tiny_checkpoint(tmp / "b", texts, head="encoder", hidden_size=64, num_layers=4, seed=2)
    cls = build_tiny_checkpoint(tmp / "cls", texts, head="sequence-classification", labels=["0", "1"])
    langs = ["de", "fr", "es", "it", "ru", "tr"]

    def plans(cache):
        common = dict(bootstrap=200, data_dir=str(data), cache_dir=str(cache), progress=False, limit=args.limit)
        return [RunPlan("a", [TaskPlan("tatoeba", ModelRef(str(enc_a)), langs), TaskPlan("pawsx", ModelRef(str(cls)), ["de"])], **common),
                RunPlan("b", [TaskPlan("tatoeba", ModelRef(str(enc_b)), langs)], **common)]

    n_jobs = sum(len(plan_jobs(p, ResultStore(tmp / "probe"), args.group_size)[0]) for p in plans(tmp / "probe-cache"))
    t0 = time.perf_counter()
    run_plans(plans(tmp / "c-local"), tmp / "local", LocalExecutor())
    t_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_plans(plans(tmp / "c-ray"), tmp / "ray", RayExecutor(progress=False, group_size=args.group_size))
    t_ray = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_plans(plans(tmp / "c-ray2"), tmp / "ray-whole", RayExecutor(progress=False, group_size=None))
    t_ray_whole = time.perf_counter() - t0
    n_whole = sum(len(plan_jobs(p, ResultStore(tmp / "probe2"), None)[0]) for p in plans(tmp / "probe-cache2"))
    ray.shutdown()

    def recs(root):
        out = {}
        for p in sorted(root.rglob("*.json")):
            if p.name.endswith(".predictions.json") or p.name == "manifest.json":
                continue
            r = json.loads(p.read_text())
            out[(r["submission"], r["task"], r["language"])] = (r["metrics"], r["input_key"])
        return out

    same = recs(tmp / "local") == recs(tmp / "ray")
    print(f"jobs: {n_jobs} (group size {args.group_size}), records: {len(recs(tmp / 'local'))}, identical: {same}")
    print(f"local executor:        {t_local:7.2f} s")
    print(f"ray executor:          {t_ray:7.2f} s  (+ ray.init {t_init:.2f} s)")
    print(f"ray / local:           {t_ray / t_local:7.2f}x")
    print(f"overhead per job:      {(t_ray - t_local) / max(n_jobs, 1):7.2f} s  ((ray - local) / jobs; 2 workers share 2 cores)")
    same_whole = recs(tmp / "local") == recs(tmp / "ray-whole")
    print(f"ray, one job per task: {t_ray_whole:7.2f} s  ({n_whole} jobs, identical: {same_whole}, "
          f"overhead per job {(t_ray_whole - t_local) / max(n_whole, 1):.2f} s)")


if __name__ == "__main__":
    main()
