"""A manifest that says ``finetune: card-recipe`` runs phase (iii) inside ``xgap run`` (cached: a
rerun trains nothing), evaluates the fine-tuned checkpoint zero-shot, and records its lineage."""

from __future__ import annotations

import json
import random

import pytest
import yaml
from helpers.tiny import build_tiny_checkpoint

from xgap.cli import main

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
WORDS = {"NOUN": ["cat", "dog", "house", "tree"], "VERB": ["runs", "sleeps", "eats"], "DET": ["the", "a"], "PUNCT": ["."]}


def _conllu(path, n, seed):
    rng = random.Random(seed)
    lines = []
    for s in range(n):
        toks = [("DET", rng.choice(WORDS["DET"])), ("NOUN", rng.choice(WORDS["NOUN"])), ("VERB", rng.choice(WORDS["VERB"])), ("PUNCT", ".")]
        lines.append(f"# sent_id = s{s}")
        lines += [f"{i}\t{w}\t_\t{t}\t_\t_\t0\t_\t_\t_" for i, (t, w) in enumerate(toks, 1)]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_manifest_finetune_card_recipe(tmp_path, capsys):
    data = tmp_path / "data"
    _conllu(data / "udpos/UD_English-Toy/en_toy-ud-train.conllu", 40, 0)
    _conllu(data / "udpos/UD_English-Toy/en_toy-ud-dev.conllu", 10, 1)
    _conllu(data / "udpos/UD_English-Toy/en_toy-ud-test.conllu", 10, 2)
    _conllu(data / "udpos/UD_German-Toy/de_toy-ud-test.conllu", 10, 3)
    enc = build_tiny_checkpoint(tmp_path / "enc", [" ".join(w for ws in WORDS.values() for w in ws)] * 5, head="encoder")
    manifest = {"id": "toy", "name": "Toy encoder", "model": {"path": str(enc)}, "base_encoder": "tiny-bert",
                "intermediate": "none", "tasks": {"udpos": {"finetune": "card-recipe", "languages": ["en", "de"]}},
                "license": "apache-2.0", "authors": ["xgap tests"]}
    mf = tmp_path / "toy.yaml"
    mf.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    args = ["--quiet", "run", str(mf), "--langs", "en,de", "--data-dir", str(data), "--output", str(tmp_path / "results"),
            "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "50"]
    assert main(args) == 0
    rec = json.loads((tmp_path / "results/toy/udpos/de.json").read_text())
    lineage = rec["provenance"]["lineage"]
    assert json.dumps(lineage).count(str(enc)) >= 1  # the chain names the encoder it started from
    assert rec["provenance"]["model"]["id"].startswith(str(tmp_path / "cache" / "phase3"))
    phase3 = list((tmp_path / "cache" / "phase3").iterdir())
    assert len(phase3) == 1
    mtime = (phase3[0] / "lineage.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0  # cached: no retraining, and unchanged records are reused
    assert "0 records computed, 2 unchanged" in capsys.readouterr().out
    assert (phase3[0] / "lineage.json").stat().st_mtime_ns == mtime
