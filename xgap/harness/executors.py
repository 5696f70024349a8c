"""Executors run :class:`~xgap.harness.jobs.Job` lists; the driver writes what they return.

``LocalExecutor`` (the default) runs jobs one after another in this process, hands each
language's record to the driver the moment it is finished (an interrupt loses nothing done), and
lets an error propagate (a local user wants to see it at once). ``RayExecutor`` (``xgap[ray]``) lives in
:mod:`xgap.harness.ray_executor`, imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable


class LocalExecutor:
    group_size = None

    def run(self, jobs, on_result: Callable, execute: Callable | None = None) -> list:
        """Run ``jobs`` in order; ``execute`` replaces the evaluation job function (grids pass training jobs)."""
        if execute is not None:
            for job in jobs:
                on_result(execute(job))
            return []
        from xgap.harness.jobs import execute_job

        for job in jobs:
            execute_job(job, on_item=on_result)  # each language is written as soon as it is done
        return []


def make_executor(name: str, **options):
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from xgap.harness.ray_executor import RayExecutor

        return RayExecutor(**options)
    from xgap.errors import XgapError

    raise XgapError(f"unknown executor '{name}' (local or ray)")
