"""Tokenisation of each task format for training, and padding of training batches.

Training sees inputs exactly as the zero-shot predictors (:mod:`xgap.modeling`) see them, so that a
checkpoint is fine-tuned on the same encoding it is later scored on. Each format module
(:mod:`xgap.formats`) names its entry point here (``*_features``), its collation (``collate_*``) and
its loss units (``count_*``); nothing here dispatches on a format name:

* **classification** (single sentence or pair): the evaluator's own encoder
  (:func:`xgap.modeling.classify.encode_texts`: ``truncation="longest_first"`` for pairs); label = index
  of the card label (after the card's ``label_aliases``). Unlabelled rows are skipped.
* **token classification**: words tokenised with ``is_split_into_words=True``; a word's label sits
  on its **first sub-word**, the other sub-words and the special tokens get ``-100`` (ignored by
  the loss), as SPEC §3 and XTREME do. Words that yield no sub-word become the tokenizer's unknown
  token and sentences longer than ``max_length`` are cut into chunks of whole words -- the same
  rules as :mod:`xgap.modeling.tagging`, so every word is trained on.
* **extractive QA**: Hugging Face ``run_qa.py``'s ``prepare_train_features``: the left-stripped
  question (cut to ``max_query_length`` tokens as the evaluator does) and the context, sliding
  windows of ``max_length`` tokens overlapping by ``doc_stride``; the first gold answer's token
  span is the target, and a window that does not contain the whole answer points at the ``[CLS]``
  token. One example may give several training features (windows).
* **multiple choice**: Hugging Face ``run_swag.py``: each choice is encoded as the pair
  ``(prompt, choice)`` with ``truncation=True``; a feature holds all choices of one example.

Every feature carries its length (tokens) for length-grouped batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xgap.errors import XgapError

IGNORE_INDEX = -100

@dataclass
class TrainFeatures:
    """Model inputs of one task's training set plus what encoding them dropped or split."""

    format: str
    features: list[dict]
    lengths: list[int]
    n_examples: int
    skipped: int = 0  # unlabelled examples left out
    notes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.features)


# ----------------------------------------------------------------------------- classification
def _label_index(labels: Sequence[str], aliases: dict) -> dict:
    index = {str(l): i for i, l in enumerate(labels)}
    folded = {str(l).casefold(): i for i, l in enumerate(labels)}
    for src, dst in aliases.items():
        if str(dst) in index:
            index[str(src)] = index[str(dst)]
            folded[str(src).casefold()] = index[str(dst)]
    return {"exact": index, "folded": folded}


def _lookup(index: dict, label) -> int | None:
    s = str(label)
    if s in index["exact"]:
        return index["exact"][s]
    return index["folded"].get(s.casefold())


def _encode_classification(tokenizer, examples, labels, aliases, max_length, task) -> TrainFeatures:
    from xgap.modeling.classify import encode_texts

    kept, ids, skipped, unknown = [], [], 0, set()
    index = _label_index(labels, aliases)
    for e in examples:
        if e.label is None:
            skipped += 1
            continue
        k = _lookup(index, e.label)
        if k is None:
            unknown.add(str(e.label))
            continue
        kept.append(e)
        ids.append(k)
    if unknown:
        raise XgapError(
            f"task '{task}': training labels {sorted(unknown)[:5]} are not in the card's label list {list(labels)} "
            f"- fix: add them to label_aliases in the card"
        )
    feats = encode_texts(tokenizer, kept, max_length)
    for f, k in zip(feats, ids):
        f["labels"] = k
    return TrainFeatures("classification", feats, [len(f["input_ids"]) for f in feats], len(kept), skipped)


# ----------------------------------------------------------------------------- tagging
def _encode_tagging(tokenizer, sentences, labels, max_length, task) -> TrainFeatures:
    from xgap.modeling.tagging import plan_chunks

    index = {str(l): i for i, l in enumerate(labels)}
    todo, skipped, unknown = [], 0, set()
    for s in sentences:
        if s.tags is None or not s.words:
            skipped += 1
            continue
        if len(s.tags) != len(s.words):
            raise XgapError(f"task '{task}': sentence {s.id!r} has {len(s.words)} words but {len(s.tags)} tags")
        unknown.update(t for t in s.tags if str(t) not in index)
        todo.append(s)
    if unknown:
        raise XgapError(f"task '{task}': training tags {sorted(unknown)[:5]} are not in the label list ({len(labels)} labels)")
    plans, substituted, split = plan_chunks(tokenizer, [[str(w) for w in s.words] for s in todo], max_length)
    chunks = []  # (words shown, tag ids)
    for s, (shown, spans) in zip(todo, plans):
        tags = [index[str(t)] for t in s.tags]
        chunks.extend((shown[a:b], tags[a:b]) for a, b in spans)
    feats = []
    for start in range(0, len(chunks), 2048):
        group = chunks[start : start + 2048]
        enc = tokenizer([g[0] for g in group], is_split_into_words=True, add_special_tokens=True, return_attention_mask=False)
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        for j, (_words, tags) in enumerate(group):
            lab = [IGNORE_INDEX] * len(enc["input_ids"][j])
            seen = set()
            for p, w in enumerate(enc.word_ids(j)):
                if w is not None and w not in seen:
                    seen.add(w)
                    lab[p] = tags[w]
            f = {k: enc[k][j] for k in keys}
            f["labels"] = lab
            feats.append(f)
    notes = {"split_sentences": split, "substituted_words": substituted}
    return TrainFeatures("token-classification", feats, [len(f["input_ids"]) for f in feats], len(todo), skipped, notes)


