"""Which task each step trains on, and which examples form each batch -- both pure functions of the seed.

Why stateless: a resumed run must see exactly the batches the interrupted run would have seen.
Nothing here keeps an iterator; the batch of step ``s`` is computed from ``(seed, s)`` alone:

* :func:`task_schedule` draws, once, the task of every step with probability proportional to the
  task's (optionally capped) training-set size -- "examples-proportional mixing" as in jiant and
  T5. A cap ``K`` changes a task's weight to ``min(size, K)`` (its data is not cut: the task simply
  cycles through its own epochs less often relative to the others).
* A task's ``k``-th use is batch ``k mod B`` of its epoch ``k div B`` (``B`` batches per epoch), and
  :func:`epoch_batches` builds an epoch's batches from ``(seed, task, epoch)``.

Batching (recipe key ``batching``):

* ``random`` (the default): shuffle, cut into batches -- what Hugging Face's ``Trainer`` does with
  its default ``RandomSampler``, so every batch is a random sample of the training set.
* ``length-grouped``: shuffle, cut into groups of :func:`group_batches` batches (Hugging Face's
  ``LengthGroupedSampler`` size, ``min(n // (4 * batch), 50)`` batches, at least 1), sort each group
  by length (longest first), cut into batches, shuffle the batch order. Less padding, but batches
  then hold inputs of similar length, and with the usual per-batch mean loss a batch of 32 one-word
  sentences weighs as much as one of 32 long ones: short inputs get outsized gradient weight.
  Measured on UD-POS (issue 19): groups of 50 batches cost ~3 F1 points on English-EWT against
  random batches; with Hugging Face's group size and ``loss_weighting: per-token`` (see
  :func:`unit_norm`) it still cost 2 points (en 83.81 against 85.83, seed 0; benchmarks/README.md),
  so it is an option for speed, not the default.

Before training version 2 the default was length grouping with groups of 50 batches.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

#: Hugging Face's upper bound on a length group, in batches (``get_length_grouped_indices``).
MAX_GROUP_BATCHES = 50
BATCHING_MODES = ("random", "length-grouped")
LOSS_WEIGHTINGS = ("batch-mean", "per-token")
_SCHEDULE_STREAM = 0x5EED


def sampling_weights(sizes: Sequence[int], cap: int | None = None) -> np.ndarray:
    """Probability of each task per step: ``min(size, cap) / sum`` (``cap=None``: no cap)."""
    w = np.array([min(int(s), int(cap)) if cap else int(s) for s in sizes], dtype=np.float64)
    if (w <= 0).any():
        raise ValueError("every task needs at least one training example")
    return w / w.sum()


def steps_per_epoch(sizes: Sequence[int], batch_sizes: Sequence[int], cap: int | None = None) -> int:
    """Optimizer steps in one pass over the (capped) mixture: ``sum(ceil(min(n, cap) / batch))``."""
    return int(sum(math.ceil((min(n, cap) if cap else n) / b) for n, b in zip(sizes, batch_sizes)))


def task_schedule(weights: np.ndarray, total_steps: int, seed: int) -> np.ndarray:
    """The task index of every step (int32 array of ``total_steps``); one task -> all zeros."""
    if len(weights) == 1:
        return np.zeros(total_steps, dtype=np.int32)
    rng = np.random.default_rng([int(seed), _SCHEDULE_STREAM])
    return rng.choice(len(weights), size=int(total_steps), p=weights).astype(np.int32)


def uses_before(schedule: np.ndarray) -> np.ndarray:
    """For each step, how many earlier steps drew the same task (its ``k``)."""
    out = np.zeros(len(schedule), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, t in enumerate(schedule.tolist()):
        out[i] = seen.get(t, 0)
        seen[t] = out[i] + 1
    return out


def task_stream(task: str) -> int:
    """A stable 32-bit id of a task name (independent of the order tasks are listed in)."""
    return zlib.crc32(task.encode("utf-8"))


def group_batches(n: int, batch_size: int) -> int:
    """Batches per length group: Hugging Face's ``min(n // (4 * batch_size), 50)``, at least 1."""
    return max(1, min(int(n) // (4 * int(batch_size)), MAX_GROUP_BATCHES))


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, task: str, epoch: int,
                  batching: str = "random") -> list[list[int]]:
    """Shuffled batches of feature indices for one epoch of one task (``batching``: see the module docstring)."""
    if batching not in BATCHING_MODES:
        raise ValueError(f"batching must be one of {', '.join(BATCHING_MODES)}, not {batching!r}")
    n = len(lengths)
    rng = np.random.default_rng([int(seed), task_stream(task), int(epoch)])
    perm = rng.permutation(n)
    if batching == "random":
        batches = [perm[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    else:
        lens = np.asarray(lengths)
        mega = batch_size * group_batches(n, batch_size)
        batches = []
        for i in range(0, n, mega):
            chunk = perm[i : i + mega]
            chunk = chunk[np.argsort(-lens[chunk], kind="stable")]
            batches.extend(chunk[j : j + batch_size].tolist() for j in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def batches_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def unit_norm(units: Sequence[int], batch_size: int) -> float:
    """The divisor of a batch's summed loss under ``loss_weighting: per-token``.

    ``units``: the loss units of each training feature (labelled tokens for tagging, else 1). The
    divisor is the mean units per batch over an epoch, ``sum(units) / batches_per_epoch``: one
    constant per task, so every labelled token has the same weight whichever batch it lands in
    (a batch's gradient is proportional to its units), while the average step keeps the scale of
    a per-batch mean (the learning rate means what it means with ``batch-mean``).
    """
    total = float(sum(int(u) for u in units))
    return max(total, 1.0) / max(1, batches_per_epoch(len(units), batch_size))
