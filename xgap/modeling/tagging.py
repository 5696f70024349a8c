"""Zero-shot evaluation of a fine-tuned token-classification checkpoint (udpos, panx).

Contract: exactly one tag per input word, always (the scorer compares per-sentence tag lists).

How (and where it follows XTREME's reference, ``third_party/utils_tag.py`` and
``utils_preprocess.py``):

* Words are tokenised with ``is_split_into_words=True`` (each word on its own, as XTREME's
  per-word ``tokenizer.tokenize(word)`` does) and a word's tag is predicted from its **first
  sub-word**; the other sub-words are ignored.
* A word that yields **no** sub-word (zero-width or control characters that the normaliser
  deletes, an empty string) is replaced by the tokenizer's unknown token -- XTREME substitutes
  ``tokenizer.unk_token`` in that case -- so it still gets a position and a tag. XTREME does the
  same for a single word longer than the whole sub-word budget, and so does xgap. (A tokenizer
  without an unknown token falls back to ``"?"``.) The original word list is never changed:
  the substitution only affects what the model sees.
* A sentence whose sub-words do not fit ``max_length`` (minus the tokenizer's special tokens) is
  cut, greedily and in order, into chunks of whole words that fit -- XTREME's
  ``*_tokenize_preprocess`` algorithm -- each chunk is predicted on its own (with its own special
  tokens) and the tags are re-joined. XTREME reserves 3 special tokens for XLM-R; xgap asks the
  tokenizer (``num_special_tokens_to_add``), which is exact.

Chunks of all sentences are run together in length-sorted batches under a token budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xgap.data.examples import TaggedSentence
from xgap.errors import XgapError
from xgap.modeling.forward import ForwardStats, check_dtype, check_num_labels, real_positions, run_batches

#: Tokenisation is done in groups of this many sentences / chunks (bounds peak memory).
_TOKENIZE_GROUP = 2048


@dataclass
class TaggingResult:
    """One tag list per sentence (same length as its words), plus what the run cost."""

    predictions: list[list[str]]
    stats: ForwardStats = field(default_factory=ForwardStats)
    chunks: int = 0  # model inputs (a long sentence gives several)
    split_sentences: int = 0  # sentences that needed more than one chunk
    substituted_words: int = 0  # words that were given to the model as the unknown token

    def __len__(self) -> int:
        return len(self.predictions)

    def __iter__(self):
        return iter(self.predictions)

    def __getitem__(self, i):
        return self.predictions[i]


def subword_counts(tokenizer, word_lists: list[list[str]]) -> list[list[int]]:
    """Number of sub-words each word yields with ``is_split_into_words=True``."""
    counts: list[list[int]] = []
    for start in range(0, len(word_lists), _TOKENIZE_GROUP):
        group = word_lists[start : start + _TOKENIZE_GROUP]
        enc = tokenizer(group, is_split_into_words=True, add_special_tokens=False, return_attention_mask=False)
        for j, words in enumerate(group):
            c = [0] * len(words)
            for w in enc.word_ids(j):
                if w is not None:
                    c[w] += 1
            counts.append(c)
    return counts


def word_placeholder(tokenizer) -> tuple[str, int]:
    """The word given to the model for a word with no sub-words, and its sub-word count."""
    candidates = [t for t in (getattr(tokenizer, "unk_token", None), "?") if t]
    for word in candidates:
        enc = tokenizer([[word]], is_split_into_words=True, add_special_tokens=False)
        n = len(enc["input_ids"][0])
        if n > 0:
            return word, n
    raise XgapError("the tokenizer produces no tokens even for its unknown token; cannot tag words it drops")


def chunk_words(counts: list[int], budget: int) -> list[tuple[int, int]]:
    """XTREME's greedy split: start a new chunk when the next word would overflow the budget."""
    spans, start, used = [], 0, 0
    for i, c in enumerate(counts):
        if used + c > budget and i > start:
            spans.append((start, i))
            start, used = i, 0
        used += c
    spans.append((start, len(counts)))
    return spans


