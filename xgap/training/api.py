"""Python API of phases (ii) and (iii): :func:`train_intermediate` and :func:`train_target`.

Both read everything task-specific from the cards -- format, labels, English train and dev data,
max length (``protocol.max_length``; QA also ``doc_stride``/``max_query_length``) and the recipe
(``protocol.recipe``: ``learning_rate``, ``schedule``, ``warmup_ratio``, ``weight_decay``,
``batch_size`` = the effective batch, ``epochs``, ``eval_every_steps``, ``patience``,
``max_grad_norm``, ``seed``). Keyword arguments override single recipe values for smoke runs and
experiments; every override is recorded in the lineage.

Outputs (``output`` folder):

* ``train intermediate``: the fine-tuned **encoder** only (``AutoModel``-loadable, with its
  tokenizer), ``heads/<task>.safetensors`` (one per task, for debugging), ``lineage.json``,
  ``train_log.jsonl``.
* ``train target``: an ``AutoModelFor<format>`` checkpoint whose ``id2label`` is the card's label
  list -- what ``xgap run --model <task>=<output>`` evaluates zero-shot -- plus ``lineage.json``
  (naming the encoder's own lineage when it came from ``train intermediate``) and
  ``train_log.jsonl``.

Reruns: an output whose ``lineage.json`` says the same inputs (model weights, tasks and cards,
data fingerprints, recipe, seed, dtype, limits) were trained to completion is reused as is; an
interrupted run resumes from ``checkpoint-last/``; different inputs into an existing output are
refused unless ``overwrite=True`` (which discards the earlier run, finished or not, and trains anew)
or ``replace_stale=True`` (which keeps a finished run with the same inputs and replaces only one
with other inputs: what cached callers such as grids want).

Multi-task (several ``tasks``): the optimiser settings (learning rate, schedule, warm-up, weight
decay, epochs, evaluation interval, patience, max grad norm) come from the **first** task's card;
each task keeps its own ``batch_size`` and ``max_length``. The sampling cap is ``cap``, else the
first card's ``protocol.multitask_cap`` (none by default). One "epoch" of a mixture is
``sum(ceil(min(n_t, cap) / batch_t))`` steps.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xgap.errors import XgapError
from xgap.training.lineage import LINEAGE_FILE, LINEAGE_VERSION, chain_for, describe_chain, read_lineage

log = logging.getLogger("xgap")

#: Bump when a change to the training code makes earlier outputs incomparable (goes into run keys).
#: 2: random batches by default (was: length-grouped in groups of 50 batches; issue 19); recipe keys
#: ``batching``, ``loss_weighting``, ``head_seed``.
TRAINING_VERSION = 2

#: ``batching``/``loss_weighting``: see :mod:`xgap.training.multitask`; ``head_seed``: the seed of the
#: fresh heads' initialisation (None: ``seed``), so data order and head init can be varied apart.
RECIPE_DEFAULTS = {"learning_rate": 1e-5, "schedule": "linear", "warmup_ratio": 0.1, "optimizer": "adamw",
                   "weight_decay": 0.0, "batch_size": 32, "epochs": 2, "eval_every_steps": 1000, "patience": 5,
                   "max_grad_norm": 1.0, "seed": 0, "batching": "random", "loss_weighting": "batch-mean", "head_seed": None}
SHARED_KEYS = ("learning_rate", "schedule", "warmup_ratio", "weight_decay", "epochs", "eval_every_steps", "patience", "max_grad_norm",
               "batching", "loss_weighting", "head_seed", "freeze_embeddings")

#: Files and folders ``xgap train`` writes into an output folder (the only ones it ever deletes).
OWN_FILES = ("lineage.json", "train_log.jsonl", "checkpoint-last", "checkpoint-last.old", "checkpoint-best", "checkpoint-best.old", "heads")


@dataclass
class TrainResult:
    """What a training call produced: the folder, its lineage, and whether it was reused."""

    output: Path
    lineage: dict
    reused: bool = False

    @property
    def dev_score(self) -> float:
        return float(self.lineage["selection"]["best_score"])

    @property
    def best_step(self) -> int:
        return int(self.lineage["steps"]["best"])

    @property
    def chain(self) -> list:
        return list(self.lineage.get("chain", []))


# ----------------------------------------------------------------------------- public API
def train_intermediate(
    model: str,
    tasks: str | Sequence[str],
    output: str | Path,
    *,
    data_dir: str | None = None,
    seed: int | None = None,
    dtype: str = "float32",
    max_steps: int | None = None,
    limit: int | None = None,
    dev_limit: int | None = None,
    cap: int | None = None,
    learning_rate: float | None = None,
    epochs: float | None = None,
    batch_size: int | None = None,
    micro_batch_size: int | None = None,
    micro_batch_tokens: int | None = None,
    eval_every: int | None = None,
    save_every: int | None = None,
    patience: int | None = None,
    warmup_ratio: float | None = None,
    max_length: int | None = None,
    batching: str | None = None,
    loss_weighting: str | None = None,
    head_seed: int | None = None,
    freeze_embeddings: bool | None = None,
    train_from: str | dict | None = None,
    dev_holdout: float | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    device: str = "auto",
    overwrite: bool = False,
    replace_stale: bool = False,
    keep_checkpoints: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Phase (ii): fine-tune ``model`` on English intermediate task(s); save the encoder, heads dropped.

    ``tasks``: one intermediate card name or several (``"mnli,squad"`` or a list) for multi-task
    training with examples-proportional sampling (``cap`` caps each task's weight). The kept
    checkpoint is the one with the best unweighted mean of the tasks' English dev primary scores.
    ``limit``/``dev_limit``: use only the first N training / dev examples per task (smoke runs;
    ``dev_limit`` defaults to ``limit``). ``max_steps`` caps optimizer steps (the LR schedule is
    laid out over the capped count). ``batching`` (``random``/``length-grouped``), ``loss_weighting``
    (``batch-mean``/``per-token``), ``head_seed`` and ``freeze_embeddings`` (keep the word-embedding matrix
    fixed) override the card recipe's keys of those names. ``train_from`` / ``dev_holdout``: stand-in training data, as
    for :func:`train_target` (single-task runs only). Returns a :class:`TrainResult`.
    """
    names = _task_list(tasks)
    if (train_from or dev_holdout) and len(names) > 1:
        raise XgapError("train_from/dev_holdout apply to one task; a multi-task run trains on each card's own data")
    return _train("intermediate", model, names, output, locals())


