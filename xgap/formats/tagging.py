"""Token classification: UD-POS and PAN-X; seqeval F1 (primary) and, named as such, token accuracy."""

from __future__ import annotations

from xgap import scoring
from xgap.data import hub, layouts
from xgap.errors import XgapError
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval, labelled_model
from xgap.formats.registry import Format, primary_of
from xgap.modeling import features


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
        if "accuracy" in ctx.card.metrics:  # a tagging card's "accuracy" is token accuracy (CCG), as in training
            metrics["accuracy"] = token_accuracy(preds, golds)
        ci = interval(TaggingF1Statistic(preds, golds), ctx, example_set.lang)
        return LanguageResult(
            metrics=metrics, primary_score=primary_of(ctx.card, metrics), n_examples=len(sents),
            ci95={"f1": ci} if ci else {}, predictions=preds, gold=golds,
            extra_settings={"split_sentences": res.split_sentences, "substituted_words": res.substituted_words},
        )


# ----------------------------------------------------------------------------- training: English dev score
def dev_scores(card, model, tokenizer, examples, labels, max_length: int, dtype: str, batch_tokens: int) -> dict:
    """Token accuracy, plus seqeval F1/P/R when the card reports F1; ``accuracy`` (= token accuracy) when primary."""
    from xgap.metrics.tagging import tagging_f1, token_accuracy
    from xgap.modeling.tagging import predict_tags

    sents = [s for s in examples if s.tags is not None and len(s.words)]
    res = predict_tags(model, tokenizer, sents, list(labels), max_length=max_length, batch_tokens=batch_tokens, progress=False, dtype=dtype)
    preds = [list(p) for p in res.predictions]
    gold = [[str(t) for t in s.tags] for s in sents]
    out = {"token_accuracy": token_accuracy(preds, gold)}
    if card.primary_metric == "f1" or "f1" in card.metrics:
        out.update(tagging_f1(preds, gold))
    if card.primary_metric == "accuracy":
        out["accuracy"] = out["token_accuracy"]
    return out


def _write(sentences) -> bytes:
    """One tag per line, a blank line after each sentence (XTREME's udpos/panx files)."""
    return "".join("".join(f"{t}\n" for t in sent) + "\n" for sent in sentences).encode("utf-8")


FORMAT = Format(
    name="token-classification",
    layouts=(layouts.CONLLU, layouts.PANX, layouts.CCG_TSV),
    hub_rows=hub.tagged_rows,
    evaluator=TaggingEvaluator,
    auto_class="AutoModelForTokenClassification",
    train_features=features.tagging_features,
    collate=features.collate_tags,
    loss_units=features.count_labelled_tokens,
    dev_metrics=dev_scores,
    label_set=lambda examples: sorted({str(t) for s in examples if s.tags for t in s.tags}),
    write=_write,
    gold=lambda card, es: [list(s.tags) for s in es.examples],
    scorer=lambda card: scoring.score_tags,
)
