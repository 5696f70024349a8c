"""``xgap score``: score predictions in XTREME's layout against labels (like XTREME's ``evaluate.py``)."""

from __future__ import annotations

import json


def cmd_score(args) -> int:
    from xgap.scoring import format_score_table, score_directory

    result = score_directory(args.pred_dir, args.label_dir)
    print(json.dumps(result, indent=2) if args.json else format_score_table(result))
    return 0


def register(subparsers) -> None:
    p_score = subparsers.add_parser("score", help="score predictions in XTREME's layout against labels (like XTREME's evaluate.py)")
    p_score.add_argument("pred_dir", help="predictions in XTREME's layout (written by `xgap export`)")
    p_score.add_argument("label_dir", help="gold labels in XTREME's layout (written by `xgap export-labels`)")
    p_score.add_argument("--json", action="store_true", help="print the scores as JSON")
    p_score.set_defaults(func=cmd_score)
