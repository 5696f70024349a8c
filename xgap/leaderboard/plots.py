"""The scaling view: gap and score versus parameter count, as static SVG made at build time.

Why static SVG from matplotlib: the site must work from ``file://`` with no network and no
JavaScript plotting library; SVG is inlined into the page, so it needs no extra request and scales
with the window. One series per intermediate-task label (``none`` included), log-scaled x, and a
least-squares line of y against log10(parameters) per series with at least three distinct sizes:
its slope ("points per 10x parameters") is the research question's answer in one number.
Evaluated submissions are filled markers with solid fit lines, reported (published) ones hollow
with dashed lines: the two are fitted separately, never pooled (published QA figures are F1). Published figures
have no per-language detail, so they never appear in the gap panels (their gap is unknown). Partial
results (a task on some of its languages) are drawn half-filled and never fitted. Panels without
data are left out and listed with the reason; axes span at least 10 points and one decade; names
are placed where they overlap nothing (see :func:`_place_labels`).

Text comes from manifests (untrusted): matplotlib escapes it in SVG, and ``$`` is escaped so it is
never parsed as mathtext.

Drawing is the dearest part of an incremental site build (seconds at 1,000 submissions), so each
figure is keyed by a hash of everything it is drawn from (:func:`figure_key`: the plotted points,
series, labels, matplotlib's version); :func:`scaling_figures` reuses a figure whose key is
unchanged instead of drawing it again (the site keeps the keys, see ``xgap.leaderboard.render``).
"""

from __future__ import annotations

import gc
import hashlib
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


#: Fit lines are drawn above every series' markers: the markers are then drawn one after another,
#: so above RASTER_LIMIT a panel's markers become one embedded bitmap, not one per series.
FIT_ZORDER = 2.5
#: How a point was measured -> (matplotlib fillstyle, legend text). Partial points (a task on only
#: some of its languages, e.g. an experiment grid's cells) are drawn, half-filled, never fitted.
KINDS = {
    "evaluated": ("full", "filled: evaluated by xgap, all languages"),
    "reported": ("none", "hollow: published figure"),
    "partial": ("left", "half-filled: partial (some languages)"),
}
#: The narrowest y range a panel shows, in points: a lone 1.5 gets a 10-point window, not 1.425-1.575.
MIN_Y_SPAN = 10.0
#: The narrowest x range, in decades of parameters.
MIN_X_DECADES = 1.0


def _param_label(x, _pos=None) -> str:
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            v = x / div
            return f"{v:.3g}{unit}"
    return f"{x:.3g}"


def _honest_limits(ax, xs, ys, bounds=None) -> None:
    """Axes that show the data at the scale of the measure: at least MIN_Y_SPAN points of y and
    MIN_X_DECADES of x, with a margin, so one point or a tiny spread is not blown up to fill a panel.
    ``bounds``: the measure's possible range (scores 0-100), which the window never leaves."""
    lo, hi = min(ys), max(ys)
    span = max(hi - lo, MIN_Y_SPAN) * 1.2
    y0 = (lo + hi) / 2 - span / 2
    if bounds is not None:
        y0 = min(max(y0, bounds[0]), bounds[1] - span)
    ax.set_ylim(y0, y0 + span)
    llo, lhi = math.log10(min(xs)), math.log10(max(xs))
    dec = max(lhi - llo, MIN_X_DECADES)
    lmid = (llo + lhi) / 2
    ax.set_xlim(10 ** (lmid - dec * 0.62), 10 ** (lmid + dec * 0.62))


