"""The scaling view: gap and score versus parameter count, as static SVG made at build time.

Why static SVG from matplotlib: the site must work from ``file://`` with no network and no
JavaScript plotting library; SVG is inlined into the page, so it needs no extra request and scales
with the window. One series per intermediate-task label (``none`` included), log-scaled x, and a
least-squares line of y against log10(parameters) per series with at least three distinct sizes:
its slope ("points per 10x parameters") is the research question's answer in one number.
Evaluated submissions are filled markers with solid fit lines, reported (published) ones hollow
with dashed lines: the two are fitted separately, never pooled (published QA figures are F1). Published figures
have no per-language detail, so they never appear in the gap panels (their gap is unknown).

Text comes from manifests (untrusted): matplotlib escapes it in SVG, and ``$`` is escaped so it is
never parsed as mathtext.
"""

from __future__ import annotations

import io
import math

MARKERS = "osD^vP*Xph<>"
# Above this many points per panel, names are not written beside the points.
LABEL_LIMIT = 25
# Above this many points per panel, markers are embedded as one bitmap inside the SVG (axes and
# text stay vector): thousands of vector markers make the SVG slow to write and to display.
RASTER_LIMIT = 300


def _series_style(names):
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    return {n: (colors[i % 10], MARKERS[(i // 10 + i) % len(MARKERS)]) for i, n in enumerate(names)}


def _plain(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def fit_slope(xs, ys):
    """Least-squares slope of y on log10(x); None with fewer than three distinct x."""
    if len(set(xs)) < 3:
        return None
    lx = [math.log10(x) for x in xs]
    mx, my = sum(lx) / len(lx), sum(ys) / len(ys)
    sxx = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ys)) / sxx if sxx else None


def _panel(ax, title, points, style, ylabel):
    """``points``: [(series, params, y, reported, name)]; returns {series: slope}."""
    import numpy as np
    from matplotlib.ticker import LogLocator, NullLocator

    ax.set_title(_plain(title), fontsize=9)
    ax.set_xscale("log")
    # Major decades only: minor log ticks triple the layout cost and add nothing at this size.
    ax.xaxis.set_major_locator(LogLocator(numticks=5))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.3)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    slopes = {}
    if not points:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.5")
        return slopes
    for series in sorted({p[0] for p in points}):
        color, marker = style[series]
        pts = [p for p in points if p[0] == series]
        for reported in (False, True):
            sel = [p for p in pts if p[3] == reported]
            if sel:
                ax.scatter([p[1] for p in sel], [p[2] for p in sel], s=18, marker=marker,
                           facecolors="none" if reported else [color], edgecolors=[color], linewidths=0.9,
                           rasterized=len(points) > RASTER_LIMIT)
            slope = fit_slope([p[1] for p in sel], [p[2] for p in sel])
            if slope is not None:
                lx = np.log10([p[1] for p in sel])
                intercept = float(np.mean([p[2] for p in sel]) - slope * lx.mean())
                xs = np.array([lx.min(), lx.max()])
                ax.plot(10 ** xs, intercept + slope * xs, color=color, linewidth=1, alpha=0.8, linestyle="--" if reported else "-")
                slopes[f"{series} (reported)" if reported else series] = slope
    if len(points) <= LABEL_LIMIT:
        for p in points:
            label = p[4] if len(p[4]) <= 16 else p[4][:15] + "\u2026"
            ax.annotate(_plain(label), (p[1], p[2]), fontsize=6, xytext=(3, 2), textcoords="offset points", color="0.25")
    return slopes


def _figure(panels, style, ylabel, salt):
    """Render panels [(title, points)] in a grid; returns (svg_text, {title: {series: slope}})."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    ncols = min(4, max(1, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 8}):
        legend_in = 0.25 + 0.2 * math.ceil((len(style) + 1) / 6)
        height = 2.6 * nrows + legend_in
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, height), squeeze=False)
        slopes = {}
        for ax, (title, points) in zip(axes.flat, panels):
            slopes[title] = _panel(ax, title, points, style, ylabel)
            ax.set_xlabel("parameters (log scale)", fontsize=7)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        handles = [Line2D([], [], linestyle="", marker=m, color=c, label=_plain(n)) for n, (c, m) in style.items()]
        handles += [Line2D([], [], linestyle="", marker="o", markerfacecolor="none", color="0.3", label="hollow = reported")]
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7, frameon=False)
        # Fixed margins instead of tight_layout, which measures every tick label (seconds on big stores).
        fig.subplots_adjust(left=0.06, right=0.985, top=1 - 0.3 / height, bottom=(legend_in + 0.45) / height,
                            hspace=0.55, wspace=0.32)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=110)
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):], slopes


def scaling_figures(board) -> dict:
    """``{"gap": (svg, slopes), "score": (svg, slopes), "series": [...]}`` for a :class:`Leaderboard`."""
    entries = [e for e in board.entries if e.parameters]
    series = sorted({e.intermediate_label for e in entries})
    style = _series_style(series)
    gap_tasks = [t for t in board.tasks if t.has_gap]

    def pts(get):
        out = []
        for e in entries:
            y = get(e)
            if y is not None:
                out.append((e.intermediate_label, e.parameters, y, e.status == "reported", e.name))
        return out

    def task_gap(name):
        def get(e):
            t = e.tasks.get(name)
            return t.gap if t is not None and t.complete else None
        return get

    def task_score(name):
        def get(e):
            t = e.tasks.get(name)
            return t.score if t is not None and t.complete else None
        return get

    gap_panels = [("mean gap over complete tasks", pts(lambda e: e.mean_gap))]
    gap_panels += [(f"{t.name} gap" + (" (EM)" if t.is_qa else ""), pts(task_gap(t.name))) for t in gap_tasks]
    score_panels = [("XTREME score (all nine tasks)", pts(lambda e: e.xtreme))]
    for t in board.tasks:
        published_f1 = any(e.tasks.get(t.name) is not None and not e.tasks[t.name].comparable for e in entries)
        score_panels.append((f"{t.name} score" + (" (hollow: published F1)" if published_f1 else ""), pts(task_score(t.name))))
    return {
        "gap": _figure(gap_panels, style, "gap (en - others; lower is better)", "xgap-gap"),
        "score": _figure(score_panels, style, "score", "xgap-score"),
        "series": series,
        "unsized": [e for e in board.entries if not e.parameters],
    }