# ----------------------------------------------------------------------------- QA
def _encode_qa(tokenizer, examples, protocol, task) -> TrainFeatures:
    from xgap.modeling.qa import tokenize_windows, truncate_questions

    max_length = int(protocol.get("max_length", 384))
    doc_stride = int(protocol.get("doc_stride", 128))
    max_query_length = int(protocol.get("max_query_length", 64))
    pad_on_right = (getattr(tokenizer, "padding_side", "right") or "right") == "right"
    context_index = 1 if pad_on_right else 0
    questions, _lens, _cut = truncate_questions(tokenizer, [e.question.lstrip() for e in examples], max_query_length)
    feats, outside = [], 0
    for start in range(0, len(examples), 512):
        exs = examples[start : start + 512]
        qs = questions[start : start + 512]
        cs = [e.context for e in exs]
        enc = tokenize_windows(tokenizer, qs, cs, max_length, doc_stride, pad_on_right, what=f"task '{task}': ")
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        for w, ex_i in enumerate(enc["overflow_to_sample_mapping"]):
            ex = exs[int(ex_i)]
            ids = enc["input_ids"][w]
            offsets = enc["offset_mapping"][w]
            seq = enc.sequence_ids(w)
            cls_index = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
            s_pos = e_pos = cls_index
            if ex.answers:
                a = ex.answers[0]
                start_char, end_char = a.start, a.start + len(a.text)
                ts = 0
                while seq[ts] != context_index:
                    ts += 1
                te = len(ids) - 1
                while seq[te] != context_index:
                    te -= 1
                if offsets[ts][0] <= start_char and offsets[te][1] >= end_char:
                    while ts < len(offsets) and seq[ts] == context_index and offsets[ts][0] <= start_char:
                        ts += 1
                    s_pos = ts - 1
                    while te >= 0 and seq[te] == context_index and offsets[te][1] >= end_char:
                        te -= 1
                    e_pos = te + 1
                else:
                    outside += 1
            f = {k: enc[k][w] for k in keys}
            f["start_positions"], f["end_positions"] = s_pos, e_pos
            feats.append(f)
    notes = {"windows": len(feats), "windows_without_answer": outside}
    return TrainFeatures("extractive-qa", feats, [len(f["input_ids"]) for f in feats], len(examples), 0, notes)


# ----------------------------------------------------------------------------- multiple choice
def encode_choices(tokenizer, examples, max_length: int) -> list[dict]:
    """One feature per example: ``input_ids`` (and ``token_type_ids``) as a list per choice."""
    n = {len(e.choices) for e in examples}
    if len(n) > 1:
        raise XgapError(f"multiple-choice examples have different numbers of choices ({sorted(n)}); one head needs one count")
    feats = []
    for start in range(0, len(examples), 512):
        exs = examples[start : start + 512]
        firsts = [e.prompt for e in exs for _ in e.choices]
        seconds = [c for e in exs for c in e.choices]
        enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length, return_attention_mask=False, padding=False)
        keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
        pos = 0
        for e in exs:
            c = len(e.choices)
            feats.append({k: [enc[k][pos + j] for j in range(c)] for k in keys})
            pos += c
    return feats


def _encode_choice(tokenizer, examples, num_choices, max_length, task) -> TrainFeatures:
    kept, skipped = [], 0
    for e in examples:
        if e.label is None:
            skipped += 1
            continue
        if num_choices and len(e.choices) != num_choices:
            raise XgapError(f"task '{task}': example {e.id!r} has {len(e.choices)} choices, the card says {num_choices}")
        if not 0 <= int(e.label) < len(e.choices):
            raise XgapError(f"task '{task}': example {e.id!r} has gold index {e.label} outside its {len(e.choices)} choices")
        kept.append(e)
    feats = encode_choices(tokenizer, kept, max_length)
    for f, e in zip(feats, kept):
        f["labels"] = int(e.label)
    lengths = [len(f["input_ids"]) * max(len(x) for x in f["input_ids"]) for f in feats]
    return TrainFeatures("multiple-choice", feats, lengths, len(kept), skipped)


# ----------------------------------------------------------------------------- per-format entry points
# One per format, all ``(card, tokenizer, examples, labels, protocol) -> TrainFeatures``: the format
# modules (:mod:`xgap.formats`) declare which one they train with.
def classification_features(card, tokenizer, examples, labels, protocol) -> TrainFeatures:
    return _encode_classification(tokenizer, list(examples), labels, card.label_aliases, int(protocol.get("max_length", 256)), card.name)


def tagging_features(card, tokenizer, examples, labels, protocol) -> TrainFeatures:
    return _encode_tagging(tokenizer, list(examples), labels, int(protocol.get("max_length", 256)), card.name)


