"""Zero-shot evaluation of a fine-tuned extractive-QA checkpoint (xquad, mlqa, tydiqa).

Follows Hugging Face's ``run_qa.py`` (``prepare_validation_features``) and
``utils_qa.postprocess_qa_predictions``:

* The question is left-stripped. It goes first and the context second, truncating only the
  context, when ``tokenizer.padding_side == "right"``; the other way round when the tokenizer pads
  on the left (XLNet-style). Long contexts become overlapping windows of at most ``max_length``
  tokens; ``doc_stride`` is the number of tokens two consecutive windows share (the tokenizer's
  ``stride``, as in ``run_qa.py``).
* Questions are cut to ``max_query_length`` (64) tokens first, as the legacy ``run_squad.py``
  does; ``run_qa.py`` has no such limit and fails on very long questions instead.
* Per window, the ``n_best`` highest start and end logits (over all of the window's real tokens,
  question and special tokens included, as HF ranks them) are paired; a pair is skipped when either
  token is outside the context, ``end < start`` or the span is longer than ``max_answer_length``
  tokens. Score = start logit + end logit; the best-scoring pair over all windows of the question
  wins (ties: first window, then higher-ranked start, then higher-ranked end -- HF's stable sort).
* The answer is ``context[start_char:end_char]`` from the tokenizer's offset mapping, so it is
  always a substring of the original context.

Where xgap differs from HF:

* Windows are batched length-sorted and padded only to the longest window of a batch, and the
  n-best is ranked over each window's real tokens. ``run_qa.py`` pads every window to
  ``max_length`` and ranks padding positions too; with a trained model these never rank, with a
  random model they can push valid spans out of the top ``n_best`` (the benchmark counts how often
  that changes an answer).
* A span whose text is empty (a zero-width token) is skipped for the next best; when a question
  has no valid span at all the answer is ``""`` (HF returns the string ``"empty"``).
* ``doc_stride`` means overlap (``run_qa.py``), not the step between window starts that the
  legacy ``run_squad.py`` used by XTREME has; and there is no ``token_is_max_context`` filter
  (``run_qa.py`` has none either).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xgap.data.examples import QAExample
from xgap.errors import XgapError
from xgap.modeling.forward import ForwardStats, check_dtype, real_positions, run_batches

_TOKENIZE_GROUP = 512


@dataclass
class QAResult:
    """``predictions``: question id -> answer text (every id present), plus run facts."""

    predictions: dict[str, str]
    stats: ForwardStats = field(default_factory=ForwardStats)
    windows: int = 0  # model inputs (a long context gives several)
    truncated_questions: int = 0  # questions cut to max_query_length tokens
    unanswered: int = 0  # questions without any valid span (answer "")
    scores: dict[str, float] | None = None  # best span score per id

    def __len__(self) -> int:
        return len(self.predictions)

    def __getitem__(self, qid):
        return self.predictions[qid]


def tokenize_windows(tokenizer, questions, contexts, max_length: int, doc_stride: int, pad_on_right: bool, what: str = ""):
    """Sliding windows over (question, context) pairs, as HF ``run_qa`` cuts them: the context side
    is truncated with ``doc_stride`` overlap, offsets kept, no padding. Shared by evaluation and
    training so both see exactly the same windows. ``what`` prefixes the one-line error."""
    try:
        return tokenizer(
            questions if pad_on_right else contexts,
            contexts if pad_on_right else questions,
            truncation="only_second" if pad_on_right else "only_first",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_attention_mask=False,
            padding=False,
        )
    except Exception as exc:  # noqa: BLE001 - the tokenizer's own check (e.g. stride too large)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise XgapError(f"{what}cannot cut QA windows at max_length {max_length}, doc_stride {doc_stride}: {first}") from exc


def truncate_questions(tokenizer, questions: list[str], max_query_length: int) -> tuple[list[str], list[int], int]:
    """Cut questions longer than ``max_query_length`` tokens at the end of that token.

    Returns the questions, their token counts (after cutting) and how many were cut.
    """
    out, lengths, cut = list(questions), [], 0
    limit = max_query_length if max_query_length and max_query_length > 0 else None
    for start in range(0, len(questions), _TOKENIZE_GROUP):
        group = questions[start : start + _TOKENIZE_GROUP]
        enc = tokenizer(group, add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False)
        for j, q in enumerate(group):
            offsets = enc["offset_mapping"][j]
            if limit is not None and len(offsets) > limit:
                out[start + j] = q[: offsets[limit - 1][1]]
                cut += 1
            lengths.append(min(len(offsets), limit or len(offsets)))
    return out, lengths, cut


def _best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    n_best: int,
    max_answer_length: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid (start, end, score) candidates of one window, in HF's enumeration order."""
    starts = np.argsort(start_logits)[-1 : -n_best - 1 : -1]
    ends = np.argsort(end_logits)[-1 : -n_best - 1 : -1]
    s = np.repeat(starts, len(ends))
    e = np.tile(ends, len(starts))
    ok = context_mask[s] & context_mask[e] & (e >= s) & (e - s + 1 <= max_answer_length)
    s, e = s[ok], e[ok]
    return s, e, start_logits[s] + end_logits[e]


