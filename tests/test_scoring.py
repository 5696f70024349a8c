"""The XTREME-layout scorer on a hand-made tree covering all nine tasks (SPEC §8).

Every figure is computed by hand in the comments; the same tree is also scored by a transcription
of XTREME's official evaluate.py (tests/reference_impls.py) and the two must agree.
"""

import json

import pytest

from xgap.errors import XgapError
from xgap.scoring import format_score_table, score_directory

try:
    from tests import reference_impls as ref
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    import reference_impls as ref


def _squad(questions):
    """SQuAD v1.1 JSON from {qid: [answers]}."""
    qas = [{"id": q, "question": "?", "answers": [{"text": a, "answer_start": 0} for a in ans]} for q, ans in questions.items()]
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]}


def _tags(sentences):
    return "\n\n".join("\n".join(s) for s in sentences) + "\n"


# task -> lang -> (prediction file text, label file text)
TREE = {
    "xnli": {
        # en: 3 of 4 -> 75; de: 1 of 2 -> 50
        "en": ("entailment\nneutral\nneutral\nentailment\n", "entailment\nneutral\ncontradiction\nentailment\n"),
        "de": ("neutral\nentailment\n", "neutral\ncontradiction\n"),
    },
    "pawsx": {
        # en: 5 of 5 -> 100; de: 4 of 5 -> 80
        "en": ("1\n0\n1\n1\n0\n", "1\n0\n1\n1\n0\n"),
        "de": ("1\n1\n0\n1\n0\n", "0\n1\n0\n1\n0\n"),
    },
    "udpos": {
        # en: gold chunks DET NOUN VERB | PRON VERB PUNCT (6); pred DET NOUN VERB | PRON NOUN PUNCT (6);
        #     5 correct -> P = R = F1 = 5/6 = 83.33; tokens 5/6 = 83.33
        "en": (
            _tags([["DET", "NOUN", "VERB"], ["PRON", "NOUN", "PUNCT"]]),
            _tags([["DET", "NOUN", "VERB"], ["PRON", "VERB", "PUNCT"]]),
        ),
        # de (run merging): gold {NOUN NOUN}{VERB}, pred {NOUN}{VERB VERB}: 0 correct -> 0; tokens 2/3
        "de": (_tags([["NOUN", "VERB", "VERB"]]), _tags([["NOUN", "NOUN", "VERB"]]).rstrip("\n")),
    },
    "panx": {
        # en: gold PER[0..1] LOC[3] | ORG (3); pred PER[0..1] | ORG (2); 2 correct
        #     P = 2/2 = 100, R = 2/3 = 66.67, F1 = 2*1*(2/3)/(5/3) = 80; tokens 6/7 = 85.71
        "en": (
            _tags([["B-PER", "I-PER", "O", "O"], ["O", "B-ORG", "I-ORG"]]),
            _tags([["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"]]),
        ),
        # de: gold LOC | PER; pred LOC | ORG; 1 correct -> P = R = F1 = 50; tokens 2/3
        "de": (_tags([["B-LOC", "O"], ["B-ORG"]]), _tags([["B-LOC", "O"], ["B-PER"]])),
    },
    "xquad": {
        # en: q1 EM 1 F1 1 ("the" dropped) | q2 EM 1 ("1990." vs "1990") | q3 unanswered -> EM = F1 = 2/3
        "en": (
            {"q1": "the Eiffel Tower", "q2": "1990."},
            _squad({"q1": ["Eiffel Tower"], "q2": ["1990", "in 1990"], "q3": ["Paris"]}),
        ),
        # es (SQuAD rules: no Spanish articles): q1 "casa" vs "la casa": EM 0, F1 2*(1)(1/2)/(3/2) = 2/3
        #     q2 EM 1 F1 1 -> EM 50, F1 (2/3 + 1)/2 = 83.33
        "es": ({"q1": "casa", "q2": "rojo"}, _squad({"q1": ["la casa"], "q2": ["rojo"]})),
    },
    "mlqa": {
        # en: q1 "Louvre" vs "the «Louvre»" (Unicode punctuation and article dropped): EM 1 F1 1
        #     q2 "in 1990" vs "1990": EM 0, F1 2/3 -> EM 50, F1 83.33
        "en": ({"q1": "Louvre", "q2": "in 1990"}, _squad({"q1": ["the «Louvre»"], "q2": ["1990"]})),
        # zh: q1 "北京" vs "北京大学": EM 0, F1 P=1 R=1/2 -> 2/3 | q2 "2020年。" vs "2020年": EM 1 F1 1
        #     q3 unanswered -> EM 1/3 = 33.33, F1 (2/3 + 1 + 0)/3 = 5/9 = 55.56
        "zh": ({"q1": "北京", "q2": "2020年。"}, _squad({"q1": ["北京大学"], "q2": ["2020年"], "q3": ["上海"]})),
    },
    "tydiqa": {
        # en: q1 EM 1 F1 1 (case), q2 "three" vs "two" 0 -> EM = F1 = 50; fi: 100
        "en": ({"q1": "helsinki", "q2": "three"}, _squad({"q1": ["Helsinki"], "q2": ["two"]})["data"]),
        "fi": ({"q1": "Suomi"}, _squad({"q1": ["Suomi"]})["data"]),  # bare article list, like read_squad
    },
    "bucc2018": {
        # de: 1 of 2 predicted pairs correct, 3 gold: P 50, R 33.33, F1 40; fr: all right -> 100
        "de": ("de-1\ten-1\nde-2\ten-5\n", "de-1\ten-1\nde-2\ten-2\nde-3\ten-3\n"),
        "fr": ("fr-1\ten-1\nfr-2\ten-2\n", "fr-2\ten-2\nfr-1\ten-1\n"),
    },
    "tatoeba": {
        # de: 2 of 4 -> 50; fr: 4 of 5 -> 80
        "de": ("0\n1\n3\n2\n", "0\n1\n2\n3\n"),
        "fr": ("0\n1\n2\n3\n0\n", "0\n1\n2\n3\n4\n"),
    },
}


