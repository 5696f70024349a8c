"""Scatter panels on a log-scaled x axis as SVG text, drawn in pure Python (no matplotlib).

Why not matplotlib: drawing the two scaling figures with it was the dearest step of an
incremental site build -- at 1,000 submissions ~1.3 s of drawing plus ~0.5 s of importing it,
paid whenever a plotted point moved (one submission added, one score changed). This module draws
what those figures need -- a grid of panels, each with a frame, log-x and linear-y ticks, a faint
grid, markers (filled, hollow or half-filled), fit lines, a title, names beside the points -- and
a legend below, as one SVG string in milliseconds, byte for byte the same for the same input.

Conventions, as matplotlib's SVG backend with ``svg.fonttype: none``: units are points (1/72 in),
text is left to the browser (so its width here is an estimate from DejaVu Sans' advance widths
with a margin, see :func:`text_width`), and every text is escaped (:func:`html.escape`). Nothing
is styled through ``<style>`` (in an inline SVG a style sheet would leak into the page): only
presentation attributes. Element ids start with the caller's prefix, so two figures inlined in
one page never share one.
"""

from __future__ import annotations

import html
import math
from functools import cache

VERSION = "3"  # part of each figure's cache key: bump when the drawing changes
FONT = "DejaVu Sans, Bitstream Vera Sans, Verdana, Geneva, Arial, Helvetica, sans-serif"
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
GRID_COLOR = "#b0b0b0"
TEXT_COLOR = "#404040"
TICK = 3.5  # tick length, points
MARKER_SIZE = 4.5  # marker diameter, points
MARKER_EDGE = 0.9

# DejaVu Sans advance widths (em/1000) of the characters that occur in names and labels; others 0.7 em
# (1 em for CJK and other wide scripts). An estimate: the browser lays the text out itself.
_WIDTHS = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    (318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, *([636] * 10), 337, 337, 838, 838,
     838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635,
     611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278,
     278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838)))
ASCENT, DESCENT = 0.928, 0.236  # of the em, DejaVu Sans


def text_width(text: str, size: float) -> float:
    """Estimated advance width of ``text`` at ``size`` points."""
    return size * sum(_WIDTHS.get(c, 1000 if ord(c) >= 0x2E80 else 700) for c in text) / 1000


#: C0 control characters other than tab, newline and carriage return: not allowed in XML 1.0, so a
#: name carrying one (JSON allows them) would make the saved .svg file unreadable. Dropped.
_XML_INVALID = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def esc(text) -> str:
    """``text`` for an SVG text node or attribute: XML-escaped, control characters dropped."""
    return html.escape(str(text).translate(_XML_INVALID), quote=True)


