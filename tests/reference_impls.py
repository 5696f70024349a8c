"""Independent transcriptions of the reference scorers, used only to cross-check xgap's metrics.

- ``squad_*``: the official SQuAD v1.1 ``evaluate-v1.1.py`` (XTREME's ``third_party/evaluate_squad.py``).
- ``mlqa_*``: facebookresearch/MLQA ``mlqa_evaluation_v1.py`` (XTREME's ``third_party/evaluate_mlqa.py``).
- ``xtreme_*``: google-research/xtreme ``evaluate.py`` (readers, metric functions, averaging); the one
  change is that languages are discovered from the prediction folder instead of XTREME's fixed list.

Written out here (not imported from xgap) so that a bug in xgap cannot hide in both.
"""

import json
import os
import re
import string
import sys
import unicodedata
from collections import Counter, defaultdict

from seqeval.metrics import f1_score as seq_f1
from seqeval.metrics import precision_score as seq_p
from seqeval.metrics import recall_score as seq_r

# ---------------------------------------------------------------- SQuAD v1.1


def squad_normalize(s):
    s = s.lower()
    s = "".join(c for c in s if c not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_f1(prediction, ground_truth):
    p = squad_normalize(prediction).split()
    g = squad_normalize(ground_truth).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0
    precision, recall = 1.0 * same / len(p), 1.0 * same / len(g)
    return (2 * precision * recall) / (precision + recall)


def squad_em(prediction, ground_truth):
    return squad_normalize(prediction) == squad_normalize(ground_truth)


def squad_evaluate(dataset, predictions):
    f1 = em = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                truths = [a["text"] for a in qa["answers"]]
                pred = predictions[qa["id"]]
                em += max(squad_em(pred, t) for t in truths)
                f1 += max(squad_f1(pred, t) for t in truths)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


# ---------------------------------------------------------------- MLQA v1

MLQA_PUNCT = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}.union(
    string.punctuation
)


def _mlqa_mixed(text):
    out, tmp = [], ""
    for ch in text:
        if re.search(r"[\u4e00-\u9fa5]", ch) or ch in MLQA_PUNCT:
            if tmp != "":
                out.extend(tmp.split())
                tmp = ""
            out.append(ch)
        else:
            tmp += ch
    if tmp != "":
        out.extend(tmp.split())
    return out


