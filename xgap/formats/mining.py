"""Bitext mining (BUCC 2018): ratio-margin mining, threshold from dev applied to test (SPEC §6)."""

from __future__ import annotations

from xgap import scoring
from xgap.data import hub, layouts
from xgap.data.examples import ExampleSet
from xgap.formats.base import EvalContext, LanguageResult, interval
from xgap.formats.registry import Format, primary_of
from xgap.formats.retrieval import RetrievalEvaluator, bitext_prefix, with_prefix


class MiningEvaluator(RetrievalEvaluator):
    formats = ("bitext-mining",)

    def settings(self, ctx: EvalContext) -> dict:
        s = super().settings(ctx)
        r = ctx.card.protocol.get("retrieval", {})
        s.pop("direction", None)
        s.update({"k": r.get("k", 4), "margin": r.get("margin", "ratio"), "threshold_split": r.get("threshold_split", "dev")})
        return s

    def load(self, card, lang: str, data_dir) -> ExampleSet:
        """Both splits: the threshold is chosen on dev and applied unchanged to test."""
        from xgap.data import load_examples

        dev = load_examples(card, lang, "dev", data_dir=data_dir)
        test = load_examples(card, lang, card.eval_split, data_dir=data_dir)
        return ExampleSet(card.name, test.lang, test.split, card.format, {"dev": dev.examples, "test": test.examples},
                          f"dev={dev.origin}; test={test.origin}", f"{dev.fingerprint}+{test.fingerprint}")

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:
        from xgap.metrics.bucc import evaluate_bucc, pair_f1_statistic
        from xgap.modeling.mining import mine_candidates, unique_sentences

        enc = self.encoder(ctx)
        k = self.settings(ctx)["k"]
        mined = {}
        prefix = bitext_prefix(ctx)
        for split, corpus in example_set.examples.items():
            src_emb = enc.encode(with_prefix(prefix, unique_sentences(corpus.source)))
            tgt_emb = enc.encode(with_prefix(prefix, unique_sentences(corpus.target)))
            mined[split] = mine_candidates(corpus.source, corpus.target, src_emb, tgt_emb, k=k)
        dev, test = example_set.examples["dev"], example_set.examples["test"]
        out = evaluate_bucc(mined["dev"], dev.gold, mined["test"], test.gold)
        metrics = {"f1": out["f1"], "precision": out["precision"], "recall": out["recall"]}
        pred = [list(p) for p in out["predictions"]]
        ci = interval(pair_f1_statistic(test.gold, out["predictions"]), ctx, example_set.lang)
        return LanguageResult(metrics=metrics, primary_score=primary_of(ctx.card, metrics), n_examples=len(test.gold),
                              ci95={"f1": ci} if ci else {}, predictions=pred, gold=sorted(list(p) for p in test.gold),
                              extra_settings={"threshold": out["threshold"], "dev_f1": out["dev_f1"],
                                              "candidates_dev": len(mined["dev"]), "candidates_test": len(mined["test"])})


FORMAT = Format(
    name="bitext-mining",
    layouts=(layouts.BUCC,),
    hub_rows=hub.mining_rows,
    evaluator=MiningEvaluator,
    write=lambda pairs: "".join(f"{s}\t{t}\n" for s, t in pairs).encode("utf-8"),
    gold=lambda card, es: sorted(es.examples.gold),
    scorer=lambda card: scoring.score_pairs,
)
