"""The forward pass shared by the evaluators (classification, tagging, QA).

Why one helper: every evaluator does the same thing -- pre-tokenised inputs of different lengths go
through the model in length-sorted batches under a token budget (see
:func:`xgap.modeling.batching.token_budget_batches`), without gradients, optionally under bf16
autocast, with a progress bar -- and the results are scattered back by index so that output order
always equals input order. Padding is done here (not by the tokenizer), so the padded width of a
batch is the longest input *in that batch*, which is what makes length sorting pay off.

Padding side follows ``tokenizer.padding_side`` as Hugging Face does (right for BERT/XLM-R, left
for e.g. XLNet); the attention mask hides the padding either way. Outputs come back as float32 CPU
tensors whatever the compute dtype, so post-processing is identical for fp32 and bf16 runs.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

from xgap.errors import XgapError
from xgap.modeling.batching import token_budget_batches

DTYPES = ("float32", "bfloat16")

#: Tokenizer outputs that are passed on to the model when present (everything else is ignored).
MODEL_INPUT_KEYS = ("input_ids", "token_type_ids")


@dataclass
class ForwardStats:
    """What a forward run cost: counts, padding efficiency and wall time (for result provenance)."""

    inputs: int = 0
    batches: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    seconds: float = 0.0
    dtype: str = "float32"
    device: str = "cpu"

    @property
    def padding_efficiency(self) -> float:
        """Real tokens / padded tokens (1.0 = no padding)."""
        return self.real_tokens / self.padded_tokens if self.padded_tokens else 1.0

    @property
    def tokens_per_second(self) -> float:
        return self.real_tokens / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["padding_efficiency"] = round(self.padding_efficiency, 4)
        d["seconds"] = round(self.seconds, 3)
        return d


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise XgapError(f"unknown dtype '{dtype}': use one of {', '.join(DTYPES)}")
    return dtype


def model_device(model):
    """Device of the model's first parameter (CPU for parameter-free test doubles)."""
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def check_num_labels(model, label_names: Sequence[str], what: str = "classification head") -> None:
    """The label list must have exactly one entry per output unit of the head."""
    n = getattr(getattr(model, "config", None), "num_labels", None)
    if n is not None and n != len(label_names):
        raise XgapError(
            f"the checkpoint's {what} has {n} outputs but {len(label_names)} label names were given "
            f"({', '.join(map(str, label_names))}); resolve the label mapping first"
        )


def _accepted_keys(model) -> set | None:
    """Names the model's forward accepts, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params)


def pad_batch(features: Sequence[Mapping[str, Sequence[int]]], pad_token_id: int, padding_side: str = "right") -> dict:
    """Pad a batch of token-id lists to its longest member; build the attention mask.

    ``input_ids`` are padded with ``pad_token_id``, any other id list (``token_type_ids``) with 0,
    as Hugging Face's tokenizers do.
    """
    import torch

    width = max(len(f["input_ids"]) for f in features)
    keys = [k for k in MODEL_INPUT_KEYS if k in features[0]]
    out = {k: torch.full((len(features), width), pad_token_id if k == "input_ids" else 0, dtype=torch.long) for k in keys}
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        cols = slice(width - n, width) if padding_side == "left" else slice(0, n)
        for k in keys:
            out[k][row, cols] = torch.as_tensor(list(f[k]), dtype=torch.long)
        mask[row, cols] = 1
    out["attention_mask"] = mask
    return out


def real_positions(length: int, width: int, padding_side: str = "right") -> slice:
    """Slice selecting an input's own positions in a padded row of ``width``."""
    return slice(width - length, width) if padding_side == "left" else slice(0, length)


def run_batches(
    model,
    features: Sequence[Mapping[str, Sequence[int]]],
    *,
    pad_token_id: int,
    outputs: Sequence[str] = ("logits",),
    batch_tokens: int = 8192,
    max_batch_size: int | None = None,
    padding_side: str = "right",
    dtype: str = "float32",
    progress: bool = True,
    desc: str = "forward",
    stats: ForwardStats | None = None,
) -> Iterator[tuple[list[int], int, dict]]:
    """Run ``model`` over ``features`` in length-sorted, token-budgeted batches.

    Each feature is a mapping with ``input_ids`` (and optionally ``token_type_ids``), unpadded.
    Yields ``(indices, width, tensors)`` per batch: the original indices of the batch's rows, the
    padded width, and ``{name: float32 CPU tensor}`` for each requested output (rows in the order of
    ``indices``). Use :func:`real_positions` to cut a row back to its input's own positions.
    ``stats`` (if given) is filled in as the run proceeds; its ``seconds`` count padding, transfer
    and the forward pass only, not what the caller does between batches.
    """
    import torch

    check_dtype(dtype)
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', not {padding_side!r}")
    stats = stats if stats is not None else ForwardStats()
    stats.dtype = dtype
    if not features:
        return
    lengths = [len(f["input_ids"]) for f in features]
    batches = token_budget_batches(lengths, batch_tokens=batch_tokens, max_batch_size=max_batch_size)
    device = model_device(model)
    stats.device = str(device)
    accepted = _accepted_keys(model)
    if getattr(model, "training", False):
        model.eval()

    from xgap.progress import active

    run_display, bar = active(), None  # the run's one display; else a bar of this pass
    if progress and run_display is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(features), desc=desc, unit="seq", leave=False)
    try:
        for idx in batches:
            started = time.perf_counter()
            batch = pad_batch([features[i] for i in idx], pad_token_id, padding_side)
            width = batch["input_ids"].shape[1]
            kwargs = {k: v.to(device) for k, v in batch.items() if accepted is None or k in accepted}
            with torch.inference_mode(), torch.autocast(
                device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"
            ):
                out = model(**kwargs)
            tensors = {}
            for name in outputs:
                value = out[name] if isinstance(out, Mapping) else getattr(out, name)
                tensors[name] = value.detach().float().cpu()
            stats.inputs += len(idx)
            stats.batches += 1
            stats.real_tokens += sum(lengths[i] for i in idx)
            stats.padded_tokens += width * len(idx)
            stats.seconds += time.perf_counter() - started
            if run_display is not None:
                run_display.advance(len(idx))
            if bar is not None:
                bar.update(len(idx))
            yield idx, width, tensors
    finally:
        if bar is not None:
            bar.close()
