"""Experiment-grid pages of the static site: ``grids/<experiment>.html``, one per experiment.

A grid (``xgap grid run``) evaluates each target on only some of its languages, so the main
leaderboard marks those tasks partial and keeps them out of its scaling panels. A grid page shows
the grid on its own terms (see :mod:`xgap.grid.summary` for every figure's definition): per target
one panel of gap versus parameters (log x; one colour and marker per intermediate setting, one line
style per encoder, each series' points joined in size order, error bars = the gap's 95% interval)
above one panel of the task score versus parameters; then the cells and the gains against ``none``
as tables.

Static SVG from matplotlib (Agg, ``svg.fonttype: none``, a fixed ``svg.hashsalt``, no date), so
rebuilding an unchanged store gives identical bytes; manifest text reaches the SVG through
:func:`_plain` (``$`` never starts mathtext; matplotlib escapes the XML) and the HTML through
Jinja's autoescape. Unlike the scaling figures (:mod:`.svgplot`, pure Python), these keep
matplotlib: error bars, dodged settings and per-encoder line styles, drawn only when a grid's
summary changes (each figure is cached under its input key, see :func:`grid_figure_key`).
"""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path

from xgap.grid.summary import NONE_SETTING, gain_rows, target_has_gap, target_languages
from xgap.leaderboard.formatting import fmt2, fmt_change, fmt_gap, fmt_params, slug
from xgap.leaderboard.plots import _series_style

LINESTYLES = ("-", "--", ":", "-.")
DODGE_DEX = 0.012  # horizontal offset between settings at one size, in decades of parameters


def _plain(text: str) -> str:
    """Manifest text for a matplotlib label: backslashes and ``$`` escaped, so it is never read as mathtext."""
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def grid_file(experiment: str) -> str:
    """The page's file name inside ``grids/`` (experiment names are untrusted: :func:`slug` them)."""
    return f"{slug(experiment)}.html"


def grid_nav(summaries: list) -> list:
    """``[{"experiment", "title", "file", "cells"}]`` for the nav bar and the overview's list."""
    return [{"experiment": s.experiment, "title": s.title, "file": grid_file(s.experiment),
             "cells": len({(c.encoder, c.size, c.intermediate) for c in s.cells})} for s in summaries]


def _series(summary, target: str) -> dict:
    """``{(encoder, setting): [(x, cell)]}`` in size order, x dodged per setting; unsized cells left out."""
    sizes = {(s.encoder, s.size): s for s in summary.sizes}
    n = len(summary.settings)
    out: dict = {}
    for c in summary.target_cells(target):
        params = sizes[(c.encoder, c.size)].parameters or c.parameters
        if not params:
            continue
        shift = DODGE_DEX * (summary.settings.index(c.intermediate) - (n - 1) / 2)
        out.setdefault((c.encoder, c.intermediate), []).append((params * 10 ** shift, c))
    return out


def _panel(ax, summary, target: str, style: dict, encoders: list, value, ylabel: str, title: str) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_title(_plain(title), fontsize=9)
    ax.set_xscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    drawn = False
    for (encoder, setting), pts in _series(summary, target).items():
        pts = [(x, c) for x, c in pts if value(c)[0] is not None]
        if not pts:
            continue
        color, marker = style[setting]
        ys = [value(c)[0] for _, c in pts]
        err = [[y - iv[0], iv[1] - y] if (iv := value(c)[1]) else [0.0, 0.0] for (_, c), y in zip(pts, ys)]
        ax.errorbar([x for x, _ in pts], ys, yerr=[[e[0] for e in err], [e[1] for e in err]], color=color, marker=marker,
                    markersize=4, linewidth=1, capsize=2, elinewidth=0.8,
                    linestyle=LINESTYLES[encoders.index(encoder) % len(LINESTYLES)])
        drawn = True
    ticks = sorted({s.parameters for s in summary.sizes if s.parameters})
    if ticks:
        lo, hi = math.log10(ticks[0]), math.log10(ticks[-1])
        pad = max(0.08, (hi - lo) * 0.08)
        ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        labels = {}
        for s in summary.sizes:
            if s.parameters:
                labels.setdefault(s.parameters, []).append(s.size)
        ax.set_xticklabels([_plain(f"{'/'.join(labels[t])}\n{fmt_params(t)}") for t in ticks], fontsize=6)
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.5")


