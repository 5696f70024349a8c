"""One entry point for data: ``load_examples(task, lang, split)``.

Sources are tried in the card's order: a local directory (``data_dir`` or ``$XGAP_DATA_DIR``) in
the original distribution's layout, then the hub at the card's pinned revision. Zero-shot means
English-only training data: asking a target task for non-English ``train`` is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from xgap.data.examples import ExampleSet, MiningCorpus
from xgap.data.hub import check_size, fill, load_hub_examples
from xgap.data.layouts import layout_for
from xgap.errors import XgapError

log = logging.getLogger(__name__)


def default_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """``data_dir`` if given, else ``$XGAP_DATA_DIR``, else None (hub only)."""
    d = data_dir or os.environ.get("XGAP_DATA_DIR")
    return Path(d).expanduser() if d else None


def files_fingerprint(paths: list[Path]) -> str:
    """SHA-256 over the files' names and bytes, in order."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


def _candidates(spec) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def find_local_files(card, lang: str, source: str, split: str, data_dir: Path) -> list[Path] | None:
    """The local files for (lang, split), or None when the data dir does not hold them."""
    local = card.sources.get("local")
    if not local or split not in local["paths"]:
        return None
    layout = layout_for(card)
    for template in _candidates(local["paths"][split]):
        found = layout.find(data_dir, fill(template, lang, source), lang, source)
        if found:
            return found
    return None


def _describe_local(card, lang, source, split, data_dir) -> str:
    local = card.sources.get("local")
    if not local or split not in local["paths"]:
        return "no local layout for this split"
    cands = ", ".join(fill(t, lang, source) for t in _candidates(local["paths"][split]))
    return f"looked in {data_dir} for {cands}"


def load_examples(task, lang: str, split: str | None = None, data_dir=None, allow_hub: bool = True) -> ExampleSet:
    """Normalised examples of ``task`` (name or :class:`~xgap.cards.Card`) for one language and split.

    ``split`` defaults to the card's evaluation split. Raises :class:`XgapError` with one line that
    names the task, language, what was tried and how to point at local data.
    """
    from xgap.cards import Card, load_card

    card = task if isinstance(task, Card) else load_card(task)
    split = split or card.eval_split
    code, source = card.resolve_language(lang)
    if split not in card.data["splits"]:
        raise XgapError(f"task '{card.name}' has no split '{split}' - fix: use one of {', '.join(card.data['splits'])}")
    if split == "train" and card.kind == "target" and code != card.english:
        raise XgapError(
            f"task '{card.name}': refusing non-English training data ('{code}'); zero-shot transfer trains on English only"
        )
    langs = (card.data["splits"][split] or {}).get("languages", "all")
    if langs != "all" and code not in langs:
        raise XgapError(
            f"task '{card.name}' has no '{split}' split for language '{code}' in the original distribution "
            f"(it has one for {', '.join(langs)}) - fix: use another split for '{code}' (see `xgap tasks show {card.name}`)"
        )
    if split == "train" and "train" in card.sources:
        # e.g. XNLI's English training set is MNLI, XQuAD's is SQuAD v1.1.
        delegate = load_card(card.sources["train"]["task"])
        return load_examples(delegate, delegate.english, "train", data_dir=data_dir, allow_hub=allow_hub)

    root = default_data_dir(data_dir)
    tried = "no --data-dir / XGAP_DATA_DIR given"
    if root is not None:
        files = find_local_files(card, code, source, split, root)
        if files:
            examples = layout_for(card).read(card, code, files)
            origin = "local:" + ",".join(str(f) for f in files)
            # origin stays the plain file list (callers parse it); the caveats travel in their own field
            caveats = _local_size_caveats(card, code, split, examples, origin)
            es = ExampleSet(card.name, code, split, card.format, examples, origin, files_fingerprint(files), caveats)
            if len(es) == 0:  # a score over nothing is no score (empty or truncated files)
                raise XgapError(f"task '{card.name}' language '{code}' split '{split}': {', '.join(str(f) for f in files)[:300]} "
                                "hold no examples - fix: restore the files (or remove them to fall back to the hub)")
            return es
        tried = _describe_local(card, code, source, split, root)
    if not allow_hub or "hub" not in card.sources or code not in card.languages:  # the hub holds only the card's languages
        raise XgapError(
            f"task '{card.name}' language '{code}' split '{split}': no data found ({tried}) - fix: pass --data-dir DIR "
            f"holding the original layout (see `xgap tasks show {card.name}`)"
        )
    examples, origin, fp, caveats = load_hub_examples(card, code, source, split)
    return ExampleSet(card.name, code, split, card.format, examples, _marked(origin, caveats), fp, caveats)


def _marked(origin: str, caveats: list[str]) -> str:
    """A hub origin with its caveats appended, so every copy of it (training lineage, derived sets) carries them."""
    return origin + "".join(f" [NON-COMPARABLE: {c}]" for c in caveats)


def _local_size_caveats(card, code: str, split: str, examples, origin: str) -> list[str]:
    """Local copies are checked against the declared sizes too, but a mismatch is recorded, not fatal.

    A local folder is the operator's own copy and often a deliberate subset (XGLUE's 250-pair XNLI dev,
    one UD treebank of several); its records are then marked non-comparable through the caveat, while
    hub loads (where a reader defect would otherwise go unnoticed) fail on a mismatch.
    """
    from xgap.data import hub

    n = len(examples.gold) if isinstance(examples, MiningCorpus) else len(examples)
    want = hub.expected_size(card, code, split)
    if want is None or want == n:
        return []
    if hub.SIZE_MISMATCH in hub.accepted():
        return [c for c in [check_size(card, code, split, n, origin)] if c]
    log.warning(
        "xgap: task '%s' language '%s' split '%s': expected %d examples, found %d in %s (a partial local copy: records "
        "are marked non-comparable)", card.name, code, split, want, n, origin)
    return [f"local copy differs from the original distribution: expected {want} examples, found {n}"]
