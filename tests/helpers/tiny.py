"""Tiny, randomly initialised checkpoints for tests, benchmarks and smoke runs.

No hub access is possible (or wanted) in tests, so they build real Hugging Face checkpoints on the
fly: a WordPiece tokenizer trained with ``tokenizers`` on the given texts, and a BERT-shaped (or
XLM-R-shaped) model with random weights, saved with ``save_pretrained`` (safetensors). These load
through exactly the same ``AutoTokenizer``/``AutoModel*`` code paths as a real checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

HEADS = {
    "encoder": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "multiple-choice": "AutoModelForMultipleChoice",
}


def wordpiece_vocab(texts: Iterable[str], vocab_size: int, normalizer, pre_tokenizer) -> dict:
    """A deterministic WordPiece vocabulary for ``texts``: specials, every character (word-initial and
    ``##`` continuation), then whole words by frequency (ties alphabetical) up to ``vocab_size``.

    Why not ``tokenizers``' ``WordPieceTrainer``: its merges break ties in hash-map order, so the
    same texts gave different vocabularies from run to run -- and tests built on tiny models were
    flaky. Words outside the vocabulary still split into several sub-words (characters), which the
    tagging and QA tests rely on.
    """
    from collections import Counter

    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in counts for c in w})
    vocab = list(SPECIALS) + chars + [f"##{c}" for c in chars]
    seen = set(vocab)
    for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if word not in seen:
            vocab.append(word)
            seen.add(word)
    return {tok: i for i, tok in enumerate(vocab)}


def build_tokenizer(texts: Iterable[str], vocab_size: int = 2000, lowercase: bool = True):
    """A BERT-style WordPiece tokenizer for ``texts`` (deterministic), wrapped as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False, clean_text=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok = Tokenizer(models.WordPiece(wordpiece_vocab(texts, vocab_size, normalizer, pre_tokenizer), unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )


def build_tiny_checkpoint(
    out_dir: str | Path,
    texts: Iterable[str],
    head: str = "encoder",
    labels: Sequence[str] | None = None,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 64,
    vocab_size: int = 2000,
    max_position_embeddings: int = 512,
    seed: int = 0,
    model_type: str = "bert",
) -> Path:
    """Save a random-weight checkpoint with a tokenizer trained on ``texts``; return its folder.

    ``head`` picks the ``AutoModelFor*`` class (see :data:`HEADS`); ``labels`` sets ``id2label`` for
    classification heads, in the given order.
    """
    import torch
    import transformers
    from transformers import AutoConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(texts, vocab_size=vocab_size)
    kwargs = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings + (2 if model_type == "xlm-roberta" else 0),
        pad_token_id=tokenizer.pad_token_id,
    )
    if labels is not None:
        kwargs["id2label"] = {i: str(l) for i, l in enumerate(labels)}
        kwargs["label2id"] = {str(l): i for i, l in enumerate(labels)}
    config = AutoConfig.for_model(model_type, **kwargs)
    torch.manual_seed(seed)
    model = getattr(transformers, HEADS[head]).from_config(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
