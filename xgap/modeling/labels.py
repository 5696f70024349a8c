"""Mapping a checkpoint's output units to a task card's label strings.

Why this is strict: a fine-tuned checkpoint's head is only meaningful through its ``id2label``.
When the names say which unit is which (``entailment``, ``CONTRADICTION``, ``0``/``1`` for PAWS-X)
they are matched to the card's labels by name, case-insensitively, after applying the card's
aliases (XNLI sources spell ``contradictory`` for ``contradiction``). When they don't -- generic
``LABEL_0``/``LABEL_1`` names, or a different label set -- xgap refuses to guess: guessing an order
silently turns a good model into a chance-level one. The user then passes an explicit mapping
(``--label-map`` on the command line, ``label_map`` in a submission manifest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from xgap.errors import XgapError

_GENERIC = re.compile(r"^label_?\d+$", re.IGNORECASE)


def _norm(name) -> str:
    return str(name).strip().casefold()


def _ordered_id2label(id2label: Mapping) -> list[str]:
    """``id2label`` (int or str keys, as configs store them) as a list indexed by class id."""
    try:
        items = {int(k): str(v) for k, v in dict(id2label).items()}
    except (TypeError, ValueError) as exc:
        raise XgapError(f"checkpoint id2label has non-integer ids: {dict(id2label)!r}") from exc
    if sorted(items) != list(range(len(items))):
        raise XgapError(f"checkpoint id2label ids are not 0..{len(items) - 1}: {sorted(items)}")
    return [items[i] for i in range(len(items))]


def _how_to_fix(names: list[str], card: list[str]) -> str:
    pairs = ",".join(f"{n}=<card label>" for n in names)
    return (
        f"pass --label-map '{pairs}' (checkpoint label name or id = one of {', '.join(card)}) "
        f"or set label_map in the submission manifest"
    )


def parse_label_map(text: str) -> dict[str, str]:
    """Parse the command-line form ``'LABEL_0=entailment,LABEL_1=neutral'`` (or ``0=...``)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        if "=" not in part:
            raise XgapError(f"--label-map entry '{part}' is not of the form <checkpoint label or id>=<card label>")
        key, value = (s.strip() for s in part.split("=", 1))
        if not key or not value:
            raise XgapError(f"--label-map entry '{part}' is not of the form <checkpoint label or id>=<card label>")
        out[key] = value
    return out


def _apply_explicit(names: list[str], card: list[str], explicit: Mapping, aliases: dict[str, str]) -> list[str]:
    by_name = {}
    for i, n in enumerate(names):
        by_name.setdefault(n, i)
    by_norm: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        by_norm.setdefault(_norm(n), []).append(i)
    card_by_norm = {_norm(c): c for c in card}

    result: list[str | None] = [None] * len(names)
    for key, value in dict(explicit).items():
        # Which checkpoint unit: an int key is an id; a string key is a label name first
        # (exact, then case-insensitive), and an id only when no label has that name.
        if isinstance(key, int) and not isinstance(key, bool):
            ids = [key] if 0 <= key < len(names) else []
        elif str(key) in by_name:
            ids = [by_name[str(key)]]
        elif len(by_norm.get(_norm(key), [])) == 1:
            ids = by_norm[_norm(key)]
        elif str(key).strip().isdigit() and int(key) < len(names):
            ids = [int(key)]
        else:
            ids = []
        if not ids:
            raise XgapError(
                f"label map key '{key}' is neither a label of the checkpoint ({', '.join(names)}) "
                f"nor an id 0..{len(names) - 1}"
            )
        target = str(value)
        target = card_by_norm.get(_norm(aliases.get(_norm(target), target)))
        if target is None:
            raise XgapError(f"label map value '{value}' (for '{key}') is not a label of the task: use one of {', '.join(card)}")
        result[ids[0]] = target
    missing = [names[i] for i, r in enumerate(result) if r is None]
    if missing:
        raise XgapError(
            f"label map leaves checkpoint label(s) {', '.join(missing)} unmapped; map every checkpoint label "
            f"({', '.join(names)}) to one of {', '.join(card)}"
        )
    return [str(r) for r in result]


def resolve_label_map(
    id2label: Mapping,
    card_labels: Sequence[str],
    explicit: Mapping | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[str]:
    """Return, for each class id of the checkpoint, the card label it predicts.

    ``id2label``: the checkpoint config's mapping (int or numeric-string keys). ``card_labels``: the
    task card's label list. ``aliases``: source spelling -> card label (case-insensitive), e.g.
    ``{"contradictory": "contradiction"}``. ``explicit``: a user mapping of checkpoint label name or
    id -> card label; it must cover every checkpoint label and takes precedence over names. With an
    explicit map several checkpoint labels may map to one card label (e.g. collapsing classes), and
    the checkpoint may have fewer labels than the card.

    Without an explicit map, every checkpoint name must match a distinct card label (after aliases,
    case-insensitively) and the two sets must be equal; otherwise :class:`XgapError` says which names
    were found, which were expected and how to pass a mapping. Generic ``LABEL_<n>`` names never
    match anything: their order carries no meaning.
    """
    card = [str(c) for c in card_labels]
    if not card:
        raise XgapError("the task card has an empty label list")
    names = _ordered_id2label(id2label)
    if not names:
        raise XgapError("the checkpoint has no id2label (no classification labels)")
    alias_map = {_norm(k): str(v) for k, v in dict(aliases or {}).items()}

    if explicit:
        return _apply_explicit(names, card, explicit, alias_map)

    found = ", ".join(names)
    expected = ", ".join(card)
    fix = _how_to_fix(names, card)
    if all(_GENERIC.match(n) for n in names) and not any(_GENERIC.match(c) for c in card):
        raise XgapError(
            f"checkpoint labels are generic ({found}), so their meaning is unknown; expected the task's labels "
            f"({expected}); {fix}"
        )
    if len(names) > len(card):
        raise XgapError(
            f"checkpoint has {len(names)} labels ({found}) but the task has {len(card)} ({expected}); {fix}"
        )
    card_by_norm = {_norm(c): c for c in card}
    mapped: list[str | None] = []
    for n in names:
        target = alias_map.get(_norm(n), n)
        mapped.append(card_by_norm.get(_norm(target)))
    unknown = [n for n, m in zip(names, mapped) if m is None]
    if unknown:
        raise XgapError(
            f"checkpoint labels ({found}) do not match the task's labels ({expected}): "
            f"no match for {', '.join(unknown)}; {fix}"
        )
    if len(set(mapped)) != len(mapped):
        raise XgapError(
            f"checkpoint labels ({found}) map several ids to one task label ({expected}); {fix}"
        )
    missing = [c for c in card if c not in set(mapped)]
    if missing:
        raise XgapError(
            f"checkpoint labels ({found}) do not cover the task's labels ({expected}): "
            f"missing {', '.join(missing)}; {fix}"
        )
    return [str(m) for m in mapped]
