"""``xgap tasks list|show``: the task cards."""

from __future__ import annotations

import json

from xgap.commands.tables import print_table


def cmd_tasks_list(args) -> int:
    from xgap.cards import list_cards

    cards = list_cards()
    rows = [("task", "kind", "format", "langs", "primary metric", "version")]
    rows += [(c.name, c.kind, c.format, str(len(c.languages)), c.primary_metric, str(c.version)) for c in cards]
    print_table(rows)
    print(f"{len(cards)} tasks ({sum(c.kind == 'target' for c in cards)} targets, {sum(c.kind == 'intermediate' for c in cards)} intermediate)")
    return 0


def cmd_tasks_show(args) -> int:
    from xgap.cards import load_card

    card = load_card(args.name)
    if args.json:
        print(json.dumps(card.data, indent=2, ensure_ascii=False))
        return 0
    import yaml

    print(f"# {card.name} ({card.path}) - resolved card, includes merged; hash {card.hash[:12]}")
    print(yaml.safe_dump(card.data, sort_keys=False, allow_unicode=True, width=110).rstrip())
    return 0


def register(subparsers) -> None:
    p_tasks = subparsers.add_parser("tasks", help="list or show task cards")
    tsub = p_tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    tsub.add_parser("list", help="the 18 tasks with kind, format, languages, primary metric").set_defaults(func=cmd_tasks_list)
    p_show = tsub.add_parser("show", help="a resolved card (after include:)")
    p_show.add_argument("name", help="task name, e.g. xnli (see `xgap tasks list`)")
    p_show.add_argument("--json", action="store_true", help="print the resolved card as JSON instead of YAML")
    p_show.set_defaults(func=cmd_tasks_show)
