"""The data layer: normalised examples per (task, language, split) from local layouts or the hub."""

from xgap.data.examples import (
    Answer,
    Bitext,
    ChoiceExample,
    ExampleSet,
    MiningCorpus,
    QAExample,
    TaggedSentence,
    TextExample,
)
from xgap.data.loader import default_data_dir, load_examples

__all__ = [
    "Answer", "Bitext", "ChoiceExample", "ExampleSet", "MiningCorpus", "QAExample", "TaggedSentence", "TextExample",
    "default_data_dir", "load_examples",
]