def qa_features(card, tokenizer, examples, labels, protocol) -> TrainFeatures:
    return _encode_qa(tokenizer, list(examples), protocol, card.name)


def choice_features(card, tokenizer, examples, labels, protocol) -> TrainFeatures:
    return _encode_choice(tokenizer, list(examples), card.data.get("num_choices"), int(protocol.get("max_length", 256)), card.name)


# ----------------------------------------------------------------------------- batches
def _pad(rows: list[list[int]], value: int, width: int, side: str):
    import torch

    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        if not r:
            continue
        if side == "left":
            out[i, width - len(r):] = torch.as_tensor(r, dtype=torch.long)
        else:
            out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


def _inputs(features: Sequence[dict], pad_token_id: int, padding_side: str) -> tuple[dict, int]:
    width = max(len(f["input_ids"]) for f in features)
    out = {"input_ids": _pad([f["input_ids"] for f in features], pad_token_id, width, padding_side)}
    if "token_type_ids" in features[0]:
        out["token_type_ids"] = _pad([f["token_type_ids"] for f in features], 0, width, padding_side)
    out["attention_mask"] = _pad([[1] * len(f["input_ids"]) for f in features], 0, width, padding_side)
    return out, width


def collate_labels(features: Sequence[dict], pad_token_id: int, padding_side: str = "right") -> dict:
    """Pad a micro-batch of sequence-classification features; return the model's keyword arguments as tensors."""
    import torch

    out, _ = _inputs(features, pad_token_id, padding_side)
    out["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
    return out


def collate_tags(features: Sequence[dict], pad_token_id: int, padding_side: str = "right") -> dict:
    """Token classification: labels padded with ``IGNORE_INDEX``."""
    out, width = _inputs(features, pad_token_id, padding_side)
    out["labels"] = _pad([f["labels"] for f in features], IGNORE_INDEX, width, padding_side)
    return out


def collate_spans(features: Sequence[dict], pad_token_id: int, padding_side: str = "right") -> dict:
    """Extractive QA: start/end positions, shifted by the padding when it is on the left."""
    import torch

    out, width = _inputs(features, pad_token_id, padding_side)
    shift = [width - len(f["input_ids"]) if padding_side == "left" else 0 for f in features]
    out["start_positions"] = torch.tensor([f["start_positions"] + s for f, s in zip(features, shift)], dtype=torch.long)
    out["end_positions"] = torch.tensor([f["end_positions"] + s for f, s in zip(features, shift)], dtype=torch.long)
    return out


def collate_choices(features: Sequence[dict], pad_token_id: int, padding_side: str = "right") -> dict:
    """Multiple choice: every choice of every example padded to the widest one, shaped (batch, choices, width)."""
    import torch

    c = len(features[0]["input_ids"])
    width = max(len(x) for f in features for x in f["input_ids"])
    out = {}
    for k in ("input_ids", "token_type_ids"):
        if k in features[0]:
            rows = [x for f in features for x in f[k]]
            out[k] = _pad(rows, pad_token_id if k == "input_ids" else 0, width, padding_side).view(len(features), c, width)
    rows = [[1] * len(x) for f in features for x in f["input_ids"]]
    out["attention_mask"] = _pad(rows, 0, width, padding_side).view(len(features), c, width)
    out["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
    return out


def count_examples(features: Sequence[dict]) -> int:
    """Loss units of formats whose loss is a mean over examples (or QA windows)."""
    return len(features)


def count_labelled_tokens(features: Sequence[dict]) -> int:
    """Loss units of token classification: the tokens that carry a label.

    Micro-batch losses are weighted by their share of these units, so a batch split for gradient
    accumulation has the same gradient as the whole batch at once.
    """
    return sum(sum(1 for x in f["labels"] if x != IGNORE_INDEX) for f in features)


# ----------------------------------------------------------------------------- losses
#: What :func:`qa_loss` needs out of the collated inputs (they are not model arguments).
SPAN_TARGETS = ("start_positions", "end_positions")


def qa_loss(start_logits, end_logits, attention_mask, starts, ends):
    """Mean of start and end cross-entropy over each window's **real** tokens.

    Hugging Face's QA heads take the softmax over every position, padding included, so their loss
    depends on how wide a batch was padded; ``run_qa.py`` avoids that by padding every window to
    ``max_length``. xgap pads each batch only to its longest window, so padding positions are
    masked out here -- the same positions the evaluator ranks (:mod:`xgap.modeling.qa`).
    """
    import torch

    mask = attention_mask.bool()
    s = start_logits.float().masked_fill(~mask, -1e4)
    e = end_logits.float().masked_fill(~mask, -1e4)
    ce = torch.nn.functional.cross_entropy
    return (ce(s, starts) + ce(e, ends)) / 2


def span_loss(outputs, inputs: dict, targets: dict):
    """:func:`qa_loss` of a QA model's outputs (the loss of the extractive-QA format)."""
    return qa_loss(outputs.start_logits, outputs.end_logits, inputs["attention_mask"], targets["start_positions"], targets["end_positions"])
