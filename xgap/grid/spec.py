"""Experiment files (``experiments/<name>.yaml``): read, validate, expand into grid cells.

An experiment is the X-STILTs study as data: encoders (each optionally a *size series* made by
keeping the first N transformer layers of one checkpoint) x intermediate settings (``none``, one
task, a multi-task set) x targets x seeds. A **cell** is (encoder size, setting, seed); each cell
becomes one ordinary submission whose tasks are the targets.

Validation happens in two steps, both with one-line errors naming the file, the field and the
fix: the JSON Schema (``schemas/experiment.schema.json``: shapes, unknown keys) and then the
checks a schema cannot make (task names exist and are of the right kind, languages are the
card's, recipe overrides fit the phase, stand-in training data is not also evaluated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from xgap.errors import XgapError

#: Override keys only phase (iii) (targets) understands, and only multi-task phase (ii).
TARGET_ONLY = ("train_split",)
MULTI_ONLY = ("cap",)
SINGLE_ONLY = ("train_from", "dev_holdout")


@dataclass(frozen=True)
class EncoderVariant:
    """One point on the size axis: an encoder, possibly truncated to its first ``layers`` layers."""

    name: str  # the experiment's name for the encoder (a series shares it)
    source: tuple  # (("hub", id), ("revision", r), ...) - hashable form of the model spec
    layers: int | None = None
    display: str = ""
    license: str = "unknown"
    prompts: tuple = ()  # ((role, prefix), ...): text prefixes the encoder expects (retrieval targets use them)

    @property
    def size(self) -> str:
        return f"L{self.layers}" if self.layers else "full"

    @property
    def key(self) -> str:
        """Part of submission ids and folder names: ``minilm-l2`` (``minilm`` when not truncated)."""
        return f"{self.name}-l{self.layers}" if self.layers else self.name

    @property
    def spec(self) -> dict:
        return dict(self.source)

    @property
    def label(self) -> str:
        return f"{self.display or self.name} ({self.size})" if self.layers else (self.display or self.name)


@dataclass(frozen=True)
class Setting:
    """An intermediate setting: ``none``, one task or a multi-task set, with optional overrides."""

    label: str
    tasks: tuple = ()
    recipe: tuple = ()  # ((key, value), ...) setting-level overrides
    note: str = ""

    @property
    def is_none(self) -> bool:
        return not self.tasks

    @property
    def slug(self) -> str:
        """For ids and folders: ``+`` (multi-task labels) becomes ``_``."""
        return self.label.replace("+", "_")


@dataclass(frozen=True)
class Cell:
    experiment: str
    encoder: EncoderVariant
    setting: Setting
    seed: int

    @property
    def submission(self) -> str:
        return f"{self.experiment}-{self.encoder.key}-{self.setting.slug}-s{self.seed}"


@dataclass
class Experiment:
    name: str
    path: Path | None
    encoders: list  # [EncoderVariant], series expanded, in file order
    settings: list  # [Setting]
    targets: list
    languages: dict = field(default_factory=dict)  # target -> [codes]
    seeds: list = field(default_factory=lambda: [0])
    recipe: dict = field(default_factory=dict)  # task -> overrides
    training: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    executor: dict = field(default_factory=dict)
    title: str = ""
    description: str = ""
    stand_ins: list = field(default_factory=list)

    def cells(self) -> list:
        """Every (encoder size, setting, seed), encoders outermost (the order jobs run in)."""
        return [Cell(self.name, e, s, seed) for e in self.encoders for s in self.settings for seed in self.seeds]

    def overrides(self, task: str, setting: Setting | None = None) -> dict:
        """Recipe overrides for training ``task``; a setting's own recipe wins over the per-task one."""
        out = dict(self.recipe.get(task, {}))
        if setting is not None:
            out.update(dict(setting.recipe))
        return out

    def setting_overrides(self, setting: Setting) -> dict:
        """Phase (ii) overrides: the single task's ``recipe`` entry (multi-task: only the setting's own)."""
        if len(setting.tasks) == 1:
            return self.overrides(setting.tasks[0], setting)
        return dict(setting.recipe)


# ----------------------------------------------------------------------------- loading
def load_experiment(path: str | Path) -> Experiment:
    """Read and validate ``path``; raise :class:`~xgap.errors.XgapError`/``ValidationFailed`` naming file and field."""
    from xgap.validation import check
    from xgap.yamlio import read_yaml

    p = Path(path)
    if not p.is_file():
        raise XgapError(f"{p}: no such experiment file - fix: pass experiments/<name>.yaml")
    doc = read_yaml(p)
    check(doc, "experiment", str(p))
    return experiment_from_dict(doc, str(p))


