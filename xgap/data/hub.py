"""Hugging Face hub sources: load with ``datasets`` at the card's pinned revision, then map fields.

The mapping (:func:`rows_to_examples`) is separate from the download so it can be tested offline
on small ``datasets`` objects laid out like ``google/xtreme``'s configs. ``XGAP_HUB_MIRROR`` may
point at a folder of ``save_to_disk`` copies (``<mirror>/<org>/<name>/<config>/<split>``) -- used
by tests and by users who mirror the hub on an offline cluster.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

from ..errors import XgapError
from .examples import Answer, Bitext, ChoiceExample, MiningCorpus, QAExample, TaggedSentence, TextExample


def fill(template: str, lang: str, source: str) -> str:
    return template.replace("{lang}", lang).replace("{source}", source)


def _class_names(feature) -> Optional[list[str]]:
    """Names of a ClassLabel feature (or of a Sequence/List of ClassLabel), else None."""
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return _class_names(inner)
    return None


def _label_to_name(value, names: Optional[list[str]], card_labels: Optional[list[str]], aliases: dict):
    if value is None:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        if value < 0:  # GLUE/SNLI use -1 for "no gold label"
            return None
        if names is not None:
            value = names[value]
        elif card_labels is not None:
            value = card_labels[value]
    value = str(value)
    return aliases.get(value, value)


def rows_to_examples(card, ds, lang: str, source: str, split: str):
    """Turn a ``datasets.Dataset`` of one hub config/split into the card format's examples."""
    hub = card.sources.get("hub", {})
    fields = hub.get("fields", {})
    flt = {k: fill(v, lang, source) for k, v in hub.get("filter", {}).items()}
    drop = set(hub.get("drop_labels", []))
    labels, aliases = card.labels, card.label_aliases
    fmt = card.format
    features = ds.features

    def keep(row) -> bool:
        for k, v in flt.items():
            if k == "id_prefix":
                if not str(row.get("id", "")).startswith(v):
                    return False
            elif str(row.get(k)) != v:
                return False
        return True

    rows = [r for r in ds if keep(r)]
    if fmt in ("sentence-pair-classification", "single-sentence-classification"):
        a, b, lab = fields.get("text_a", "sentence1"), fields.get("text_b"), fields.get("label", "label")
        names = _class_names(features[lab]) if lab in features else None
        return [
            TextExample(id=str(r.get("id", i)), text_a=r[a], text_b=r[b] if b else None,
                        label=_label_to_name(r.get(lab), names, labels, aliases))
            for i, r in enumerate(rows) if r.get(lab) not in drop
        ]
    if fmt == "token-classification":
        w, t = fields.get("words", "tokens"), fields.get("tags", "tags")
        names = _class_names(features[t]) if t in features else None
        return [
            TaggedSentence(id=str(r.get("id", i)), words=tuple(r[w]),
                           tags=tuple(_label_to_name(x, names, labels, aliases) for x in r[t]) if t in r else None)
            for i, r in enumerate(rows)
        ]
    if fmt == "extractive-qa":
        out = []
        for r in rows:
            ans = r.get(fields.get("answers", "answers")) or {}
            texts, starts = ans.get("text", []), ans.get("answer_start", [])
            out.append(QAExample(id=str(r[fields.get("id", "id")]), context=r[fields.get("context", "context")],
                                 question=r[fields.get("question", "question")],
                                 answers=tuple(Answer(text=t, start=int(s)) for t, s in zip(texts, starts)),
                                 title=r.get("title", "") or ""))
        return out
    if fmt == "bitext-retrieval":
        s, t = fields.get("source", "source_sentence"), fields.get("target", "target_sentence")
        return Bitext(source=[r[s] for r in rows], target=[r[t] for r in rows])
    if fmt == "bitext-mining":
        s, t = fields.get("source", "source_sentence"), fields.get("target", "target_sentence")
        src = {f"{lang}-{i:06d}": r[s] for i, r in enumerate(rows)}
        tgt = {f"en-{i:06d}": r[t] for i, r in enumerate(rows)}
        return MiningCorpus(source=src, target=tgt, gold={(f"{lang}-{i:06d}", f"en-{i:06d}") for i in range(len(rows))})
    if fmt == "multiple-choice":
        return [_choice_row(card, r, i) for i, r in enumerate(rows)]
    raise XgapError(f"task '{card.name}': no hub mapping for format '{fmt}'")


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
    return ChoiceExample(id=str(r.get("id", i)), prompt=prompt, choices=tuple(choices), label=label)


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
            from .offline import dataset_in_cache, offline_reason

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
            except Exception as exc:  # noqa: BLE001 - offline, missing config, ... -> one line
                msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                raise XgapError(
                    f"task '{card.name}' language '{lang}' split '{split}': no local data, and the hub dataset "
                    f"{hub['id']} config {config} ({sname}@{hub['revision'][:12]}) could not be loaded: {msg} "
                    f"- fix: pass --data-dir DIR (or set XGAP_DATA_DIR) pointing at the data in its original layout"
                ) from None
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
    """
    ds, origin, fp = load_hub_split(card, lang, source, split)
    examples = rows_to_examples(card, ds, lang, source, split)
    parts = card.sources.get("hub", {}).get("parts", []) if split == "train" else []
    fps = [fp]
    for part in parts:
        sub = _PartCard(card, part)
        pds, porigin, pfp = load_hub_split(sub, lang, source, "train")
        examples = list(examples) + list(rows_to_examples(sub, pds, lang, source, "train"))
        origin += " + " + porigin
        fps.append(pfp)
    if parts:
        fp = "hub:" + hashlib.sha256("|".join(fps).encode()).hexdigest()
    return examples, origin, fp


class _PartCard:
    """A view of ``card`` whose hub source is one of its ``parts`` (same fields, labels, filters)."""

    def __init__(self, card, part: dict):
        self._card = card
        hub = {k: v for k, v in card.sources["hub"].items() if k not in ("parts", "config", "splits")}
        hub.update({k: v for k, v in part.items() if k in ("id", "revision", "config", "fields")})
        hub["splits"] = {"train": part.get("split", "train")}
        self.sources = {"hub": hub}

    def __getattr__(self, name):
        return getattr(self._card, name)