def _place_labels(ax, points, renderer) -> int:
    """Name points where the name overlaps no other name, no marker and stays inside the panel;
    a name that fits nowhere is left out (the point is still drawn). Returns how many were left out."""
    from matplotlib.transforms import Bbox

    inside = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    markers = [Bbox.from_bounds(px - 3.5, py - 3.5, 7, 7) for px, py in (to_px((p[1], p[2])) for p in points)]
    placed: list = []
    skipped = 0
    # (dx, dy in points, horizontal alignment, vertical alignment)
    spots = ((4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"), (-4, -3, "right", "top"),
             (0, 6, "center", "bottom"), (0, -6, "center", "top"))
    for k, p in sorted(enumerate(points), key=lambda kp: (kp[1][1], kp[1][2])):
        label = p[4] if len(p[4]) <= 18 else p[4][:17] + "\u2026"
        for dx, dy, ha, va in spots:
            t = ax.annotate(_plain(label), (p[1], p[2]), fontsize=6, xytext=(dx, dy), textcoords="offset points",
                            ha=ha, va=va, color="0.25", annotation_clip=False, clip_on=False)
            # a margin for the browser's own text layout (svg.fonttype "none": the viewer sets the text)
            box = t.get_window_extent(renderer).expanded(1.12, 1.1).padded(2)
            clear = (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                     and not any(box.overlaps(b) for b in placed)
                     and not any(box.overlaps(m) for j, m in enumerate(markers) if j != k))
            if clear:
                placed.append(box)
                break
            t.remove()
        else:
            skipped += 1
    return skipped


def _panel(ax, title, points, style, ylabel, bounds=None):
    """``points``: [(series, params, y, kind, name)]; returns {series: slope}. Never called without points."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_title(_plain(title), fontsize=9)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=6))
    ax.xaxis.set_major_formatter(FuncFormatter(_param_label))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.3)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    slopes = {}
    for series in sorted({p[0] for p in points}):
        color, marker = style[series]
        pts = [p for p in points if p[0] == series]
        for kind, (fill, _) in KINDS.items():
            sel = [p for p in pts if p[3] == kind]
            if not sel:
                continue
            ax.plot([p[1] for p in sel], [p[2] for p in sel], linestyle="", marker=marker, markersize=4.5, fillstyle=fill,
                    color=color, markeredgewidth=0.9, rasterized=len(points) > RASTER_LIMIT)
            slope = fit_slope([p[1] for p in sel], [p[2] for p in sel]) if kind != "partial" else None
            if slope is not None:
                lx = np.log10([p[1] for p in sel])
                intercept = float(np.mean([p[2] for p in sel]) - slope * lx.mean())
                xs = np.array([lx.min(), lx.max()])
                ax.plot(10 ** xs, intercept + slope * xs, color=color, linewidth=1, alpha=0.8, linestyle="--" if kind == "reported" else "-",
                        zorder=FIT_ZORDER)
                slopes[f"{series} (reported)" if kind == "reported" else series] = slope
    _honest_limits(ax, [p[1] for p in points], [p[2] for p in points], bounds)
    return slopes


def _figure(panels, style, ylabel, salt, bounds=None):
    """Render the non-empty panels [(title, points)] in a grid; returns (svg_text, {title: {series: slope}}).

    Empty panels are not drawn (the page lists them with the reason); with no panel at all the
    SVG is None. The legend shows each series as its points look here (filled, hollow or
    half-filled) and explains only the kinds of marks that occur."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: a third of the import time
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    panels = [(t, pts) for t, pts in panels if pts]
    if not panels:
        return None, {}
    kinds_present = [k for k in KINDS if any(p[3] == k for _, pts in panels for p in pts)]
    series_present = [n for n in style if any(p[0] == n for _, pts in panels for p in pts)]
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 8}):
        n_handles = len(series_present) + len(kinds_present)
        legend_in = 0.25 + 0.2 * math.ceil(n_handles / 4)
        height = 2.7 * nrows + legend_in
        width = 3.3 * max(ncols, 2)
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        fig.subplots_adjust(left=0.7 / width, right=1 - 0.2 / width, top=1 - 0.3 / height, bottom=(legend_in + 0.45) / height,
                            hspace=0.62, wspace=0.38)
        slopes = {}
        for ax, (title, points) in zip(axes.flat, panels):
            slopes[title] = _panel(ax, title, points, style, ylabel, bounds)
            ax.set_xlabel("parameters (log scale)", fontsize=7)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        renderer = fig.canvas.get_renderer()
        for ax, (_, points) in zip(axes.flat, panels):
            if len(points) <= LABEL_LIMIT:
                _place_labels(ax, points, renderer)
        handles = []
        for n in series_present:
            color, marker = style[n]
            kinds = {p[3] for _, pts in panels for p in pts if p[0] == n}
            fill = next(KINDS[k][0] for k in KINDS if k in kinds)  # as its points are drawn (evaluated > reported > partial)
            handles.append(Line2D([], [], linestyle="", marker=marker, fillstyle=fill, color=color, label=_plain(n)))
        handles += [Line2D([], [], linestyle="", marker="o", fillstyle=KINDS[k][0], color="0.35", label=KINDS[k][1])
                    for k in kinds_present]
        fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=7, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=110)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):], slopes


