"""Tiny, randomly initialised checkpoints for tests, benchmarks and smoke runs.

No hub access is possible (or wanted) in tests, so they build real Hugging Face checkpoints on the
fly: a WordPiece tokenizer trained with ``tokenizers`` on the given texts, and a BERT-shaped (or
XLM-R-shaped) model with random weights, saved with ``save_pretrained`` (safetensors). These load
through exactly the same ``AutoTokenizer``/``AutoModel*`` code paths as a real checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

HEADS = {
    "encoder": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "multiple-choice": "AutoModelForMultipleChoice",
}


def build_tokenizer(texts: Iterable[str], vocab_size: int = 2000, lowercase: bool = True):
    """Train a BERT-style WordPiece tokenizer on ``texts`` and wrap it as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, min_frequency=1)
    tok.train_from_iterator(list(texts), trainer=trainer)
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
    labels: Optional[Sequence[str]] = None,
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
