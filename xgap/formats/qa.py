"""Extractive QA: XQuAD, MLQA, TyDiQA-GoldP; SQuAD or MLQA EM/F1, primary (EM+F1)/2."""

from __future__ import annotations

import json

from xgap import scoring
from xgap.data import hub, layouts
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval
from xgap.formats.registry import Format, primary_of
from xgap.modeling import features


class QAEvaluator(Evaluator):
    formats = ("extractive-qa",)

    def settings(self, ctx: EvalContext) -> dict:
        p = ctx.card.protocol
        return {"dtype": ctx.dtype, "max_length": p.get("max_length", 384), "doc_stride": p.get("doc_stride", 128),
                "max_query_length": p.get("max_query_length", 64), "max_answer_length": p.get("max_answer_length", 30),
                "n_best": p.get("n_best", 20), "qa_evaluation": ctx.card.data.get("qa_evaluation", "squad")}

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:
        import numpy as np

        from xgap.metrics.bootstrap import MeanStatistic
        from xgap.modeling.models import load_model, load_tokenizer
        from xgap.modeling.qa import predict_answers

        model, tok = ctx.loaded("qa", lambda: (load_model(ctx.model, "AutoModelForQuestionAnswering"), load_tokenizer(ctx.model)))
        s = self.settings(ctx)
        examples = example_set.examples
        res = predict_answers(model, tok, examples, max_length=s["max_length"], doc_stride=s["doc_stride"],
                              max_answer_length=s["max_answer_length"], n_best=s["n_best"], max_query_length=s["max_query_length"],
                              batch_tokens=ctx.batch_tokens, progress=ctx.progress, dtype=ctx.dtype)
        golds = {e.id: [a.text for a in e.answers] for e in examples}
        if s["qa_evaluation"] == "mlqa":
            from xgap.metrics.mlqa import mlqa_per_question

            ids, em, f1 = mlqa_per_question(res.predictions, golds, example_set.lang)
        else:
            from xgap.metrics.squad import squad_per_question

            ids, em, f1 = squad_per_question(res.predictions, golds)
        em, f1 = np.asarray(em, dtype=float), np.asarray(f1, dtype=float)
        mean = (em + f1) / 2
        metrics = {"exact_match": float(em.mean()), "f1": float(f1.mean()), "em_f1_mean": float(mean.mean())}
        ci95 = {}
        for name, values in (("em_f1_mean", mean), ("exact_match", em), ("f1", f1)):
            ci = interval(MeanStatistic(values), ctx, example_set.lang)
            if ci:
                ci95[name] = ci
        return LanguageResult(
            metrics=metrics, primary_score=primary_of(ctx.card, metrics), n_examples=len(golds), ci95=ci95,
            predictions=dict(res.predictions), gold=golds,
            per_example={"exact_match": em.tolist(), "f1": f1.tolist(), "ids": list(ids)},
            extra_settings={"unanswered": res.unanswered},
        )


# ----------------------------------------------------------------------------- training: English dev score
def dev_scores(card, model, tokenizer, examples, labels, max_length: int, dtype: str, batch_tokens: int) -> dict:
    """EM and F1 (SQuAD or MLQA normalisation, as the card says) and their mean ``em_f1_mean``."""
    from xgap.modeling.qa import predict_answers

    protocol = card.protocol
    res = predict_answers(model, tokenizer, list(examples), max_length=max_length, doc_stride=int(protocol.get("doc_stride", 128)),
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
    return out


def squad_json(examples) -> dict:
    """Gold answers as SQuAD v1.1 JSON (what XTREME's ``evaluate.py`` reads as QA labels)."""
    paragraphs: dict[str, list] = {}
    for e in examples:
        paragraphs.setdefault(e.context, []).append(
            {"id": e.id, "question": e.question, "answers": [{"text": a.text, "answer_start": a.start} for a in e.answers]}
        )
    return {"version": "1.1", "data": [{"title": "", "paragraphs": [{"context": c, "qas": q} for c, q in paragraphs.items()]}]}


FORMAT = Format(
    name="extractive-qa",
    layouts=(layouts.SQUAD_JSON,),
    hub_rows=hub.qa_rows,
    evaluator=QAEvaluator,
    auto_class="AutoModelForQuestionAnswering",
    train_features=features.qa_features,
    collate=features.collate_spans,
    loss_units=features.count_examples,
    loss=features.span_loss,
    loss_targets=features.SPAN_TARGETS,
    dev_metrics=dev_scores,
    suffix="json",
    write=lambda values: json.dumps(values, ensure_ascii=False, indent=1).encode("utf-8"),
    gold=lambda card, es: squad_json(es.examples),
    scorer=lambda card: scoring.score_mlqa if card.data.get("qa_evaluation") == "mlqa" else scoring.score_squad,
)
