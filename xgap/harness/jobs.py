"""Units of work for ``xgap run``: a :class:`Job` evaluates some languages of one task for one
submission and returns finished records; it writes nothing.

Why separate: the driver decides *what* is missing (resume keys) and owns the result store; jobs
only compute. That lets the same job run in-process (local executor) or on a Ray worker, with
bit-identical records either way, and keeps every store write on the driver (atomic, locked).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from xgap.modeling.models import ModelRef
from xgap.record import Record
from xgap.settings import EvalSettings, ReadsSettings


@dataclass
class Job(ReadsSettings):
    """Evaluate ``langs`` of ``task`` for ``submission`` (picklable: plain data only).

    ``preloaded`` holds the example sets planning already loaded (lang -> example set), so a local
    run reads each (task, language) once. It is not pickled: a job sent to a Ray worker reloads
    its data there (one read per worker, and the driver never ships a data set over the network).
    """

    submission: str
    task: str
    model: ModelRef
    langs: list[str]
    keys: dict[str, str]  # lang -> input_key the driver computed
    weights_hash: str
    record_settings: dict  # the format's settings (evaluator.settings): written into each record, hashed into its key
    settings: EvalSettings = field(default_factory=EvalSettings)
    label_map: dict | None = None
    work: dict = field(default_factory=dict)  # lang -> estimated sentences to encode (drives the run's progress ETA)
    resources: dict = field(default_factory=lambda: {"num_cpus": 1, "num_gpus": 0})
    preloaded: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "preloaded": {}}

    @property
    def name(self) -> str:
        return f"{self.submission}/{self.task}/{','.join(self.langs)}"


@dataclass
class JobResult:
    job: str
    items: list  # [(Record, sidecar)], one per language
    encoder_parameters: dict | None = None


def load_for(evaluator, card, lang: str, settings: EvalSettings):
    """Examples for one language (mining loads dev and test), cut to ``settings.limit`` for smoke runs.

    ``settings.split`` overrides the card's evaluation split (e.g. MLQA dev where only dev is at
    hand); the split is part of every record and of its resume key.
    """
    data_dir, limit = settings.data_dir, settings.limit
    from xgap.data import load_examples
    from xgap.data.examples import Bitext

    if hasattr(evaluator, "load"):
        es = evaluator.load(card, lang, data_dir)
    else:
        es = load_examples(card, lang, settings.split or card.eval_split, data_dir=data_dir)
    if limit:
        ex = es.examples
        if isinstance(ex, Bitext):
            es.examples = Bitext(ex.source[:limit], ex.target[:limit])
        elif isinstance(ex, list):
            es.examples = ex[:limit]
    return es


def _parameters(ctx) -> tuple[dict | None, dict | None]:
    """(evaluated model's counts, encoder-only counts) from what the evaluator loaded.

    A sentence encoder reports the counts it measured before truncating unused layers, so the
    recorded size is the checkpoint's, not the truncated copy's.
    """
    from xgap.modeling.models import parameter_counts

    for v in ctx._loaded.values():
        for o in v if isinstance(v, tuple) else (v,):
            if isinstance(getattr(o, "parameter_counts", None), dict):
                return o.parameter_counts, o.parameter_counts
    model = _loaded_model(ctx)
    if model is None:
        return None, None
    return parameter_counts(model), parameter_counts(getattr(model, "base_model", model))


def _loaded_model(ctx):
    for v in ctx._loaded.values():
        for o in v if isinstance(v, tuple) else (v,):
            m = getattr(o, "model", o)
            if hasattr(m, "parameters") and hasattr(m, "config"):
                return m
    return None


def execute_job(job: Job, on_item=None) -> JobResult:
    """Run one job: load the model once, evaluate each language, return records + sidecars.

    With ``on_item``, each language's result is handed over as soon as it is finished (as a
    one-item :class:`JobResult`) instead of being returned at the end, so an interrupted local
    run keeps every language it completed.
    """
    from xgap.cards import load_card
    from xgap.formats import evaluator_for
    from xgap.formats.base import EvalContext
    from xgap.provenance import base_provenance, device_description, now_iso

    card = load_card(job.task)
    evaluator = evaluator_for(card)
    st = job.settings
    ctx = EvalContext(card, job.model, st, job.label_map)
    from xgap.progress import active

    items, enc_params = [], None
    for lang in job.langs:
        started, t0 = now_iso(), time.perf_counter()
        if active() is not None:
            active().start(job.task, lang, job.submission)
        es = job.preloaded.pop(lang, None)  # what planning loaded (local runs); else read it here
        if es is None:
            es = load_for(evaluator, card, lang, job.settings)
        result = evaluator.evaluate(ctx, es)
        params, encoder_params = _parameters(ctx)
        enc_params = enc_params or encoder_params
        record = Record(
            submission=job.submission, task=job.task, language=es.lang, split=es.split,
            metrics={k: round(float(v), 6) for k, v in result.metrics.items()},
            primary_metric=card.primary_metric, primary_score=round(float(result.primary_score), 6),
            n_examples=result.n_examples, ci95=result.ci95,
            settings={**job.record_settings, **{k: v for k, v in result.extra_settings.items() if not isinstance(v, list)},
                      "batch_tokens": st.batch_tokens, "limit": st.limit, "bootstrap_resamples": st.bootstrap},
            input_key=job.keys[lang],
            provenance={
                **base_provenance(), "card_version": card.version, "card_hash": card.hash,
                "data_origin": es.origin, "data_fingerprint": es.fingerprint,
                **({"data_caveats": list(es.caveats)} if getattr(es, "caveats", None) else {}),
                "model": {"id": job.model.name, "revision": job.model.revision, "weights_hash": job.weights_hash},
                **({"parameters": params} if params else {}),
                **({"lineage": _lineage(job.model)} if _lineage(job.model) else {}),
                # the declared prompts, where this task used one (then settings.prompt holds the prefix)
                **({"prompts": dict(st.prompts)} if st.prompts and "prompt" in job.record_settings else {}),
                "device": device_description(), "seed": st.seed, "started_at": started,
                "wall_seconds": round(time.perf_counter() - t0, 3),
            },
        )
        if active() is not None:
            active().finish(job.task, lang, job.submission)
        extra_lists = {k: v for k, v in result.extra_settings.items() if isinstance(v, list)}
        sidecar = {"predictions": result.predictions, "gold": result.gold, "per_example": result.per_example, **extra_lists}
        if on_item is not None:
            on_item(JobResult(job.name, [(record, sidecar)], enc_params))
        else:
            items.append((record, sidecar))
    ctx.release()
    return JobResult(job.name, items, enc_params)


def _lineage(ref: ModelRef) -> dict | None:
    """The training lineage saved beside a checkpoint by ``xgap train`` (phase ii/iii), if any."""
    import json
    from pathlib import Path

    if not ref.is_local:
        return None
    f = Path(ref.path) / "lineage.json"
    try:
        return json.loads(f.read_text()) if f.is_file() else None
    except (OSError, ValueError):
        return None
