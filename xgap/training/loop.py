"""The trainer: a small explicit PyTorch loop (no ``transformers.Trainer``, no ``accelerate``).

Why this and not ``Trainer`` or ``accelerate``:

* **Multi-task**: X-STILTs trains one encoder under several heads, a task drawn per step.
  ``Trainer`` is built around one model and one dataloader; bending it to a per-step task draw
  means overriding its sampler, its loss and its evaluation loop -- more code than the loop itself.
* **Exact resume**: a resumed run must reach the *same weights* as an uninterrupted one. Here the
  batch of every step is a pure function of ``(seed, step)`` (:mod:`xgap.training.multitask`), and
  the checkpoint holds weights, AdamW and scheduler state and every RNG state, so replay is
  bit-exact on the same machine. ``Trainer``'s resume skips batches of a stateful dataloader and
  is only approximately reproducible with length grouping.
* **Target hardware**: xgap runs on CPUs (2 cores in CI) and single GPUs; ``accelerate`` would add
  a dependency for device placement and autocast that are three lines here. The loop still runs
  on a GPU (``device="cuda"``), where bit-exact resume is not promised (cuBLAS non-determinism).

What a step does: draw the step's task, take its batch (the card's ``batch_size`` = the effective
batch; random by default, length-grouped on request: recipe ``batching``, see
:mod:`~xgap.training.multitask`), split it into micro-batches of ``micro_batch_size`` for gradient
accumulation (each micro-batch's mean loss weighted by its share of the batch's loss units, so the
gradient equals the whole batch's; or, with ``micro_batch_tokens``, length-sorted micro-batches of a
token budget: the same gradient with less padding), with the loss either the mean over the batch's
loss units (``loss_weighting: batch-mean``, as ``transformers`` models compute it) or their sum over
the task's mean units per batch (``per-token``: every labelled token weighs the same), clip the
gradient norm (``max_grad_norm``), AdamW step, LR schedule step (linear warm-up over
``warmup_ratio`` of the steps, then linear decay to 0; or constant).
Forward passes run in float32, or under bf16 autocast with float32 master weights.

Every ``eval_every`` steps (and at the last step) each task is scored on its English dev set; the
selection score is the **unweighted mean of the tasks' primary scores**. A better score saves the
weights to ``checkpoint-best/``; ``patience`` evaluations without improvement stop training early.
Every ``save_every`` steps (and after every improvement) the full state goes atomically to
``checkpoint-last/``; rerunning the same command resumes from there. ``train_log.jsonl`` gets a
line per ``log_every`` steps (loss, lr, task) and per evaluation (dev metrics, selection score).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xgap.errors import XgapError
from xgap.formats.registry import get_format
from xgap.modeling.features import qa_loss  # noqa: F401 - kept importable here (the loss moved to modeling)
from xgap.modeling.heads import TaskHead, full_state, load_full_state, save_safetensors
from xgap.settings import DEFAULT_BATCH_TOKENS
from xgap.training import multitask

STATE_VERSION = 1


@dataclass
class TaskRun:
    """One task's part of a training run."""

    name: str
    card: object
    head: TaskHead
    features: list  # training features (dicts)
    lengths: list
    size: int  # training examples (the sampling weight before capping)
    batch_size: int
    dev_examples: list
    labels: list | None
    max_length: int | None = None


@dataclass
class LoopConfig:
    learning_rate: float
    epochs: float
    warmup_ratio: float = 0.1
    schedule: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    eval_every: int = 1000
    save_every: int | None = None  # default: eval_every
    patience: int | None = None
    seed: int = 0
    dtype: str = "float32"
    max_steps: int | None = None
    micro_batch_size: int | None = None
    micro_batch_tokens: int | None = None  # length-sorted micro-batches of at most N padded tokens
    cap: int | None = None
    log_every: int = 10
    batching: str = "random"  # multitask.BATCHING_MODES
    loss_weighting: str = "batch-mean"  # multitask.LOSS_WEIGHTINGS
    #: keep the encoder's input (word) embedding matrix fixed: no gradient, no AdamW state. For
    #: encoders with a large vocabulary (XLM-R/e5: 250k x 384 = 96M of 118M parameters) this is most of
    #: an optimizer step's memory and time on a CPU; a recorded recipe override, never a default.
    freeze_embeddings: bool = False
    progress: bool = True
    device: str = "cpu"
    batch_tokens: int = DEFAULT_BATCH_TOKENS  # dev evaluation


