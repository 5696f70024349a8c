"""``xgap train intermediate`` and ``xgap train target`` (thin wrappers over :mod:`xgap.training.api`).

Imports only the standard library at module level: ``xgap --help`` must not import torch.
"""

from __future__ import annotations

import argparse
import os

from xgap.argtypes import batch_size, float_range, fraction, int_range, positive_float, positive_int, seed_int

max_length = int_range(2, 1 << 20)
holdout = float_range(0.0, 1.0, lo_open=True, what="a fraction")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="the encoder: a local checkpoint folder or a hub id")
    p.add_argument("--output", required=True, help="folder to write the trained checkpoint, lineage.json and train_log.jsonl into")
    p.add_argument("--data-dir", help="local data in the original layouts (default: $XGAP_DATA_DIR, then the hub)")
    p.add_argument("--revision", help="hub revision (commit) of --model")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the checkpoint's own Python code (off by default)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="float32 (default) or bf16 autocast with float32 master weights")
    p.add_argument("--seed", type=seed_int, help="random seed (default: the card recipe's, 0)")
    p.add_argument("--max-steps", type=positive_int, help="stop after N optimizer steps (the LR schedule is laid out over N; smoke runs)")
    p.add_argument("--limit", type=positive_int, help="use only the first N training (and dev) examples per task (smoke runs)")
    p.add_argument("--dev-limit", type=positive_int, help="use only the first N dev examples per task (default: --limit)")
    p.add_argument("--lr", type=positive_float, dest="learning_rate", help="override the card's learning rate")
    p.add_argument("--epochs", type=positive_float, help="override the card's epochs")
    p.add_argument("--batch-size", type=batch_size, help="override the card's (effective) batch size")
    p.add_argument("--micro-batch-size", type=batch_size, help="examples per forward pass; the batch is reached by gradient accumulation")
    p.add_argument("--micro-batch-tokens", type=positive_int,
                   help="split each batch into length-sorted micro-batches of at most N padded tokens: the same gradient with "
                        "less padding (faster on CPU for random batches of mixed lengths)")
    p.add_argument("--warmup-ratio", type=fraction, help="override the card's warm-up share of the steps")
    p.add_argument("--eval-every", type=positive_int, help="evaluate on English dev every N steps (default: the card's eval_every_steps)")
    p.add_argument("--save-every", type=positive_int, help="save resumable state every N steps (default: at every evaluation)")
    p.add_argument("--patience", type=positive_int, help="stop after N evaluations without improvement (default: the card's)")
    p.add_argument("--max-length", type=max_length, help="override the card's max sequence length")
    p.add_argument("--batching", choices=["random", "length-grouped"],
                   help="batch composition (default: the card recipe's, random = shuffled batches as transformers' Trainer; "
                        "length-grouped = batches of similar length, less padding)")
    p.add_argument("--loss-weighting", choices=["batch-mean", "per-token"],
                   help="loss of a batch: mean over its labelled tokens (batch-mean, default) or their sum over the mean per batch "
                        "of the epoch (per-token: every labelled token weighs the same; use it with --batching length-grouped)")
    p.add_argument("--freeze-embeddings", action="store_true", default=None,
                   help="keep the encoder's word-embedding matrix fixed (a recorded recipe override; saves most of an "
                        "optimizer step on large-vocabulary encoders)")
    p.add_argument("--head-seed", type=seed_int, help="seed of the fresh head's initialisation (default: the card recipe's, else --seed)")
    p.add_argument("--train-from", metavar="TASK/LANG/SPLIT",
                   help="stand-in training data from another card of the same format, e.g. xquad/en/test for squad")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: cuda when available)")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier training run in --output (finished or interrupted) and train anew")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep checkpoint-last/ and checkpoint-best/ after training")
    from xgap.commands.options import add_data_acceptance_arguments

    add_data_acceptance_arguments(p)


