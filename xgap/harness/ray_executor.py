"""Run jobs on a Ray cluster (``pip install "xgap[ray]"``): the same jobs, the same records.

Jobs are submitted as Ray tasks with declared resources (CPUs, GPUs); results come back to the
driver, which writes every record through the same atomic store as a local run. A job whose
worker dies, or which raises, is retried up to ``retries`` times; one that keeps failing is
reported with its error while the rest of the run completes, and a rerun resumes only what is
missing. Each worker process keeps loaded models only for the duration of its job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace

from xgap.errors import XgapError

log = logging.getLogger("xgap")


def _remote_execute(job):
    from xgap.harness.jobs import execute_job

    return execute_job(job)


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0, retries: int = 2,
                 group_size: int | None = None, progress: bool = True, init_kwargs: dict | None = None,
                 execute: Callable | None = None):
        """``execute`` replaces the job function (tests use it to inject worker crashes)."""
        try:
            import ray  # noqa: F401
        except ImportError:
            raise XgapError("the Ray executor needs Ray - fix: pip install 'xgap[ray]'") from None
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self.retries, self.group_size, self.progress = max(0, int(retries)), group_size, progress
        self.init_kwargs = init_kwargs or {}
        self.execute = execute or _remote_execute

    def _init(self):
        import ray

        if not ray.is_initialized():
            kw = dict(self.init_kwargs)
            kw.setdefault("include_dashboard", False)
            kw.setdefault("log_to_driver", False)
            # Workers must import this same xgap (a checkout or an installed wheel).
            kw.setdefault("runtime_env", {"env_vars": {k: v for k, v in os.environ.items()
                                                       if k.startswith(("XGAP_", "HF_", "TRANSFORMERS_"))}})
            ray.init(address=self.address, **kw)
        return ray

    def run(self, jobs, on_result: Callable, execute: Callable | None = None) -> list:
        """Submit every job, hand results to ``on_result`` as they finish; return failures.

        ``execute`` replaces the job function for this call (grids send training jobs this way).
        """
        if not jobs:
            return []
        ray = self._init()
        remote = ray.remote(execute or self.execute)
        attempts: dict[int, int] = {}
        pending = {}

        def submit(i):
            job = jobs[i] = _for_worker(jobs[i])
            opts = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "max_retries": 0}
            pending[remote.options(**opts).remote(job)] = i
            attempts[i] = attempts.get(i, 0) + 1

        for i in range(len(jobs)):
            submit(i)
        failures = []
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), desc="jobs", unit="job")
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            i = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - worker crash (RayActorError/WorkerCrashedError) or job error
                err = _one_line(exc)
                if attempts[i] <= self.retries:
                    log.warning("job %s failed (%s); retry %d of %d", jobs[i].name, err, attempts[i], self.retries)
                    submit(i)
                    continue
                failures.append((jobs[i].name, err))
                log.error("job %s failed after %d attempts: %s", jobs[i].name, attempts[i], err)
                if bar:
                    bar.update(1)
                continue
            on_result(result)
            if bar:
                bar.update(1)
                bar.set_postfix(failed=len(failures), running=len(pending))
        if bar:
            bar.close()
        return failures


def _for_worker(job):
    """``job`` as a worker runs it: without progress bars (worker output is not shown on the driver).

    An evaluation job also drops the data planning loaded (the worker reloads its languages), so
    the driver does not keep every data set in memory while the cluster works."""
    from xgap.harness.jobs import Job

    if isinstance(job, Job):
        return replace(job, settings=replace(job.settings, progress=False), preloaded={})
    job.progress = False  # a grid's training job
    return job


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line and not line.startswith(("File ", "^", "Traceback")):
            return line[:300]
    return type(exc).__name__