@dataclass
class LoopOutcome:
    total_steps: int
    steps_done: int
    best_step: int
    best_score: float
    best_dev: dict
    early_stopped: bool
    resumed_from: int
    history: list = field(default_factory=list)
    wall_seconds: float = 0.0
    weights: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers
def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _rng_state() -> dict:
    import torch

    np_state = np.random.get_state()
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    return {"json": state, "tensors": tensors}


def _set_rng_state(js: dict, tensors: dict) -> None:
    import torch

    py = js["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = js["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _swap_dir(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` so that one complete version always exists on disk."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _existing_dir(final: Path) -> Path | None:
    """``final``, or its ``.old`` copy when a swap was interrupted between the two renames."""
    if (final / "state.json").is_file() or (final / "best.json").is_file():
        return final
    old = final.with_name(final.name + ".old")
    if (old / "state.json").is_file() or (old / "best.json").is_file():
        return old
    return None


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def lr_lambda(schedule: str, warmup: int, total: int):
    """Hugging Face's ``get_linear_schedule_with_warmup`` (``schedule="linear"``) or
    ``get_constant_schedule_with_warmup`` (``"constant"``) as a multiplier of the peak LR."""

    def f(step: int) -> float:
        if step < warmup:
            return float(step) / float(max(1, warmup))
        if schedule == "constant":
            return 1.0
        return max(0.0, float(total - step) / float(max(1, total - warmup)))

    return f


def loss_units(fmt: str, features: Sequence[dict]) -> int:
    """What format ``fmt``'s mean loss averages over (its ``Format.loss_units``): labelled tokens for tagging, else examples."""
    return get_format(fmt).loss_units(features)


def micro_batches(feats: Sequence[dict], micro_batch_size: int | None, micro_batch_tokens: int | None) -> list[list[dict]]:
    """The micro-batches of one batch: slices of ``micro_batch_size`` in batch order, or (``micro_batch_tokens``)
    the batch sorted by length, longest first, cut so that each micro-batch pads to at most that many tokens.

    Why the second: a random batch of 32 UD sentences pads to ~3x its real tokens (its longest member
    sets the width); cut into length-sorted micro-batches of 512 padded tokens it computes ~1.6x.
    The gradient is the same (micro-batches are weighted by their loss units), so this changes speed,
    not what is learned -- unlike length-grouped *batches*.
    """
    mbs = micro_batch_size or len(feats)
    if not micro_batch_tokens:
        return [list(feats[a : a + mbs]) for a in range(0, len(feats), mbs)]
    width = [max(len(x) for x in f["input_ids"]) * len(f["input_ids"]) if fmt_is_choice(f) else len(f["input_ids"]) for f in feats]
    order = sorted(range(len(feats)), key=lambda i: (-width[i], i))
    out, a = [], 0
    while a < len(order):
        n = max(1, min(mbs, len(order) - a, int(micro_batch_tokens) // max(1, width[order[a]])))
        out.append([feats[i] for i in order[a : a + n]])
        a += n
    return out


def fmt_is_choice(feature: dict) -> bool:
    """Multiple-choice features hold one input per choice (a list of lists)."""
    ids = feature["input_ids"]
    return bool(ids) and isinstance(ids[0], (list, tuple))


def backward_batch(model, fmt: str, feats: Sequence[dict], micro_batch_size: int | None, pad_token_id: int,
                   padding_side: str, device, dtype: str = "float32", norm: float | None = None,
                   micro_batch_tokens: int | None = None) -> float | None:
    """Accumulate the gradient of one batch's loss, in micro-batches; return the loss (None: nothing to learn).

    Each micro-batch's mean loss is weighted by its share of the batch's loss units (examples, or
    labelled tokens for tagging -- see :func:`~xgap.modeling.features.loss_units`), so the summed
    gradient equals the gradient of the whole batch's mean loss whatever the micro-batch size.
    ``micro_batch_tokens``: length-sorted micro-batches instead (:func:`micro_batches`).
    ``norm`` (``loss_weighting: per-token``): divide the batch's *summed* unit losses by this
    constant instead of by the batch's own unit count (:func:`~xgap.training.multitask.unit_norm`).
    """
    import torch

    spec = get_format(fmt)
    units = loss_units(fmt, feats)
    if units == 0:
        return None
    device = torch.device(device)
    total = 0.0
    for mb in micro_batches(feats, micro_batch_size, micro_batch_tokens):
        u = loss_units(fmt, mb)
        if u == 0:
            continue
        inputs = {k: v.to(device) for k, v in spec.collate(mb, pad_token_id, padding_side).items()}
        targets = {k: inputs.pop(k) for k in spec.loss_targets}
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            out = model(**inputs)
        loss = spec.loss(out, inputs, targets) if spec.loss else out.loss
        loss = loss.float() * (u / (norm if norm else units))
        loss.backward()
        total += float(loss.detach())
    return total


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Runs (or resumes) one training run into ``workdir``; see the module docstring."""

    def __init__(self, encoder, tasks: Sequence[TaskRun], tokenizer, config: LoopConfig, workdir: Path, run_key: str):
        self.encoder = encoder
        self.tasks = list(tasks)
        self.tokenizer = tokenizer
        self.cfg = config
        self.dir = Path(workdir)
        self.run_key = run_key
        self.log_path = self.dir / "train_log.jsonl"
        self.last_dir = self.dir / "checkpoint-last"
        self.best_dir = self.dir / "checkpoint-best"
        self._batch_cache: dict = {}
        if config.freeze_embeddings:  # no gradient, so _parameters() leaves it out of the optimizer
            encoder.get_input_embeddings().weight.requires_grad_(False)

    # -------------------------------------------------------------- plan
    def plan(self) -> dict:
        c = self.cfg
        sizes = [t.size for t in self.tasks]
        weights = multitask.sampling_weights(sizes, c.cap)
        if len(self.tasks) == 1:
            per_epoch = multitask.batches_per_epoch(len(self.tasks[0].features), self.tasks[0].batch_size)
        else:
            per_epoch = multitask.steps_per_epoch(sizes, [t.batch_size for t in self.tasks], c.cap)
        total = max(1, int(math.ceil(c.epochs * per_epoch)))
        if c.max_steps:
            total = min(total, int(c.max_steps))
        warmup = int(math.floor(c.warmup_ratio * total))
        return {"weights": weights, "steps_per_epoch": per_epoch, "total_steps": total, "warmup_steps": warmup}

    def _batches(self, t: int, epoch: int) -> list:
        key = (t, epoch)
        if key not in self._batch_cache:
            if len(self._batch_cache) > 4 * len(self.tasks):
                self._batch_cache.clear()
            task = self.tasks[t]
            self._batch_cache[key] = multitask.epoch_batches(task.lengths, task.batch_size, self.cfg.seed, task.name, epoch,
                                                             self.cfg.batching)
        return self._batch_cache[key]

    def unit_norm(self, task: TaskRun) -> float | None:
        """The task's per-token loss divisor (None under ``batch-mean``): see :func:`multitask.unit_norm`."""
        if self.cfg.loss_weighting == "batch-mean":
            return None
        if self.cfg.loss_weighting != "per-token":
            raise XgapError(f"loss_weighting must be one of {', '.join(multitask.LOSS_WEIGHTINGS)}, not {self.cfg.loss_weighting!r}")
        return multitask.unit_norm([loss_units(task.head.format, [f]) for f in task.features], task.batch_size)

    # -------------------------------------------------------------- model pieces
    def _parameters(self) -> list:
        params, seen = [], set()
        named = [(f"encoder.{n}", p) for n, p in self.encoder.named_parameters()]
        for t in self.tasks:
            named += [(f"heads.{t.name}.{n}", p) for n, p in t.head.head_parameters()]
        for n, p in named:
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                params.append((n, p))
        return params

    def _optimizer(self, params):
        import torch

        wd = float(self.cfg.weight_decay or 0.0)
        if wd > 0:
            nd = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
            groups = [
                {"params": [p for n, p in params if not n.endswith(nd)], "weight_decay": wd},
                {"params": [p for n, p in params if n.endswith(nd)], "weight_decay": 0.0},
            ]
        else:
            groups = [{"params": [p for _, p in params], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=float(self.cfg.learning_rate), betas=(0.9, 0.999), eps=1e-8)

    def _to_device(self) -> None:
        self.encoder.to(self.cfg.device)
        for t in self.tasks:
            t.head.model.to(self.cfg.device)

    def _train_mode(self) -> None:
        for t in self.tasks:
            t.head.model.train()

    # -------------------------------------------------------------- persistence
    def _save_last(self, step: int, opt, sched, best: dict, elapsed: float, early_stopped: bool) -> None:
        import torch

        tmp = self.dir / f".checkpoint-last.{os.getpid()}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_safetensors(tmp / "weights.safetensors", {k: v.cpu() for k, v in full_state(self.encoder, [t.head for t in self.tasks]).items()})
        torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp / "optimizer.pt")
        rng = _rng_state()
        save_safetensors(tmp / "rng.safetensors", rng["tensors"])
        log_bytes = self.log_path.stat().st_size if self.log_path.exists() else 0
        state = {"state_version": STATE_VERSION, "run_key": self.run_key, "step": step, "best": best, "elapsed": elapsed,
                 "early_stopped": early_stopped, "log_bytes": log_bytes, "rng": rng["json"]}
        (tmp / "state.json").write_text(json.dumps(state))
        _fsync_dir(tmp)
        _swap_dir(tmp, self.last_dir)

    def _save_best(self, step: int, score: float, dev: dict) -> None:
        tmp = self.dir / f".checkpoint-best.{os.getpid()}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_safetensors(tmp / "weights.safetensors", {k: v.cpu() for k, v in full_state(self.encoder, [t.head for t in self.tasks]).items()})
        (tmp / "best.json").write_text(json.dumps({"run_key": self.run_key, "step": step, "score": score, "dev": dev}))
        _fsync_dir(tmp)
        _swap_dir(tmp, self.best_dir)

    def _load_weights(self, folder: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(folder / "weights.safetensors"))
        load_full_state(self.encoder, [t.head for t in self.tasks], state)

    def _resume(self, opt, sched) -> dict | None:
        import torch
        from safetensors.torch import load_file

        folder = _existing_dir(self.last_dir)
        if folder is None:
            return None
        try:
            state = json.loads((folder / "state.json").read_text())
        except (OSError, ValueError):
            raise XgapError(f"{folder}: unreadable training state - fix: delete {folder} to start over") from None
        if state.get("run_key") != self.run_key or state.get("state_version") != STATE_VERSION:
            raise XgapError(
                f"{self.dir} holds an interrupted run with different settings (model, tasks, data, recipe or seed) "
                f"- fix: rerun with the same arguments, use another --output, or delete {folder}"
            )
        self._load_weights(folder)
        blob = torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True)
        opt.load_state_dict(blob["optimizer"])
        sched.load_state_dict(blob["scheduler"])
        _set_rng_state(state["rng"], load_file(str(folder / "rng.safetensors")))
        if self.log_path.exists():
            with open(self.log_path, "r+b") as fh:
                fh.truncate(int(state.get("log_bytes", 0)))
        return state

    def _log(self, entry: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -------------------------------------------------------------- evaluation
    def evaluate(self) -> dict:
        """Dev metrics of every task and the selection score (unweighted mean of primaries)."""
        from xgap.training.dev import dev_metrics

        per_task = {}
        for t in self.tasks:
            per_task[t.name] = dev_metrics(t.card, t.head.model, self.tokenizer, t.dev_examples, t.labels,
                                           max_length=t.max_length, dtype=self.cfg.dtype, batch_tokens=self.cfg.batch_tokens)
        score = float(np.mean([m["primary"] for m in per_task.values()]))
        self._train_mode()
        return {"score": round(score, 6), "tasks": per_task}

    # -------------------------------------------------------------- the loop
    def train(self) -> LoopOutcome:
        import torch

        c = self.cfg
        plan = self.plan()
        total, warmup = plan["total_steps"], plan["warmup_steps"]
        schedule = multitask.task_schedule(plan["weights"], total, c.seed)
        uses = multitask.uses_before(schedule)
        nbatches = [multitask.batches_per_epoch(len(t.features), t.batch_size) for t in self.tasks]
        for t, n in zip(self.tasks, nbatches):
            if n == 0:
                raise XgapError(f"task '{t.name}' has no training features")
        norms = [self.unit_norm(t) for t in self.tasks]
        self._to_device()
        params = self._parameters()
        opt = self._optimizer(params)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(c.schedule, warmup, total))
        save_every = c.save_every or c.eval_every
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        side = getattr(self.tokenizer, "padding_side", "right") or "right"
        device = torch.device(c.device)

        seed_everything(c.seed)
        state = self._resume(opt, sched)
        start = 0
        best = {"score": None, "step": 0, "dev": None, "bad_evals": 0}
        elapsed, early = 0.0, False
        if state is not None:
            start, best, elapsed, early = int(state["step"]), state["best"], float(state["elapsed"]), bool(state["early_stopped"])
        resumed_from = start
        self._train_mode()
        if state is None:
            if self.log_path.exists():
                self.log_path.unlink()  # a run killed before its first checkpoint starts over
            self._log({"event": "start", "total_steps": total, "warmup_steps": warmup, "steps_per_epoch": plan["steps_per_epoch"],
                       "batching": c.batching, "loss_weighting": c.loss_weighting,
                       "tasks": {t.name: {"weight": round(float(w), 6), "train_features": len(t.features), "batch_size": t.batch_size}
                                 for t, w in zip(self.tasks, plan["weights"])}})
        else:
            self._log({"event": "resume", "step": start})

        bar = None
        if c.progress and not os.environ.get("XGAP_QUIET"):
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
        t0 = time.perf_counter()
        running, running_n = 0.0, 0
        step = start
        try:
            while step < total and not early:
                ti = int(schedule[step])
                task = self.tasks[ti]
                epoch, j = divmod(int(uses[step]), nbatches[ti])
                batch = self._batches(ti, epoch)[j]
                feats = [task.features[i] for i in batch]
                step_loss = backward_batch(task.head.model, task.head.format, feats, c.micro_batch_size, pad, side, device, c.dtype, norms[ti],
                                           c.micro_batch_tokens)
                if step_loss is not None:
                    if c.max_grad_norm:
                        torch.nn.utils.clip_grad_norm_([p for _, p in params], float(c.max_grad_norm))
                    opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                step += 1
                running += step_loss or 0.0
                running_n += 1
                if step % c.log_every == 0 or step == total:
                    self._log({"event": "train", "step": step, "loss": round(running / max(running_n, 1), 6),
                               "lr": float(sched.get_last_lr()[0]), "task": task.name, "epoch": epoch})
                    if bar is not None:
                        bar.set_postfix(loss=f"{running / max(running_n, 1):.4f}")
                    running, running_n = 0.0, 0
                if bar is not None:
                    bar.update(1)
                improved = False
                if step % c.eval_every == 0 or step == total:
                    dev = self.evaluate()
                    improved = best["score"] is None or dev["score"] > best["score"]
                    if improved:
                        best = {"score": dev["score"], "step": step, "dev": dev["tasks"], "bad_evals": 0}
                        self._save_best(step, dev["score"], dev["tasks"])
                    else:
                        best["bad_evals"] = int(best.get("bad_evals", 0)) + 1
                        if c.patience and best["bad_evals"] >= c.patience:
                            early = True
                    self._log({"event": "eval", "step": step, "score": dev["score"], "dev": dev["tasks"], "improved": improved,
                               "best_step": best["step"], "best_score": best["score"]})
                    if bar is not None:
                        bar.set_postfix(dev=f"{dev['score']:.2f}", best=f"{best['score']:.2f}")
                if improved or step % save_every == 0 or step == total or early:
                    self._save_last(step, opt, sched, best, elapsed + time.perf_counter() - t0, early)
        finally:
            if bar is not None:
                bar.close()
        elapsed += time.perf_counter() - t0
        if early:
            self._log({"event": "early_stop", "step": step, "best_step": best["step"], "patience": c.patience})

        folder = _existing_dir(self.best_dir)
        if folder is None:
            raise XgapError(f"{self.dir}: no best checkpoint was saved (no evaluation ran)")
        self._load_weights(folder)
        for t in self.tasks:
            t.head.model.eval()
        history = [json.loads(l) for l in self.log_path.read_text(encoding="utf-8").splitlines() if l.strip()]
        return LoopOutcome(total_steps=total, steps_done=step, best_step=int(best["step"]), best_score=float(best["score"]),
                           best_dev=best["dev"], early_stopped=early, resumed_from=resumed_from,
                           history=[h for h in history if h.get("event") == "eval"], wall_seconds=round(elapsed, 3),
                           weights={"sampling": {t.name: round(float(w), 6) for t, w in zip(self.tasks, plan["weights"])},
                                    "steps_per_epoch": plan["steps_per_epoch"], "warmup_steps": warmup})

    def cleanup(self) -> None:
        """Remove the resume state and the best-weights copy once the outputs are saved."""
        for d in (self.last_dir, self.best_dir):
            for cand in (d, d.with_name(d.name + ".old")):
                shutil.rmtree(cand, ignore_errors=True)