def _write_tree(root, tree=TREE):
    pred_dir, label_dir = root / "pred", root / "labels"
    for task, langs in tree.items():
        for d in (pred_dir, label_dir):
            (d / task).mkdir(parents=True, exist_ok=True)
        for lang, (pred, label) in langs.items():
            suffix = "json" if task in ("xquad", "mlqa", "tydiqa") else "tsv"
            for d, content in ((pred_dir, pred), (label_dir, label)):
                path = d / task / f"test-{lang}.{suffix}"
                text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
                path.write_text(text, encoding="utf-8")
    return pred_dir, label_dir


A = pytest.approx


def test_all_nine_tasks_hand_computed(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path)
    r = score_directory(pred_dir, label_dir)
    t = r["tasks"]
    assert list(t) == ["pawsx", "xnli", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]

    assert t["xnli"]["languages"] == {"de": {"accuracy": 50.0}, "en": {"accuracy": 75.0}}
    assert t["xnli"]["average"] == {"accuracy": 62.5}  # (75+50)/2
    assert t["xnli"]["primary"] == 62.5 and t["xnli"]["gap"] == 25.0  # 75 - 50

    assert t["pawsx"]["languages"] == {"de": {"accuracy": 80.0}, "en": {"accuracy": 100.0}}
    assert t["pawsx"]["primary"] == 90.0 and t["pawsx"]["gap"] == 20.0

    ud = t["udpos"]
    assert ud["languages"]["en"] == {"f1": A(250 / 3), "precision": A(250 / 3), "recall": A(250 / 3), "token_accuracy": A(250 / 3)}
    assert ud["languages"]["de"] == {"f1": 0.0, "precision": 0.0, "recall": 0.0, "token_accuracy": A(200 / 3)}
    # averages: f1 (83.33+0)/2 = 41.67; token accuracy (83.33+66.67)/2 = 75
    assert ud["average"] == {"f1": A(125 / 3), "precision": A(125 / 3), "recall": A(125 / 3), "token_accuracy": A(75.0)}
    assert ud["primary"] == A(125 / 3) and ud["gap"] == A(250 / 3)  # 83.33 - 0

    px = t["panx"]
    assert px["languages"]["en"] == {"f1": A(80.0), "precision": A(100.0), "recall": A(200 / 3), "token_accuracy": A(600 / 7)}
    assert px["languages"]["de"] == {"f1": A(50.0), "precision": A(50.0), "recall": A(50.0), "token_accuracy": A(200 / 3)}
    # f1 (80+50)/2 = 65; P (100+50)/2 = 75; R (66.67+50)/2 = 58.33; tokens (85.71+66.67)/2 = 76.19
    assert px["average"] == {"f1": A(65.0), "precision": A(75.0), "recall": A(175 / 3), "token_accuracy": A(1600 / 21)}
    assert px["primary"] == A(65.0) and px["gap"] == A(30.0)

    xq = t["xquad"]
    assert xq["languages"] == {"en": {"exact_match": A(200 / 3), "f1": A(200 / 3)}, "es": {"exact_match": A(50.0), "f1": A(250 / 3)}}
    # EM (66.67+50)/2 = 58.33; F1 (66.67+83.33)/2 = 75; primary (58.33+75)/2 = 66.67
    assert xq["average"] == {"exact_match": A(175 / 3), "f1": A(75.0)}
    assert xq["primary"] == A(200 / 3)
    assert xq["gap"] == A(50 / 3) and xq["gap_f1"] == A(-50 / 3)  # EM 66.67-50; F1 66.67-83.33

    ml = t["mlqa"]
    assert ml["languages"] == {"en": {"exact_match": A(50.0), "f1": A(250 / 3)}, "zh": {"exact_match": A(100 / 3), "f1": A(500 / 9)}}
    # EM (50+33.33)/2 = 41.67; F1 (83.33+55.56)/2 = 69.44; primary (41.67+69.44)/2 = 55.56
    assert ml["average"] == {"exact_match": A(125 / 3), "f1": A(625 / 9)}
    assert ml["primary"] == A(500 / 9)
    assert ml["gap"] == A(50 / 3) and ml["gap_f1"] == A(250 / 9)  # 50-33.33; 83.33-55.56

    ty = t["tydiqa"]
    assert ty["languages"] == {"en": {"exact_match": 50.0, "f1": 50.0}, "fi": {"exact_match": 100.0, "f1": 100.0}}
    assert ty["primary"] == 75.0 and ty["gap"] == -50.0 and ty["gap_f1"] == -50.0

    bu = t["bucc2018"]
    assert bu["languages"]["de"] == {"f1": A(40.0), "precision": A(50.0), "recall": A(100 / 3)}
    assert bu["languages"]["fr"] == {"f1": 100.0, "precision": 100.0, "recall": 100.0}
    assert bu["average"] == {"f1": A(70.0), "precision": A(75.0), "recall": A(200 / 3)}
    assert bu["primary"] == A(70.0) and bu["gap"] is None  # no English side

    ta = t["tatoeba"]
    assert ta["languages"] == {"de": {"accuracy": 50.0}, "fr": {"accuracy": 80.0}}
    assert ta["primary"] == 65.0 and ta["gap"] is None

    assert r["categories"] == {
        "classification": A(76.25),  # (90 + 62.5)/2
        "structured_prediction": A(160 / 3),  # (41.67 + 65)/2 = 53.33
        "question_answering": A(1775 / 27),  # (66.67 + 55.56 + 75)/3 = 65.74
        "retrieval": A(67.5),  # (70 + 65)/2
    }
    # (62.5 + 90 + 41.67 + 65 + 66.67 + 55.56 + 75 + 70 + 65)/9 = 591.39/9 = 65.71
    assert r["xtreme"] == A((427.5 + 325 / 3 + 500 / 9) / 9)
    assert r["xtreme"] == A(65.70988, abs=1e-5)
    assert r["ignored"] == []


