"""Token classification: UD-POS and PAN-X; seqeval F1 (primary) and, named as such, token accuracy."""

from __future__ import annotations

from xgap.errors import XgapError
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval, labelled_model


class TaggingEvaluator(Evaluator):
    formats = ("token-classification",)

    def settings(self, ctx: EvalContext) -> dict:
        return {"dtype": ctx.dtype, "max_length": ctx.card.protocol.get("max_length", 256), "label_map": ctx.label_map or None,
                "subword_rule": "first"}

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:
        from xgap.metrics.tagging import TaggingF1Statistic, tagging_f1, token_accuracy
        from xgap.modeling.tagging import predict_tags

        sents = example_set.examples
        golds = [list(s.tags) for s in sents]
        if ctx.card.labels:
            unknown = sorted({t for g in golds for t in g if t not in ctx.card.labels})
            if unknown:
                raise XgapError(f"task '{ctx.card.name}' language '{example_set.lang}': gold tags {unknown[:5]} are not in the card's label list")
        model, tok, names = labelled_model(ctx, "AutoModelForTokenClassification")
        res = predict_tags(model, tok, sents, names, max_length=self.settings(ctx)["max_length"],
                           batch_tokens=ctx.batch_tokens, progress=ctx.progress, dtype=ctx.dtype)
        preds = [list(p) for p in res.predictions]
        scores = tagging_f1(preds, golds)
        metrics = {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"],
                   "token_accuracy": token_accuracy(preds, golds)}
        metrics = {k: v for k, v in metrics.items() if k in ctx.card.metrics or k == "f1"}
        ci = interval(TaggingF1Statistic(preds, golds), ctx, example_set.lang)
        return LanguageResult(
            metrics=metrics, primary_score=metrics["f1"], n_examples=len(sents),
            ci95={"f1": ci} if ci else {}, predictions=preds, gold=golds,
            extra_settings={"split_sentences": res.split_sentences, "substituted_words": res.substituted_words},
        )