def plan_chunks(tokenizer, word_lists: list[list[str]], max_length: int) -> tuple[list[tuple[list[str], list]], int, int]:
    """How each word list is shown to a tagger: ``([(words shown, [(start, end) spans]), ...], substituted, split)``.

    A word with no sub-words (or more than fit) is replaced by :func:`word_placeholder`; each list
    is then cut into chunks of whole words that fit ``max_length`` with the special tokens
    (:func:`chunk_words`). Evaluation and training (:mod:`xgap.modeling.features`) both call this,
    so a model is trained on exactly the inputs it is evaluated on.
    """
    budget = int(max_length) - tokenizer.num_special_tokens_to_add(pair=False)
    placeholder, placeholder_len = word_placeholder(tokenizer)
    if budget < placeholder_len:
        raise XgapError(f"max_length {max_length} leaves no room for a word after the tokenizer's special tokens")
    plans, substituted, split = [], 0, 0
    for words, c in zip(word_lists, subword_counts(tokenizer, word_lists)):
        shown = list(words)
        for w, n in enumerate(c):
            if n == 0 or n > budget:
                shown[w] = placeholder
                c[w] = placeholder_len
                substituted += 1
        spans = chunk_words(c, budget)
        split += len(spans) > 1
        plans.append((shown, spans))
    return plans, substituted, split


def predict_tags(
    model,
    tokenizer,
    sentences: Sequence[TaggedSentence],
    label_names: Sequence[str],
    max_length: int = 256,
    batch_tokens: int = 8192,
    progress: bool = True,
    dtype: str = "float32",
    max_batch_size: int | None = None,
) -> TaggingResult:
    """Predict one tag per word for every sentence, in input order.

    ``label_names[i]`` is the card tag of the checkpoint's class ``i``. ``max_length`` bounds each
    model input including special tokens; longer sentences are split into chunks of whole words and
    re-joined (see the module docstring). ``dtype``: ``"float32"`` or ``"bfloat16"`` (autocast).
    """
    check_dtype(dtype)
    check_num_labels(model, label_names, what="token-classification head")
    stats = ForwardStats(dtype=dtype)
    word_lists = [[str(w) for w in s.words] for s in sentences]
    predictions: list[list[str]] = [[""] * len(w) for w in word_lists]
    todo = [i for i, w in enumerate(word_lists) if w]
    if not todo:
        return TaggingResult(predictions, stats)

    # 1. sub-word counts per word; substitute words that yield nothing (or more than fits); chunk.
    plans, substituted, split = plan_chunks(tokenizer, [word_lists[i] for i in todo], max_length)
    chunks: list[tuple[int, int, list[str]]] = []  # (sentence index, first word index, words shown to the model)
    for i, (shown, spans) in zip(todo, plans):
        chunks.extend((i, a, shown[a:b]) for a, b in spans)

    # 2. encode every chunk with special tokens; remember each word's first sub-word position.
    features: list[dict] = []
    first_pos: list[list[int]] = []
    for start in range(0, len(chunks), _TOKENIZE_GROUP):
        group = chunks[start : start + _TOKENIZE_GROUP]
        enc = tokenizer([g[2] for g in group], is_split_into_words=True, add_special_tokens=True, return_attention_mask=False)
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        for j, (_sent, _a, words) in enumerate(group):
            pos = [-1] * len(words)
            for p, w in enumerate(enc.word_ids(j)):
                if w is not None and pos[w] < 0:
                    pos[w] = p
            if min(pos) < 0 or len(enc["input_ids"][j]) > max_length:  # cannot happen if the tokenizer is consistent
                raise XgapError(
                    f"tokenizer is inconsistent on sentence {sentences[_sent].id!r}: re-encoding a chunk of "
                    f"{len(words)} words gave {len(enc['input_ids'][j])} tokens and lost word(s) "
                    f"{[words[k] for k, q in enumerate(pos) if q < 0]}"
                )
            features.append({k: enc[k][j] for k in keys})
            first_pos.append(pos)

    # 3. forward in length-sorted batches; read each word's first sub-word.
    padding_side = getattr(tokenizer, "padding_side", "right") or "right"
    for idx, width, out in run_batches(
        model,
        features,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        outputs=("logits",),
        batch_tokens=batch_tokens,
        max_batch_size=max_batch_size,
        padding_side=padding_side,
        dtype=dtype,
        progress=progress,
        desc="tag",
        stats=stats,
    ):
        best = out["logits"].argmax(dim=-1)  # (batch, width)
        for row, k in enumerate(idx):
            own = best[row, real_positions(len(features[k]["input_ids"]), width, padding_side)]
            sent, a, _ = chunks[k]
            tags = own[first_pos[k]].tolist()
            predictions[sent][a : a + len(tags)] = [str(label_names[t]) for t in tags]

    return TaggingResult(predictions, stats, chunks=len(chunks), split_sentences=split, substituted_words=substituted)
