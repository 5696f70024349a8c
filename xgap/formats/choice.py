"""Multiple choice (HellaSwag, Cosmos QA, CommonsenseQA): an intermediate-only format, metric accuracy.

No target task is multiple choice, so there is no zero-shot evaluator; training encodes each choice
as ``(prompt, choice)`` (Hugging Face ``run_swag.py``) and the English dev score is computed here:
the highest logit wins (ties: lowest index).
"""

from __future__ import annotations

from xgap.data import hub
from xgap.formats.registry import Format
from xgap.modeling import features
from xgap.settings import DEFAULT_BATCH_TOKENS


def predict_choices(model, tokenizer, examples, max_length: int, dtype: str = "float32", batch_tokens: int = DEFAULT_BATCH_TOKENS) -> list[int]:
    """Index of the best choice for each multiple-choice example, in input order."""
    import torch

    from xgap.modeling.features import collate_choices, encode_choices
    from xgap.modeling.forward import model_device

    if not examples:
        return []
    feats = encode_choices(tokenizer, list(examples), max_length)
    for f in feats:
        f["labels"] = 0
    widths = [max(len(x) for x in f["input_ids"]) * len(f["input_ids"]) for f in feats]
    order = sorted(range(len(feats)), key=lambda i: (-widths[i], i))
    out = [0] * len(feats)
    device = model_device(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    side = getattr(tokenizer, "padding_side", "right") or "right"
    was_training = model.training
    model.eval()
    try:
        i = 0
        while i < len(order):
            per = max(1, batch_tokens // max(widths[order[i]], 1))
            idx = order[i : i + per]
            batch = collate_choices([feats[k] for k in idx], pad, side)
            batch.pop("labels")
            with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
                logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
            for row, k in enumerate(idx):
                out[k] = int(logits[row].argmax())
            i += per
    finally:
        model.train(was_training)
    return out


def dev_scores(card, model, tokenizer, examples, labels, max_length: int, dtype: str, batch_tokens: int) -> dict:
    from xgap.metrics.accuracy import accuracy

    exs = [e for e in examples if e.label is not None]
    pred = predict_choices(model, tokenizer, exs, max_length, dtype=dtype, batch_tokens=batch_tokens)
    return {"accuracy": accuracy([str(p) for p in pred], [str(e.label) for e in exs])}


FORMAT = Format(
    name="multiple-choice",
    hub_rows=hub.choice_rows,
    auto_class="AutoModelForMultipleChoice",
    train_features=features.choice_features,
    collate=features.collate_choices,
    loss_units=features.count_examples,
    dev_metrics=dev_scores,
)
