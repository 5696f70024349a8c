"""Hugging Face hub sources: load with ``datasets`` at the card's pinned revision, then map fields.

The mapping (:func:`rows_to_examples`) is separate from the download so it can be tested offline
on small ``datasets`` objects laid out like the hub datasets' configs. ``XGAP_HUB_MIRROR`` may
point at a folder of ``save_to_disk`` copies (``<mirror>/<org>/<name>/<config>/<split>``) -- used
by tests and by users who mirror the hub on an offline cluster.

The hub copies were converted from loading scripts (staged in ``shared/reference/hub-datasets``)
that do not always reproduce the original distributions. What this module does about each
known difference, so that a hub load gives XTREME's data or fails loudly:

- labels are mapped by *name* (ClassLabel names, or label strings), never by position: a column of
  integer ids without ClassLabel names is an error unless the card declares ``label_ids``;
- extractive-QA spans are verified against the answer text and re-aligned where the script
  stripped the context's leading whitespace but kept ``answer_start`` (TyDiQA, XQuAD, MLQA);
- Tatoeba sentences lose the trailing newline the script kept (the local reader strips it);
- configs whose content is not the original distribution (udpos.Greek holds Ancient Greek too,
  bucc18 holds gold pairs only, ...) are declared in the card's ``deviations`` and refused unless
  the operator accepts them (``--accept-non-comparable-hub``), which marks the data non-comparable;
- every load's example count is checked against the card's declared sizes (``--accept-size-mismatch``
  overrides, and is recorded).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xgap.data.examples import Answer, Bitext, ChoiceExample, MiningCorpus, QAExample, TaggedSentence, TextExample
from xgap.errors import XgapError

log = logging.getLogger(__name__)

#: Environment variable holding what the operator accepted (comma-separated): set by the CLI flags
#: ``--accept-non-comparable-hub`` / ``--accept-size-mismatch`` so that worker processes see it too.
ACCEPT_ENV = "XGAP_ACCEPT"
NON_COMPARABLE = "non-comparable-hub"
SIZE_MISMATCH = "size-mismatch"

#: A revision ``datasets`` 4+/5 can read is a parquet one: a commit after the dataset's conversion to
#: parquet, or the hub's ``refs/convert/parquet`` branch. Moving names (``main``) are not pins.
PARQUET_BRANCH = "refs/convert/parquet"
_COMMIT = re.compile(r"[0-9a-f]{40}")


def accepted() -> set[str]:
    return {t.strip() for t in os.environ.get(ACCEPT_ENV, "").split(",") if t.strip()}


@contextlib.contextmanager
def accepting(non_comparable: bool = False, size_mismatch: bool = False):
    """Accept non-comparable hub data and/or size mismatches for the duration of a command.

    Set through the environment so that worker processes (local or Ray on this machine) inherit it.
    """
    old = os.environ.get(ACCEPT_ENV)
    tokens = accepted() | ({NON_COMPARABLE} if non_comparable else set()) | ({SIZE_MISMATCH} if size_mismatch else set())
    if tokens:
        os.environ[ACCEPT_ENV] = ",".join(sorted(tokens))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ACCEPT_ENV, None)
        else:
            os.environ[ACCEPT_ENV] = old


def fill(template: str, lang: str, source: str) -> str:
    return template.replace("{lang}", lang).replace("{source}", source)


def _class_names(feature) -> list[str] | None:
    """Names of a ClassLabel feature (or of a Sequence/List of ClassLabel), else None."""
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return _class_names(inner)
    return None


class _LabelMap:
    """Label values of one hub column -> the card's label names, by name only.

    ``names`` are the column's ClassLabel names (ids index them) or the card's explicit
    ``label_ids`` list; without either, integer values are ambiguous and refused. Every name must
    be one of the card's labels (after ``label_aliases``), so a renamed or reordered label set is
    an error, never a silent permutation.
    """

    def __init__(self, card, column: str, names: list[str] | None):
        self.card, self.column = card, column
        self.aliases = card.label_aliases
        self.allowed = set(card.labels) if card.labels else None
        self.names = [self._check(str(n)) for n in names] if names is not None else None

    def _check(self, name: str) -> str:
        name = self.aliases.get(name, name)
        if self.allowed is not None and name not in self.allowed:
            raise XgapError(
                f"task '{self.card.name}': hub label '{name}' in column '{self.column}' is not one of the card's labels "
                f"({', '.join(self.card.labels)}) - fix: add it to label_aliases in the card"
            )
        return name

    def __call__(self, value):
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:  # GLUE/SNLI use -1 for "no gold label"
                return None
            if self.names is None:
                raise XgapError(
                    f"task '{self.card.name}': hub column '{self.column}' holds class ids without ClassLabel names, so "
                    f"id {value} cannot be mapped by name - fix: declare sources.hub.label_ids (the names in id order) "
                    f"in the card, checked against the dataset's definition"
                )
            if value >= len(self.names):
                raise XgapError(f"task '{self.card.name}': hub column '{self.column}' has class id {value} but only "
                                f"{len(self.names)} names - fix: check the card's label_ids against the dataset")
            return self.names[value]
        return self._check(str(value))


def _label_map(card, features, column: str) -> _LabelMap:
    hub = card.sources.get("hub", {})
    names = _class_names(features[column]) if features is not None and column in features else None
    declared = hub.get("label_ids")
    if names is not None and declared is not None and list(declared) != names:
        raise XgapError(f"task '{card.name}': sources.hub.label_ids {declared} differ from the dataset's ClassLabel names "
                        f"{names} - fix: remove label_ids (the ClassLabel names are used)")
    return _LabelMap(card, column, names if names is not None else declared)


def align_answer(context: str, text: str, start: int) -> int | None:
    """Start of ``text`` in ``context`` nearest to ``start``; None when it does not occur.

    google/xtreme's loading script strips every TyDiQA/XQuAD/MLQA context (and answer text) but
    keeps the original ``answer_start``, so wherever a context had leading whitespace the stored
    offset points past the answer. The true start is the occurrence of the answer text nearest to
    the stored offset (the shift is the number of stripped characters); ties go to the earlier one,
    since stripping only ever removes characters before the answer.
    """
    if not text:
        return None
    if context[start:start + len(text)] == text:
        return start
    best, i = None, context.find(text)
    while i != -1:
        if best is None or abs(i - start) < abs(best - start):
            best = i
        i = context.find(text, i + 1)
    return best


def _qa_examples(card, rows, fields, where: str) -> tuple[list[QAExample], int]:
    out, moved = [], 0
    for r in rows:
        ans = r.get(fields.get("answers", "answers")) or {}
        ctx = r[fields.get("context", "context")]
        qid = str(r[fields.get("id", "id")])
        answers = []
        for t, s in zip(ans.get("text", []), ans.get("answer_start", [])):
            pos = align_answer(ctx, t, int(s))
            if pos is None:
                raise XgapError(f"{where}: question {qid}: answer '{t[:40]}' does not occur in its context, so its span "
                                f"cannot be verified - fix: pass --data-dir with the original JSON")
            moved += pos != int(s)
            answers.append(Answer(text=t, start=pos))
        out.append(QAExample(id=qid, context=ctx, question=r[fields.get("question", "question")],
                             answers=tuple(answers), title=r.get("title", "") or ""))
    return out, moved


def _line(s: str) -> str:
    """A sentence read by iterating a text file keeps its newline; the local reader's do not."""
    return s.removesuffix("\n").removesuffix("\r")


