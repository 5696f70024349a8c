"""Normalised example types, one per task format.

Every loader (local layout or hub) turns its source into these, so evaluators and trainers never
see a source-specific field name. Labels are always the card's label *strings* (never class ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextExample:
    """Single-sentence (``text_b is None``) or sentence-pair classification example."""

    id: str
    text_a: str
    text_b: str | None
    label: str | None


@dataclass(frozen=True)
class ChoiceExample:
    """Multiple-choice example: a prompt, its candidate continuations and the gold index."""

    id: str
    prompt: str
    choices: tuple[str, ...]
    label: int | None


@dataclass(frozen=True)
class TaggedSentence:
    """Token classification: one tag per word (``tags`` may be None for unlabelled input)."""

    id: str
    words: tuple[str, ...]
    tags: tuple[str, ...] | None


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset into the context


@dataclass(frozen=True)
class QAExample:
    """SQuAD-style extractive QA record; ``answers`` may hold several gold answers."""

    id: str
    context: str
    question: str
    answers: tuple[Answer, ...]
    title: str = ""


@dataclass
class Bitext:
    """Aligned sentence pairs for retrieval: ``source[i]`` (the xx side) translates ``target[i]`` (English)."""

    source: list[str]
    target: list[str]

    def __len__(self) -> int:
        return len(self.source)


@dataclass
class MiningCorpus:
    """BUCC-style mining corpus: id->sentence maps per side plus the gold (source id, target id) pairs."""

    source: dict[str, str]
    target: dict[str, str]
    gold: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class ExampleSet:
    """Examples of one (task, language, split) plus where they came from.

    ``origin`` is a human-readable description (file paths, or ``hub:<id>/<config>@<revision>``),
    ``fingerprint`` a content hash used for result provenance and resume decisions, and ``caveats``
    what makes the data non-comparable (empty for the original distribution).
    """

    task: str
    lang: str
    split: str
    format: str
    examples: object  # list[TextExample|ChoiceExample|TaggedSentence|QAExample] | Bitext | MiningCorpus
    origin: str
    fingerprint: str
    #: Why these data are not the original distribution, one line each (accepted non-comparable hub
    #: data, accepted or local size mismatches); recorded as ``data_caveats`` in result provenance.
    caveats: list = field(default_factory=list)

    def __len__(self) -> int:
        ex = self.examples
        if isinstance(ex, MiningCorpus):
            return len(ex.gold)
        return len(ex)