def _n(v: float) -> str:
    """A coordinate, to 0.01 pt (trailing zeros dropped): short and identical for equal input."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# ----------------------------------------------------------------------------- ticks
def log_ticks(lo: float, hi: float, most: int = 6) -> list:
    """Tick values in [lo, hi] (both > 0): 1, 2, 5 x 10^k, thinned to at most ``most``: to 1, 3 x
    10^k, then 10^k alone, then every second, third, ... decade (as matplotlib's LogLocator)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def within(values):
        return [v for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]

    for subs in ((1.0, 2.0, 5.0), (1.0, 3.0)):
        ticks = within([c * 10.0 ** k for k in range(k0, k1 + 1) for c in subs])
        if len(ticks) <= most:
            return ticks
    stride = 1
    while True:
        ticks = within([10.0 ** k for k in range(k0, k1 + 1) if k % stride == 0])
        if len(ticks) <= most:
            return ticks
        stride += 1


def linear_ticks(lo: float, hi: float, most: int = 6) -> tuple:
    """``(ticks, decimals)``: multiples of the smallest "nice" step (1, 2, 2.5, 5 x 10^k) giving at
    most ``most`` ticks in [lo, hi], and the decimals that step needs in its labels."""
    span = hi - lo
    if span <= 0:
        return [lo], 0
    k = math.floor(math.log10(span / most))
    for exp in (k, k + 1, k + 2):
        for m in (1.0, 2.0, 2.5, 5.0):
            step = m * 10.0 ** exp
            first = math.ceil(lo / step - 1e-9)
            last = math.floor(hi / step + 1e-9)
            if last - first + 1 <= most:
                decimals = max(0, -exp + (1 if m == 2.5 else 0))
                return [i * step for i in range(first, last + 1)], decimals
    return [lo, hi], 1  # pragma: no cover - a step of 10^(k+2) always fits


def tick_label(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s.replace("-", "\u2212")


# ----------------------------------------------------------------------------- markers
def _poly(points) -> str:
    return "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points) + "Z"


def _star(n, outer, inner, turn=-90.0):
    pts = []
    for i in range(2 * n):
        r = outer if i % 2 == 0 else inner
        a = math.radians(turn + i * 180.0 / n)
        pts.append((r * math.cos(a), r * math.sin(a)))
    return pts


def _regular(n, r, turn=-90.0):
    return [(r * math.cos(math.radians(turn + i * 360.0 / n)), r * math.sin(math.radians(turn + i * 360.0 / n)))
            for i in range(n)]


def _plus(arm, half, angle=0.0):
    pts = [(-half, -arm), (half, -arm), (half, -half), (arm, -half), (arm, half), (half, half), (half, arm), (-half, arm),
           (-half, half), (-arm, half), (-arm, -half), (-half, -half)]
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(x * c - y * s, x * s + y * c) for x, y in pts]


def marker_path(marker: str, size: float = MARKER_SIZE) -> str:
    """The outline of a matplotlib-style marker (``o s D ^ v < > P * X p h``) centred on 0,0, ``size`` across."""
    r = size / 2
    if marker == "o":
        return f"M{_n(r)} 0A{_n(r)} {_n(r)} 0 1 1 {_n(-r)} 0A{_n(r)} {_n(r)} 0 1 1 {_n(r)} 0Z"
    return _poly(marker_vertices(marker, size))


def marker_vertices(marker: str, size: float = MARKER_SIZE) -> list:
    """The polygon of a marker other than the circle ``o``: [(x, y)] centred on 0,0."""
    r = size / 2
    shapes = {
        "s": lambda: [(-r * 0.9, -r * 0.9), (r * 0.9, -r * 0.9), (r * 0.9, r * 0.9), (-r * 0.9, r * 0.9)],
        "D": lambda: [(0, -r * 1.1), (r * 0.8, 0), (0, r * 1.1), (-r * 0.8, 0)],
        "^": lambda: [(0, -r), (r, r), (-r, r)],
        "v": lambda: [(0, r), (-r, -r), (r, -r)],
        "<": lambda: [(-r, 0), (r, -r), (r, r)],
        ">": lambda: [(r, 0), (-r, r), (-r, -r)],
        "P": lambda: _plus(r * 1.1, r * 0.38),
        "X": lambda: _plus(r * 1.15, r * 0.34, 45.0),
        "*": lambda: _star(5, r * 1.25, r * 0.5),
        "p": lambda: _regular(5, r * 1.05),
        "h": lambda: _regular(6, r * 1.05),
    }
    return shapes.get(marker, shapes["s"])()


def marker_defs(ident: str, marker: str, color: str, fill: str, left_clip: str) -> str:
    """A ``<g id=ident>`` drawing one marker: ``fill`` "full", "none" (hollow) or "left" (half-filled:
    the left half through the clip path ``left_clip``, which covers x < 0)."""
    d = marker_path(marker)
    stroke = f'stroke="{color}" stroke-width="{MARKER_EDGE}" stroke-linejoin="round"'
    if fill == "full":
        return f'<path id="{ident}" d="{d}" fill="{color}" {stroke}/>'
    if fill == "none":
        return f'<path id="{ident}" d="{d}" fill="none" {stroke}/>'
    return (f'<g id="{ident}"><path d="{d}" fill="#ffffff"/><path d="{d}" fill="{color}" clip-path="url(#{left_clip})"/>'
            f'<path d="{d}" fill="none" {stroke}/></g>')


# ----------------------------------------------------------------------------- layout helpers
class Box:
    """An axis-aligned rectangle in SVG coordinates (y grows downwards)."""

    __slots__ = ("x0", "y0", "x1", "y1")

    def __init__(self, x0, y0, x1, y1):
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1

    def overlaps(self, o) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1

    def inside(self, o) -> bool:
        return self.x0 >= o.x0 and self.x1 <= o.x1 and self.y0 >= o.y0 and self.y1 <= o.y1


def text_box(x: float, baseline: float, text: str, size: float, anchor: str) -> Box:
    w = text_width(text, size)
    x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
    return Box(x0, baseline - ASCENT * size, x0 + w, baseline + DESCENT * size)


def text(x: float, y: float, content: str, size: float, anchor: str = "start", color: str | None = None,
         rotate: bool = False) -> str:
    """A ``<text>`` with its baseline at ``y``; ``rotate``: turned a quarter left about (x, y)."""
    rot = f' transform="rotate(-90 {_n(x)} {_n(y)})"' if rotate else ""
    fill = f' fill="{color}"' if color else ""
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"{anchor_attr}{fill}{rot}>{esc(content)}</text>'


# ----------------------------------------------------------------------------- big panels as a bitmap
#: Image pixels per point for a rasterised panel (matplotlib drew them at 110 dpi, 1.53 px/pt).
RASTER_SCALE = 1.5


@cache
def marker_mask(marker: str, fill: str, scale: float = RASTER_SCALE, supersample: int = 4):
    """``(alpha, c)``: a marker's ink coverage (0-1) on a square pixel grid centred on pixel ``c``,
    anti-aliased by ``supersample``^2 samples a pixel. Ink is the outline (``MARKER_EDGE`` wide) and,
    for ``fill`` "full", the inside; for "left", the inside's left half; for "none", nothing more.
    ``fill`` "paper" gives instead what a half-filled marker paints white (the inside's right half),
    as its vector form does. Cached: every bitmap panel stamps the same few masks (read-only)."""
    import numpy as np

    reach = (MARKER_SIZE * 0.65 + MARKER_EDGE) * scale
    c = int(math.ceil(reach))
    m = 2 * c + 1
    offs = (np.arange(m * supersample) + 0.5) / supersample - (c + 0.5)  # sample centres, pixels from the middle
    x, y = np.meshgrid(offs / scale, offs / scale)  # in points
    half = MARKER_EDGE / 2
    if marker == "o":
        r = np.hypot(x, y)
        inside, edge = r <= MARKER_SIZE / 2, np.abs(r - MARKER_SIZE / 2) <= half
    else:
        pts = marker_vertices(marker)
        inside = np.zeros(x.shape, dtype=bool)
        dist = np.full(x.shape, np.inf)
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
            # even-odd rule: a ray from the sample towards +x crosses this edge
            inside ^= ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / ((y1 - y0) or 1e-12) + x0)
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((x - x0) * dx + (y - y0) * dy) / ((dx * dx + dy * dy) or 1e-12), 0, 1)
            dist = np.minimum(dist, np.hypot(x - x0 - t * dx, y - y0 - t * dy))
        edge = dist <= half
    if fill == "paper":
        ink = inside & (x >= 0) & ~edge
    else:
        ink = edge | (inside if fill == "full" else (inside & (x < 0)) if fill == "left" else False)
    alpha = ink.reshape(m, supersample, m, supersample).mean(axis=(1, 3))
    alpha.setflags(write=False)  # shared by the cache
    return alpha, c