def rows_to_examples(card, ds, lang: str, source: str, split: str, notes: list | None = None):
    """Turn a ``datasets.Dataset`` of one hub config/split into the card format's examples.

    ``notes`` (a list) receives one line per correction made (e.g. re-aligned answer spans).
    """
    hub = card.sources.get("hub", {})
    fields = hub.get("fields", {})
    flt = {k: fill(v, lang, source) for k, v in hub.get("filter", {}).items()}
    drop = set(hub.get("drop_labels", []))
    fmt = card.format
    features = getattr(ds, "features", None)
    where = f"task '{card.name}' language '{lang}' split '{split}' (hub {hub.get('id')})"

    def keep(row) -> bool:
        for k, v in flt.items():
            if k == "id_prefix":
                # TyDiQA ids are "<language>-<number>-<n>": compare the whole language part
                if not str(row.get("id", "")).startswith(v + "-"):
                    return False
            elif str(row.get(k)) != v:
                return False
        return True

    rows = [r for r in ds if keep(r)]
    if fmt not in _ROW_MAPPERS:
        raise XgapError(f"task '{card.name}': no hub mapping for format '{fmt}'")
    return _ROW_MAPPERS[fmt](HubRows(card, rows, fields, features, lang, where, drop, notes))


@dataclass
class HubRows:
    """The kept rows of one hub config/split plus what a format's mapper needs to turn them into examples."""

    card: object
    rows: list
    fields: dict
    features: object
    lang: str
    where: str
    drop: set
    notes: list | None


