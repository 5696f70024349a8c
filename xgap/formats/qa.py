"""Extractive QA: XQuAD, MLQA, TyDiQA-GoldP; SQuAD or MLQA EM/F1, primary (EM+F1)/2."""

from __future__ import annotations

from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval


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
            metrics=metrics, primary_score=metrics["em_f1_mean"], n_examples=len(golds), ci95=ci95,
            predictions=dict(res.predictions), gold=golds,
            per_example={"exact_match": em.tolist(), "f1": f1.tolist(), "ids": list(ids)},
            extra_settings={"unanswered": res.unanswered},
        )