@pytest.mark.filterwarnings("ignore::UserWarning")  # seqeval: "NOUN seems not to be NE tag"
def test_agrees_with_xtreme_evaluate_py(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path)
    ours = score_directory(pred_dir, label_dir)
    overall, detailed = ref.xtreme_evaluate(str(pred_dir), str(label_dir))
    assert len(detailed) == 9 and len(overall) == 5  # nine tasks, four groups + all_task
    for task, scores in detailed.items():
        mine = ours["tasks"][task]
        for metric, per_lang in scores.items():
            if metric.startswith("avg_"):
                continue
            for lang, value in per_lang.items():
                assert mine["languages"][lang][metric] == A(value, abs=1e-9), (task, lang, metric)
            assert mine["average"][metric] == A(scores[f"avg_{metric}"], abs=1e-9)
        assert mine["primary"] == A(scores["avg_metric"], abs=1e-9)
    names = {"classification": "classification", "tagging": "structured_prediction", "qa": "question_answering", "retrieval": "retrieval"}
    assert overall["all_task"] == A(ours["xtreme"], abs=1e-9)
    for group, value in overall.items():
        if group != "all_task":
            assert ours["categories"][names[group]] == A(value, abs=1e-9)


def test_partial_tree_has_no_xtreme_score_and_ignores_unknown_dirs(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"xnli": TREE["xnli"], "udpos": TREE["udpos"]})
    (pred_dir / "notes").mkdir()
    (pred_dir / ".cache").mkdir()
    r = score_directory(pred_dir, label_dir)
    assert list(r["tasks"]) == ["xnli", "udpos"]
    assert r["categories"] == {} and r["xtreme"] is None
    assert r["ignored"] == ["notes"]


