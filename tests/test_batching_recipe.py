"""Training recipe choices that change what is learned (issue 19): batching, loss weighting, head seed.

* Default batches are random (a seeded shuffle cut into batches, as ``transformers``' ``Trainer``
  with its ``RandomSampler``), not length-sorted.
* ``length-grouped`` groups are Hugging Face's size; ``per-token`` loss weighting gives every
  labelled token the same weight whichever batch it lands in (checked by hand on a tiny model).
* The choices are card recipe keys, CLI flags, and reach the lineage, the run key and grid keys.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "training"))
import _tiny_models as tiny  # noqa: E402
import synth  # noqa: E402

from xgap.cli import main  # noqa: E402


# ----------------------------------------------------------------------------- batches
def test_default_batches_are_random_seeded_and_deterministic():
    from xgap.training.multitask import epoch_batches, task_stream

    n, b = 1000, 32
    lengths = list(range(1, n + 1))  # index = length - 1: a sorted batch would hold consecutive indices
    batches = epoch_batches(lengths, b, seed=3, task="udpos", epoch=0)
    assert batches == epoch_batches(lengths, b, seed=3, task="udpos", epoch=0)
    assert batches != epoch_batches(lengths, b, seed=4, task="udpos", epoch=0)
    assert batches != epoch_batches(lengths, b, seed=3, task="udpos", epoch=1)
    assert sorted(i for x in batches for i in x) == list(range(n)) and len(batches) == math.ceil(n / b)
    # The batches are the seeded permutation cut in order (then the batch order is shuffled): RandomSampler's batches.
    perm = np.random.default_rng([3, task_stream("udpos"), 0]).permutation(n).tolist()
    assert sorted(map(tuple, batches)) == sorted(tuple(perm[i : i + b]) for i in range(0, n, b))
    # Not length-sorted: each batch spans most of the length range (a length-sorted batch of 32 spans < 32 / 1000 of it).
    spans = [(max(lengths[i] for i in x) - min(lengths[i] for i in x)) / (n - 1) for x in batches]
    assert np.mean(spans) > 0.8
    grouped = epoch_batches(lengths, b, seed=3, task="udpos", epoch=0, batching="length-grouped")
    assert np.mean([(max(lengths[i] for i in x) - min(lengths[i] for i in x)) / (n - 1) for x in grouped if len(x) == b]) < 0.3


def test_length_groups_are_hugging_face_sized():
    from xgap.training.multitask import epoch_batches, group_batches

    # transformers' get_length_grouped_indices: min(n // (4 * batch), 50) batches per group, at least 1.
    assert group_batches(1602, 32) == 12 and group_batches(100, 32) == 1 and group_batches(10**6, 32) == 50
    n, b = 1602, 32
    lengths = list(range(n))
    batches = epoch_batches(lengths, b, seed=0, task="udpos", epoch=0, batching="length-grouped")
    assert sorted(i for x in batches for i in x) == list(range(n))
    # Within a group the batches are cut from the length-sorted group: each batch is sorted longest first.
    assert all(x == sorted(x, reverse=True) for x in batches)
    with pytest.raises(ValueError, match="batching"):
        epoch_batches(lengths, b, seed=0, task="udpos", epoch=0, batching="sorted")


# ----------------------------------------------------------------------------- loss weighting
def test_unit_norm_is_mean_units_per_batch():
    from xgap.training.multitask import unit_norm

    assert unit_norm([1, 2, 3, 4, 5, 1], 2) == pytest.approx(16 / 3)
    assert unit_norm([1, 2, 3, 4, 5], 2) == pytest.approx(15 / 3)  # the short last batch counts as a batch


def _ce_sum(model, feats) -> float:
    """Hand computation: the sum of the labelled tokens' cross-entropies, one sentence at a time (no padding)."""
    total = 0.0
    with torch.no_grad():
        for f in feats:
            logits = model(input_ids=torch.tensor([f["input_ids"]])).logits[0]
            logp = torch.log_softmax(logits.float(), dim=-1)
            total += float(-sum(logp[i, y] for i, y in enumerate(f["labels"]) if y != -100))
    return total


