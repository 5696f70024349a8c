"""Sequence classification (single sentences and pairs): XNLI, PAWS-X, MNLI, QQP, SST-2; metric accuracy.

Two formats share this module: ``sentence-pair-classification`` and ``single-sentence-classification``."""

from __future__ import annotations

from xgap import scoring
from xgap.data import hub, layouts
from xgap.errors import XgapError
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval, labelled_model
from xgap.formats.registry import Format, primary_of
from xgap.modeling import features


class ClassificationEvaluator(Evaluator):
    formats = ("sentence-pair-classification", "single-sentence-classification")

    def settings(self, ctx: EvalContext) -> dict:
        return {"dtype": ctx.dtype, "max_length": ctx.card.protocol.get("max_length", 128), "label_map": ctx.label_map or None}

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:
        from xgap.metrics.accuracy import accuracy, accuracy_per_example
        from xgap.metrics.bootstrap import MeanStatistic
        from xgap.modeling.classify import predict_classification

        examples = example_set.examples
        golds = [e.label for e in examples]
        unknown = sorted({g for g in golds if g not in ctx.card.labels})
        if unknown:
            raise XgapError(f"task '{ctx.card.name}' language '{example_set.lang}': gold labels {unknown} are not in the card's label list {ctx.card.labels}")
        model, tok, names = labelled_model(ctx, "AutoModelForSequenceClassification")
        res = predict_classification(model, tok, examples, names, max_length=self.settings(ctx)["max_length"],
                                     batch_tokens=ctx.batch_tokens, progress=ctx.progress, dtype=ctx.dtype)
        acc = accuracy(res.predictions, golds)
        per = accuracy_per_example(res.predictions, golds)
        ci = interval(MeanStatistic(per), ctx, example_set.lang)
        return LanguageResult(
            metrics={"accuracy": acc}, primary_score=primary_of(ctx.card, {"accuracy": acc}), n_examples=len(examples),
            ci95={"accuracy": ci} if ci else {}, predictions=list(res.predictions), gold=golds,
            per_example={"accuracy": [float(x) for x in per]},
        )


# ----------------------------------------------------------------------------- training: English dev score
def dev_scores(card, model, tokenizer, examples, labels, max_length: int, dtype: str, batch_tokens: int) -> dict:
    """Accuracy on the labelled dev examples (and binary F1 of the second label when the card lists ``f1``, e.g. QQP)."""
    from xgap.metrics.accuracy import accuracy
    from xgap.modeling.classify import predict_classification

    exs = [e for e in examples if e.label is not None]
    aliases = {str(k): str(v) for k, v in card.label_aliases.items()}
    gold = [aliases.get(str(e.label), str(e.label)) for e in exs]
    res = predict_classification(model, tokenizer, exs, list(labels), max_length=max_length, batch_tokens=batch_tokens,
                                 progress=False, dtype=dtype)
    out = {"accuracy": accuracy(res.predictions, gold)}
    if "f1" in card.metrics and len(labels) == 2:
        pos = str(labels[1])
        tp = sum(p == pos and g == pos for p, g in zip(res.predictions, gold))
        fp = sum(p == pos and g != pos for p, g in zip(res.predictions, gold))
        fn = sum(p != pos and g == pos for p, g in zip(res.predictions, gold))
        out["f1"] = 100.0 * 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def _pieces(name: str) -> Format:
    return Format(
        name=name,
        layouts=(layouts.XNLI_TSV, layouts.PAWSX_TSV, layouts.GLUE_TSV),
        hub_rows=hub.text_rows,
        evaluator=ClassificationEvaluator,
        auto_class="AutoModelForSequenceClassification",
        train_features=features.classification_features,
        collate=features.collate_labels,
        loss_units=features.count_examples,
        dev_metrics=dev_scores,
        label_set=lambda examples: sorted({str(e.label) for e in examples if e.label is not None}),
        scorer=lambda card: scoring.score_labels,
    )


SENTENCE_PAIR = _pieces("sentence-pair-classification")
SINGLE_SENTENCE = _pieces("single-sentence-classification")
