"""Tagging metrics (udpos, panx): seqeval F1 exactly as XTREME's ``evaluate.py`` computes it.

XTREME calls ``seqeval.metrics.f1_score / precision_score / recall_score`` in their default
(non-strict, conlleval-like) mode on the list of per-sentence tag lists, and multiplies by 100. We
call the very same functions, so the numbers are identical for the installed seqeval (>= 1.2.2).

The udpos quirk (SPEC §5): UPOS tags carry no ``B-``/``I-`` prefix, so seqeval reads the first
character as the chunk tag and the rest as the type (``NOUN`` -> tag ``N``, type ``OUN``) and
**merges every run of identical tags into one chunk**. Gold ``NOUN NOUN VERB`` has chunks
``{NOUN[0:1], VERB[2]}``; prediction ``NOUN VERB VERB`` has ``{NOUN[0], VERB[1:2]}``: no chunk
matches, F1 = 0, although 2 of 3 tokens are right (token accuracy 66.67). Tags whose first
character is B/I/E/S (``INTJ``, ``SCONJ``, ``SYM``) follow seqeval's prefix rules, and ``X`` has
seqeval's empty type ``_``. That is what the XTREME leaderboard reports as udpos "F1", so it is the
primary udpos metric; :func:`token_accuracy` is reported beside it under its own name.

Version note: XTREME's ``install_tools.sh`` installs seqeval unpinned (0.0.x in 2020). seqeval
1.x parses the type as ``tag[1:]`` where 0.0.12 used the whole tag, so ``CCONJ``/``SCONJ`` now share
the type ``CONJ``; the two versions disagree only when those two tags are adjacent.

For bootstrapping, :class:`TaggingF1Statistic` re-implements seqeval's chunker with numpy (the
chunk start/end rules are tabulated from seqeval's own ``start_of_chunk``/``end_of_chunk``), so a
resample's F1 equals ``seqeval.f1_score`` on the resampled sentence list, quirks included, at
numpy speed. The tests check that equality on random tag sequences. (Sentence-level counts would
not do: ``X`` has seqeval's type ``_``, the same as the ``O`` that seqeval inserts between
sentences, so an ``X`` chunk is not closed by a sentence break and seqeval's udpos score depends
on sentence order.)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from xgap.errors import XgapError


def _check(pred_seqs: Sequence[Sequence[str]], gold_seqs: Sequence[Sequence[str]]) -> None:
    if len(pred_seqs) != len(gold_seqs):
        raise XgapError(
            f"{len(pred_seqs)} predicted sentences but {len(gold_seqs)} gold sentences: counts must be equal"
        )
    if len(gold_seqs) == 0:
        raise XgapError("no sentences to score (0 predicted, 0 gold)")
    for i, (p, g) in enumerate(zip(pred_seqs, gold_seqs)):
        if len(p) != len(g):
            raise XgapError(f"sentence {i}: {len(p)} predicted tags but {len(g)} gold tags: lengths must be equal")
        for tag in (*p, *g):
            if not isinstance(tag, str) or not tag:
                raise XgapError(f"sentence {i}: every tag must be a non-empty string, got {tag!r}")


def tagging_f1(pred_seqs: Sequence[Sequence[str]], gold_seqs: Sequence[Sequence[str]]) -> dict:
    """``{"f1", "precision", "recall"}`` in 0-100 from seqeval's default mode (see module doc)."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    _check(pred_seqs, gold_seqs)
    gold = [list(s) for s in gold_seqs]
    pred = [list(s) for s in pred_seqs]
    with warnings.catch_warnings():
        # seqeval warns once per non-IOB tag ("NOUN seems not to be NE tag") and on 0/0: noise here.
        warnings.simplefilter("ignore")
        f1 = f1_score(gold, pred)
        precision = precision_score(gold, pred)
        recall = recall_score(gold, pred)
    return {"f1": float(f1) * 100, "precision": float(precision) * 100, "recall": float(recall) * 100}


def token_accuracy(pred_seqs: Sequence[Sequence[str]], gold_seqs: Sequence[Sequence[str]]) -> float:
    """Share of tokens (over all sentences) whose predicted tag equals the gold tag, 0-100."""
    _check(pred_seqs, gold_seqs)
    total = sum(len(g) for g in gold_seqs)
    if total == 0:
        raise XgapError("no tokens to score (all sentences are empty)")
    correct = sum(int(p == g) for ps, gs in zip(pred_seqs, gold_seqs) for p, g in zip(ps, gs))
    return correct / total * 100


# ---------------------------------------------------------------------------------------------
# numpy port of seqeval's default-mode chunker, for fast exact bootstrap resampling

_CLASS_CHARS = "OBIES."  # the chunk-tag characters seqeval's rules name; anything else is class 6
_OTHER = len(_CLASS_CHARS)
_START_TYPE = 0  # id of seqeval's initial prev_type '' (no real tag parses to '')


