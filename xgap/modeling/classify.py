"""Zero-shot evaluation of a fine-tuned sequence-classification checkpoint (xnli, pawsx, ...).

Reference behaviour (HF ``run_xnli``/``run_glue``, which XTREME's classification runs use): the
pair is encoded as ``tokenizer(text_a, text_b, truncation="longest_first", max_length=...)``
(single sentences: ``tokenizer(text_a, truncation=True, ...)``) and the prediction is the argmax of
the logits (ties: lowest class id, as ``argmax`` does). xgap differs only in how inputs are grouped
into forward passes: length-sorted batches under a token budget, padded to the longest input of
the batch (see :mod:`xgap.modeling.forward`) -- the predictions are those of one-at-a-time inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xgap.data.examples import TextExample
from xgap.modeling.forward import ForwardStats, check_dtype, check_num_labels, run_batches


@dataclass
class ClassificationResult:
    """Predicted label strings in input order, the raw logits and what the run cost."""

    predictions: list[str]
    logits: np.ndarray  # (n_examples, n_labels), float32, input order
    stats: ForwardStats = field(default_factory=ForwardStats)

    def __len__(self) -> int:
        return len(self.predictions)

    def __iter__(self):
        return iter(self.predictions)

    def __getitem__(self, i):
        return self.predictions[i]


def encode_texts(tokenizer, examples: Sequence[TextExample], max_length: int) -> list[dict]:
    """Tokenise (batched, fast tokenizer); single sentences and pairs may be mixed."""
    features: list[dict] = [{} for _ in examples]
    singles = [i for i, e in enumerate(examples) if e.text_b is None]
    pairs = [i for i, e in enumerate(examples) if e.text_b is not None]
    for group, is_pair in ((singles, False), (pairs, True)):
        if not group:
            continue
        texts_a = [examples[i].text_a for i in group]
        texts_b = [examples[i].text_b for i in group] if is_pair else None
        enc = tokenizer(
            texts_a,
            texts_b,
            truncation="longest_first" if is_pair else True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
        )
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        for j, i in enumerate(group):
            features[i] = {k: enc[k][j] for k in keys}
    return features


def predict_classification(
    model,
    tokenizer,
    examples: Sequence[TextExample],
    label_names: Sequence[str],
    max_length: int = 128,
    batch_tokens: int = 8192,
    progress: bool = True,
    dtype: str = "float32",
    max_batch_size: int | None = None,
) -> ClassificationResult:
    """Predict a label string for every example, in input order.

    ``label_names[i]`` is the card label of the checkpoint's class ``i`` (from
    :func:`xgap.modeling.labels.resolve_label_map`). ``dtype`` is ``"float32"`` or ``"bfloat16"``
    (autocast). The result's ``predictions`` list has one entry per example; ``stats`` records
    batches, padding efficiency and forward time.
    """
    check_dtype(dtype)
    check_num_labels(model, label_names)
    stats = ForwardStats(dtype=dtype)
    n = len(examples)
    if n == 0:
        return ClassificationResult([], np.zeros((0, len(label_names)), dtype=np.float32), stats)
    features = encode_texts(tokenizer, examples, max_length)
    logits = np.zeros((n, len(label_names)), dtype=np.float32)
    for idx, _width, out in run_batches(
        model,
        features,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        outputs=("logits",),
        batch_tokens=batch_tokens,
        max_batch_size=max_batch_size,
        padding_side=getattr(tokenizer, "padding_side", "right") or "right",
        dtype=dtype,
        progress=progress,
        desc="classify",
        stats=stats,
    ):
        logits[idx] = out["logits"].numpy()
    best = logits.argmax(axis=1)
    return ClassificationResult([str(label_names[int(k)]) for k in best], logits, stats)
