"""Sequence classification (single sentences and pairs): XNLI, PAWS-X; metric accuracy."""

from __future__ import annotations

from xgap.errors import XgapError
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval, labelled_model


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
            metrics={"accuracy": acc}, primary_score=acc, n_examples=len(examples),
            ci95={"accuracy": ci} if ci else {}, predictions=list(res.predictions), gold=golds,
            per_example={"accuracy": [float(x) for x in per]},
        )
