"""English dev evaluation during training: the card's primary metric, computed like ``xgap run`` does.

Classification, tagging and QA go through the zero-shot predictors of :mod:`xgap.harness` (so a
dev score is exactly what ``xgap run`` would report for that checkpoint on that split);
multiple choice, which has no target task and so no predictor there, is scored here: every choice
is encoded as ``(prompt, choice)``, the highest logit wins (ties: lowest index), metric accuracy.

Primary metrics by card: ``accuracy`` (classification, multiple choice; for token classification
with metric ``accuracy``, e.g. CCG, token accuracy), ``f1`` (token classification: seqeval F1, as
udpos/panx report it), ``em_f1_mean`` (QA: (EM + F1) / 2, SQuAD or MLQA normalisation as the card
says).
"""

from __future__ import annotations

from collections.abc import Sequence

from xgap.errors import XgapError
from xgap.modeling.features import CLASSIFICATION, encode_choices


def predict_choices(model, tokenizer, examples, max_length: int, dtype: str = "float32", batch_tokens: int = 16384) -> list[int]:
    """Index of the best choice for each multiple-choice example, in input order."""
    import torch

    from xgap.modeling.features import collate
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
            batch = collate("multiple-choice", [feats[k] for k in idx], pad, side)
            batch.pop("labels")
            with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
                logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
            for row, k in enumerate(idx):
                out[k] = int(logits[row].argmax())
            i += per
    finally:
        model.train(was_training)
    return out


def dev_metrics(card, model, tokenizer, examples: Sequence, labels: Sequence[str] | None, max_length: int | None = None,
                dtype: str = "float32", batch_tokens: int = 16384) -> dict:
    """``{metric: value, ..., "primary": value}`` of ``model`` on ``examples`` (0-100 scale)."""
    fmt = card.format
    protocol = card.protocol
    ml = int(max_length or protocol.get("max_length", 256))
    was_training = model.training
    try:
        if fmt in CLASSIFICATION:
            from xgap.metrics.accuracy import accuracy
            from xgap.modeling.classify import predict_classification

            exs = [e for e in examples if e.label is not None]
            aliases = {str(k): str(v) for k, v in card.label_aliases.items()}
            gold = [aliases.get(str(e.label), str(e.label)) for e in exs]
            res = predict_classification(model, tokenizer, exs, list(labels), max_length=ml, batch_tokens=batch_tokens,
                                         progress=False, dtype=dtype)
            out = {"accuracy": accuracy(res.predictions, gold)}
            if "f1" in card.metrics and len(labels) == 2:
                pos = str(labels[1])
                tp = sum(p == pos and g == pos for p, g in zip(res.predictions, gold))
                fp = sum(p == pos and g != pos for p, g in zip(res.predictions, gold))
                fn = sum(p != pos and g == pos for p, g in zip(res.predictions, gold))
                out["f1"] = 100.0 * 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        elif fmt == "token-classification":
            from xgap.metrics.tagging import tagging_f1, token_accuracy
            from xgap.modeling.tagging import predict_tags

            sents = [s for s in examples if s.tags is not None and len(s.words)]
            res = predict_tags(model, tokenizer, sents, list(labels), max_length=ml, batch_tokens=batch_tokens, progress=False, dtype=dtype)
            preds = [list(p) for p in res.predictions]
            gold = [[str(t) for t in s.tags] for s in sents]
            out = {"token_accuracy": token_accuracy(preds, gold)}
            if card.primary_metric == "f1" or "f1" in card.metrics:
                out.update(tagging_f1(preds, gold))
            if card.primary_metric == "accuracy":
                out["accuracy"] = out["token_accuracy"]
        elif fmt == "extractive-qa":
            from xgap.modeling.qa import predict_answers

            res = predict_answers(model, tokenizer, list(examples), max_length=ml, doc_stride=int(protocol.get("doc_stride", 128)),
                                  max_answer_length=int(protocol.get("max_answer_length", 30)), n_best=int(protocol.get("n_best", 20)),
                                  max_query_length=int(protocol.get("max_query_length", 64)), batch_tokens=batch_tokens,
                                  progress=False, dtype=dtype)
            golds = {e.id: [a.text for a in e.answers] for e in examples if e.answers}
            if card.data.get("qa_evaluation") == "mlqa":
                from xgap.metrics.mlqa import mlqa_scores

                out = dict(mlqa_scores(res.predictions, golds, card.english))
            else:
                from xgap.metrics.squad import squad_scores

                out = dict(squad_scores(res.predictions, golds))
            out["em_f1_mean"] = (out["exact_match"] + out["f1"]) / 2
        elif fmt == "multiple-choice":
            from xgap.metrics.accuracy import accuracy

            exs = [e for e in examples if e.label is not None]
            pred = predict_choices(model, tokenizer, exs, ml, dtype=dtype, batch_tokens=batch_tokens)
            out = {"accuracy": accuracy([str(p) for p in pred], [str(e.label) for e in exs])}
        else:  # pragma: no cover - check_trainable refuses these earlier
            raise XgapError(f"task '{card.name}': no dev evaluation for format '{fmt}'")
    finally:
        model.train(was_training)
    primary = card.primary_metric
    if primary not in out:
        raise XgapError(f"task '{card.name}': primary metric '{primary}' is not computed for format '{fmt}'")
    out["primary"] = out[primary]
    return {k: round(float(v), 6) for k, v in out.items()}