def train_target(
    model: str,
    task: str,
    output: str | Path,
    *,
    data_dir: str | None = None,
    seed: int | None = None,
    dtype: str = "float32",
    max_steps: int | None = None,
    limit: int | None = None,
    dev_limit: int | None = None,
    learning_rate: float | None = None,
    epochs: float | None = None,
    batch_size: int | None = None,
    micro_batch_size: int | None = None,
    micro_batch_tokens: int | None = None,
    eval_every: int | None = None,
    save_every: int | None = None,
    patience: int | None = None,
    warmup_ratio: float | None = None,
    max_length: int | None = None,
    batching: str | None = None,
    loss_weighting: str | None = None,
    head_seed: int | None = None,
    freeze_embeddings: bool | None = None,
    train_split: str = "train",
    dev_holdout: float | None = None,
    train_from: str | dict | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    device: str = "auto",
    overwrite: bool = False,
    replace_stale: bool = False,
    keep_checkpoints: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Phase (iii): fine-tune a fresh ``task`` head (and the encoder) on the task's **English** training data.

    Training data: the card's English ``train`` split (XNLI: MNLI, XQuAD/MLQA: SQuAD v1.1, as the
    cards delegate). Selection: English dev, evaluated every ``eval_every_steps``, best kept, early
    stop after ``patience`` evaluations without improvement. ``train_split="dev"`` with
    ``dev_holdout=0.2`` trains on the English dev split minus its last 20% and selects on that
    20% (the stand-in used where no English training set is available, e.g. UD-POS on CPU here);
    ``dev_holdout`` alone holds out the tail of the training split instead of using the dev split.
    ``train_from`` names stand-in training data from another card, ``"xquad/en/test"`` or
    ``{"task": "xquad", "lang": "en", "split": "test"}`` (same format required; the lineage records
    its origin and fingerprint); without ``dev_holdout`` selection then uses the card's own dev split.
    The output is an ``AutoModelFor<format>`` checkpoint with the card's labels.
    """
    return _train("target", model, [task], output, locals())


def finetuned_checkpoint(model: str, task: str, cache_root: str | Path, **kwargs) -> TrainResult:
    """Phase (iii) with the card's recipe, cached: the checkpoint ``xgap run`` needs for "finetune: card-recipe".

    The output folder under ``cache_root`` is named from the encoder's weights, the task's card
    hash and the keyword arguments; an unchanged request reuses the finished checkpoint without
    training (``train_target`` checks the full run key, data fingerprints included, and retrains
    into the same folder when the data changed).
    """
    from xgap.cards import load_card
    from xgap.modeling.models import ModelRef, weights_hash
    from xgap.store import input_key

    ref = ModelRef(model, kwargs.get("revision"), bool(kwargs.get("trust_remote_code", False)))
    card = load_card(task)
    try:
        identity = weights_hash(ref)
    except XgapError:  # a hub model not in the local cache: its id and revision name it
        identity = f"{ref.name}@{ref.revision}"
    key = input_key(weights=identity, revision=ref.revision, task=task, card=card.hash,
                    settings={k: v for k, v in sorted(kwargs.items()) if k not in ("progress",)}, training_version=TRAINING_VERSION)
    out = Path(cache_root) / f"{task}-{key[:16]}"
    return _train("target", model, [task], out, dict(kwargs, replace_stale=True))


# ----------------------------------------------------------------------------- internals
def _task_list(tasks) -> list[str]:
    if isinstance(tasks, str):
        tasks = [tasks]
    names = [t.strip() for item in tasks for t in str(item).split(",") if t.strip()]
    if not names:
        raise XgapError("no tasks given - fix: pass --tasks mnli (or several: --tasks mnli,squad)")
    if len(set(names)) != len(names):
        raise XgapError(f"task listed twice in {','.join(names)}")
    return names


def _resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise XgapError(f"device '{device}' requested but no CUDA device is available - fix: --device cpu")
    return device


def _derived_fingerprint(base: str, what: str) -> str:
    return "derived:" + hashlib.sha256(f"{base}|{what}".encode()).hexdigest()


def _cut(es, n: int | None, what: str):
    if not n or n >= len(es.examples):
        return es
    from xgap.data.examples import ExampleSet

    return ExampleSet(es.task, es.lang, es.split, es.format, list(es.examples)[:n], es.origin + f" [first {n}]",
                      _derived_fingerprint(es.fingerprint, f"{what}:first:{n}"))


def parse_train_from(spec) -> tuple[str, str, str] | None:
    """``"xquad/en/test"`` or ``{"task": ..., "lang": ..., "split": ...}`` -> ``(task, lang, split)``."""
    if spec is None:
        return None
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split("/")]
        if len(parts) != 3 or not all(parts):
            raise XgapError(f"train_from '{spec}': expected TASK/LANG/SPLIT, e.g. xquad/en/test")
        return parts[0], parts[1], parts[2]
    if isinstance(spec, dict) and {"task", "lang", "split"} <= set(spec):
        return str(spec["task"]), str(spec["lang"]), str(spec["split"])
    raise XgapError(f"train_from {spec!r}: expected TASK/LANG/SPLIT or {{task, lang, split}}")


def _task_data(kind: str, card, opts: dict):
    """(train ExampleSet, dev ExampleSet) for one task, English only, with limits and hold-out applied."""
    from xgap.cards import load_card
    from xgap.data import load_examples
    from xgap.data.examples import ExampleSet

    data_dir = opts.get("data_dir")
    lang = card.english
    split = opts.get("train_split") or "train"
    holdout = opts.get("dev_holdout")
    if holdout is not None and not 0 < float(holdout) < 1:
        raise XgapError(f"dev_holdout must be a fraction between 0 and 1, not {holdout}")
    stand_in = parse_train_from(opts.get("train_from"))
    if stand_in:
        src = load_card(stand_in[0])
        if src.format != card.format:
            raise XgapError(f"train_from {'/'.join(stand_in)}: a {src.format} task cannot stand in for {card.name} ({card.format})")
        train = load_examples(src, stand_in[1], stand_in[2], data_dir=data_dir)
        train = ExampleSet(card.name, lang, split, train.format, list(train.examples),
                           f"{train.origin} (stand-in for {card.name} {split}: {'/'.join(stand_in)})", train.fingerprint)
    else:
        train = load_examples(card, lang, split, data_dir=data_dir)
    if holdout:
        ex = list(train.examples)
        n_hold = max(1, int(round(float(holdout) * len(ex))))
        if n_hold >= len(ex):
            raise XgapError(f"task '{card.name}': hold-out of {holdout} leaves no training examples ({len(ex)} in total)")
        tag = f"holdout:{float(holdout)}"
        dev = ExampleSet(train.task, train.lang, train.split, train.format, ex[-n_hold:],
                         f"{train.origin} [last {n_hold} of {len(ex)}: held out for selection]", _derived_fingerprint(train.fingerprint, tag + ":dev"))
        train = ExampleSet(train.task, train.lang, train.split, train.format, ex[:-n_hold],
                           f"{train.origin} [first {len(ex) - n_hold} of {len(ex)}]", _derived_fingerprint(train.fingerprint, tag + ":train"))
    elif "dev" in card.data.get("splits", {}) and split != "dev":
        dev = load_examples(card, lang, "dev", data_dir=data_dir)
    elif "train" in card.sources and split != "dev":
        # e.g. XQuAD has no dev split: its English dev is the training task's (SQuAD v1.1 dev).
        delegate = load_card(card.sources["train"]["task"])
        dev = load_examples(delegate, delegate.english, "dev", data_dir=data_dir)
    elif split == "dev":
        dev = train
        log.warning("%s: training on the dev split without --dev-holdout: the checkpoint is selected on its own training data", card.name)
    else:
        raise XgapError(f"task '{card.name}' has no English dev split to select on - fix: pass --dev-holdout 0.1")
    train = _cut(train, opts.get("limit"), "train")
    dev = _cut(dev, opts.get("dev_limit") or opts.get("limit"), "dev")
    if kind == "target" and train.lang != card.english:
        raise XgapError(f"task '{card.name}': zero-shot fine-tuning uses English data only")  # pragma: no cover - loader refuses first
    return train, dev


def _labels(card, train_examples) -> list[str]:
    from xgap.training.tasks import label_set

    return label_set(card, train_examples)


def _recipe(cards, opts: dict) -> tuple[dict, dict, dict, list]:
    """(shared recipe, per-task batch sizes, overrides, notes) from the cards and keyword overrides."""
    from xgap.training import multitask

    first = dict(RECIPE_DEFAULTS, **cards[0].recipe)
    notes = []
    for c in cards[1:]:
        other = dict(RECIPE_DEFAULTS, **c.recipe)
        diff = [k for k in SHARED_KEYS if other.get(k) != first.get(k)]
        if diff:
            notes.append(f"{c.name}: {', '.join(f'{k}={other[k]}' for k in diff)} differ from {cards[0].name}'s and were not used "
                         f"(the first task's optimiser settings drive a multi-task run)")
    mapping = {"learning_rate": "learning_rate", "epochs": "epochs", "eval_every": "eval_every_steps", "patience": "patience",
               "warmup_ratio": "warmup_ratio", "seed": "seed", "batch_size": "batch_size", "batching": "batching",
               "loss_weighting": "loss_weighting", "head_seed": "head_seed", "freeze_embeddings": "freeze_embeddings"}
    overrides = {mapping[k]: opts[k] for k in mapping if opts.get(k) is not None and opts[k] != first.get(mapping[k])}
    recipe = dict(first)
    recipe.update(overrides)
    batch = {c.name: int(overrides.get("batch_size") or dict(RECIPE_DEFAULTS, **c.recipe)["batch_size"]) for c in cards}
    recipe["batch_size"] = batch[cards[0].name]
    _check_choice(recipe, "batching", multitask.BATCHING_MODES, "--batching")
    _check_choice(recipe, "loss_weighting", multitask.LOSS_WEIGHTINGS, "--loss-weighting")
    # freeze_embeddings is recorded only when on, so every earlier run key (and card hash) stays valid
    for d in (recipe, overrides):
        if d.get("freeze_embeddings") is False:
            d.pop("freeze_embeddings")
    if recipe.get("freeze_embeddings") not in (None, True):
        raise XgapError(f"recipe freeze_embeddings must be true or false, not {recipe['freeze_embeddings']!r} - fix: --freeze-embeddings")
    if recipe.get("head_seed") is not None and (isinstance(recipe["head_seed"], bool) or not isinstance(recipe["head_seed"], int)):
        raise XgapError(f"recipe head_seed must be an integer or null, not {recipe['head_seed']!r} - fix: --head-seed N")
    return recipe, batch, overrides, notes


def _check_choice(recipe: dict, key: str, allowed: tuple, flag: str) -> None:
    if recipe.get(key) not in allowed:
        raise XgapError(f"recipe {key} must be one of {', '.join(allowed)}, not {recipe.get(key)!r} - fix: {flag} {allowed[0]}")


def head_init_seed(recipe: dict, seed: int, task: str) -> int:
    """The torch seed a task's fresh head is built from: ``head_seed`` (else ``seed``) mixed with the task's name,
    so the heads of a multi-task run start differently."""
    from xgap.training import multitask

    base = recipe.get("head_seed")
    base = seed if base is None else int(base)
    return (base * 1_000_003 + multitask.task_stream(task)) % (2**31)


def _check_output(out: Path, model_path: Path | None) -> None:
    if model_path is not None and out.resolve() == model_path.resolve():
        raise XgapError(f"--output {out} is the input model's folder - fix: write to a new folder")
    if not out.exists():
        return
    if not out.is_dir():
        raise XgapError(f"--output {out} exists and is not a folder")
    foreign = [p.name for p in out.iterdir() if p.name not in OWN_FILES and not p.name.startswith(".")]
    if foreign and read_lineage(out) is None and not (out / "checkpoint-last").exists():
        raise XgapError(f"--output {out} is not empty and holds no xgap training run ({', '.join(sorted(foreign)[:3])}...) "
                        f"- fix: choose a new folder")


def _clear_output(out: Path) -> None:
    """Remove an earlier run's own files (never anything else) before training anew."""
    if not out.is_dir():
        return
    for name in OWN_FILES:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _interrupted_key(out: Path) -> str | None:
    import json

    for d in (out / "checkpoint-last", out / "checkpoint-last.old"):
        try:
            return json.loads((d / "state.json").read_text()).get("run_key")
        except (OSError, ValueError):
            continue
    return None


