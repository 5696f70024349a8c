"""Experiment grids: validation, exact plan expansion (shared phase-ii jobs), and a tiny grid end to end.

The plan tests load no model: a grid's jobs follow from the file alone. The end-to-end test runs a
two-cell grid (one 2-layer random encoder truncated to 1 layer x {none, ccg}) on fixture data into
ordinary records, a submission manifest per cell and the site's grid page, then checks that a
rerun does nothing and that a deleted record is the only thing recomputed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from xgap.cli import main
from xgap.errors import XgapError
from xgap.grid.plan import format_plan, plan_grid
from xgap.grid.spec import experiment_from_dict, load_experiment

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "training"))
import synth  # noqa: E402


def _exp(**over) -> dict:
    doc = {"name": "g", "encoders": [{"name": "enc", "path": "/models/enc", "layers": [1, 2]}],
           "intermediate": ["none", "ccg", ["mnli", "ccg"]], "targets": ["udpos", "pawsx", "tatoeba"],
           "languages": {"udpos": ["en", "de"], "pawsx": ["en", "fr"], "tatoeba": ["de"]}}
    doc.update(over)
    return doc


def _stem(key: str) -> str:
    return key.rsplit("-", 1)[0]  # drop the input hash


def test_plan_expands_every_job_exactly_and_shares_phase2(tmp_path):
    exp = experiment_from_dict(_exp())
    plan = plan_grid(exp, tmp_path / "results", root=tmp_path / "ck", estimate=False)
    cells = [c.submission for c in exp.cells()]
    assert cells == ["g-enc-l1-none-s0", "g-enc-l1-ccg-s0", "g-enc-l1-mnli_ccg-s0",
                     "g-enc-l2-none-s0", "g-enc-l2-ccg-s0", "g-enc-l2-mnli_ccg-s0"]
    # Phase (ii): one per (size, non-none setting, seed); none for "none".
    assert [(_stem(s.key), s.tasks, s.start) for s in plan.phase2] == [
        ("enc-l1--ccg--s0", ("ccg",), "encoder:enc-l1"), ("enc-l1--mnli_ccg--s0", ("mnli", "ccg"), "encoder:enc-l1"),
        ("enc-l2--ccg--s0", ("ccg",), "encoder:enc-l2"), ("enc-l2--mnli_ccg--s0", ("mnli", "ccg"), "encoder:enc-l2")]
    # Phase (iii): one per (cell, fine-tuned target); Tatoeba has none.
    assert [(_stem(s.key), s.tasks) for s in plan.phase3] == [
        (f"enc-{size}--{setting}--s0--{t}", (t,)) for size in ("l1", "l2") for setting in ("none", "ccg", "mnli_ccg")
        for t in ("udpos", "pawsx")]
    # Each phase (ii) checkpoint is trained once and feeds both fine-tuned targets of its cell.
    for p2 in plan.phase2:
        users = [s for s in plan.phase3 if s.start == f"phase2:{p2.key}"]
        assert sorted(s.tasks[0] for s in users) == ["pawsx", "udpos"]
    assert [s.start for s in plan.phase3 if "--none--" in s.key] == ["encoder:enc-l1"] * 2 + ["encoder:enc-l2"] * 2
    # Evaluations: one per (cell, target), languages as declared; retrieval reads the (phase-ii) encoder.
    evs = [(e.cell.submission, e.target, e.langs, e.model_from.split(":")[0]) for e in plan.evals]
    assert len(evs) == 18
    assert evs[:3] == [("g-enc-l1-none-s0", "udpos", ["en", "de"], "phase3"), ("g-enc-l1-none-s0", "pawsx", ["en", "fr"], "phase3"),
                       ("g-enc-l1-none-s0", "tatoeba", ["de"], "encoder")]
    assert [e.model_from for e in plan.evals if e.target == "tatoeba"][1] == f"phase2:{plan.phase2[0].key}"
    c = plan.counts()
    assert (c["cells"], c["phase2"], c["phase3"], c["records"], c["records_todo"], c["encoders_to_prepare"]) == (6, 4, 12, 30, 30, 2)
    text = format_plan(plan)
    assert "phase (ii) intermediate training: 4 job(s), 4 to do" in text and "30 record(s)" in text


def test_seeds_multiply_cells_and_trainings_but_not_encoders(tmp_path):
    one = {"seeds": [0, 1], "intermediate": ["none", "ccg"], "targets": ["udpos"], "languages": {"udpos": ["en"]}}
    exp = experiment_from_dict(_exp(**one))
    plan = plan_grid(exp, tmp_path / "r", root=tmp_path / "ck", estimate=False)
    assert len(exp.cells()) == 8 and len(plan.phase2) == 4 and len(plan.phase3) == 8 and len(plan.encoders) == 2
    assert {s.seed for s in plan.phase2} == {0, 1}
    # Keys depend on the inputs: another seed or override is another checkpoint.
    other = plan_grid(experiment_from_dict(_exp(**one, recipe={"ccg": {"epochs": 1}})), tmp_path / "r", root=tmp_path / "ck",
                      estimate=False)
    assert {s.key for s in plan.phase2}.isdisjoint({s.key for s in other.phase2})
    assert {s.key for s in plan.phase3 if "--none--" in s.key} == {s.key for s in other.phase3 if "--none--" in s.key}


@pytest.mark.parametrize("over, message", [
    ({"targets": ["udpos", "xquad"], "languages": {}, "intermediate": ["none", "squad"], "recipe": {"squad": {"train_from": "xquad/en/test"}}},
     "recipe.squad.train_from: xquad trains squad here"),
    ({"targets": ["mnli"], "languages": {}}, "targets[0]: 'mnli' is an intermediate task"),
    ({"intermediate": ["none", "xnli"]}, "intermediate[1]: 'xnli' is a target task"),
    ({"intermediate": ["none", "nope"]}, "intermediate[1]: unknown task 'nope'"),
    ({"languages": {"udpos": ["en", "xx"]}}, "languages.udpos: 'xx' is not a language of udpos"),
    ({"recipe": {"hellaswag": {"epochs": 1}}}, "recipe.hellaswag: 'hellaswag' is neither a target nor an intermediate task"),
    ({"recipe": {"ccg": {"train_split": "dev"}}}, "recipe.ccg: train_split applies to target tasks only"),
    ({"intermediate": ["none", "ccg", "ccg"]}, "intermediate[2]: setting 'ccg' is listed twice"),
])
def test_meaning_errors_name_the_field_and_the_fix(over, message):
    with pytest.raises(XgapError) as err:
        experiment_from_dict(_exp(**over), "experiments/g.yaml")
    text = str(err.value)
    assert text.startswith("experiments/g.yaml: ") and message in text and " - fix: " in text and "\n" not in text


def test_schema_errors_and_cli_exit_code(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_exp(seed=[0])), encoding="utf-8")
    assert main(["grid", "plan", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "bad.yaml: (top level): unknown key 'seed'" in err and "seeds" in err and "Traceback" not in err
    assert main(["validate", str(bad)]) == 1  # `xgap validate` knows experiment files too


def test_shipped_miniature_is_valid_and_never_evaluates_its_stand_in():
    exp = load_experiment(Path(__file__).resolve().parents[1] / "experiments" / "miniature.yaml")
    assert [e.key for e in exp.encoders] == ["minilm-l2", "minilm-l4", "minilm-l6"]
    assert [s.label for s in exp.settings] == ["none", "squad-xquad-en"]
    assert exp.targets == ["udpos"] and "xquad" not in exp.targets
    assert exp.languages["udpos"] == ["en", "de", "fr", "zh", "ar", "hi"]
    assert exp.overrides("squad")["train_from"] == "xquad/en/test"


# ----------------------------------------------------------------------------- end to end
UPOS_WORDS = {"NOUN": ["cat", "dog", "house", "tree"], "VERB": ["runs", "sleeps", "eats"], "DET": ["the", "a"], "PUNCT": ["."]}


def _conllu(path: Path, n: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    lines = []
    for s in range(n):
        toks = [("DET", rng.choice(UPOS_WORDS["DET"])), ("NOUN", rng.choice(UPOS_WORDS["NOUN"])),
                ("VERB", rng.choice(UPOS_WORDS["VERB"])), ("PUNCT", ".")]
        lines.append(f"# sent_id = s{s}")
        lines += [f"{i}\t{w}\t_\t{t}\t_\t_\t0\t_\t_\t_" for i, (t, w) in enumerate(toks, 1)]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture()
def tiny_grid(tmp_path):
    from helpers.tiny import build_tiny_checkpoint

    data = tmp_path / "data"
    shutil.copytree(synth.LOCAL / "ccg", data / "ccg")
    for split, n, seed in (("train", 40, 0), ("dev", 10, 1), ("test", 10, 2)):
        _conllu(data / f"udpos/UD_English-Toy/en_toy-ud-{split}.conllu", n, seed)
    _conllu(data / "udpos/UD_German-Toy/de_toy-ud-test.conllu", 10, 3)
    texts = [" ".join(w for ws in UPOS_WORDS.values() for w in ws)] * 5 + synth.all_texts()
    enc = build_tiny_checkpoint(tmp_path / "enc", texts, head="encoder", vocab_size=400)
    exp = {"name": "toy", "title": "Toy <grid>", "encoders": [{"name": "tiny", "path": str(enc), "layers": [1], "license": "apache-2.0"}],
           "intermediate": ["none", "ccg"], "targets": ["udpos"], "languages": {"udpos": ["en", "de"]},
           "recipe": {"ccg": {"max_steps": 6, "eval_every": 3, "learning_rate": 2e-3}, "udpos": {"max_steps": 6, "eval_every": 3}},
           "evaluation": {"bootstrap": 20}}
    f = tmp_path / "toy.yaml"
    f.write_text(yaml.safe_dump(exp), encoding="utf-8")
    return f, data


@pytest.mark.slow
def test_two_cell_grid_runs_end_to_end_and_resumes(tiny_grid, tmp_path, capsys):
    f, data = tiny_grid
    results, ck, site = tmp_path / "results", tmp_path / "ck", tmp_path / "site"
    common = ["--output", str(results), "--data-dir", str(data), "--checkpoints", str(ck)]
    assert main(["--quiet", "grid", "run", str(f), *common, "--site", str(site)]) == 0
    out = capsys.readouterr().out
    assert "3 training run(s) (0 reused), 4 records computed, 0 unchanged" in out
    subs = ["toy-tiny-l1-none-s0", "toy-tiny-l1-ccg-s0"]
    for sub in subs:
        for lang in ("en", "de"):
            rec = json.loads((results / sub / "udpos" / f"{lang}.json").read_text())
            assert rec["submission"] == sub and rec["status"] == "evaluated"
        man = json.loads((results / sub / "manifest.json").read_text())
        assert man["manifest"]["grid"]["experiment"] == "toy" and man["manifest"]["grid"]["layers"] == 1
        info = json.loads(next((ck / "encoders").glob("tiny-l1-*/xgap-encoder.json")).read_text())
        assert man["parameters"] == info["parameters"]  # the truncated encoder's own count
    chain = json.loads((results / subs[1] / "udpos" / "en.json").read_text())["provenance"]["lineage"]["chain"]
    assert [link["phase"] for link in chain] == ["encoder", "intermediate", "target"]
    assert chain[1]["tasks"] == ["ccg"]
    # The report and the site's grid page.
    assert "## udpos" in out and "Gain from intermediate training vs none" in out
    page = (site / "grids" / "toy.html").read_text(encoding="utf-8")
    assert "<svg" in page and "ccg" in page and "Toy &lt;grid&gt;" in page and "<grid>" not in page
    assert "grids/toy.html" in (site / "index.html").read_text(encoding="utf-8")

    # Resume: the plan says everything is done; a rerun trains and evaluates nothing.
    assert main(["grid", "plan", str(f), *common]) == 0
    plan_out = capsys.readouterr().out
    assert "0 phase (ii) + 0 phase (iii) training(s)" in plan_out and "0 record(s)" in plan_out
    assert main(["--quiet", "grid", "run", str(f), *common]) == 0
    assert "0 training run(s) (3 reused), 0 records computed, 4 unchanged" in capsys.readouterr().out
    # A lost record is the only thing recomputed.
    (results / subs[0] / "udpos" / "de.json").unlink()
    assert main(["--quiet", "grid", "run", str(f), *common]) == 0
    assert "1 records computed, 3 unchanged" in capsys.readouterr().out


@pytest.mark.slow
def test_grid_on_ray_trains_on_workers_and_a_local_rerun_reuses_everything(tiny_grid, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'xgap[ray]')")
    from xgap.grid.run import run_grid
    from xgap.harness.executors import LocalExecutor
    from xgap.harness.ray_executor import RayExecutor

    f, data = tiny_grid
    exp = load_experiment(f)
    results, ck = tmp_path / "results", tmp_path / "ck"
    executor = RayExecutor(num_cpus=1, retries=0, progress=False, init_kwargs={
        "num_cpus": 2, "runtime_env": {"env_vars": {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}}})
    try:
        out = run_grid(exp, results, root=ck, data_dir=str(data), executor=executor, progress=False)
    finally:
        ray.shutdown()
    assert out.failures == [] and out.records_computed == 4
    assert sorted(t["name"].split("/")[0] for t in out.trained) == ["phase2", "phase3", "phase3"]
    assert all(not t["reused"] for t in out.trained)
    for t in out.trained:  # written by the workers, complete
        assert json.loads((Path(t["output"]) / "lineage.json").read_text())["status"] == "complete"
    again = run_grid(exp, results, root=ck, data_dir=str(data), executor=LocalExecutor(), progress=False)
    assert again.records_computed == 0 and again.records_reused == 4 and all(t["reused"] for t in again.trained)


def test_seeds_flag_overrides_the_file(tmp_path, capsys):
    f = tmp_path / "g.yaml"
    f.write_text(yaml.safe_dump(_exp(seeds=[0, 1, 2], intermediate=["none", "ccg"], targets=["tatoeba"], languages={})), encoding="utf-8")
    assert main(["grid", "plan", str(f), "--output", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "ck"), "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "x 1 seed(s) = 4 cells" in out and "g-enc-l1-ccg-s1" in out and "-s0" not in out
    assert main(["grid", "plan", str(f), "--seeds", "1,1"]) == 2
    assert "distinct" in capsys.readouterr().err


def test_hub_encoders_keep_their_pinned_revision(tmp_path):
    from xgap.grid.plan import model_ref

    exp = experiment_from_dict(_exp(encoders=[{"name": "xlmr", "hub": "xlm-roberta-base", "revision": "e73636d"}],
                                    intermediate=["none", "ccg"]))
    plan = plan_grid(exp, tmp_path / "r", root=tmp_path / "ck", estimate=False)
    ref = model_ref(plan, "encoder:xlmr")
    assert (ref.name, ref.revision) == ("xlm-roberta-base", "e73636d")
    assert [e.model_from for e in plan.evals if e.target == "tatoeba"] == ["encoder:xlmr", f"phase2:{plan.phase2[0].key}"]
    p2 = model_ref(plan, f"phase2:{plan.phase2[0].key}")
    assert p2.name == str(tmp_path / "ck" / "phase2" / plan.phase2[0].key) and p2.revision is None


def test_report_without_records_says_how_to_get_them(tmp_path, capsys):
    f = tmp_path / "g.yaml"
    f.write_text(yaml.safe_dump(_exp()), encoding="utf-8")
    assert main(["grid", "report", str(f), "--output", str(tmp_path / "none")]) == 1
    assert "no records of grid 'g'" in capsys.readouterr().err


def test_missing_encoder_folder_is_one_line(tmp_path, capsys):
    f = tmp_path / "g.yaml"
    f.write_text(yaml.safe_dump(_exp(encoders=[{"name": "m", "path": str(tmp_path / "absent"), "layers": [1]}])), encoding="utf-8")
    assert main(["--quiet", "grid", "run", str(f), "--output", str(tmp_path / "r"), "--checkpoints", str(tmp_path / "ck")]) == 2
    err = capsys.readouterr().err
    assert f"encoder 'm': model folder '{tmp_path / 'absent'}' does not exist - fix:" in err and "Traceback" not in err
