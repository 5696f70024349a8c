"""Synthetic result records, for tests and ``benchmarks/leaderboard.py``.

Why: the benchmark, the tests and anyone debugging the site need stores of known content without
running a model. Test-only, so it lives under ``tests/helpers/`` and is not shipped. Records follow the runner's shape exactly (same fields, same
provenance keys) so the site is exercised on what ``xgap run`` really writes.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path


def _h(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def evaluated_record(submission: str, task: str, lang: str, score: float, *, qa: bool = False, primary_metric: str = "accuracy",
                     params: int | None = 22713216, n: int = 1000, seed: int = 0) -> dict:
    """A record shaped like the runner's; for QA, ``score`` is EM and F1 is EM + 10."""
    if qa:
        em, f1 = score, min(100.0, score + 10.0)
        metrics = {"exact_match": em, "f1": f1, "em_f1_mean": (em + f1) / 2}
        primary, primary_metric = (em + f1) / 2, "em_f1_mean"
    else:
        metrics = {primary_metric: score}
        primary = score
    half = 100.0 / (n ** 0.5)
    return {
        "record_version": 1, "status": "evaluated", "submission": submission, "task": task, "language": lang, "split": "test",
        "metrics": metrics, "primary_metric": primary_metric, "primary_score": primary, "n_examples": n,
        "ci95": {primary_metric: [primary - half, primary + half]},
        "settings": {"max_length": 256, "batch_tokens": 16384, "limit": None, "bootstrap_resamples": 1000},
        "input_key": _h(submission, task, lang, seed),
        "provenance": {
            "xgap_version": "0.1.0", "git_commit": _h("commit")[:40], "card_version": 1, "card_hash": _h("card", task),
            "data_origin": f"local:/data/{task}/{lang}", "data_fingerprint": _h("data", task, lang),
            "model": {"id": f"org/{submission}", "revision": None, "weights_hash": _h("weights", submission)},
            **({"parameters": {"total": params, "non_embedding": params // 2}} if params else {}),
            "libraries": {"torch": "2.3.0", "transformers": "4.44.0"}, "device": "cpu:x86_64 (16 threads)", "seed": 0,
            "started_at": "2025-01-01T00:00:00+00:00", "wall_seconds": 1.25,
        },
    }


def manifest_doc(submission: str, name: str | None = None, intermediate="none", params: int | None = None,
                 reported: bool = False) -> dict:
    """A ``<submission>/manifest.json`` document (the runner's layout)."""
    manifest = {"id": submission, "name": name or submission, "model": {"hub": f"org/{submission}"},
                "base_encoder": "synthetic", "intermediate": intermediate, "license": "apache-2.0", "authors": ["xgap tests"]}
    if reported:
        manifest["reported"] = True
    return {"manifest": manifest,
            "parameters": ({"total": params, "non_embedding": None if reported else params // 2, **({"reported": True} if reported else {})}
                           if params else None),
            "updated_at": "2025-01-01T00:00:00+00:00"}


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def synthetic_store(root: str | Path, n_submissions: int, seed: int = 0, tasks=None, intermediates=("none", "mnli", "squad", "anli_plus"),
                    start: int = 0) -> int:
    """Write ``n_submissions`` complete submissions (every target task, every card language); return the record count.

    Scores follow a gentle size trend with noise, so the scaling view has something to show.
    Prediction sidecars are not written (the leaderboard does not read them).
    """
    from xgap.leaderboard.model import target_tasks

    rng = random.Random(seed)
    root = Path(root)
    tasks = tasks or target_tasks()
    count = 0
    for i in range(start, start + n_submissions):
        sub = f"synthetic-{i:04d}"
        params = int(10 ** rng.uniform(7.3, 9.5))
        inter = intermediates[i % len(intermediates)]
        write_json(root / sub / "manifest.json", manifest_doc(sub, f"Synthetic model {i}", inter, params))
        base = 40 + 8 * (params and (len(str(params)) - 7)) + rng.uniform(-5, 5)
        for t in tasks:
            en_bonus = 12 - 2 * (len(str(params)) - 7)
            for lang in t.languages:
                s = max(0.0, min(100.0, base + (en_bonus if lang == t.english else 0) + rng.uniform(-8, 8)))
                rec = evaluated_record(sub, t.name, lang, round(s, 4), qa=t.is_qa, primary_metric=t.primary_metric, params=params)
                write_json(root / sub / t.name / f"{lang}.json", rec)
                count += 1
    return count
