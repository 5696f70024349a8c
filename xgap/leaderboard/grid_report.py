"""The text report of ``xgap grid report``: a grid summary as Markdown tables.

The figures come from :mod:`xgap.grid.summary` (computation only); this module decides how they
read: per target a table of cells (gap with its 95% half-width) and a table of gains against
``none``. Standard library only, so the report needs no plotting libraries.
"""

from __future__ import annotations

from xgap.grid.summary import gain_rows, target_languages
from xgap.leaderboard.formatting import fmt2, fmt_change, fmt_gap, fmt_params


def _md(text) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(summary) -> str:
    """The grid as Markdown: per target a table of cells and a table of gains against ``none``."""
    out = [f"# {_md(summary.title)} (experiment `{_md(summary.experiment)}`)", ""]
    out.append("Scores over the languages present in the records; gap = English - mean of the others "
               "(exact match for QA); \u00b1 is the 95% half-width: over seeds (t-based) with several seeds, "
               "else from the per-language bootstrap intervals assuming independent languages.")
    out.append("")
    for target in summary.targets:
        langs = target_languages(summary, target)
        out += [f"## {_md(target)}", ""]
        head = ["encoder", "size", "parameters", "setting", "seeds", "en", "mean others", "score", "gap \u00b1 95%", *langs]
        out.append("| " + " | ".join(_md(h) for h in head) + " |")
        out.append("|" + "|".join(["---"] * 5 + ["---:"] * (len(head) - 5)) + "|")
        for c in summary.target_cells(target):
            row = [c.encoder, c.size, fmt_params(c.parameters), c.intermediate, ",".join(map(str, c.seeds)),
                   fmt2(c.english), fmt2(c.others_mean), fmt2(c.task_score), fmt_gap(c),
                   *[fmt2(c.per_lang.get(l)) for l in langs]]
            out.append("| " + " | ".join(_md(v) for v in row) + " |")
        missing = [c for c in summary.target_cells(target) if c.missing_langs]
        for c in missing:
            out.append(f"\nMissing in {_md(c.encoder)} {_md(c.size)} / {_md(c.intermediate)}: {', '.join(map(_md, c.missing_langs))}")
        out += ["", f"### Gain from intermediate training vs none ({_md(target)})", ""]
        rows = gain_rows(summary, target)
        if rows:
            out.append("| encoder | size | parameters | setting | score gain | English gain | gap change \u00b1 95% |")
            out.append("|---|---|---|---|---:|---:|---:|")
            for r in rows:
                out.append(f"| {_md(r.encoder)} | {_md(r.size)} | {fmt_params(r.parameters)} | {_md(r.setting)} | "
                           f"{fmt2(r.score_gain, True)} | {fmt2(r.english_gain, True)} | {fmt_change(r)} |")
            out.append("")
            out.append("Gap change \u00b1: a paired t-interval over the seeds both cells share; with one seed, from the two "
                       "bootstrap standard errors. An interval that contains 0 means no detectable effect.")
        else:
            out.append("No intermediate settings besides none.")
        out.append("")
    out.append("Stand-ins: " + ("; ".join(_md(s) for s in summary.stand_ins) if summary.stand_ins else "none"))
    return "\n".join(out) + "\n"
