"""A fixed, deterministic run used to check that a refactoring leaves result records byte-identical.

    python tests/tools/fixed_run.py OUT_DIR            # needs ../shared/data (or $XGAP_DATA_DIR); run both
                                                       # sides into the same OUT_DIR path (paths are recorded)
    python tests/tools/fixed_run.py --compare A B      # compare two OUT_DIRs, ignoring code-version fields

It builds tiny random checkpoints (seeded) for every zero-shot format with local data -- sequence
classification (pawsx, xnli), tagging (udpos), extractive QA (xquad) and retrieval (tatoeba) --
runs ``xgap run`` on the first 40 examples of a few languages of each task, and leaves the result store
in OUT_DIR/results. ``--compare`` prints every record/sidecar that differs after removing the fields
that name the code version (``xgap_version``, ``git_commit``, timestamps and durations).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORED = {"xgap_version", "git_commit", "git_dirty", "created", "created_at", "timestamp", "started", "finished",
           "duration_s", "wall_s", "elapsed_s", "code_version", "python", "torch", "transformers", "platform",
           "host", "hostname", "runtime", "started_at", "wall_seconds", "updated_at"}


def _tiny():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from helpers.tiny import build_tiny_checkpoint  # after the restructuring
    except ImportError:
        from helpers.tiny import build_tiny_checkpoint  # before it
    return build_tiny_checkpoint


def run(out: Path) -> int:
    from xgap.cli import main

    out.mkdir(parents=True, exist_ok=True)
    (out / "out_path.txt").write_text(str(out.resolve()), encoding="utf-8")  # --compare masks it
    data = Path(os.environ.get("XGAP_DATA_DIR", ROOT.parent / "shared" / "data"))
    build = _tiny()
    pawsx = (data / "pawsx/de/test.tsv").read_text(encoding="utf-8").splitlines()[1:300]
    xquad = json.loads((data / "xquad/xquad.en.json").read_text(encoding="utf-8"))
    ctx = [p["context"] for a in xquad["data"] for p in a["paragraphs"]][:40]
    texts = [c for line in pawsx for c in line.split("\t")[1:3]] + ctx
    models = out / "models"
    m = {
        "pawsx": build(models / "cls", texts, head="sequence-classification", labels=["0", "1"]),
        "xnli": build(models / "nli", texts, head="sequence-classification", labels=["contradiction", "entailment", "neutral"]),
        "udpos": build(models / "tag", texts, head="token-classification",
                       labels="ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()),
        "xquad": build(models / "qa", texts, head="question-answering"),
        "tatoeba": build(models / "enc", texts, head="encoder"),
    }
    langs = {"pawsx": "de", "xnli": "de", "udpos": "en,fr,zh", "xquad": "en,de,zh",
             "tatoeba": "de,fr,zh"}
    for task, path in m.items():
        rc = main(["--quiet", "run", "--tasks", task, "--langs", langs[task], "--limit", "40", "--bootstrap", "50",
                   "--data-dir", str(data), "--output", str(out / "results"), "--submission-id", "fixed",
                   "--cache-dir", str(out / "cache"), "--model", str(path)])
        if rc:
            return rc
    return 0


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in IGNORED}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _text(root: Path, rel: Path) -> bytes:
    """The file with the run's own folder masked, so runs in different folders compare equal."""
    data = (root / rel).read_bytes()
    marker = root / "out_path.txt"
    if marker.exists():
        data = data.replace(marker.read_text(encoding="utf-8").strip().encode(), b"<OUT>")
    return data


def compare(a: Path, b: Path) -> int:
    fa = {p.relative_to(a) for p in (a / "results").rglob("*") if p.is_file() and ".lock" not in p.name}
    fb = {p.relative_to(b) for p in (b / "results").rglob("*") if p.is_file() and ".lock" not in p.name}
    bad = sorted(fa ^ fb)
    for rel in sorted(fa & fb):
        x, y = _text(a, rel), _text(b, rel)
        if x == y:
            continue
        try:
            if _strip(json.loads(x)) == _strip(json.loads(y)):
                continue
        except ValueError:
            pass
        bad.append(rel)
    print(f"{len(fa & fb)} files in both, {len(fa ^ fb)} in one only, {len(bad)} differ")
    for rel in bad:
        print("  differs:", rel)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    sys.exit(run(Path(sys.argv[1])))