def _kwargs(args) -> dict:
    keys = ("data_dir", "revision", "trust_remote_code", "dtype", "seed", "max_steps", "limit", "dev_limit", "learning_rate", "epochs",
            "batch_size", "micro_batch_size", "micro_batch_tokens", "warmup_ratio", "eval_every", "save_every", "patience", "max_length", "device",
            "overwrite", "keep_checkpoints", "train_from", "batching", "loss_weighting", "head_seed", "freeze_embeddings")
    kw = {k: getattr(args, k) for k in keys}
    kw["progress"] = not (getattr(args, "quiet", False) or os.environ.get("XGAP_QUIET"))
    return kw


def _report(result) -> None:
    from xgap.training.lineage import describe_chain

    lin = result.lineage
    steps = lin["steps"]
    how = "reused (same inputs, already trained)" if result.reused else (
        f"best dev {lin['selection']['best_score']:.2f} at step {steps['best']} of {steps['completed']}"
        + (" (early stop)" if steps.get("early_stopped") else "") + f" in {lin['provenance']['train_seconds']:.0f}s")
    print(f"{lin['kind']} {'+'.join(t['task'] for t in lin['tasks'])}: {how}")
    for t in lin["tasks"]:
        dev = (lin["selection"].get("dev") or {}).get(t["task"], {})
        shown = ", ".join(f"{k} {v:.2f}" for k, v in dev.items() if k != "primary")
        print(f"  {t['task']}: {t['train']['examples']} train examples, {t['dev']['examples']} dev; {shown}")
    print(f"  lineage: {describe_chain(lin['chain'])}")
    print(f"  -> {result.output}")


def cmd_train_intermediate(args) -> int:
    from xgap.data.hub import accepting
    from xgap.training.api import train_intermediate

    tasks = [t for item in args.tasks for t in item.split(",") if t.strip()]
    with accepting(args.accept_non_comparable_hub, args.accept_size_mismatch):
        result = train_intermediate(args.model, tasks, args.output, cap=args.cap, dev_holdout=args.dev_holdout, **_kwargs(args))
    _report(result)
    return 0


def cmd_train_target(args) -> int:
    from xgap.data.hub import accepting
    from xgap.training.api import train_target

    with accepting(args.accept_non_comparable_hub, args.accept_size_mismatch):
        result = train_target(args.model, args.task, args.output, train_split=args.train_split, dev_holdout=args.dev_holdout,
                              **_kwargs(args))
    _report(result)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="phase (ii) intermediate-task training and phase (iii) target-task fine-tuning")
    sub = p.add_subparsers(dest="train_command", metavar="ACTION")

    pi = sub.add_parser("intermediate", help="fine-tune an encoder on English intermediate task(s); save the encoder (heads dropped)",
                        description="Fine-tune on one or more intermediate tasks (multi-task: one shared encoder, a head per task, "
                                    "tasks drawn per step in proportion to their training-set sizes) and keep the checkpoint with "
                                    "the best (mean) English dev score. Saves the encoder, heads/<task>.safetensors and lineage.json.")
    pi.add_argument("--tasks", action="append", required=True, metavar="TASK[,TASK...]",
                    help="intermediate task card(s): mnli, squad, hellaswag, ... (comma-separated or repeated)")
    pi.add_argument("--cap", type=positive_int, help="multi-task: cap each task's sampling weight at N examples (default: card protocol.multitask_cap)")
    pi.add_argument("--dev-holdout", type=holdout, metavar="FRACTION",
                    help="single task: select on the last FRACTION of the training data instead of the dev split")
    _common(pi)
    pi.set_defaults(func=cmd_train_intermediate)

    pt = sub.add_parser("target", help="fine-tune a fresh head on a target task's English training data (card recipe)",
                        description="Phase (iii): fine-tune on the target task's English training data with the card's recipe, "
                                    "select on English dev, early-stop after the card's patience. The output is a checkpoint "
                                    "that `xgap run --model TASK=OUTPUT` evaluates zero-shot.")
    pt.add_argument("--task", required=True, help="target task card: xnli, pawsx, udpos, panx, xquad, mlqa, tydiqa")
    pt.add_argument("--train-split", default="train", choices=["train", "dev"],
                    help="English split to train on (default train; dev = a stand-in where no training set is available)")
    pt.add_argument("--dev-holdout", type=holdout, metavar="FRACTION",
                    help="select on the last FRACTION of the training split instead of the dev split")
    _common(pt)
    pt.set_defaults(func=cmd_train_target)

