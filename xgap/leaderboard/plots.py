"""The scaling view: gap and score versus parameter count, as static SVG made at build time.

Why static SVG: the site must work from ``file://`` with no network and no JavaScript plotting
library; SVG is inlined into the page, so it needs no extra request and scales with the window.
One series per intermediate-task label (``none`` included), log-scaled x, and a least-squares line
of y against log10(parameters) per series with at least three distinct sizes: its slope ("points
per 10x parameters") is the research question's answer in one number. Evaluated submissions are
filled markers with solid fit lines, reported (published) ones hollow with dashed lines: the two
are fitted separately, never pooled (published QA figures are F1). Published figures have no
per-language detail, so they never appear in the gap panels (their gap is unknown). Partial
results (a task on some of its languages) are drawn half-filled and never fitted. Panels without
data are left out and listed with the reason; axes span at least 10 points and one decade; names
are placed where they overlap nothing (:func:`xgap.leaderboard.svgplot.place_labels`).

The drawing is :mod:`xgap.leaderboard.svgplot` (pure Python): with matplotlib, redrawing the two
figures was the dearest step of an incremental build (~1.3 s plus ~0.5 s of import at 1,000
submissions); now it takes milliseconds. This module decides *what* is drawn (points, series
styles, fits, axis limits, legend). Text comes from manifests (untrusted) and is escaped there.
Each figure is still keyed by a hash of everything it is drawn from (:func:`figure_key`), and
:func:`scaling_figures` reuses a figure whose key is unchanged (the site keeps the keys, see
``xgap.leaderboard.render``).
"""

from __future__ import annotations

import gc
import hashlib
import math

from xgap.leaderboard import svgplot

MARKERS = "osD^vP*Xph<>"
# Above this many points per panel, names are not written beside the points.
LABEL_LIMIT = 25
# Above this many points per panel, points carry no hover title (it would add ~30 bytes a point).
TITLE_LIMIT = 300
# Above this many points per panel, the markers are one embedded bitmap (svgplot.raster_markers):
# as vector markers 10,000 submissions made two SVGs of 4-6 MB taking 3 s to write.
RASTER_LIMIT = 2000
# A series label longer than this is cut in the legend (its slope keeps the full name).
LEGEND_LABEL_MAX = 40