def experiment_from_dict(doc: dict, where: str = "<experiment>") -> Experiment:
    """Build an :class:`Experiment` from an already schema-valid document and check its meaning."""
    from xgap.cards import load_card

    def fail(field_path: str, what: str, fix: str):
        raise XgapError(f"{where}: {field_path}: {what} - fix: {fix}")

    def card(name: str, field_path: str):
        try:
            return load_card(name)
        except XgapError:
            fail(field_path, f"unknown task '{name}'", "use a task from `xgap tasks list`")

    encoders, seen_names = [], set()
    for i, raw in enumerate(doc["encoders"]):
        if isinstance(raw, str):
            spec = {"path": raw} if Path(raw).expanduser().exists() else {"hub": raw}
            name = re.sub(r"[^a-z0-9_.-]+", "-", Path(raw.rstrip("/")).name.lower()).strip("-.") or f"encoder{i}"
            raw = {"name": name, **spec}
        name = raw["name"]
        if name in seen_names:
            fail(f"encoders[{i}].name", f"encoder name '{name}' is used twice", "give each encoder its own name")
        seen_names.add(name)
        source = tuple((k, raw[k]) for k in ("hub", "revision", "path", "package", "trust_remote_code") if k in raw)
        for n in raw.get("layers") or [None]:
            encoders.append(EncoderVariant(name, source, n, raw.get("display", ""), raw.get("license", "unknown"),
                                           tuple(sorted((raw.get("prompts") or {}).items()))))

    settings, labels = [], set()
    for i, raw in enumerate(doc["intermediate"]):
        fp = f"intermediate[{i}]"
        if isinstance(raw, str):
            tasks = () if raw == "none" else (raw,)
            s = Setting(raw, tasks)
        elif isinstance(raw, list):
            s = Setting("+".join(raw), tuple(raw))
        else:
            tasks = tuple(raw["tasks"])
            s = Setting(raw.get("name") or "+".join(tasks), tasks, tuple(sorted((raw.get("recipe") or {}).items())), raw.get("note", ""))
        if s.label in labels:
            fail(fp, f"setting '{s.label}' is listed twice", "give each setting its own name")
        labels.add(s.label)
        for t in s.tasks:
            if t == "none":
                fail(fp, "'none' inside a task list", "list none on its own")
            c = card(t, fp)
            if c.kind != "intermediate":
                fail(fp, f"'{t}' is a target task, not an intermediate one", "use an intermediate task (xgap tasks list)")
        own = dict(s.recipe)
        if len(s.tasks) > 1 and any(k in own for k in SINGLE_ONLY):
            fail(f"{fp}.recipe", "train_from/dev_holdout apply to one task", "put them under recipe.<task> of a single-task setting")
        if len(s.tasks) < 2 and any(k in own for k in MULTI_ONLY):
            fail(f"{fp}.recipe", "cap applies to multi-task settings only", "remove it")
        if any(k in own for k in TARGET_ONLY):
            fail(f"{fp}.recipe", "train_split applies to target tasks only", "remove it")
        settings.append(s)

    targets = list(doc["targets"])
    target_cards = {}
    for i, t in enumerate(targets):
        c = card(t, f"targets[{i}]")
        if c.kind != "target":
            fail(f"targets[{i}]", f"'{t}' is an intermediate task", "list it under intermediate: (targets are XTREME tasks)")
        target_cards[t] = c

    languages = {}
    for t, langs in (doc.get("languages") or {}).items():
        if t not in target_cards:
            fail(f"languages.{t}", f"'{t}' is not one of the targets", f"use one of: {', '.join(targets)}")
        resolved = []
        for lang in langs:
            try:
                resolved.append(target_cards[t].resolve_language(lang)[0])
            except XgapError:
                fail(f"languages.{t}", f"'{lang}' is not a language of {t}", f"use some of: {', '.join(target_cards[t].languages)}")
        languages[t] = resolved

    used = {t for s in settings for t in s.tasks} | set(targets)
    recipe = {}
    for t, ov in (doc.get("recipe") or {}).items():
        fp = f"recipe.{t}"
        if t not in used:
            fail(fp, f"'{t}' is neither a target nor an intermediate task of this grid", "remove it or add the task")
        c = card(t, fp)
        if c.kind == "intermediate" and any(k in ov for k in TARGET_ONLY):
            fail(fp, "train_split applies to target tasks only", "for an intermediate task use train_from (stand-in data)")
        if c.format in ("bitext-retrieval", "bitext-mining"):
            fail(fp, f"'{t}' is evaluated without fine-tuning", "remove its recipe")
        if "train_from" in ov:
            src = ov["train_from"].split("/")[0]
            sc = card(src, f"{fp}.train_from")
            if sc.format != c.format:
                fail(f"{fp}.train_from", f"{src} ({sc.format}) cannot stand in for {t} ({c.format})", "use a task of the same format")
            if src in target_cards:
                fail(f"{fp}.train_from", f"{src} trains {t} here, so evaluating it zero-shot would test on training data",
                     f"remove {src} from targets")
        if "cap" in ov:
            fail(f"{fp}.cap", "cap is a multi-task setting", "give it in the multi-task setting's own recipe")
        recipe[t] = dict(ov)

    return Experiment(
        name=doc["name"], path=Path(where) if where and not where.startswith("<") else None, encoders=encoders, settings=settings,
        targets=targets, languages=languages, seeds=list(doc.get("seeds") or [0]), recipe=recipe,
        training=dict(doc.get("training") or {}), evaluation=dict(doc.get("evaluation") or {}),
        executor=dict(doc.get("executor") or {}), title=doc.get("title", ""), description=doc.get("description", ""),
        stand_ins=list(doc.get("stand_ins") or []),
    )