def png_bytes(rgba) -> bytes:
    """An RGBA ``uint8`` array (height, width, 4) as PNG bytes (no filter, zlib level 6: deterministic)."""
    import struct
    import zlib

    import numpy as np

    h, w, _ = rgba.shape
    raw = np.zeros((h, 1 + 4 * w), dtype=np.uint8)
    raw[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def raster_markers(frame: Box, layers: list, log_x: tuple, y_range: tuple, scale: float = RASTER_SCALE) -> str:
    """One ``<image>`` (an embedded PNG) holding every marker of a panel, for panels with thousands of
    points, whose markers as vector ``<use>`` elements would make the SVG megabytes and slow to show.
    ``layers``: [(color, marker, fill, points)] in drawing order, a point's x and y at [1] and [2]
    (x on the panel's log axis spanning ``log_x`` = (log10 lo, log10 hi), y spanning ``y_range``);
    each point is stamped at its nearest pixel with :func:`marker_mask` and the layers composited
    over a transparent background."""
    import base64

    import numpy as np

    w = max(1, int(math.ceil((frame.x1 - frame.x0) * scale)))
    h = max(1, int(math.ceil((frame.y1 - frame.y0) * scale)))
    rgb = np.zeros((h, w, 3))
    alpha = np.zeros((h, w))
    def stamp(pts, marker, fill):
        """The coverage of ``pts``' markers drawn with ``fill``'s mask, over the whole image."""
        mask, c = marker_mask(marker, fill, scale)
        hits = np.zeros((h + 2 * c, w + 2 * c), dtype=bool)
        xs = np.log10(np.array([p[1] for p in pts], dtype=float))
        ys = np.array([p[2] for p in pts], dtype=float)
        fx = (xs - log_x[0]) / (log_x[1] - log_x[0])  # 0..1 across the frame
        fy = (y_range[1] - ys) / (y_range[1] - y_range[0])  # 0..1 down the frame
        ix = np.rint(fx * (frame.x1 - frame.x0) * scale - 0.5).astype(np.int64) + c
        iy = np.rint(fy * (frame.y1 - frame.y0) * scale - 0.5).astype(np.int64) + c
        ok = (ix >= 0) & (ix < w + 2 * c) & (iy >= 0) & (iy < h + 2 * c)
        hits[iy[ok], ix[ok]] = True
        cover = np.zeros((h, w))
        for (i, j) in zip(*np.nonzero(mask)):  # ink at offset (i - c, j - c) from each point
            np.maximum(cover, hits[2 * c - i:2 * c - i + h, 2 * c - j:2 * c - j + w] * mask[i, j], out=cover)
        return cover

    for color, marker, fill, pts in layers:
        paints = [("#ffffff", "paper")] if fill == "left" else []
        for paint, mask_fill in paints + [(color, fill)]:
            cover = stamp(pts, marker, mask_fill)
            ink = np.array([int(paint[k:k + 2], 16) / 255 for k in (1, 3, 5)])
            rgb = rgb * (1 - cover)[..., None] + ink * cover[..., None]
            alpha = alpha * (1 - cover) + cover
    out = np.zeros((h, w, 4), dtype=np.uint8)
    seen = alpha > 0
    out[seen, :3] = np.clip(np.rint(rgb[seen] / alpha[seen, None] * 255), 0, 255)
    out[..., 3] = np.clip(np.rint(alpha * 255), 0, 255)
    data = base64.b64encode(png_bytes(out)).decode("ascii")
    return (f'<image x="{_n(frame.x0)}" y="{_n(frame.y0)}" width="{_n(frame.x1 - frame.x0)}" height="{_n(frame.y1 - frame.y0)}" '
            f'preserveAspectRatio="none" xlink:href="data:image/png;base64,{data}"/>')


# ----------------------------------------------------------------------------- one panel
#: Where a name may go beside its point: (dx, dy in points, dy up; text anchor; vertical alignment).
LABEL_SPOTS = ((4, 3, "start", "bottom"), (4, -3, "start", "top"), (-4, 3, "end", "bottom"), (-4, -3, "end", "top"),
               (0, 6, "middle", "bottom"), (0, -6, "middle", "top"))
LABEL_SIZE = 6.0


def place_labels(points, to_px, frame: Box) -> tuple:
    """``(svg, left out)``: each point's name where it overlaps no other name, no marker and stays
    inside ``frame``; a name that fits nowhere is left out (its point is still drawn). ``points``:
    [(x, y, name)], placed from left to right."""
    pxs = [to_px(x, y) for x, y, _ in points]
    markers = [Box(px - 3.5, py - 3.5, px + 3.5, py + 3.5) for px, py in pxs]
    placed: list = []
    out: list = []
    skipped = 0
    for k, (_, _, name) in sorted(enumerate(points), key=lambda kp: (kp[1][0], kp[1][1])):
        label = name if len(name) <= 18 else name[:17] + "\u2026"
        px, py = pxs[k]
        for dx, dy, anchor, va in LABEL_SPOTS:
            baseline = (py - dy - DESCENT * LABEL_SIZE) if va == "bottom" else (py - dy + ASCENT * LABEL_SIZE)
            b = text_box(px + dx, baseline, label, LABEL_SIZE, anchor)
            w, h = b.x1 - b.x0, b.y1 - b.y0  # a margin for the browser's own text layout
            box = Box(b.x0 - 0.06 * w - 2, b.y0 - 0.05 * h - 2, b.x1 + 0.06 * w + 2, b.y1 + 0.05 * h + 2)
            if (box.inside(frame) and not any(box.overlaps(p) for p in placed)
                    and not any(box.overlaps(m) for j, m in enumerate(markers) if j != k)):
                placed.append(box)
                out.append(text(px + dx, baseline, label, LABEL_SIZE, anchor, TEXT_COLOR))
                break
        else:
            skipped += 1
    return "".join(out), skipped


def panel_svg(frame: Box, panel: dict, style: dict, kinds: dict, ids: str, xlabel: str, ylabel: str,
              param_label, label_limit: int, title_limit: int, raster_limit: int) -> str:
    """One panel: ``panel`` = {"title", "xlim", "ylim", "points": [(series, x, y, kind, name)],
    "groups": {(series, kind): its points}, "fits": [(series, kind, x0, y0, x1, y1)]}; markers come
    from ``<defs>`` (ids ``{ids}{series index}{kind}``),
    or above ``raster_limit`` points one embedded bitmap (:func:`raster_markers`)."""
    (x_lo, x_hi), (y_lo, y_hi) = panel["xlim"], panel["ylim"]
    lx0, lx1 = math.log10(x_lo), math.log10(x_hi)
    w, h = frame.x1 - frame.x0, frame.y1 - frame.y0

    def to_px(x, y):
        return frame.x0 + (math.log10(x) - lx0) / (lx1 - lx0) * w, frame.y1 - (y - y_lo) / (y_hi - y_lo) * h

    parts = [f'<rect x="{_n(frame.x0)}" y="{_n(frame.y0)}" width="{_n(w)}" height="{_n(h)}" fill="#ffffff"/>']
    grid, ticks, labels = [], [], []
    for v in log_ticks(x_lo, x_hi):
        px = to_px(v, y_lo)[0]
        grid.append(f"M{_n(px)} {_n(frame.y0)}V{_n(frame.y1)}")
        ticks.append(f"M{_n(px)} {_n(frame.y1)}v{TICK}")
        labels.append(text(px, frame.y1 + TICK + 3.5 + ASCENT * 7, param_label(v), 7, "middle"))
    yticks, decimals = linear_ticks(y_lo, y_hi)
    widest = 0.0
    for v in yticks:
        py = to_px(x_lo, v)[1]
        grid.append(f"M{_n(frame.x0)} {_n(py)}H{_n(frame.x1)}")
        ticks.append(f"M{_n(frame.x0)} {_n(py)}h{-TICK}")
        lab = tick_label(v, decimals)
        widest = max(widest, text_width(lab, 7))
        labels.append(text(frame.x0 - TICK - 3.5, py + (ASCENT - DESCENT) / 2 * 7, lab, 7, "end"))
    parts.append(f'<path d="{"".join(grid)}" stroke="{GRID_COLOR}" stroke-opacity="0.3" stroke-width="0.8" fill="none"/>')
    groups = panel["groups"]  # drawn series by series, kinds in ``kinds`` order
    order = list(kinds)
    layers = sorted(groups, key=lambda sk: (sk[0], order.index(sk[1])))
    if len(panel["points"]) > raster_limit:
        parts.append(raster_markers(frame, [(style[sk[0]][0], style[sk[0]][1], kinds[sk[1]], groups[sk]) for sk in layers],
                                    (lx0, lx1), (y_lo, y_hi)))
        layers = []
    titled = len(panel["points"]) <= title_limit  # the name on hover; left out of big panels (bytes)
    for series, kind in layers:
        uses = []
        for _, x, y, _, name in groups[(series, kind)]:
            px, py = to_px(x, y)
            use = f'<use xlink:href="#{ids}{style[series][2]}{kind[0]}" x="{_n(px)}" y="{_n(py)}"'
            uses.append(use + (f"><title>{esc(name)}</title></use>" if titled else "/>"))
        parts.append("".join(uses))
    if panel["fits"]:  # a fit line can leave the y window: clipped to the frame
        clip = f"{ids}c{int(frame.x0)}-{int(frame.y0)}"
        parts.append(f'<clipPath id="{clip}"><rect x="{_n(frame.x0)}" y="{_n(frame.y0)}" width="{_n(w)}" height="{_n(h)}"/>'
                     f'</clipPath><g clip-path="url(#{clip})">')
        for series, kind, x0, y0, x1, y1 in panel["fits"]:
            (ax, ay), (bx, by) = to_px(x0, y0), to_px(x1, y1)
            dash = ' stroke-dasharray="3.7 1.6"' if kind == "reported" else ""
            parts.append(f'<path d="M{_n(ax)} {_n(ay)}L{_n(bx)} {_n(by)}" stroke="{style[series][0]}" stroke-width="1" '
                         f'stroke-opacity="0.8" stroke-linecap="square"{dash} fill="none"/>')
        parts.append("</g>")
    parts.append(f'<rect x="{_n(frame.x0)}" y="{_n(frame.y0)}" width="{_n(w)}" height="{_n(h)}" fill="none" stroke="#000000" '
                 f'stroke-width="0.8"/>')
    parts.append(f'<path d="{"".join(ticks)}" stroke="#000000" stroke-width="0.8" fill="none"/>')
    parts.append("".join(labels))
    parts.append(text(frame.x0 + w / 2, frame.y0 - 6, panel["title"], 9, "middle"))
    parts.append(text(frame.x0 + w / 2, frame.y1 + TICK + 3.5 + 7 * (ASCENT + DESCENT) + 3 + ASCENT * 7, xlabel, 7, "middle"))
    ylx = frame.x0 - TICK - 3.5 - widest - 4 - DESCENT * 8
    parts.append(text(ylx, frame.y0 + h / 2, ylabel, 8, "middle", rotate=True))
    if len(panel["points"]) <= label_limit:
        named, _ = place_labels([(p[1], p[2], p[4]) for p in panel["points"]], to_px, frame)
        parts.append(named)
    return "".join(parts)


# ----------------------------------------------------------------------------- the figure
def figure_svg(panels: list, style: dict, kinds: dict, legend: list, *, ids: str, xlabel: str, ylabel: str,
               param_label, label_limit: int, title_limit: int, raster_limit: int, ncols: int, panel_in=(3.3, 2.7)) -> str:
    """The whole figure: ``panels`` (see :func:`panel_svg`) in a grid of ``ncols`` columns, and the
    legend below them. ``style``: {series: (color, marker, index)}; ``kinds``: {kind: fill}
    ("full", "none", "left"); ``legend``: groups (the series, then the kinds of mark) of
    [(marker, fill, color, label)], each group in rows of up to four.

    Geometry as the matplotlib figure it replaces: each panel cell 3.3 x 2.7 in, margins of 0.7 in
    left, 0.2 in right and 0.3 in top, the legend and x labels below."""
    nrows = math.ceil(len(panels) / ncols)
    width_in = panel_in[0] * max(ncols, 2)
    W = width_in * 72
    layout = legend_layout(legend, W)
    legend_rows = sum(math.ceil(len(items) / n) for items, n, _ in layout)
    legend_in = 0.25 + 0.2 * legend_rows
    height_in = panel_in[1] * nrows + legend_in
    H = height_in * 72
    left, right, top, bottom = 0.7 * 72, W - 0.2 * 72, 0.3 * 72, H - (legend_in + 0.45) * 72
    wspace, hspace = 0.38, 0.62
    cell_w = (right - left) / (ncols + wspace * (ncols - 1))
    cell_h = (bottom - top) / (nrows + hspace * (nrows - 1))
    used = sorted({(style[p[0]][2], p[0], p[3]) for pan in panels if len(pan["points"]) <= raster_limit for p in pan["points"]})
    defs = [f'<clipPath id="{ids}L"><rect x="-9" y="-9" width="9" height="18"/></clipPath>']
    defs += [marker_defs(f"{ids}{idx}{kind[0]}", style[series][1], style[series][0], kinds[kind], f"{ids}L")
             for idx, series, kind in used]
    body = []
    for i, panel in enumerate(panels):
        r, c = divmod(i, ncols)
        x0 = left + c * cell_w * (1 + wspace)
        y0 = top + r * cell_h * (1 + hspace)
        body.append(panel_svg(Box(x0, y0, x0 + cell_w, y0 + cell_h), panel, style, kinds, ids, xlabel, ylabel, param_label,
                              label_limit, title_limit, raster_limit))
    body.append(_legend(layout, W, H - legend_in * 72 + 6, ids))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{_n(W)}pt" '
            f'height="{_n(H)}pt" viewBox="0 0 {_n(W)} {_n(H)}" version="1.1">\n'
            f'<defs>{"".join(defs)}</defs>\n'
            f'<g font-family="{FONT}" fill="#000000"><rect width="{_n(W)}" height="{_n(H)}" fill="#ffffff"/>\n'
            + "\n".join(body) + "\n</g>\n</svg>\n")


