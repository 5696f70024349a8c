"""Tiny models and test doubles for the evaluator tests (imported by test modules; not a conftest).

Real checkpoints are built once per process with :func:`helpers.tiny.build_tiny_checkpoint` into a
temporary folder and loaded through the same ``AutoModel*``/``AutoTokenizer`` paths a submission
uses. The "echo" doubles compute logits from the input ids, so a test knows exactly which token
position any prediction came from.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import random
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch

_ROOT = Path(tempfile.mkdtemp(prefix="xgap-tiny-eval-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

WORDS = (
    "the a river flows into sea near old town where people live and work every day while children "
    "play in green parks under tall trees birds sing songs about summer rain winter snow mountain "
    "valley bridge station market bread cheese coffee morning evening quickly slowly happy dark light "
    "der die das und ist ein eine fluss stadt haus nicht mit von zu auf"
).split()

#: Words the tests use as answers / markers; they are in every tiny vocabulary as whole words.
MARKERS = ["zebra", "quagga", "omega", "alpha"]


@contextlib.contextmanager
def one_thread():
    """Tiny models are all per-op overhead: one intra-op thread is faster than two, and far faster
    when other processes compete for the cores. Restores the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20))) + " .")
    out += [" ".join(MARKERS)] * 20 + ["what who where when why how many ?"] * 10
    return out


def random_sentence(rng: random.Random, n_words: int) -> list[str]:
    """Words from the vocabulary plus made-up words that split into several sub-words."""
    out = []
    for _ in range(n_words):
        r = rng.random()
        if r < 0.2:
            out.append(rng.choice(WORDS) + rng.choice(WORDS))  # unseen compound: several sub-words
        elif r < 0.25:
            out.append(rng.choice(WORDS).capitalize() + ",")
        else:
            out.append(rng.choice(WORDS))
    return out


@functools.cache
def checkpoint(head: str, labels: tuple[str, ...] | None = None, seed: int = 0) -> Path:
    from helpers.tiny import build_tiny_checkpoint

    name = f"{head}-{seed}-{len(labels or ())}"
    return build_tiny_checkpoint(
        _ROOT / name, corpus(), head=head, labels=list(labels) if labels else None, seed=seed, vocab_size=300
    )


def load(head: str, labels: tuple[str, ...] | None = None, seed: int = 0, spread: float = 0.3):
    """(model, tokenizer) of a cached tiny random checkpoint, in eval mode.

    ``spread``: weight matrices are re-drawn with this standard deviation (BERT's 0.02 makes a
    tiny random head predict the same class for every input, which would make tests vacuous).
    """
    from helpers.tiny import HEADS

    from xgap.modeling.models import ModelRef, load_model, load_tokenizer

    path = checkpoint(head, labels, seed)
    ref = ModelRef(str(path))
    model = load_model(ref, HEADS[head])
    if spread:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1:
                    p.copy_(torch.randn(p.shape, generator=gen) * spread)
    return model, load_tokenizer(ref)


@functools.cache
def _sp_tokenizer_dir() -> Path:
    """An XLM-R-style tokenizer: SentencePiece-like Unigram with '▁' pieces and <s> A </s></s> B </s>."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )
    out = _ROOT / "sp-tokenizer"
    fast.save_pretrained(out)
    return out


def sp_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(_sp_tokenizer_dir())


class EchoTagger(torch.nn.Module):
    """Token classifier whose logits at a position are one-hot of ``input_id % num_labels``."""

    def __init__(self, num_labels: int):
        super().__init__()
        self.config = SimpleNamespace(num_labels=num_labels)
        self.calls = []

    def forward(self, input_ids, attention_mask=None, **kwargs):
        self.calls.append(tuple(input_ids.shape))
        return {"logits": torch.nn.functional.one_hot(input_ids % self.config.num_labels, self.config.num_labels).float()}


class PeakQA(torch.nn.Module):
    """QA model whose start/end logits peak on given token ids (weights per id), 0 elsewhere.

    A small position-dependent term (``-1e-3 * position``) breaks ties deterministically.
    """

    def __init__(self, start_weights: dict[int, float], end_weights: dict[int, float]):
        super().__init__()
        self.start_weights, self.end_weights = start_weights, end_weights
        self.config = SimpleNamespace(num_labels=2)

    def _logits(self, input_ids, weights):
        out = torch.zeros(input_ids.shape, dtype=torch.float32)
        for tid, w in weights.items():
            out = out + w * (input_ids == tid).float()
        return out - 1e-3 * torch.arange(input_ids.shape[1]).float()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        return {
            "start_logits": self._logits(input_ids, self.start_weights),
            "end_logits": self._logits(input_ids, self.end_weights),
        }
