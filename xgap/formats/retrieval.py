"""Bitext retrieval (Tatoeba): embed both sides, exact 1-NN by FAISS inner product (SPEC §6).

Primary: XTREME's direction, English queries against the xx index. The reverse (xx -> en, the
direction MTEB reports, with scikit-learn weighted P/R/F1) comes from the same embeddings.

Prompts: a model that declares text prefixes (manifest ``prompts``) gets its ``query`` prefix on
**both** sides -- bitext retrieval and mining are symmetric, and the e5 model card asks for
``"query: "`` on both sides for them. The prefix is a setting (in every record and resume key).
"""

from __future__ import annotations

import json
from pathlib import Path

from xgap import scoring
from xgap.data import hub, layouts
from xgap.errors import XgapError
from xgap.formats.base import EvalContext, Evaluator, LanguageResult, interval
from xgap.formats.registry import Format, primary_of


def num_layers_of(ref) -> int:
    """Encoder depth from config.json without importing torch (falls back to AutoConfig)."""
    if ref.is_local:
        cfg = Path(ref.path) / "config.json"
        from xgap.yamlio import read_document_bytes

        try:
            data = json.loads(read_document_bytes(cfg))  # a regular file of sane size: a FIFO would hang here
        except (OSError, ValueError) as exc:
            raise XgapError(f"{cfg}: cannot read the model config ({exc})") from None
    else:
        from xgap.modeling.models import quiet_transformers

        quiet_transformers()
        from transformers import AutoConfig

        data = AutoConfig.from_pretrained(ref.name, revision=ref.revision, trust_remote_code=ref.trust_remote_code).to_dict()
    for key in ("num_hidden_layers", "n_layers", "num_layers", "n_layer"):
        if key in data:
            if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1:
                raise XgapError(f"model '{ref.name}': config {key} = {str(data[key])[:40]} is not a positive whole number")
            return data[key]
    raise XgapError(f"model '{ref.name}': its config has no layer count (num_hidden_layers)")


#: The prompt role bitext tasks use on both sides (symmetric tasks: e5's "query: ").
BITEXT_ROLE = "query"


def bitext_prefix(ctx: EvalContext) -> str:
    return (ctx.prompts or {}).get(BITEXT_ROLE, "")


def with_prefix(prefix: str, sentences):
    return [prefix + s for s in sentences] if prefix else sentences


class RetrievalEvaluator(Evaluator):
    formats = ("bitext-retrieval",)

    def settings(self, ctx: EvalContext) -> dict:
        r = ctx.card.protocol.get("retrieval", {})
        pooling = ctx.pooling or r.get("pooling", "mean")
        n = num_layers_of(ctx.model)
        if pooling == "model":
            layer = n
        elif ctx.layer is not None:
            layer = ctx.layer
        elif isinstance(r.get("layer"), int):
            layer = r["layer"]
        else:
            layer = min(n // 2 + 2, n)  # the card's rule "n//2+2"
        out = {"dtype": ctx.dtype, "layer": layer, "num_layers": n, "pooling": pooling,
               "max_length": r.get("max_length", 512), "direction": r.get("direction", "en->xx")}
        prefix = bitext_prefix(ctx)
        if prefix:  # only when set: records of models without prompts keep their resume keys
            out["prompt"] = prefix
        return out

    def encoder(self, ctx: EvalContext):
        def build():
            from xgap.modeling.embedding_cache import EmbeddingCache
            from xgap.modeling.encoder import SentenceEncoder

            s = self.settings(ctx)
            cache = EmbeddingCache(Path(ctx.cache_dir) / "embeddings" if ctx.cache_dir else None)
            return SentenceEncoder(ctx.model, layer=None if s["pooling"] == "model" else s["layer"], pooling=s["pooling"],
                                   max_length=s["max_length"], dtype=ctx.dtype, batch_tokens=ctx.batch_tokens, cache=cache,
                                   progress=ctx.progress)

        return ctx.loaded("encoder", build)

    def evaluate(self, ctx: EvalContext, example_set) -> LanguageResult:
        import numpy as np

        from xgap.metrics.bootstrap import MeanStatistic
        from xgap.modeling.tatoeba import tatoeba_scores

        bitext = example_set.examples
        enc = self.encoder(ctx)
        prefix = bitext_prefix(ctx)
        src = enc.encode(with_prefix(prefix, bitext.source))
        tgt = enc.encode(with_prefix(prefix, bitext.target))
        out = tatoeba_scores(src, tgt)
        gold = np.arange(out["n"])
        hits = (np.asarray(out["predictions"]) == gold) * 100.0
        metrics = {k: out[k] for k in ("accuracy", "accuracy_xx_en", "precision_xx_en", "recall_xx_en", "f1_xx_en")}
        ci = interval(MeanStatistic(hits), ctx, example_set.lang)
        return LanguageResult(metrics=metrics, primary_score=primary_of(ctx.card, metrics), n_examples=out["n"],
                              ci95={"accuracy": ci} if ci else {}, predictions=out["predictions"], gold=gold.tolist(),
                              per_example={"accuracy": hits.tolist()},
                              extra_settings={"predictions_xx_en": out["predictions_xx_en"]})


FORMAT = Format(
    name="bitext-retrieval",
    layouts=(layouts.TATOEBA,),
    hub_rows=hub.bitext_rows,
    evaluator=RetrievalEvaluator,
    gold=lambda card, es: list(range(len(es.examples))),
    scorer=lambda card: scoring.score_index,
)
