"""End to end on the real evaluation data with tiny random checkpoints (slow; needs ../shared/data).

The files are parsed here directly (SQuAD JSON, CoNLL-U, TSV) so these tests exercise only the
evaluators; the data layer has its own tests. Random weights mean the predictions are meaningless:
what is checked is the contract -- one prediction per item, in order, one tag per word, every
question answered with a substring of its context.
"""

import json
import os
import random
from pathlib import Path

import pytest
from helpers.tiny import HEADS, build_tiny_checkpoint

from xgap.data.examples import QAExample, TaggedSentence, TextExample
from xgap.modeling.classify import predict_classification
from xgap.modeling.labels import resolve_label_map
from xgap.modeling.models import ModelRef, load_model, load_tokenizer
from xgap.modeling.qa import predict_answers
from xgap.modeling.tagging import predict_tags

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("XGAP_DATA_DIR") or ROOT.parent / "shared" / "data")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATA / "xquad").is_dir(),
        reason=f"real evaluation data not found at {DATA} (set XGAP_DATA_DIR or provide ../shared/data)",
    ),
]

XQUAD_LANGS = "ar de el en es hi ru th tr vi zh".split()
UD_FILES = {  # language -> (test file, words in the file per UD v2.5 stats)
    "en": ("UD_English-EWT/en_ewt-ud-test.conllu", 25096),
    "de": ("UD_German-GSD/de_gsd-ud-test.conllu", 16498),
    "fr": ("UD_French-GSD/fr_gsd-ud-test.conllu", 10019),
    "zh": ("UD_Chinese-GSD/zh_gsd-ud-test.conllu", 12012),
    "ar": ("UD_Arabic-PUD/ar_pud-ud-test.conllu", 20751),
    "hi": ("UD_Hindi-PUD/hi_pud-ud-test.conllu", 23829),
}
UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
XNLI = ["contradiction", "entailment", "neutral"]


def read_squad(path):
    out = []
    for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                out.append(QAExample(id=qa["id"], context=para["context"], question=qa["question"], answers=()))
    return out


def read_conllu(path):
    sentences, words = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append(TaggedSentence(id=str(len(sentences)), words=tuple(w for w, _ in words), tags=tuple(t for _, t in words)))
            words = []
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if "-" in cols[0] or "." in cols[0]:  # multi-word token range / empty node
            continue
        words.append((cols[1], cols[3]))
    if words:
        sentences.append(TaggedSentence(id=str(len(sentences)), words=tuple(w for w, _ in words), tags=tuple(t for _, t in words)))
    return sentences


def read_tsv_pairs(path, header):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in (lines[1:] if header else lines) if line.strip()]
    if header:  # id sentence1 sentence2 label
        return [TextExample(id=r[0], text_a=r[1], text_b=r[2], label=r[3]) for r in rows]
    return [TextExample(id=str(i), text_a=r[0], text_b=r[1], label=r[2]) for i, r in enumerate(rows)]


@pytest.fixture(scope="module")
def texts():
    rng = random.Random(0)
    sample = []
    for lang in XQUAD_LANGS:
        ex = read_squad(DATA / "xquad" / f"xquad.{lang}.json")
        sample += list({e.context for e in ex})[:40] + [e.question for e in ex[:100]]
    for rel, _ in UD_FILES.values():
        sample += [" ".join(s.words) for s in read_conllu(DATA / "udpos" / rel)[:200]]
    rng.shuffle(sample)
    return sample


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Hidden-size-32 models are all per-op overhead: one intra-op thread is several times faster
    than two (and much faster when other processes compete for the cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def build(tmp_path_factory, texts):
    root = tmp_path_factory.mktemp("realdata-models")

    def _build(head, labels=None):
        path = build_tiny_checkpoint(
            root / head / str(len(labels or [])), texts, head=head, labels=labels, vocab_size=3000, num_layers=1
        )
        ref = ModelRef(str(path))
        return load_model(ref, HEADS[head]), load_tokenizer(ref)

    return _build


def test_xquad_every_language_every_question(build):
    model, tok = build("question-answering")
    for lang in XQUAD_LANGS:
        examples = read_squad(DATA / "xquad" / f"xquad.{lang}.json")
        assert len(examples) == 1190
        result = predict_answers(model, tok, examples, progress=False)
        assert set(result.predictions) == {e.id for e in examples}, lang
        assert result.unanswered == 0, lang
        for e in examples:
            assert result.predictions[e.id] in e.context


def test_udpos_one_tag_per_word_including_long_sentences(build):
    model, tok = build("token-classification", UPOS)
    for lang, (rel, n_words) in UD_FILES.items():
        sentences = read_conllu(DATA / "udpos" / rel)
        assert sum(len(s.words) for s in sentences) == n_words, lang
        # 64 sub-words per input forces many long sentences to be split and re-joined
        result = predict_tags(model, tok, sentences, UPOS, max_length=64, progress=False)
        assert [len(p) for p in result.predictions] == [len(s.words) for s in sentences], lang
        assert all(t in UPOS for p in result.predictions for t in p)
        assert result.split_sentences > 0, lang


def test_pawsx_de_2000_predictions(build):
    model, tok = build("sequence-classification", ["0", "1"])
    examples = read_tsv_pairs(DATA / "pawsx" / "de" / "test.tsv", header=True)
    labels = resolve_label_map(model.config.id2label, ["0", "1"])
    result = predict_classification(model, tok, examples, labels, max_length=128, progress=False)
    assert len(result.predictions) == len(examples) == 2000
    assert set(result.predictions) <= {"0", "1"}


def test_xnli_de_5010_predictions(build):
    model, tok = build("sequence-classification", ["entailment", "neutral", "contradictory"])
    examples = read_tsv_pairs(DATA / "xnli" / "de" / "test.txt", header=False)
    labels = resolve_label_map(model.config.id2label, XNLI, aliases={"contradictory": "contradiction"})
    assert labels == ["entailment", "neutral", "contradiction"]
    result = predict_classification(model, tok, examples, labels, max_length=128, progress=False)
    assert len(result.predictions) == len(examples) == 5010
    assert set(result.predictions) <= set(XNLI)
    assert result.stats.padding_efficiency > 0.8