def text_rows(h: HubRows) -> list[TextExample]:
    a, b, lab = h.fields.get("text_a", "sentence1"), h.fields.get("text_b"), h.fields.get("label", "label")
    to_name = _label_map(h.card, h.features, lab)
    return [
        TextExample(id=str(r.get("id", i)), text_a=r[a], text_b=r[b] if b else None, label=to_name(r.get(lab)))
        for i, r in enumerate(h.rows) if r.get(lab) not in h.drop
    ]


def tagged_rows(h: HubRows) -> list[TaggedSentence]:
    w, t = h.fields.get("words", "tokens"), h.fields.get("tags", "tags")
    to_name = _label_map(h.card, h.features, t)
    return [
        TaggedSentence(id=str(r.get("id", i)), words=tuple(r[w]),
                       tags=tuple(to_name(x) for x in r[t]) if t in r else None)
        for i, r in enumerate(h.rows)
    ]


def qa_rows(h: HubRows) -> list[QAExample]:
    out, moved = _qa_examples(h.card, h.rows, h.fields, h.where)
    if moved and h.notes is not None:
        h.notes.append(f"{moved} answer span(s) re-aligned to the answer text (hub contexts are stripped)")
    return out


def bitext_rows(h: HubRows) -> Bitext:
    s, t = h.fields.get("source", "source_sentence"), h.fields.get("target", "target_sentence")
    return Bitext(source=[_line(r[s]) for r in h.rows], target=[_line(r[t]) for r in h.rows])


def mining_rows(h: HubRows) -> MiningCorpus:
    s, t, lang = h.fields.get("source", "source_sentence"), h.fields.get("target", "target_sentence"), h.lang
    src = {f"{lang}-{i:06d}": _line(r[s]) for i, r in enumerate(h.rows)}
    tgt = {f"en-{i:06d}": _line(r[t]) for i, r in enumerate(h.rows)}
    return MiningCorpus(source=src, target=tgt, gold={(f"{lang}-{i:06d}", f"en-{i:06d}") for i in range(len(h.rows))})


def choice_rows(h: HubRows) -> list[ChoiceExample]:
    return [_choice_row(h.card, r, i) for i, r in enumerate(h.rows)]


#: Card format -> the mapper of its hub rows. The built-in formats' mappers, one line each; a format
#: brought in later adds its own through :func:`register_row_mapper` (called by ``register_format``).
_ROW_MAPPERS: dict[str, Callable[[HubRows], object]] = {
    "sentence-pair-classification": text_rows,
    "single-sentence-classification": text_rows,
    "token-classification": tagged_rows,
    "extractive-qa": qa_rows,
    "bitext-retrieval": bitext_rows,
    "bitext-mining": mining_rows,
    "multiple-choice": choice_rows,
}


def register_row_mapper(fmt: str, mapper: Callable[[HubRows], object]) -> None:
    """Map hub rows of cards of format ``fmt`` with ``mapper`` (the same mapper again is a no-op)."""
    if _ROW_MAPPERS.get(fmt, mapper) is not mapper:
        raise XgapError(f"format '{fmt}' already has another hub row mapper")
    _ROW_MAPPERS[fmt] = mapper


def _choice_row(card, r: dict, i: int) -> ChoiceExample:
    """Multiple-choice rows of HellaSwag, Cosmos QA and CommonsenseQA (fields named in the card)."""
    inputs = card.data.get("inputs", {})

    def get(path):
        cur = r
        for part in path.split("."):
            cur = cur[part]
        return cur

    prompt_f = inputs.get("prompt", "question")
    prompt = " ".join(get(p) for p in prompt_f) if isinstance(prompt_f, list) else get(prompt_f)
    choices_f = inputs.get("choices", "choices")
    choices = [get(c) for c in choices_f] if isinstance(choices_f, list) else list(get(choices_f))
    if "choice_prefix" in inputs:  # HellaSwag: each choice is ctx_b + " " + ending
        prefix = get(inputs["choice_prefix"])
        choices = [f"{prefix} {c}" for c in choices]
    raw = r.get(inputs.get("label", "label"))
    if isinstance(raw, str) and raw.isalpha() and len(raw) == 1:  # CommonsenseQA answerKey A-E
        label = ord(raw.upper()) - ord("A")
    elif raw in (None, ""):
        label = None
    else:
        label = int(raw)
        if label < 0:  # Cosmos QA's unlabelled test rows carry -1
            label = None
    return ChoiceExample(id=str(r.get("id", i)), prompt=prompt, choices=tuple(choices), label=label)