def mlqa_normalize(s, lang):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in MLQA_PUNCT)
    if lang == "en":
        s = re.sub(r"\b(a|an|the)\b", " ", s)
    elif lang == "es":
        s = re.sub(r"\b(un|una|unos|unas|el|la|los|las)\b", " ", s)
    elif lang == "vi":
        s = re.sub(r"\b(của|là|cái|chiếc|những)\b", " ", s)
    elif lang == "de":
        s = re.sub(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b", " ", s)
    elif lang == "ar":
        s = re.sub("\\sال^|ال", " ", s)
    elif lang in ("hi", "zh"):
        pass
    else:
        raise Exception(f"Unknown Language {lang}")
    if lang in ["en", "es", "hi", "vi", "de", "ar"]:
        tokens = s.split()
    elif lang == "zh":
        tokens = _mlqa_mixed(s)
    else:
        raise Exception(f"Unknown Language {lang}")
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_f1(prediction, ground_truth, lang):
    p = mlqa_normalize(prediction, lang).split()
    g = mlqa_normalize(ground_truth, lang).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0
    precision, recall = 1.0 * same / len(p), 1.0 * same / len(g)
    return (2 * precision * recall) / (precision + recall)


def mlqa_em(prediction, ground_truth, lang):
    return mlqa_normalize(prediction, lang) == mlqa_normalize(ground_truth, lang)


def mlqa_evaluate(dataset, predictions, lang):
    f1 = em = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                truths = [a["text"] for a in qa["answers"]]
                pred = predictions[qa["id"]]
                em += max(mlqa_em(pred, t, lang) for t in truths)
                f1 += max(mlqa_f1(pred, t, lang) for t in truths)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


# ---------------------------------------------------------------- XTREME evaluate.py


def xtreme_read_tag(path):
    labels, example = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                example.append(line)
            else:
                labels.append(example)
                example = []
    if example:
        labels.append(example)
    return labels


def xtreme_read_label(path):
    with open(path) as f:
        return [line.strip() for line in f]


def xtreme_read_squad(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["data"] if "data" in doc else doc


def xtreme_f1(labels, predictions, language=None):
    return {
        "f1": seq_f1(labels, predictions) * 100,
        "precision": seq_p(labels, predictions) * 100,
        "recall": seq_r(labels, predictions) * 100,
    }


def xtreme_accuracy(labels, predictions, language=None):
    correct = sum(int(p == l) for p, l in zip(predictions, labels))
    return {"accuracy": float(correct) / len(predictions) * 100}


def xtreme_bucc_f1(labels, predictions, language=None):
    labels = {tuple(l.split("\t")) for l in labels}
    predictions = {tuple(l.split("\t")) for l in predictions}
    n = len(labels & predictions)
    if n > 0:
        p, r = n / len(predictions), n / len(labels)
        f = 2 * p * r / (p + r)
    else:
        p = r = f = 0
    return {"f1": f * 100, "precision": p * 100, "recall": r * 100}


XTREME_GROUPS = {
    "classification": ["pawsx", "xnli"],
    "tagging": ["udpos", "panx"],
    "qa": ["xquad", "mlqa", "tydiqa"],
    "retrieval": ["bucc2018", "tatoeba"],
}
XTREME_READER = {
    "pawsx": xtreme_read_label, "xnli": xtreme_read_label, "panx": xtreme_read_tag, "udpos": xtreme_read_tag,
    "bucc2018": xtreme_read_label, "tatoeba": xtreme_read_label, "xquad": xtreme_read_squad,
    "mlqa": xtreme_read_squad, "tydiqa": xtreme_read_squad,
}
XTREME_METRIC = {
    "pawsx": xtreme_accuracy, "xnli": xtreme_accuracy, "panx": xtreme_f1, "udpos": xtreme_f1,
    "bucc2018": xtreme_bucc_f1, "tatoeba": xtreme_accuracy,
    "xquad": lambda l, p, lang: squad_evaluate(l, p),
    "mlqa": lambda l, p, lang: mlqa_evaluate(l, p, lang),
    "tydiqa": lambda l, p, lang: squad_evaluate(l, p),
}


def xtreme_evaluate(prediction_folder, label_folder):
    """(overall_scores, detailed_scores) as XTREME's evaluate(); languages discovered from files."""
    pred_tasks = next(os.walk(prediction_folder))[1]
    label_tasks = next(os.walk(label_folder))[1]
    detailed = {}
    for task in XTREME_READER:
        if task in pred_tasks and task in label_tasks:
            suffix = "json" if task in XTREME_GROUPS["qa"] else "tsv"
            langs = sorted(f[len("test-"):-len(suffix) - 1] for f in os.listdir(os.path.join(prediction_folder, task)))
            score = defaultdict(dict)
            for lg in langs:
                pf = os.path.join(prediction_folder, task, f"test-{lg}.{suffix}")
                lf = os.path.join(label_folder, task, f"test-{lg}.{suffix}")
                preds, labels = XTREME_READER[task](pf), XTREME_READER[task](lf)
                if task not in ["bucc2018", "mlqa", "tydiqa", "xquad"]:
                    assert len(preds) == len(labels)
                for metric, value in XTREME_METRIC[task](labels, preds, lg).items():
                    score[metric][lg] = value
            avg = {f"avg_{m}": sum(score[m].values()) / len(score[m]) for m in score}
            score.update(avg)
            if task in XTREME_GROUPS["qa"]:
                score["avg_metric"] = (score["avg_exact_match"] + score["avg_f1"]) / 2
            elif "avg_f1" in score:
                score["avg_metric"] = score["avg_f1"]
            elif "avg_accuracy" in score:
                score["avg_metric"] = score["avg_accuracy"]
            detailed[task] = score
    overall = {}
    available = set(detailed)
    if available == set(XTREME_READER):
        overall["all_task"] = sum(detailed[t]["avg_metric"] for t in XTREME_READER) / len(XTREME_READER)
    for group, tasks in XTREME_GROUPS.items():
        if not set(tasks) - available:
            overall[group] = sum(detailed[t]["avg_metric"] for t in tasks) / len(tasks)
    return overall, detailed