def _rule_tables() -> tuple[np.ndarray, np.ndarray]:
    """END/START[prev_class, class, same_type] evaluated with seqeval's own rule functions."""
    from seqeval.metrics.sequence_labeling import end_of_chunk, start_of_chunk

    chars = list(_CLASS_CHARS) + ["Z"]  # 'Z': a representative of "any other character"
    end = np.zeros((len(chars), len(chars), 2), dtype=bool)
    start = np.zeros_like(end)
    for a, pc in enumerate(chars):
        for b, c in enumerate(chars):
            for same in (0, 1):
                pt, t = ("t", "t") if same else ("t", "u")
                end[a, b, same] = end_of_chunk(pc, c, pt, t)
                start[a, b, same] = start_of_chunk(pc, c, pt, t)
    return end, start


def _parse(tag: str) -> tuple[str, str]:
    """seqeval 1.x default-mode parse of one tag into (chunk tag char, type)."""
    return tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"


class _Encoded:
    """One side (gold or pred) as flat class/type id arrays, each sentence followed by an 'O'."""

    def __init__(self, seqs: Sequence[Sequence[str]], type_ids: dict):
        classes, types = [], []
        for seq in seqs:
            for tag in list(seq) + ["O"]:
                ch, typ = _parse(tag)
                classes.append(_CLASS_CHARS.index(ch) if ch in _CLASS_CHARS else _OTHER)
                types.append(type_ids.setdefault(typ, len(type_ids)))
        self.classes = np.array(classes, dtype=np.int8)
        self.types = np.array(types, dtype=np.int32)


def _chunks(classes: np.ndarray, types: np.ndarray, end_t: np.ndarray, start_t: np.ndarray):
    """seqeval ``get_entities`` on a flat sequence (plus its final extra 'O'), vectorised.

    Returns (ends mask over positions, start of the chunk ending there, its type): a chunk is
    emitted at step i when END(prev, cur) holds, spanning [last START before i, i-1] with prev's type.
    """
    o_class = np.int8(0)
    cls = np.concatenate([classes, [o_class]])
    typ = np.concatenate([types, [types.dtype.type(1)]])  # the extra 'O' appended by get_entities
    n = len(cls)
    prev_cls = np.concatenate([[o_class], cls[:-1]])
    prev_typ = np.concatenate([[_START_TYPE], typ[:-1]])
    same = (prev_typ == typ).astype(np.int8)
    is_end = end_t[prev_cls, cls, same]
    is_start = start_t[prev_cls, cls, same]
    pos = np.arange(n)
    last_start = np.maximum.accumulate(np.where(is_start, pos, -1))
    begin = np.concatenate([[0], np.maximum(last_start[:-1], 0)])  # begin_offset seen at step i
    # a chunk ending at step i covers [begin[i], i-1]; index it by its last token i-1
    ends = np.zeros(n, dtype=bool)
    ends[:-1] = is_end[1:]
    starts = np.full(n, -1, dtype=np.int64)
    starts[:-1] = begin[1:]
    ctype = typ.astype(np.int64)  # chunk type = type of its last token
    return ends, starts, ctype


class TaggingF1Statistic:
    """Bootstrap statistic: seqeval micro F1 (0-100) over a resample of sentence indices."""

    def __init__(self, pred_seqs: Sequence[Sequence[str]], gold_seqs: Sequence[Sequence[str]]):
        _check(pred_seqs, gold_seqs)
        type_ids = {"": _START_TYPE, "_": 1}  # '_' is the type of 'O' (and of 'X')
        self._gold = _Encoded(gold_seqs, type_ids)
        self._pred = _Encoded(pred_seqs, type_ids)
        lens = np.array([len(s) + 1 for s in gold_seqs], dtype=np.int64)
        self._lens = lens
        self._offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
        self._end_t, self._start_t = _rule_tables()
        self.n = len(gold_seqs)

    def counts(self, idx: np.ndarray) -> tuple[int, int, int]:
        """(correct chunks, predicted chunks, gold chunks) on the sentences ``idx`` in that order."""
        lens = self._lens[idx]
        total = int(lens.sum())
        within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        flat = np.repeat(self._offsets[idx], lens) + within
        ge, gs, gt = _chunks(self._gold.classes[flat], self._gold.types[flat], self._end_t, self._start_t)
        pe, ps, pt = _chunks(self._pred.classes[flat], self._pred.types[flat], self._end_t, self._start_t)
        tp = int(np.count_nonzero(ge & pe & (gs == ps) & (gt == pt)))
        return tp, int(np.count_nonzero(pe)), int(np.count_nonzero(ge))

    @staticmethod
    def _f1(tp: int, npred: int, ngold: int) -> float:
        # the same float operations as seqeval's micro average
        p = tp / npred if npred else 0.0
        r = tp / ngold if ngold else 0.0
        return (2 * p * r / (p + r) if (p + r) else 0.0) * 100

    def value(self) -> float:
        return self._f1(*self.counts(np.arange(self.n)))

    def resample(self, idx: np.ndarray) -> np.ndarray:
        return np.array([self._f1(*self.counts(row)) for row in np.atleast_2d(idx)], dtype=float)