def test_lenient_blank_lines(tmp_path):
    tree = {
        # trailing blank lines in a label file are not items (XTREME would count '' == '' as correct)
        "xnli": {"en": ("a\nb\n", "a\nc\n\n\n")},  # 1 of 2 -> 50
        # runs of blank lines between / after sentences do not create empty sentences
        "udpos": {"en": ("NOUN\n\n\n\nVERB\n\n\n", "NOUN\n\nVERB")},  # 2 chunks, both right -> 100
    }
    pred_dir, label_dir = _write_tree(tmp_path, tree)
    r = score_directory(pred_dir, label_dir)
    assert r["tasks"]["xnli"]["languages"]["en"] == {"accuracy": 50.0}
    assert r["tasks"]["udpos"]["languages"]["en"]["f1"] == 100.0


def test_qa_labels_as_id_to_answers_mapping(tmp_path):
    tree = {"xquad": {"en": ({"q1": "the Eiffel Tower", "q2": "x"}, {"q1": "Eiffel Tower", "q2": ["y", "x"]})}}
    pred_dir, label_dir = _write_tree(tmp_path, tree)
    assert score_directory(pred_dir, label_dir)["tasks"]["xquad"]["languages"]["en"] == {"exact_match": 100.0, "f1": 100.0}


# ------------------------------------------------------------------ errors


def _one_line_error(pred_dir, label_dir):
    with pytest.raises(XgapError) as err:
        score_directory(pred_dir, label_dir)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_missing_label_language_file(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path)
    (label_dir / "xnli" / "test-de.tsv").unlink()
    msg = _one_line_error(pred_dir, label_dir)
    assert "missing label file" in msg and str(label_dir / "xnli" / "test-de.tsv") in msg


def test_missing_prediction_language_file(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path)
    (pred_dir / "mlqa" / "test-zh.json").unlink()
    msg = _one_line_error(pred_dir, label_dir)
    assert "missing prediction file" in msg and str(pred_dir / "mlqa" / "test-zh.json") in msg


def test_missing_label_task_directory(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"xnli": TREE["xnli"]})
    (pred_dir / "pawsx").mkdir()
    (pred_dir / "pawsx" / "test-en.tsv").write_text("1\n")
    msg = _one_line_error(pred_dir, label_dir)
    assert str(label_dir / "pawsx") in msg


def test_count_mismatch_names_files_and_counts(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"xnli": {"en": ("a\nb\nc\n", "a\nb\nc\nd\n")}})
    msg = _one_line_error(pred_dir, label_dir)
    assert "3 predictions but 4 gold" in msg and "test-en.tsv" in msg and "xnli en" in msg


def test_tag_length_mismatch(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"panx": {"en": ("O\nO\n\nB-PER\n", "O\n\nB-PER\n")}})
    msg = _one_line_error(pred_dir, label_dir)
    assert "sentence 0: 2 predicted tags but 1 gold" in msg


def test_malformed_lines(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"bucc2018": {"de": ("de-1 en-1\n", "de-1\ten-1\n")}})
    assert "expected 'src_id<TAB>tgt_id'" in _one_line_error(pred_dir, label_dir)
    pred_dir, label_dir = _write_tree(tmp_path / "t", {"tatoeba": {"de": ("0\nx\n", "0\n1\n")}})
    assert "expected an integer" in _one_line_error(pred_dir, label_dir)
    pred_dir, label_dir = _write_tree(tmp_path / "q", {"xquad": {"en": ("not json", _squad({"q": ["a"]}))}})
    assert "invalid JSON" in _one_line_error(pred_dir, label_dir)