# ----------------------------------------------------------------------------- deviations and sizes
def deviation(card, lang: str, split: str) -> dict | None:
    """The card's declared deviation of the hub copy from the original for (lang, split), if any."""
    for dev in card.sources.get("hub", {}).get("deviations", []):
        langs, splits = dev.get("languages", "all"), dev.get("splits", "all")
        if (langs == "all" or lang in langs) and (splits == "all" or split in splits):
            return dev
    return None


def check_deviation(card, lang: str, split: str) -> str | None:
    """Refuse a hub copy the card declares non-comparable, unless accepted; returns the caveat line."""
    dev = deviation(card, lang, split)
    if dev is None:
        return None
    if NON_COMPARABLE not in accepted():
        raise XgapError(
            f"task '{card.name}' language '{lang}' split '{split}': the hub copy is not the original distribution "
            f"({dev['reason']}) - fix: {dev['instead']}, or pass --accept-non-comparable-hub to use it anyway "
            f"(its records are then marked non-comparable)"
        )
    return f"non-comparable hub data: {dev['reason']}"


def expected_size(card, lang: str, split: str) -> int | None:
    """The card's declared example count for (lang, split): ``sizes[lang]``, else ``size``, else None."""
    spec = card.data.get("splits", {}).get(split) or {}
    sizes = spec.get("sizes") or {}
    if lang in sizes:
        return sizes[lang]
    return spec.get("size")


def check_size(card, lang: str, split: str, found: int, origin: str) -> str | None:
    """Compare ``found`` with the declared size: an error, or (accepted) the caveat line to record."""
    want = expected_size(card, lang, split)
    if want is None or want == found:
        return None
    line = f"task '{card.name}' language '{lang}' split '{split}': expected {want} examples, found {found} in {origin}"
    if SIZE_MISMATCH not in accepted():
        raise XgapError(f"{line} - fix: pass --data-dir with the original files, or --accept-size-mismatch to use "
                        f"this data anyway (recorded in the records' provenance)")
    log.warning("xgap: %s (accepted with --accept-size-mismatch)", line)
    return f"size mismatch accepted: expected {want}, found {found}"


# ----------------------------------------------------------------------------- loading
def revision_problem(revision: str) -> str | None:
    """Why ``revision`` is not a pin ``datasets`` 5 is sure to read, else None (a commit or the parquet branch)."""
    if _COMMIT.fullmatch(revision) or revision == PARQUET_BRANCH:
        return None
    return f"revision '{revision}' is a moving name, not a commit"


def _load_error(card, lang, split, hub, config, sname, exc) -> XgapError:
    """One line saying what failed and what actually fixes it (offline, loading script, missing config)."""
    text = str(exc).strip()
    first = text.splitlines()[0][:160] if text else type(exc).__name__
    rev = hub["revision"]
    what = (f"task '{card.name}' language '{lang}' split '{split}': no local data, and the hub dataset "
            f"{hub['id']} config {config} ({sname}@{rev[:12]})")
    low = text.lower()
    if "scripts are no longer supported" in low or ".py" in first and "script" in low:
        return XgapError(
            f"{what} holds a loading script at that revision, which the installed datasets cannot run ({first}) - fix: "
            f"pass --data-dir DIR with the original files, or set the card's sources.hub.revision to a parquet revision "
            f"({PARQUET_BRANCH} or a commit after the dataset's parquet conversion)"
        )
    offline = any(k in low for k in ("offline", "connection", "resolve", "network", "couldn't reach", "max retries",
                                     "temporary failure", "name or service"))
    if offline or os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return XgapError(
            f"{what} could not be loaded: the hub is unreachable and no cached copy exists ({first}) - fix: pass "
            f"--data-dir DIR (or set XGAP_DATA_DIR) pointing at the data in its original layout, or XGAP_HUB_MIRROR at a "
            f"saved copy"
        )
    return XgapError(
        f"{what} could not be loaded: {first} - fix: pass --data-dir DIR (or set XGAP_DATA_DIR) pointing at the data "
        f"in its original layout; if the revision predates the dataset's parquet conversion, set the card's "
        f"sources.hub.revision to {PARQUET_BRANCH} or a later commit"
    )