def _series_style(names):
    """``{name: (colour, marker)}``: tab10 colours in turn, the marker changing every ten series."""
    return {n: (svgplot.TAB10[i % 10], MARKERS[(i // 10 + i) % len(MARKERS)]) for i, n in enumerate(names)}


def fit_slope(xs, ys):
    """Least-squares slope of y on log10(x); None with fewer than three distinct x."""
    if len(set(xs)) < 3:
        return None
    lx = [math.log10(x) for x in xs]
    mx, my = sum(lx) / len(lx), sum(ys) / len(ys)
    sxx = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ys)) / sxx if sxx else None


#: How a point was measured -> (fill style, legend text). Partial points (a task on only
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


def _honest_limits(xs, ys, bounds=None) -> tuple:
    """``((x0, x1), (y0, y1))``: axes that show the data at the scale of the measure -- at least
    MIN_Y_SPAN points of y and MIN_X_DECADES of x, with a margin, so one point or a tiny spread is
    not blown up to fill a panel. ``bounds``: the measure's possible range (scores 0-100), which
    the window never leaves."""
    lo, hi = min(ys), max(ys)
    span = max(hi - lo, MIN_Y_SPAN) * 1.2
    y0 = (lo + hi) / 2 - span / 2
    if bounds is not None:
        y0 = min(max(y0, bounds[0]), bounds[1] - span)
    llo, lhi = math.log10(min(xs)), math.log10(max(xs))
    dec = max(lhi - llo, MIN_X_DECADES)
    lmid = (llo + lhi) / 2
    return (10 ** (lmid - dec * 0.62), 10 ** (lmid + dec * 0.62)), (y0, y0 + span)


def _panel(title, points, bounds=None) -> tuple:
    """``points``: [(series, params, y, kind, name)] (never empty); returns (panel for
    :func:`svgplot.panel_svg`, {series: slope}). A series' evaluated and reported points are fitted
    separately (``"<series> (reported)"``); partial points never."""
    slopes, fits = {}, []
    groups: dict = {}
    for p in points:
        groups.setdefault((p[0], p[3]), []).append(p)
    for series in sorted({p[0] for p in points}):
        for kind in KINDS:
            sel = groups.get((series, kind))
            slope = fit_slope([p[1] for p in sel], [p[2] for p in sel]) if sel and kind != "partial" else None
            if slope is None:
                continue
            lx = [math.log10(p[1]) for p in sel]
            intercept = sum(p[2] for p in sel) / len(sel) - slope * sum(lx) / len(lx)
            a, b = min(lx), max(lx)
            fits.append((series, kind, 10 ** a, intercept + slope * a, 10 ** b, intercept + slope * b))
            slopes[f"{series} (reported)" if kind == "reported" else series] = slope
    xlim, ylim = _honest_limits([p[1] for p in points], [p[2] for p in points], bounds)
    return {"title": title, "points": points, "groups": groups, "fits": fits, "xlim": xlim, "ylim": ylim}, slopes


def _figure(panels, style, ylabel, salt, bounds=None):
    """Render the non-empty panels [(title, points)] in a grid; returns (svg_text, {title: {series: slope}}).

    Empty panels are not drawn (the page lists them with the reason); with no panel at all the
    SVG is None. The legend shows each series as its points look here (filled, hollow or
    half-filled) and explains only the kinds of marks that occur. ``salt`` prefixes the SVG's ids
    (two figures share one page)."""
    panels = [(t, pts) for t, pts in panels if pts]
    if not panels:
        return None, {}
    seen = {(p[0], p[3]) for _, pts in panels for p in pts}  # (series, kind) pairs drawn
    kinds_present = [k for k in KINDS if any(sk[1] == k for sk in seen)]
    series_present = [n for n in style if any(sk[0] == n for sk in seen)]
    drawn, slopes = [], {}
    for title, points in panels:
        panel, slopes[title] = _panel(title, points, bounds)
        drawn.append(panel)
    legend = []
    for n in series_present:
        color, marker = style[n]
        kinds = {k for sn, k in seen if sn == n}
        fill = next(KINDS[k][0] for k in KINDS if k in kinds)  # as its points are drawn (evaluated > reported > partial)
        # a manifest's label: bounded (svgplot cuts it further if the figure is too narrow)
        legend.append((marker, fill, color, n if len(n) <= LEGEND_LABEL_MAX else n[:LEGEND_LABEL_MAX - 1] + "\u2026"))
    legend = [legend, [("o", KINDS[k][0], "#595959", KINDS[k][1]) for k in kinds_present]]
    indexed = {n: (c, m, i) for i, (n, (c, m)) in enumerate(style.items())}
    svg = svgplot.figure_svg(drawn, indexed, {k: v[0] for k, v in KINDS.items()}, legend, ids=f"{salt}-",
                             xlabel="parameters (log scale)", ylabel=ylabel, param_label=_param_label,
                             label_limit=LABEL_LIMIT, title_limit=TITLE_LIMIT, raster_limit=RASTER_LIMIT,
                             ncols=min(4, len(drawn)))
    return svg, slopes


def figure_key(panels, series, ylabel, salt, bounds) -> str:
    """A hash of everything :func:`_figure` draws from: equal keys give the same SVG bytes.

    Serialised with :mod:`marshal` format 2 (no back-references, so equal inputs give equal bytes
    whatever objects they share): 180,000 points at 10,000 submissions in ~0.05 s, where ``repr``
    took ~0.4 s. A new Python may serialise differently: then the figures are drawn once more."""
    import marshal

    drawing = (svgplot.VERSION, LABEL_LIMIT, TITLE_LIMIT, RASTER_LIMIT, LEGEND_LABEL_MAX, MARKERS,
               tuple((k, *v) for k, v in KINDS.items()))  # what this module decides about the drawing
    blob = marshal.dumps((panels, series, ylabel, salt, bounds, drawing), 2)
    return hashlib.sha256(blob).hexdigest()


def _figure_or_reuse(previous, name, panels, series, ylabel, salt, bounds=None) -> tuple:
    """``(svg, slopes, key)``: ``previous[name]`` (``(key, svg, slopes)``) when its key is this figure's, else drawn."""
    key = figure_key(panels, series, ylabel, salt, bounds)
    old = (previous or {}).get(name)
    if old is not None and old[0] == key:
        return old[1], old[2], key
    # drawing makes ~10^5 short-lived tuples and strings per figure; the cyclic collector walking the
    # build's own (many, long-lived) objects each time they trigger it is paused meanwhile
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
    label = {id(e): e.intermediate_label for e in entries}  # a property that joins a list: once per entry
    series = sorted(set(label.values()))
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
                out.append((label[id(e)], e.parameters, y, kind(e, tr), e.name))
        return out

    def mean_gap_points():
        out = []
        for e in entries:
            if e.mean_gap is not None:
                out.append((label[id(e)], e.parameters, e.mean_gap, kind(e), e.name))
                continue
            partial = [tr.gap for tr in e.tasks.values() if tr.gap is not None]
            if partial:  # no complete task with a gap: the mean over the partial ones, drawn as partial
                out.append((label[id(e)], e.parameters, sum(partial) / len(partial), "partial", e.name))
        return out

    gap_panels = [("mean gap over tasks with a gap", mean_gap_points())]
    gap_panels += [(f"{t.name} gap" + (" (EM)" if t.is_qa else ""), task_points(t.name, "gap")) for t in gap_tasks]
    xtreme = [(label[id(e)], e.parameters, e.xtreme, kind(e), e.name) for e in entries if e.xtreme is not None]
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