def test_mlqa_unknown_language(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path, {"mlqa": {"fr": ({"q": "a"}, _squad({"q": ["a"]}))}})
    assert "'fr'" in _one_line_error(pred_dir, label_dir)


def test_empty_or_missing_directories(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "l").mkdir()
    assert "no task directory" in _one_line_error(tmp_path / "p", tmp_path / "l")
    assert "does not exist" in _one_line_error(tmp_path / "nope", tmp_path / "l")


def test_format_score_table(tmp_path):
    pred_dir, label_dir = _write_tree(tmp_path)
    text = format_score_table(score_directory(pred_dir, label_dir))
    assert "== xnli: accuracy 62.50 (gap 25.00)" in text
    assert "== mlqa: (EM+F1)/2 55.56 (EM gap 16.67, F1 gap 27.78)" in text
    assert "== bucc2018: f1 70.00 (gap n/a)" in text
    assert "classification" in text and "76.25" in text
    assert "en       80.00     100.00     66.67           85.71" in text  # panx row: f1 P R token acc
    assert "XTREME score: 65.71" in text
    partial = format_score_table(score_directory(*_write_tree(tmp_path / "x", {"xnli": TREE["xnli"]})))
    assert "XTREME score: n/a (needs all nine tasks)" in partial and "(none complete)" in partial


# ------------------------------------------------------------------ real data (../shared/data)


def _synthetic_predictions(golds: dict, seed: int) -> dict:
    """Deterministic mix of exact, decorated, partial, wrong and missing answers."""
    import random

    rng = random.Random(seed)
    ids = list(golds)
    preds = {}
    for i, qid in enumerate(ids):
        answer = golds[qid][0]
        mode = i % 5
        if mode == 0:
            preds[qid] = answer
        elif mode == 1:
            preds[qid] = f"The {answer}."
        elif mode == 2:
            preds[qid] = " ".join(answer.split()[: max(1, len(answer.split()) // 2)]) or answer[: len(answer) // 2]
        elif mode == 3:
            preds[qid] = golds[rng.choice(ids)][0]
        # mode 4: unanswered
    return preds


@pytest.mark.slow
def test_real_xquad_and_mlqa_agree_with_xtreme_evaluate_py(tmp_path, data_dir):
    from xgap.metrics.squad import golds_from_squad_json

    sources = {
        ("xquad", "en"): data_dir / "xquad" / "xquad.en.json",
        ("xquad", "de"): data_dir / "xquad" / "xquad.de.json",
        ("xquad", "zh"): data_dir / "xquad" / "xquad.zh.json",
        ("mlqa", "de"): data_dir / "mlqa" / "de" / "dev-context-de-question-de.from_arrow.json",
    }
    pred_dir, label_dir = tmp_path / "pred", tmp_path / "labels"
    for (task, lang), src in sources.items():
        if not src.is_file():
            pytest.skip(f"{src} not present")
        doc = json.loads(src.read_text(encoding="utf-8"))
        for d in (pred_dir, label_dir):
            (d / task).mkdir(parents=True, exist_ok=True)
        (label_dir / task / f"test-{lang}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        preds = _synthetic_predictions(golds_from_squad_json(doc), seed=len(lang))
        (pred_dir / task / f"test-{lang}.json").write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")
    ours = score_directory(pred_dir, label_dir)
    _, detailed = ref.xtreme_evaluate(str(pred_dir), str(label_dir))
    for task in ("xquad", "mlqa"):
        for metric in ("exact_match", "f1"):
            for lang, value in detailed[task][metric].items():
                assert ours["tasks"][task]["languages"][lang][metric] == A(value, abs=1e-9), (task, lang, metric)
        assert ours["tasks"][task]["primary"] == A(detailed[task]["avg_metric"], abs=1e-9)
    # the synthetic mix is neither perfect nor hopeless
    assert 20 < ours["tasks"]["xquad"]["languages"]["en"]["exact_match"] < 80
