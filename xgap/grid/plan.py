"""``xgap grid plan``: the jobs an experiment implies, and which of them are already done.

Three kinds of job, in dependency order:

* **phase (ii)** -- one per (encoder size, intermediate setting, seed), setting ``none`` excepted.
  It is keyed without the targets, so every target of the cell reuses the same checkpoint.
* **phase (iii)** -- one per (cell, fine-tuned target): from the phase-(ii) encoder, or from the
  encoder itself for ``none``. Retrieval targets (Tatoeba, BUCC) have none: they read the
  encoder's hidden states directly.
* **evaluation** -- one per (cell, target): its languages become ordinary result records of the
  cell's submission ``<experiment>-<encoder>[-l<N>]-<setting>-s<seed>``.

Checkpoints live under the grid root (``--checkpoints``, default ``<cache>/grids/<experiment>``;
never inside the result store) in folders named from a hash of their declared inputs: encoder
spec and size, tasks and their card hashes, recipe overrides, seed, training dtype and the
training code version. A folder whose ``lineage.json`` says *complete* is done; training checks
the full run key again (data fingerprints included) and retrains in place when the data changed.
An evaluation's records are done when their resume keys match (the same check ``xgap run``
makes, possible once its checkpoint exists); with the checkpoint still to train, every language
is to do. Estimated counts (examples, optimizer steps) come from the local data when it is at
hand, else from the card's declared split sizes (planning never downloads).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from xgap.errors import XgapError
from xgap.grid.encoders import identity as encoder_identity
from xgap.grid.encoders import materialized, variant_dir, variant_ref
from xgap.grid.spec import Cell, Experiment

#: Target formats evaluated on the encoder's hidden states, without phase (iii).
NO_FINETUNING = ("bitext-retrieval", "bitext-mining")


@dataclass
class TrainStep:
    """One training run (phase ii or iii) and the cells that use its output."""

    phase: str  # "intermediate" | "target"
    key: str  # folder name under <root>/phase2 or <root>/phase3
    output: Path
    tasks: tuple
    seed: int
    overrides: dict
    start: str  # where training starts: "encoder:<variant key>" or "phase2:<key>"
    trust_remote_code: bool = False
    used_by: list = field(default_factory=list)  # cell submission ids
    done: bool = False
    examples: int | None = None  # estimated training examples (all tasks)
    steps: int | None = None  # estimated optimizer steps
    estimate_from: str = ""

    @property
    def name(self) -> str:
        return f"{'phase2' if self.phase == 'intermediate' else 'phase3'}/{self.key}"


@dataclass
class EvalStep:
    cell: Cell
    target: str
    langs: list
    model_from: str  # "phase3:<key>", "phase2:<key>" or "encoder:<variant key>"
    done_langs: list = field(default_factory=list)

    @property
    def todo(self) -> int:
        return len(self.langs) - len(self.done_langs)


@dataclass
class GridPlan:
    experiment: Experiment
    root: Path
    output: Path
    encoders: list  # [(variant, folder or None, ready)]
    phase2: list  # [TrainStep]
    phase3: list  # [TrainStep]
    evals: list  # [EvalStep]

    def phase3_for(self, cell: Cell, target: str) -> TrainStep | None:
        return next((s for s in self.phase3 if cell.submission in s.used_by and s.tasks == (target,)), None)

    def counts(self) -> dict:
        return {
            "cells": len(self.experiment.cells()),
            "encoders_to_prepare": sum(1 for _, d, ready in self.encoders if d is not None and not ready),
            "phase2": len(self.phase2), "phase2_todo": sum(not s.done for s in self.phase2),
            "phase3": len(self.phase3), "phase3_todo": sum(not s.done for s in self.phase3),
            "records": sum(len(e.langs) for e in self.evals), "records_todo": sum(e.todo for e in self.evals),
        }


def default_root(experiment: Experiment, cache_dir: str | None = None) -> Path:
    base = Path(cache_dir or os.environ.get("XGAP_CACHE_DIR") or Path.home() / ".cache" / "xgap")
    return base / "grids" / experiment.name


def _short(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]


def needs_finetuning(card) -> bool:
    return card.format not in NO_FINETUNING


def plan_grid(experiment: Experiment, output: str | Path, *, root: str | Path | None = None, data_dir: str | None = None,
              cache_dir: str | None = None, check_records: bool = True, estimate: bool = True) -> GridPlan:
    """Expand ``experiment`` into jobs; mark what the grid root and the store at ``output`` already hold.

    No model is loaded. ``check_records`` compares resume keys of existing records (hashing the
    finished checkpoints' weight files); ``estimate`` counts training examples from local data.
    """
    from xgap.cards import load_card
    from xgap.training.api import TRAINING_VERSION
    from xgap.training.lineage import read_lineage

    root = Path(root) if root else default_root(experiment, cache_dir)
    tdtype = experiment.training.get("dtype", "float32")
    encoders = []
    for v in experiment.encoders:
        encoders.append((v, variant_dir(v, root), materialized(v, root)))

    phase2: dict[str, TrainStep] = {}
    phase3: dict[str, TrainStep] = {}
    evals: list[EvalStep] = []
    estimates: dict = {}

    def done(out: Path) -> bool:
        lin = read_lineage(out)
        return bool(lin and lin.get("status") == "complete")

    for cell in experiment.cells():
        v, s = cell.encoder, cell.setting
        trust = bool(v.spec.get("trust_remote_code", False))
        start = f"encoder:{v.key}"
        p2 = None
        if not s.is_none:
            ov = experiment.setting_overrides(s)
            ident = {"encoder": encoder_identity(v), "tasks": list(s.tasks), "cards": [load_card(t).hash for t in s.tasks],
                     "overrides": ov, "seed": cell.seed, "dtype": tdtype, "training_version": TRAINING_VERSION}
            key = f"{v.key}--{s.slug}--s{cell.seed}-{_short(ident)}"
            p2 = phase2.get(key)
            if p2 is None:
                p2 = phase2[key] = TrainStep("intermediate", key, root / "phase2" / key, tuple(s.tasks), cell.seed, ov, start, trust)
                p2.done = done(p2.output)
            p2.used_by.append(cell.submission)
            start = f"phase2:{key}"
        for target in experiment.targets:
            card = load_card(target)
            langs = experiment.languages.get(target) or list(card.languages)
            if not needs_finetuning(card):
                evals.append(EvalStep(cell, target, langs, start))
                continue
            ov = experiment.overrides(target)
            ident = {"start": start, "target": target, "card": card.hash, "overrides": ov, "seed": cell.seed, "dtype": tdtype,
                     "training_version": TRAINING_VERSION}
            key = f"{v.key}--{s.slug}--s{cell.seed}--{target}-{_short(ident)}"
            p3 = phase3.get(key)
            if p3 is None:
                p3 = phase3[key] = TrainStep("target", key, root / "phase3" / key, (target,), cell.seed, ov, start, trust)
                p3.done = done(p3.output)
            p3.used_by.append(cell.submission)
            evals.append(EvalStep(cell, target, langs, f"phase3:{key}"))

    plan = GridPlan(experiment, root, Path(output), encoders, list(phase2.values()), list(phase3.values()), evals)
    if estimate:
        for step in plan.phase2 + plan.phase3:
            _estimate(step, data_dir, estimates)
    if check_records:
        _mark_records(plan, data_dir)
    return plan


def model_ref(plan: GridPlan, source: str):
    """The model a ``model_from``/``start`` string names: a checkpoint folder, or the encoder itself
    (a truncated copy, a local folder, or a hub id with its pinned revision)."""
    from xgap.modeling.models import ModelRef

    kind, key = source.split(":", 1)
    if kind in ("phase2", "phase3"):
        step = next(s for s in (plan.phase2 if kind == "phase2" else plan.phase3) if s.key == key)
        return ModelRef(str(step.output), None, step.trust_remote_code)
    v = next(v for v in plan.experiment.encoders if v.key == key)
    return variant_ref(v, plan.root)


def _ready(plan: GridPlan, source: str) -> bool:
    kind, key = source.split(":", 1)
    if kind in ("phase2", "phase3"):
        steps = plan.phase2 if kind == "phase2" else plan.phase3
        return any(s.key == key and s.done for s in steps)
    v = next(v for v in plan.experiment.encoders if v.key == key)
    return materialized(v, plan.root)


def evaluation_plan(experiment: Experiment, submission: str, tasks: list, data_dir: str | None, **extra):
    """The :class:`~xgap.harness.runner.RunPlan` evaluating one cell with the experiment's
    ``evaluation`` settings. One place for both the plan's "done" check and the run, so the two
    compute the same resume keys. ``extra``: further RunPlan fields (manifest, progress, ...)."""
    from xgap.harness.runner import RunPlan
    from xgap.settings import DEFAULT_BATCH_TOKENS

    ev = experiment.evaluation
    return RunPlan(submission=submission, tasks=tasks, dtype=ev.get("dtype", "float32"), batch_tokens=ev.get("batch_tokens", DEFAULT_BATCH_TOKENS),
                   bootstrap=ev.get("bootstrap", 1000), seed=0, data_dir=data_dir, limit=ev.get("limit"), split=ev.get("split"), **extra)


def _mark_records(plan: GridPlan, data_dir: str | None) -> None:
    """Which records of each evaluation exist with matching resume keys (needs its model to exist)."""
    from xgap.harness.runner import TaskPlan, plan_jobs
    from xgap.store import ResultStore

    if not plan.output.is_dir():
        return
    store = ResultStore(plan.output)
    for e in plan.evals:
        if not _ready(plan, e.model_from):
            continue
        rp = evaluation_plan(plan.experiment, e.cell.submission, [TaskPlan(e.target, model_ref(plan, e.model_from), e.langs)],
                             data_dir, progress=False, prompts=dict(e.cell.encoder.prompts) or None)
        try:
            _, outcomes = plan_jobs(rp, store)
        except XgapError:
            continue  # e.g. data not at hand: counted as to do
        e.done_langs = sorted(outcomes[0].per_lang)


def _estimate(step: TrainStep, data_dir: str | None, memo: dict) -> None:
    """Estimated training examples and optimizer steps (``≈``: QA windows and multi-task caps ignored)."""
    from xgap.cards import load_card
    from xgap.data import load_examples
    from xgap.training.api import RECIPE_DEFAULTS, parse_train_from

    total_examples, total_steps, sources = 0, 0, []
    for t in step.tasks:
        card = load_card(t)
        ov = step.overrides if len(step.tasks) == 1 else {k: v for k, v in step.overrides.items() if k not in ("train_from",)}
        stand_in = parse_train_from(ov.get("train_from"))
        split = ov.get("train_split") or "train"
        src_card, lang, src_split = (load_card(stand_in[0]), stand_in[1], stand_in[2]) if stand_in else (card, card.english, split)
        mkey = (src_card.name, lang, src_split, data_dir)
        if mkey not in memo:
            n, how = None, ""
            try:
                n, how = len(load_examples(src_card, lang, src_split, data_dir=data_dir, allow_hub=False).examples), "data"
            except Exception:  # noqa: BLE001 - no local copy (the plan never downloads): fall back to the card
                from xgap.data.hub import expected_size

                size = expected_size(src_card, lang, src_split)  # the card's per-language size, else its size
                n, how = (int(size), "card") if size else (None, "unknown")
            memo[mkey] = (n, how)
        n, how = memo[mkey]
        sources.append(how)
        if n is None:
            total_examples = None
            break
        if ov.get("dev_holdout"):
            n -= max(1, int(round(float(ov["dev_holdout"]) * n)))
        if ov.get("limit"):
            n = min(n, int(ov["limit"]))
        recipe = dict(RECIPE_DEFAULTS, **card.recipe)
        batch = int(ov.get("batch_size") or recipe["batch_size"])
        epochs = float(ov.get("epochs") or recipe["epochs"])
        total_examples += n
        total_steps += math.ceil(math.ceil(n / batch) * epochs)
    if total_examples is None:
        step.estimate_from = "unknown"
        return
    if step.overrides.get("max_steps"):
        total_steps = min(total_steps, int(step.overrides["max_steps"]))
    step.examples, step.steps = total_examples, total_steps
    step.estimate_from = "local data" if all(s == "data" for s in sources) else "card sizes"


def format_plan(plan: GridPlan) -> str:
    """The plan as text: one line per job with its status, then the totals."""
    exp = plan.experiment
    c = plan.counts()
    lines = [f"experiment {exp.name}: {len(exp.encoders)} encoder size(s) x {len(exp.settings)} intermediate setting(s) x "
             f"{len(exp.seeds)} seed(s) = {c['cells']} cells; targets {', '.join(exp.targets)}",
             f"checkpoints: {plan.root}", f"records: {plan.output}", ""]
    lines.append("encoders")
    for v, d, ready in plan.encoders:
        where = "used in place" if d is None else (f"ready ({d})" if ready else f"to prepare: keep first {v.layers} layers -> {d}")
        lines.append(f"  {v.key:<28} {where}")

    def step_line(s: TrainStep) -> str:
        est = f"~{s.examples:,} examples, ~{s.steps:,} steps ({s.estimate_from})" if s.steps is not None else "size unknown"
        ov = f"; overrides {json.dumps(s.overrides, sort_keys=True)}" if s.overrides else ""
        return (f"  [{'done' if s.done else 'todo'}] {s.key}: {'+'.join(s.tasks)} from {s.start}, seed {s.seed}; {est}; "
                f"used by {len(s.used_by)} cell(s){ov}")

    lines.append(f"\nphase (ii) intermediate training: {len(plan.phase2)} job(s), {c['phase2_todo']} to do"
                 + (" (each shared by every target of its cell)" if plan.phase2 else ""))
    lines += [step_line(s) for s in plan.phase2]
    lines.append(f"\nphase (iii) target fine-tuning: {len(plan.phase3)} job(s), {c['phase3_todo']} to do")
    lines += [step_line(s) for s in plan.phase3]
    lines.append(f"\nevaluation: {len(plan.evals)} job(s), {c['records']} records, {c['records_todo']} to do")
    for e in plan.evals:
        status = "done" if e.todo == 0 else (f"{e.todo} of {len(e.langs)} to do")
        lines.append(f"  [{status}] {e.cell.submission}/{e.target}: {','.join(e.langs)} with {e.model_from}")
    steps = [s.steps for s in plan.phase2 + plan.phase3 if not s.done and s.steps is not None]
    lines.append(f"\ntotal to do: {c['encoders_to_prepare']} encoder(s) to prepare, {c['phase2_todo']} phase (ii) + "
                 f"{c['phase3_todo']} phase (iii) training(s) (~{sum(steps):,} optimizer steps), {c['records_todo']} record(s)")
    return "\n".join(lines)