def test_per_token_weighting_gives_each_labelled_token_the_same_weight():
    """A batch of 1 labelled token and one of 6: under batch-mean each batch's loss is a mean, so the lone
    token weighs 6x a token of the long sentence; under per-token each batch's loss is its token-loss sum
    over the epoch's mean tokens per batch, so gradients add up token by token whatever the batching."""
    from xgap.training.loop import backward_batch
    from xgap.training.multitask import unit_norm

    with tiny.one_thread():
        model, tok = tiny.load("token-classification", ("A", "B", "C"))
        model.eval()  # no dropout: exact comparison
        short = {"input_ids": tok("the")["input_ids"], "labels": [-100, 1, -100]}
        ids = tok("the river flows into sea near")["input_ids"]
        long = {"input_ids": ids, "labels": [-100] + [i % 3 for i in range(len(ids) - 2)] + [-100]}
        assert len(short["input_ids"]) == 3 and len(long["input_ids"]) == 8  # one word = one sub-word here
        feats = [short, long]
        norm = unit_norm([1, 6], batch_size=1)  # two batches of one sentence: 7 tokens / 2 batches
        assert norm == 3.5

        def grads(batches, n):
            model.zero_grad(set_to_none=True)
            loss = sum(backward_batch(model, "token-classification", fs, None, tok.pad_token_id, "right", "cpu", norm=n) for fs in batches)
            return loss, torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

        # Hand-computed loss: sum of the 7 token cross-entropies / 3.5, however the sentences are batched.
        loss_apart, g_apart = grads([[short], [long]], norm)
        loss_together, g_together = grads([feats], norm)
        assert loss_apart == pytest.approx(_ce_sum(model, feats) / 3.5, rel=1e-5)
        assert loss_together == pytest.approx(loss_apart, rel=1e-5)
        assert torch.allclose(g_apart, g_together, rtol=1e-4, atol=1e-6)
        # batch-mean: the two one-sentence batches give the lone token the weight of a whole batch.
        loss_mean, g_mean = grads([[short], [long]], None)
        assert loss_mean == pytest.approx(_ce_sum(model, [short]) + _ce_sum(model, [long]) / 6, rel=1e-5)
        assert not torch.allclose(g_mean, grads([feats], None)[1], rtol=1e-3, atol=1e-5)  # batch-mean depends on the batching


# ----------------------------------------------------------------------------- recipe keys: card, CLI, lineage, run key
def test_recipe_keys_are_card_defaults_and_head_seed_separates_from_seed():
    from xgap.cards import load_card
    from xgap.training.api import RECIPE_DEFAULTS, head_init_seed

    for name in ("udpos", "xnli", "squad", "mnli"):
        r = load_card(name).recipe
        assert (r["batching"], r["loss_weighting"], r["head_seed"]) == ("random", "batch-mean", None)
    assert RECIPE_DEFAULTS["batching"] == "random"
    assert head_init_seed({"head_seed": None}, 3, "udpos") == head_init_seed({"head_seed": 3}, 0, "udpos")
    assert head_init_seed({"head_seed": 3}, 0, "udpos") == head_init_seed({"head_seed": 3}, 1, "udpos")
    assert head_init_seed({"head_seed": 3}, 0, "udpos") != head_init_seed({"head_seed": 3}, 0, "ccg")


def test_cli_flags_parse_into_train_keywords():
    from xgap.cli import build_parser
    from xgap.training.commands import _kwargs

    for kind, extra in (("target", ["--task", "udpos"]), ("intermediate", ["--tasks", "ccg"])):
        args = build_parser().parse_args(["train", kind, "--model", "m", "--output", "o", *extra, "--batching", "length-grouped",
                                          "--loss-weighting", "per-token", "--head-seed", "7"])
        kw = _kwargs(args)
        assert (kw["batching"], kw["loss_weighting"], kw["head_seed"]) == ("length-grouped", "per-token", 7)
        plain = _kwargs(build_parser().parse_args(["train", kind, "--model", "m", "--output", "o", *extra]))
        assert (plain["batching"], plain["loss_weighting"], plain["head_seed"]) == (None, None, None)  # the card decides