def grid_figure(summary) -> str:
    """One SVG: per target a column, gap versus parameters above score versus parameters (for a target
    without a gap, a note in place of the gap panel)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    style = _series_style(summary.settings)
    encoders = list(dict.fromkeys(s.encoder for s in summary.sizes))
    targets = summary.targets or ["(no targets)"]
    ncols = len(targets)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"xgap-grid-{summary.experiment}", "font.size": 8}):
        legend_in = 0.1 + 0.2 * math.ceil((len(style) + len(encoders)) / 6)
        height = 2 * 2.6 + legend_in
        width = max(5.6, 3.8 * ncols)
        fig, axes = plt.subplots(2, ncols, figsize=(width, height), squeeze=False)
        for j, target in enumerate(targets):
            qa = any(c.target == target and c.gap_metric == "exact_match" for c in summary.cells)
            if target_has_gap(target):
                _panel(axes[0][j], summary, target, style, encoders, lambda c: (c.gap, c.gap_interval),
                       "gap (en - others; lower is better)", f"{target} gap" + (" (EM)" if qa else ""))
            else:  # retrieval: English is the query side, never scored on its own
                axes[0][j].axis("off")
                axes[0][j].text(0.5, 0.5, _plain(f"{target}: no gap\n(no English score: English is the query side)"),
                                transform=axes[0][j].transAxes, ha="center", va="center", fontsize=8, color="0.4")
            _panel(axes[1][j], summary, target, style, encoders, lambda c: (c.task_score, None),
                   "score (languages present)", f"{target} score")
        handles = [Line2D([], [], marker=m, color=c, label=_plain(n)) for n, (c, m) in style.items()]
        if len(encoders) > 1:
            handles += [Line2D([], [], color="0.3", linestyle=LINESTYLES[i % len(LINESTYLES)], label=_plain(e))
                        for i, e in enumerate(encoders)]
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7, frameon=False)
        # Fixed margins in inches (as plots.py: tight_layout measures every label).
        fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, top=1 - 0.3 / height,
                            bottom=(legend_in + 0.45) / height, hspace=0.55, wspace=0.32)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=110)
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def grid_figure_key(summary) -> str:
    """A hash of everything :func:`grid_figure` draws from -- the whole summary (its ``repr``: every
    cell's figures, names and order; dataclasses, lists and dicts only, so it is the same in every
    process), which targets have a gap, matplotlib's version: equal keys give the same SVG bytes.
    The site keeps it (``xgap.leaderboard.render``) so that an unchanged grid is not drawn again."""
    from importlib.metadata import version

    has_gap = [target_has_gap(t) for t in summary.targets]
    return hashlib.sha256(repr((summary, has_gap, version("matplotlib"))).encode()).hexdigest()


def grid_view(summary) -> dict:
    """Pre-formatted tables of one grid (numbers as text; names escaped by the template)."""
    targets = []
    for target in summary.targets:
        langs = target_languages(summary, target)
        cells = summary.target_cells(target)
        rows = [{"encoder": c.encoder, "size": c.size, "layers": c.layers, "params": fmt_params(c.parameters),
                 "params_title": f"{c.parameters:,} parameters" if c.parameters else "unknown size",
                 "setting": c.intermediate, "seeds": ", ".join(map(str, c.seeds)), "en": fmt2(c.english),
                 "others": fmt2(c.others_mean), "score": fmt2(c.task_score), "gap": fmt_gap(c),
                 "gap_title": {"seeds": f"mean over {len(c.seeds)} seeds \u00b1 t-based 95% half-width",
                               "bootstrap": "\u00b1 95% half-width from the per-language bootstrap intervals"}.get(
                                   c.interval_kind or "", "no interval"),
                 "gap_f1": fmt2(c.gap_f1) if c.gap_metric == "exact_match" else None,
                 "langs": [fmt2(c.per_lang.get(l)) for l in langs], "missing": c.missing_langs,
                 "names": c.names, "submissions": c.submissions} for c in cells]
        gains = [{"encoder": r.encoder, "size": r.size, "params": fmt_params(r.parameters), "setting": r.setting,
                  "score": fmt2(r.score_gain, True), "en": fmt2(r.english_gain, True), "gap": fmt_change(r)}
                 for r in gain_rows(summary, target)]
        targets.append({"name": target, "langs": langs, "rows": rows, "gains": gains,
                        "qa": any(c.gap_metric == "exact_match" for c in cells)})
    unsized = sorted({f"{c.encoder} {c.size}" for c in summary.cells if not c.parameters})
    return {"s": summary, "targets": targets, "unsized": unsized, "none": NONE_SETTING,
            "has_none": NONE_SETTING in summary.settings}


def write_grid_pages(summaries: list, out: Path, env, nav: dict, plots: bool = True, figures: dict | None = None) -> set:
    """Write ``grids/<experiment>.html`` for each summary (removing stale ones); returns the file names.

    ``figures``: ``{experiment: [grid_figure_key, svg]}`` of the last build; a figure whose key is
    unchanged is reused instead of drawn (~1 s each). Updated in place to this build's figures."""
    from markupsafe import Markup

    folder = Path(out) / "grids"
    written = set()
    previous = dict(figures or {})
    if figures is not None:
        figures.clear()
    if summaries:
        folder.mkdir(parents=True, exist_ok=True)
        template = env.get_template("grid.html")
        for s in summaries:
            name = grid_file(s.experiment)
            fig = None
            if plots:
                key = grid_figure_key(s)
                old = previous.get(s.experiment)
                svg = old[1] if isinstance(old, list) and len(old) == 2 and old[0] == key else grid_figure(s)
                if figures is not None:
                    figures[s.experiment] = [key, svg]
                fig = Markup(svg)
            (folder / name).write_text(template.render(root="../", nav=nav, v=grid_view(s), fig=fig, title=s.title,
                                                       href=lambda i: f"../submissions/{slug(i)}.html"),
                                       encoding="utf-8")
            written.add(name)
    if folder.is_dir():
        for old in folder.iterdir():
            if old.suffix == ".html" and old.name not in written:
                old.unlink()
    return written
