"""``xgap grid run``: prepare encoders, train phase (ii) once per cell, phase (iii) per target, evaluate.

Every step is resumable: truncated encoders and checkpoints are reused when their folders hold a
complete copy (training itself checks its full run key and resumes an interrupted run from
``checkpoint-last/``); evaluation goes through :func:`xgap.harness.runner.run_plans`, so every
result is an ordinary record written atomically per (submission, task, language) and a rerun
computes only what is missing.

With the Ray executor the trainings of one phase run as parallel Ray tasks (checkpoints are
written by the workers, so the grid root must be on storage every node sees), then the
evaluations run as ``xgap run --executor ray`` would run them. Locally everything runs in this
process, in order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from xgap.errors import XgapError
from xgap.grid.plan import GridPlan, evaluation_plan, model_ref, plan_grid
from xgap.grid.spec import Cell, Experiment

log = logging.getLogger(__name__)


@dataclass
class TrainJob:
    """A picklable training call (phase ii or iii) for an executor."""

    name: str
    phase: str
    model: str
    tasks: tuple
    output: str
    kwargs: dict
    progress: bool = True
    resources: dict = field(default_factory=dict)


def execute_train_job(job: TrainJob) -> dict:
    """Run one training job (reusing a finished identical one); return a small summary."""
    from xgap.training.api import train_intermediate, train_target

    kw = dict(job.kwargs, progress=job.progress, replace_stale=True)
    t0 = time.perf_counter()
    if job.phase == "intermediate":
        res = train_intermediate(job.model, list(job.tasks), job.output, **kw)
    else:
        res = train_target(job.model, job.tasks[0], job.output, **kw)
    return {"name": job.name, "output": str(res.output), "reused": res.reused, "dev_score": res.dev_score,
            "seconds": round(time.perf_counter() - t0, 1)}


@dataclass
class GridOutcome:
    plan: GridPlan
    trained: list = field(default_factory=list)  # summaries of training jobs run (or reused)
    failures: list = field(default_factory=list)  # (job name, error)
    records_computed: int = 0
    records_reused: int = 0
    seconds: dict = field(default_factory=dict)


def _source_name(source: str) -> str:
    """``"phase2:<key>"`` -> ``"phase2/<key>"`` (a TrainStep's name); encoders keep their form."""
    return source.replace(":", "/", 1)


def _train_kwargs(experiment: Experiment, step, data_dir: str | None) -> dict:
    kw = dict(step.overrides)
    kw.update(data_dir=data_dir, seed=step.seed, dtype=experiment.training.get("dtype", "float32"),
              device=experiment.training.get("device", "auto"), trust_remote_code=step.trust_remote_code)
    return kw


def cell_manifest(experiment: Experiment, plan: GridPlan, cell: Cell) -> dict:
    """The submission manifest of one grid cell (schema-valid; ``grid`` says where it sits)."""
    v, s = cell.encoder, cell.setting
    spec = v.spec
    tasks = {}
    for target in experiment.targets:
        p3 = plan.phase3_for(cell, target)
        tasks[target] = {"checkpoint": str(p3.output)} if p3 else {}
    model = {"path": model_ref(plan, f"encoder:{v.key}").name} if v.layers else {
        k: spec[k] for k in ("hub", "revision", "path", "package", "trust_remote_code") if k in spec}
    stand_ins = list(experiment.stand_ins)
    for t in list(s.tasks) + list(experiment.targets):
        ov = experiment.overrides(t, s if t in s.tasks else None)
        if ov.get("train_from"):
            stand_ins.append(f"{t} trained on {ov['train_from']}")
        if ov.get("train_split") == "dev":
            stand_ins.append(f"{t} trained on its English dev split" + (f" (last {ov['dev_holdout']:.0%} held out for selection)"
                                                                         if ov.get("dev_holdout") else ""))
    grid = {"experiment": experiment.name, "encoder": v.name, "size": v.size, "layers": v.layers,
            "intermediate": s.label, "intermediate_tasks": list(s.tasks), "seed": cell.seed, "targets": list(experiment.targets),
            "languages": {t: list(experiment.languages[t]) for t in experiment.targets if t in experiment.languages},
            "stand_ins": list(dict.fromkeys(stand_ins))}
    if experiment.title:
        grid["title"] = experiment.title
    trunc = f", first {v.layers} layers" if v.layers else ""
    return {
        "id": cell.submission,
        "name": f"{v.display or v.name} {v.size if v.layers else ''} | {s.label} | seed {cell.seed}".replace("  ", " "),
        "description": f"Cell of experiment grid '{experiment.name}': encoder {v.name}{trunc}; intermediate {s.label}"
                       f"{' (' + ', '.join(s.tasks) + ')' if s.tasks and s.label != '+'.join(s.tasks) else ''}; seed {cell.seed}.",
        "model": model,
        "base_encoder": v.display or v.name,
        "intermediate": list(s.tasks) if s.tasks else "none",
        "license": v.license or "unknown",
        "authors": [f"xgap grid {experiment.name}"],
        "tasks": tasks,
        **({"prompts": dict(v.prompts)} if v.prompts else {}),
        "grid": grid,
    }


def run_grid(experiment: Experiment, output: str | Path, *, root: str | Path | None = None, data_dir: str | None = None,
             cache_dir: str | None = None, executor=None, progress: bool = True, force: bool = False) -> GridOutcome:
    """Run everything ``experiment`` implies that is not done yet; return what happened.

    ``executor``: a :mod:`xgap.harness.executors` executor (default: local). A training job that
    fails is reported with its error; the cells that need it are skipped, the others finish.
    """
    from xgap.grid.encoders import encoder_parameters, materialize
    from xgap.harness.executors import LocalExecutor
    from xgap.harness.runner import TaskPlan, run_plans
    from xgap.validation import check

    executor = executor or LocalExecutor()
    t0 = time.perf_counter()
    plan = plan_grid(experiment, output, root=root, data_dir=data_dir, cache_dir=cache_dir, check_records=False, estimate=False)
    out = GridOutcome(plan)

    # Encoders: truncated copies (cheap; on the driver) and their sizes, counted from the weights.
    params = {}
    for v, _, _ in plan.encoders:
        materialize(v, plan.root)
        params[v.key] = encoder_parameters(v, plan.root)
    out.seconds["encoders"] = round(time.perf_counter() - t0, 1)

    failed: set = set()

    def train_phase(steps, label):
        t = time.perf_counter()
        jobs = []
        for s in steps:
            if _source_name(s.start) in failed:  # its phase (ii) encoder failed
                failed.add(s.name)
                continue
            start = model_ref(plan, s.start)
            jobs.append(TrainJob(s.name, s.phase, start.name, s.tasks, str(s.output),
                                 dict(_train_kwargs(experiment, s, data_dir), revision=start.revision), progress=progress))
        if not jobs:
            return
        log.info("%s: %d training job(s)", label, len(jobs))

        def on_result(summary):
            out.trained.append(summary)
            s = next(x for x in steps if x.name == summary["name"])
            s.done = True
            log.info("%s: %s (dev %.2f, %.0fs) -> %s", summary["name"], "reused" if summary["reused"] else "trained",
                     summary["dev_score"], summary["seconds"], summary["output"])

        failures = executor.run(jobs, on_result, execute=execute_train_job)
        for name, err in failures:
            failed.add(name)
            out.failures.append((name, err))
        out.seconds[label] = round(time.perf_counter() - t, 1)

    train_phase(plan.phase2, "phase2")
    train_phase(plan.phase3, "phase3")

    # Evaluation: one submission per cell, every target a task of it.
    t = time.perf_counter()
    plans = []
    for cell in experiment.cells():
        tasks = []
        for e in (x for x in plan.evals if x.cell == cell):
            if _source_name(e.model_from) in failed:
                continue  # its checkpoint could not be trained (reported below)
            tasks.append(TaskPlan(e.target, model_ref(plan, e.model_from), e.langs))
        if not tasks:
            continue
        manifest = cell_manifest(experiment, plan, cell)
        check(manifest, "submission", f"{cell.submission} (generated manifest)")
        plans.append(evaluation_plan(experiment, cell.submission, tasks, data_dir, manifest=manifest, force=force,
                                     cache_dir=cache_dir, progress=progress, parameters=params[cell.encoder.key],
                                     prompts=dict(cell.encoder.prompts) or None))
    try:
        results = run_plans(plans, output, executor, report=print) if plans else {}
    except XgapError as exc:
        out.failures.append(("evaluation", str(exc)))
        results = {}
    for outcomes in results.values():
        for o in outcomes:
            out.records_computed += o.computed
            out.records_reused += o.reused
    out.seconds["evaluation"] = round(time.perf_counter() - t, 1)
    out.seconds["total"] = round(time.perf_counter() - t0, 1)
    return out