def load_hub_split(card, lang: str, source: str, split: str):
    """Load one split of the card's hub source; returns ``(dataset, origin, fingerprint)``."""
    hub = card.sources.get("hub")
    if not hub:
        raise XgapError(f"task '{card.name}' has no hub source - fix: pass --data-dir with the local layout")
    config = fill(hub["config"], lang, source) if hub.get("config") else None
    split_names = hub.get("splits", {}).get(split, split)
    if isinstance(split_names, str):
        split_names = [split_names]
    origin = f"hub:{hub['id']}" + (f"/{config}" if config else "") + f"@{hub['revision']}"
    mirror = os.environ.get("XGAP_HUB_MIRROR")
    parts = []
    for sname in split_names:
        if mirror:
            from datasets import load_from_disk

            path = Path(mirror) / hub["id"] / (config or "default") / sname
            if not path.exists():
                raise XgapError(f"task '{card.name}' language '{lang}': no mirror copy at {path} (XGAP_HUB_MIRROR) - fix: save it there or unset XGAP_HUB_MIRROR")
            parts.append(load_from_disk(str(path)))
        else:
            problem = revision_problem(hub["revision"])
            if problem:
                raise XgapError(
                    f"task '{card.name}': sources.hub.revision of {hub['id']}: {problem}, so results would not be "
                    f"reproducible - fix: pin a commit the installed datasets can read (a parquet revision: "
                    f"{PARQUET_BRANCH} or a commit after the parquet conversion), or pass --data-dir DIR"
                )
            from xgap.data.offline import dataset_in_cache, offline_reason

            why = offline_reason()
            if why and not dataset_in_cache(hub["id"]):
                raise XgapError(
                    f"task '{card.name}' language '{lang}' split '{split}': no local data, and the hub is unreachable "
                    f"({why}) with no cached copy of {hub['id']} config {config} - fix: pass --data-dir DIR (or set XGAP_DATA_DIR) "
                    f"pointing at the data in its original layout"
                )
            try:
                from datasets import load_dataset

                parts.append(load_dataset(hub["id"], config, split=sname, revision=hub["revision"]))
            except Exception as exc:  # noqa: BLE001 - offline, loading script, missing config, ... -> one line
                raise _load_error(card, lang, split, hub, config, sname, exc) from None
    if len(parts) == 1:
        ds = parts[0]
    else:
        from datasets import concatenate_datasets

        ds = concatenate_datasets(parts)
    fp = getattr(ds, "_fingerprint", None) or hashlib.sha256(origin.encode()).hexdigest()
    return ds, origin + f"[{','.join(split_names)}]", f"hub:{fp}"


def load_hub_examples(card, lang: str, source: str, split: str):
    """Examples of one split from the hub, plus extra ``parts`` (ANLI+: MNLI and SNLI train).

    Parts have their own columns and label encodings, so each is mapped to examples on its own
    (label ids -> names through its own ClassLabel, ``drop_labels`` applied) before joining.
    Returns ``(examples, origin, fingerprint, caveats)``: ``caveats`` are the lines to record in
    provenance (accepted non-comparable data, accepted size mismatch, corrections made).
    """
    caveats = [c for c in [check_deviation(card, lang, split)] if c]
    notes: list[str] = []
    ds, origin, fp = load_hub_split(card, lang, source, split)
    examples = rows_to_examples(card, ds, lang, source, split, notes)
    parts = card.sources.get("hub", {}).get("parts", []) if split == "train" else []
    fps = [fp]
    for part in parts:
        sub = _PartCard(card, part)
        pds, porigin, pfp = load_hub_split(sub, lang, source, "train")
        examples = list(examples) + list(rows_to_examples(sub, pds, lang, source, "train", notes))
        origin += " + " + porigin
        fps.append(pfp)
    if parts:
        fp = "hub:" + hashlib.sha256("|".join(fps).encode()).hexdigest()
    n = len(examples.gold) if isinstance(examples, MiningCorpus) else len(examples)
    size_caveat = check_size(card, lang, split, n, origin)
    if size_caveat:
        caveats.append(size_caveat)
    if notes:
        origin += " (" + "; ".join(notes) + ")"
    return examples, origin, fp, caveats


class _PartCard:
    """A view of ``card`` whose hub source is one of its ``parts`` (same fields, labels, filters)."""

    def __init__(self, card, part: dict):
        self._card = card
        hub = {k: v for k, v in card.sources["hub"].items() if k not in ("parts", "config", "splits", "label_ids")}
        hub.update({k: v for k, v in part.items() if k in ("id", "revision", "config", "fields", "label_ids")})
        hub["splits"] = {"train": part.get("split", "train")}
        self.sources = {"hub": hub}

    def __getattr__(self, name):
        return getattr(self._card, name)