def figure_key(panels, series, ylabel, salt, bounds) -> str:
    """A hash of everything :func:`_figure` draws from: equal keys give the same SVG bytes."""
    from importlib.metadata import version

    return hashlib.sha256(repr((panels, series, ylabel, salt, bounds, version("matplotlib"))).encode()).hexdigest()


def _figure_or_reuse(previous, name, panels, series, ylabel, salt, bounds=None) -> tuple:
    """``(svg, slopes, key)``: ``previous[name]`` (``(key, svg, slopes)``) when its key is this figure's, else drawn."""
    key = figure_key(panels, series, ylabel, salt, bounds)
    old = (previous or {}).get(name)
    if old is not None and old[0] == key:
        return old[1], old[2], key
    # matplotlib makes ~10^5 short-lived objects per figure; the cyclic collector walking the
    # build's own (many, long-lived) objects each time costs ~15% of the drawing: paused meanwhile
    paused = gc.isenabled()
    gc.disable()
    try:
        return (*_figure(panels, _series_style(series), ylabel, salt, bounds), key)
    finally:
        if paused:
            gc.enable()


def scaling_figures(board, previous=None) -> dict:
    """``{"gap": (svg|None, slopes, key), "score": (svg|None, slopes, key), "series", "unsized", "empty"}`` for a Leaderboard.

    ``empty``: ``[(panel title, reason)]`` of the panels left out for want of data, for the page.
    ``previous``: ``{"gap"|"score": (key, svg, slopes)}`` of an earlier build; a figure whose
    :func:`figure_key` is unchanged is taken from there instead of drawn."""
    entries = [e for e in board.entries if e.parameters]
    series = sorted({e.intermediate_label for e in entries})
    gap_tasks = [t for t in board.tasks if t.has_gap]

    def kind(e, tr=None) -> str:
        if e.status == "reported":
            return "reported"
        return "evaluated" if tr is None or tr.complete else "partial"

    def task_points(name, attr):
        out = []
        for e in entries:
            tr = e.tasks.get(name)
            y = getattr(tr, attr) if tr is not None else None
            if y is not None:
                out.append((e.intermediate_label, e.parameters, y, kind(e, tr), e.name))
        return out

    def mean_gap_points():
        out = []
        for e in entries:
            if e.mean_gap is not None:
                out.append((e.intermediate_label, e.parameters, e.mean_gap, kind(e), e.name))
                continue
            partial = [tr.gap for tr in e.tasks.values() if tr.gap is not None]
            if partial:  # no complete task with a gap: the mean over the partial ones, drawn as partial
                out.append((e.intermediate_label, e.parameters, sum(partial) / len(partial), "partial", e.name))
        return out

    gap_panels = [("mean gap over tasks with a gap", mean_gap_points())]
    gap_panels += [(f"{t.name} gap" + (" (EM)" if t.is_qa else ""), task_points(t.name, "gap")) for t in gap_tasks]
    xtreme = [(e.intermediate_label, e.parameters, e.xtreme, kind(e), e.name) for e in entries if e.xtreme is not None]
    score_panels = [("XTREME score (all nine tasks)", xtreme)]
    for t in board.tasks:
        published_f1 = any(e.tasks.get(t.name) is not None and not e.tasks[t.name].comparable for e in entries)
        score_panels.append((f"{t.name} score" + (" (published: F1)" if published_f1 else ""), task_points(t.name, "score")))
    reasons = {"mean gap over tasks with a gap": "no submission has per-language results on a task with a gap",
               "XTREME score (all nine tasks)": "no submission has all nine tasks complete"}
    empty = [(title, reasons.get(title, "no submission with a known size has results here"))
             for title, pts in gap_panels + score_panels if not pts]
    return {
        "gap": _figure_or_reuse(previous, "gap", gap_panels, series, "gap (en - others; lower is better)", "xgap-gap"),
        "score": _figure_or_reuse(previous, "score", score_panels, series, "score", "xgap-score", bounds=(0.0, 100.0)),
        "series": series,
        "unsized": [e for e in board.entries if not e.parameters],
        "empty": empty,
        "no_gap_tasks": [t.name for t in board.tasks if not t.has_gap],
    }