def legend_layout(groups: list, W: float) -> list:
    """``[(items, ncols, column widths)]``: each non-empty legend group with the most columns (up to
    four) whose entries fit across ``W``; in one column, a label too long for ``W`` is cut (ending in "…")."""
    room = W - 8
    out = []
    for items in groups:
        if not items:
            continue
        for ncols in range(min(4, len(items)), 0, -1):
            widths = [max(12 + text_width(e[3], LEGEND_SIZE) for e in items[c::ncols]) for c in range(ncols)]
            if sum(widths) + LEGEND_GAP * (ncols - 1) <= room:
                break
        else:
            cut = []
            for marker, fill, color, label in items:
                while len(label) > 2 and 12 + text_width(label, LEGEND_SIZE) > room:
                    label = label[:-2] + "\u2026"
                cut.append((marker, fill, color, label))
            items = cut
            widths = [max(12 + text_width(e[3], LEGEND_SIZE) for e in items)]
        out.append((items, ncols, widths))
    return out


LEGEND_SIZE, LEGEND_ROW, LEGEND_GAP = 7.0, 14.4, 14.0


def _legend(layout: list, W: float, top: float, ids: str) -> str:
    """The :func:`legend_layout` groups in rows from ``top`` down, each row centred; a column as wide
    as its widest entry (so the series' short names are not spread by a long explanation)."""
    size = LEGEND_SIZE
    out = []
    row = 0
    for items, ncols, widths in layout:
        cols = [items[c::ncols] for c in range(ncols)]
        x = (W - (sum(widths) + LEGEND_GAP * (ncols - 1))) / 2
        for c, col in enumerate(cols):
            for r, (marker, fill, color, label) in enumerate(col):
                cy = top + (row + r) * LEGEND_ROW + LEGEND_ROW / 2
                out.append(f'<g transform="translate({_n(x + 4)} {_n(cy)})">'
                           + marker_defs("", marker, color, fill, f"{ids}L").replace(' id=""', "") + "</g>")
                out.append(text(x + 12, cy + (ASCENT - DESCENT) / 2 * size, label, size))
            x += widths[c] + LEGEND_GAP
        row += math.ceil(len(items) / ncols)
    return "".join(out)