def predict_answers(
    model,
    tokenizer,
    examples: Sequence[QAExample],
    max_length: int = 384,
    doc_stride: int = 128,
    max_answer_length: int = 30,
    n_best: int = 20,
    max_query_length: int = 64,
    batch_tokens: int = 8192,
    progress: bool = True,
    dtype: str = "float32",
    max_batch_size: int | None = None,
) -> QAResult:
    """Answer every question: ``result.predictions`` maps each example id to its answer text.

    See the module docstring for the exact windowing and span selection. ``dtype``: ``"float32"``
    or ``"bfloat16"`` (autocast).
    """
    check_dtype(dtype)
    stats = ForwardStats(dtype=dtype)
    ids = [str(e.id) for e in examples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise XgapError(f"duplicate question id '{dup}' in the QA examples; ids must be unique")
    if not examples:
        return QAResult({}, stats)

    pad_on_right = (getattr(tokenizer, "padding_side", "right") or "right") == "right"
    questions, q_lens, truncated = truncate_questions(tokenizer, [e.question.lstrip() for e in examples], max_query_length)
    contexts = [e.context for e in examples]
    context_index = 1 if pad_on_right else 0
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True)

    # 1. windows: (example index, input ids, context-token mask, character offsets)
    features: list[dict] = []
    owner: list[int] = []
    masks: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    for start in range(0, len(examples), _TOKENIZE_GROUP):
        qs = questions[start : start + _TOKENIZE_GROUP]
        cs = contexts[start : start + _TOKENIZE_GROUP]
        for j, n in enumerate(q_lens[start : start + _TOKENIZE_GROUP]):
            if room - n <= doc_stride:
                raise XgapError(
                    f"question '{examples[start + j].id}' leaves {room - n} context tokens per window at "
                    f"max_length {max_length}, not more than doc_stride {doc_stride}: raise max_length or lower "
                    f"doc_stride/max_query_length"
                )
        enc = tokenize_windows(tokenizer, qs, cs, max_length, doc_stride, pad_on_right)
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        for w, ex in enumerate(enc["overflow_to_sample_mapping"]):
            seq = enc.sequence_ids(w)
            features.append({k: enc[k][w] for k in keys})
            owner.append(start + int(ex))
            masks.append(np.array([sid == context_index for sid in seq], dtype=bool))
            offsets.append(np.asarray(enc["offset_mapping"][w], dtype=np.int64).reshape(-1, 2))

    # 2. forward; collect candidate spans per question (windows of a question in window order).
    per_window: list[tuple | None] = [None] * len(features)
    padding_side = "right" if pad_on_right else "left"
    for idx, width, out in run_batches(
        model,
        features,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        outputs=("start_logits", "end_logits"),
        batch_tokens=batch_tokens,
        max_batch_size=max_batch_size,
        padding_side=padding_side,
        dtype=dtype,
        progress=progress,
        desc="qa",
        stats=stats,
    ):
        start_all = out["start_logits"].numpy()
        end_all = out["end_logits"].numpy()
        for row, k in enumerate(idx):
            own = real_positions(len(features[k]["input_ids"]), width, padding_side)
            per_window[k] = _best_spans(start_all[row, own], end_all[row, own], masks[k], n_best, max_answer_length)

    # 3. best span per question over all its windows; answer text cut from the original context.
    windows_of: list[list[int]] = [[] for _ in examples]
    for w, ex in enumerate(owner):
        windows_of[ex].append(w)
    predictions: dict[str, str] = {}
    scores: dict[str, float] = {}
    unanswered = 0
    for ex, wins in enumerate(windows_of):
        cand_w, cand_s, cand_e, cand_score = [], [], [], []
        for w in wins:
            s, e, sc = per_window[w]
            cand_w.append(np.full(len(s), w))
            cand_s.append(s)
            cand_e.append(e)
            cand_score.append(sc)
        answer, best = "", float("nan")
        if cand_w:
            cw, cs_, ce, csc = (np.concatenate(x) for x in (cand_w, cand_s, cand_e, cand_score))
            order = np.argsort(-csc, kind="stable")
            context = contexts[ex]
            for o in order:
                a, b = offsets[cw[o]][cs_[o]][0], offsets[cw[o]][ce[o]][1]
                if b > a:
                    answer, best = context[a:b], float(csc[o])
                    break
        if not answer:
            unanswered += 1
        predictions[ids[ex]] = answer
        scores[ids[ex]] = best
    return QAResult(predictions, stats, windows=len(features), truncated_questions=truncated, unanswered=unanswered, scores=scores)