def test_bad_batching_value_is_refused(capsys):
    rc = main(["train", "target", "--model", "m", "--output", "o", "--task", "udpos", "--batching", "sorted"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("xgap:") and "--batching" in err and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    from helpers.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("enc") / "tiny-encoder", synth.all_texts(), head="encoder", vocab_size=400)


def test_recipe_choices_reach_lineage_and_run_key(encoder, tmp_path):
    from xgap.training import train_intermediate
    from xgap.training.api import head_init_seed

    common = dict(data_dir=str(synth.LOCAL), max_steps=3, eval_every=3, limit=40, learning_rate=2e-3, batch_size=8, progress=False)
    with tiny.one_thread():
        base = train_intermediate(str(encoder), "ccg", tmp_path / "base", **common).lineage
        grouped = train_intermediate(str(encoder), "ccg", tmp_path / "grouped", batching="length-grouped", loss_weighting="per-token",
                                     **common).lineage
        seeded = train_intermediate(str(encoder), "ccg", tmp_path / "head", head_seed=5, **common).lineage
    assert (base["recipe"]["batching"], base["recipe"]["loss_weighting"], base["recipe"]["head_seed"]) == ("random", "batch-mean", None)
    assert base["batching"] == {"mode": "random", "loss_weighting": "batch-mean", "group_batches": None, "per_token_divisor": None,
                                "head_init_seed": {"ccg": head_init_seed({"head_seed": None}, 0, "ccg")}}
    assert {k: grouped["recipe_overrides"].get(k) for k in ("batching", "loss_weighting")} == {"batching": "length-grouped",
                                                                                                "loss_weighting": "per-token"}
    assert grouped["batching"]["group_batches"] == {"ccg": 1}  # 40 sentences // (4 * 8) = 1 batch per group
    tokens = grouped["batching"]["per_token_divisor"]["ccg"]
    assert tokens > 1  # labelled words per batch
    assert seeded["batching"]["head_init_seed"] == {"ccg": head_init_seed({"head_seed": 5}, 0, "ccg")}
    assert len({base["run_key"], grouped["run_key"], seeded["run_key"]}) == 3


def test_grids_pass_the_recipe_through_and_change_their_keys(tmp_path):
    from xgap.grid.plan import plan_grid
    from xgap.grid.run import _train_kwargs
    from xgap.grid.spec import experiment_from_dict

    def exp(recipe):
        return experiment_from_dict({"name": "g", "encoders": [{"name": "enc", "path": "/models/enc"}], "intermediate": ["none", "ccg"],
                                     "targets": ["udpos"], "languages": {"udpos": ["en"]}, "recipe": recipe})

    plain = plan_grid(exp({}), tmp_path / "r", root=tmp_path / "ck", estimate=False)
    chosen = {"batching": "length-grouped", "loss_weighting": "per-token", "head_seed": 2}
    e = exp({"udpos": chosen, "ccg": {"batching": "length-grouped"}})
    other = plan_grid(e, tmp_path / "r", root=tmp_path / "ck", estimate=False)
    assert {s.key for s in plain.phase3}.isdisjoint({s.key for s in other.phase3})
    assert {s.key for s in plain.phase2}.isdisjoint({s.key for s in other.phase2})
    kw = _train_kwargs(e, other.phase3[0], None)
    assert {k: kw[k] for k in chosen} == chosen
    assert _train_kwargs(e, other.phase2[0], None)["batching"] == "length-grouped"


def test_frozen_embeddings_stay_fixed_and_are_recorded_only_when_on(encoder, tmp_path):
    """``freeze_embeddings``: the word-embedding matrix gets no update (nor optimizer state) while the
    rest of the encoder trains; the recipe, lineage and run key say so, and leaving it off (or
    passing False) keeps the run key of a run that never heard of the option."""
    from safetensors.torch import load_file

    from xgap.training import train_intermediate

    common = dict(data_dir=str(synth.LOCAL), max_steps=3, eval_every=3, limit=40, learning_rate=2e-3, batch_size=8, progress=False)
    with tiny.one_thread():
        base = train_intermediate(str(encoder), "ccg", tmp_path / "base", **common).lineage
        off = train_intermediate(str(encoder), "ccg", tmp_path / "off", freeze_embeddings=False, **common).lineage
        frozen = train_intermediate(str(encoder), "ccg", tmp_path / "frozen", freeze_embeddings=True, **common).lineage
    assert "freeze_embeddings" not in base["recipe"] and off["run_key"] == base["run_key"]
    assert frozen["recipe"]["freeze_embeddings"] is True and frozen["recipe_overrides"]["freeze_embeddings"] is True
    assert frozen["run_key"] != base["run_key"]

    def weights(folder):
        return load_file(str(next(Path(folder).glob("*.safetensors"))))

    start, trained, fixed = weights(encoder), weights(tmp_path / "base"), weights(tmp_path / "frozen")
    word = next(k for k in start if k.endswith("word_embeddings.weight"))
    assert torch.equal(fixed[word], start[word]) and not torch.equal(trained[word], start[word])
    moved = [k for k in start if k != word and not torch.equal(fixed[k], start[k])]
    assert moved, "the rest of the encoder must still train"


def test_freeze_embeddings_flag_and_grid_override():
    from xgap.cli import build_parser
    from xgap.grid.spec import experiment_from_dict
    from xgap.training.commands import _kwargs

    args = ["train", "target", "--model", "m", "--output", "o", "--task", "udpos"]
    assert _kwargs(build_parser().parse_args([*args, "--freeze-embeddings"]))["freeze_embeddings"] is True
    assert _kwargs(build_parser().parse_args(args))["freeze_embeddings"] is None  # the card decides
    e = experiment_from_dict({"name": "g", "encoders": [{"name": "enc", "path": "/models/enc"}], "intermediate": ["none"],
                              "targets": ["udpos"], "languages": {"udpos": ["en"]}, "recipe": {"udpos": {"freeze_embeddings": True}}})
    assert e.overrides("udpos", None)["freeze_embeddings"] is True