def _train(kind: str, model: str, names: list[str], output, opts: dict) -> TrainResult:
    from xgap.cards import load_card
    from xgap.formats.registry import trainable_format
    from xgap.modeling.forward import check_dtype
    from xgap.modeling.heads import load_encoder, save_encoder, save_head, save_task_model
    from xgap.modeling.models import ModelRef, load_tokenizer, parameter_counts, weights_hash
    from xgap.provenance import base_provenance, device_description, now_iso
    from xgap.store import atomic_write_json, input_key
    from xgap.training import multitask
    from xgap.training.loop import LoopConfig, TaskRun, Trainer
    from xgap.training.tasks import build_head, encode_for_training

    started, t0 = now_iso(), time.perf_counter()
    check_dtype(opts.get("dtype") or "float32")
    out = Path(output).expanduser()
    ref = ModelRef(str(model), opts.get("revision"), bool(opts.get("trust_remote_code")))
    if not ref.is_local and (os.sep in str(model) or str(model).startswith(".")):
        raise XgapError(f"model folder '{model}' does not exist")
    _check_output(out, Path(ref.path) if ref.is_local else None)

    cards = [load_card(n) for n in names]
    for c in cards:
        trainable_format(c)
        if kind == "intermediate" and c.kind != "intermediate":
            raise XgapError(f"task '{c.name}' is a target task - fix: fine-tune it with `xgap train target --task {c.name}`")
        if kind == "target" and c.kind != "target":
            raise XgapError(f"task '{c.name}' is an intermediate task - fix: use `xgap train intermediate --tasks {c.name}`")
    recipe, batch_sizes, overrides, notes = _recipe(cards, opts)
    seed = int(opts["seed"]) if opts.get("seed") is not None else int(recipe.get("seed", 0))
    recipe["seed"] = seed
    cap = opts.get("cap") if opts.get("cap") is not None else cards[0].protocol.get("multitask_cap")
    dtype = opts.get("dtype") or "float32"

    # Data first: its fingerprints are part of the run key.
    data = {}
    for c in cards:
        train, dev = _task_data(kind, c, opts)
        data[c.name] = (train, dev, _labels(c, train.examples))
    tokenizer = load_tokenizer(ref)
    encoder_lineage = read_lineage(ref.path) if ref.is_local else None
    try:
        base_hash = weights_hash(ref)
    except XgapError:
        base_hash = None
    settings = {
        "kind": kind, "training_version": TRAINING_VERSION, "recipe": recipe, "batch_sizes": batch_sizes, "seed": seed, "dtype": dtype,
        "max_steps": opts.get("max_steps"), "micro_batch_size": opts.get("micro_batch_size"), "cap": cap,
        "micro_batch_tokens": opts.get("micro_batch_tokens"),
        "max_length": opts.get("max_length"), "train_split": opts.get("train_split") or "train", "dev_holdout": opts.get("dev_holdout"),
    }
    if opts.get("train_from"):  # only when given, so earlier run keys stay valid
        settings["train_from"] = "/".join(parse_train_from(opts["train_from"]))

    encoder = None
    if base_hash is None:  # a hub model without cached files: hash the loaded weights
        encoder = load_encoder(ref)
        base_hash = weights_hash(ref, model=encoder)
    run_key = input_key(base=base_hash, revision=ref.revision, settings=settings,
                        tasks=[{"task": c.name, "card_hash": c.hash, "train": data[c.name][0].fingerprint,
                                "dev": data[c.name][1].fingerprint, "labels": data[c.name][2]} for c in cards])
    existing = read_lineage(out)
    if opts.get("overwrite"):
        _clear_output(out)
    elif existing is not None and existing.get("status") == "complete" and existing.get("run_key") == run_key:
        log.info("%s: already trained with these inputs (lineage.json); reusing it", out)
        return TrainResult(out, existing, reused=True)
    elif existing is not None or (_interrupted_key(out) not in (None, run_key)):
        if not opts.get("replace_stale"):
            what = "a model trained" if existing is not None else "an interrupted run"
            raise XgapError(f"{out} already holds {what} with other inputs (model, tasks, data, recipe or seed) "
                            f"- fix: rerun with the same arguments, pass --overwrite, or choose another --output")
        _clear_output(out)
    if encoder is None:
        encoder = load_encoder(ref)

    device = _resolve_device(opts.get("device"))
    runs = []
    for _i, c in enumerate(cards):
        train, dev, labels = data[c.name]
        fmt_features = encode_for_training(c, tokenizer, train.examples, labels, opts.get("max_length"))
        if not fmt_features.features:
            raise XgapError(f"task '{c.name}': no labelled training examples in {train.origin}")
        head = build_head(encoder, c.name, c.format, labels or None, seed=head_init_seed(recipe, seed, c.name))
        runs.append(TaskRun(name=c.name, card=c, head=head, features=fmt_features.features, lengths=fmt_features.lengths,
                            size=fmt_features.n_examples, batch_size=batch_sizes[c.name], dev_examples=list(dev.examples),
                            labels=labels or None, max_length=opts.get("max_length")))
        data[c.name] = (train, dev, labels, fmt_features)

    cfg = LoopConfig(
        learning_rate=float(recipe["learning_rate"]), epochs=float(recipe["epochs"]), warmup_ratio=float(recipe["warmup_ratio"]),
        schedule=str(recipe["schedule"]), weight_decay=float(recipe.get("weight_decay") or 0.0),
        max_grad_norm=recipe.get("max_grad_norm"), eval_every=int(recipe["eval_every_steps"]), save_every=opts.get("save_every"),
        patience=recipe.get("patience"), seed=seed, dtype=dtype, max_steps=opts.get("max_steps"),
        micro_batch_size=opts.get("micro_batch_size"), micro_batch_tokens=opts.get("micro_batch_tokens"), cap=cap, progress=bool(opts.get("progress", True)), device=device,
        batching=str(recipe["batching"]), loss_weighting=str(recipe["loss_weighting"]),
        freeze_embeddings=bool(recipe.get("freeze_embeddings")),
    )
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(encoder, runs, tokenizer, cfg, out, run_key)
    outcome = trainer.train()

    # Outputs: best weights are loaded into the models by Trainer.train().
    encoder.to("cpu")
    for r in runs:
        r.head.model.to("cpu")
    head_files = {}
    if kind == "intermediate":
        save_encoder(encoder, tokenizer, out)
        for r in runs:
            head_files[r.name] = str(save_head(r.head, out / "heads").relative_to(out))
        params = parameter_counts(encoder)
    else:
        save_task_model(runs[0].head, tokenizer, out)
        params = parameter_counts(runs[0].head.model)
    out_hash = weights_hash(ModelRef(str(out)))

    link = {"phase": kind, "tasks": names, "output": str(out.resolve()), "weights_hash": out_hash,
            "dev_score": outcome.best_score, "best_step": outcome.best_step, "seed": seed}
    lineage = {
        "lineage_version": LINEAGE_VERSION,
        "kind": kind,
        "status": "complete",
        "run_key": run_key,
        "chain": chain_for(encoder_lineage, ref.path if ref.is_local else ref.name, ref.revision, base_hash, link),
        "base_model": {"id": ref.name, "path": ref.path if ref.is_local else None, "revision": ref.revision, "weights_hash": base_hash},
        "encoder_lineage": encoder_lineage,
        "output": {"weights_hash": out_hash, "parameters": params,
                   "saved": "encoder (AutoModel; heads dropped)" if kind == "intermediate" else f"{runs[0].head.auto_class} with the card's labels"},
        "tasks": [
            {"task": r.name, "format": r.card.format, "card_version": r.card.version, "card_hash": r.card.hash,
             "labels": r.labels, "labels_from": r.card.data.get("labels_from"),
             "train": {"origin": data[r.name][0].origin, "fingerprint": data[r.name][0].fingerprint, "split": data[r.name][0].split,
                       "examples": data[r.name][3].n_examples, "skipped_unlabelled": data[r.name][3].skipped,
                       "features": len(r.features), **data[r.name][3].notes},
             "dev": {"origin": data[r.name][1].origin, "fingerprint": data[r.name][1].fingerprint, "split": data[r.name][1].split,
                     "examples": len(data[r.name][1].examples)},
             "batch_size": r.batch_size, "max_length": int(opts.get("max_length") or r.card.protocol.get("max_length", 256)),
             "sampling_weight": outcome.weights["sampling"][r.name],
             **({"head_file": head_files[r.name]} if r.name in head_files else {})}
            for r in runs
        ],
        "recipe": recipe,
        "recipe_source": f"card protocol.recipe of {cards[0].name}" + (" (+ per-task batch_size)" if len(cards) > 1 else ""),
        "recipe_overrides": overrides,
        "recipe_notes": notes,
        "batching": {"mode": recipe["batching"], "loss_weighting": recipe["loss_weighting"],
                     "group_batches": {r.name: multitask.group_batches(len(r.features), r.batch_size) for r in runs}
                     if recipe["batching"] == "length-grouped" else None,
                     "per_token_divisor": {r.name: round(trainer.unit_norm(r), 6) for r in runs}
                     if recipe["loss_weighting"] == "per-token" else None,
                     "head_init_seed": {r.name: head_init_seed(recipe, seed, r.name) for r in runs}},
        "multitask": {"sampling": "examples-proportional", "cap": cap, "selection": "unweighted mean of dev primary scores"} if len(cards) > 1 else None,
        "seed": seed,
        "dtype": dtype,
        "device": device_description() if device == "cpu" else device,
        "micro_batch_size": opts.get("micro_batch_size"),
        "micro_batch_tokens": opts.get("micro_batch_tokens"),
        "limits": {"train": opts.get("limit"), "dev": opts.get("dev_limit") or opts.get("limit"), "max_steps": opts.get("max_steps")},
        "train_split": settings["train_split"],
        "dev_holdout": opts.get("dev_holdout"),
        "steps": {"planned": outcome.total_steps, "completed": outcome.steps_done, "best": outcome.best_step,
                  "steps_per_epoch": outcome.weights["steps_per_epoch"], "warmup": outcome.weights["warmup_steps"],
                  "early_stopped": outcome.early_stopped, "resumed_from": outcome.resumed_from or None},
        "selection": {"metric": "mean of primary dev scores" if len(cards) > 1 else f"{cards[0].primary_metric} (English dev)",
                      "best_score": outcome.best_score, "best_step": outcome.best_step, "dev": outcome.best_dev},
        "dev_history": [{"step": h["step"], "score": h["score"]} for h in outcome.history],
        "provenance": {**base_provenance(), "started_at": started, "finished_at": now_iso(),
                       "train_seconds": outcome.wall_seconds, "wall_seconds": round(time.perf_counter() - t0, 3)},
    }
    atomic_write_json(out / LINEAGE_FILE, lineage)
    if not opts.get("keep_checkpoints"):
        trainer.cleanup()
    log.debug("%s: %s", out, describe_chain(lineage["chain"]))
    return TrainResult(out, lineage, reused=False)
