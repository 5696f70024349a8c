"""Which task each step trains on, and which examples form each batch -- both pure functions of the seed.

Why stateless: a resumed run must see exactly the batches the interrupted run would have seen.
Nothing here keeps an iterator; the batch of step ``s`` is computed from ``(seed, s)`` alone:

* :func:`task_schedule` draws, once, the task of every step with probability proportional to the
  task's (optionally capped) training-set size -- "examples-proportional mixing" as in jiant and
  T5. A cap ``K`` changes a task's weight to ``min(size, K)`` (its data is not cut: the task simply
  cycles through its own epochs less often relative to the others).
* A task's ``k``-th use is batch ``k mod B`` of its epoch ``k div B`` (``B`` batches per epoch), and
  :func:`epoch_batches` builds an epoch's batches from ``(seed, task, epoch)``: shuffle, cut into
  mega-batches of 50 batches, sort each mega-batch by length (longest first), cut into batches,
  shuffle the batch order. Batches so hold inputs of similar length (little padding) while the
  order stays random -- Hugging Face's ``LengthGroupedSampler`` idea.
"""

from __future__ import annotations

import math
import zlib
from typing import Optional, Sequence

import numpy as np

MEGA_BATCHES = 50
_SCHEDULE_STREAM = 0x5EED


def sampling_weights(sizes: Sequence[int], cap: Optional[int] = None) -> np.ndarray:
    """Probability of each task per step: ``min(size, cap) / sum`` (``cap=None``: no cap)."""
    w = np.array([min(int(s), int(cap)) if cap else int(s) for s in sizes], dtype=np.float64)
    if (w <= 0).any():
        raise ValueError("every task needs at least one training example")
    return w / w.sum()


def steps_per_epoch(sizes: Sequence[int], batch_sizes: Sequence[int], cap: Optional[int] = None) -> int:
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


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, task: str, epoch: int,
                  group_by_length: bool = True) -> list[list[int]]:
    """Length-grouped, shuffled batches of feature indices for one epoch of one task."""
    n = len(lengths)
    rng = np.random.default_rng([int(seed), task_stream(task), int(epoch)])
    perm = rng.permutation(n)
    if not group_by_length:
        batches = [perm[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    else:
        lens = np.asarray(lengths)
        mega = batch_size * MEGA_BATCHES
        batches = []
        for i in range(0, n, mega):
            chunk = perm[i : i + mega]
            chunk = chunk[np.argsort(-lens[chunk], kind="stable")]
            batches.extend(chunk[j : j + batch_size].tolist() for j in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def batches_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
