"""The pure-Python SVG drawing of the scaling figures (:mod:`xgap.leaderboard.svgplot`): ticks as
worked out by hand, escaping of untrusted names, well-formed and deterministic output, names placed
without overlaps, fits clipped to their panel."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from xgap.leaderboard import svgplot
from xgap.leaderboard.plots import KINDS, _figure, _panel, _series_style


def test_log_ticks_thin_out_like_a_log_locator():
    # 1, 2, 5 x 10^k while at most six fit: 5M..50M -> 5M, 10M, 20M, 50M
    assert svgplot.log_ticks(4e6, 6e7) == [5e6, 1e7, 2e7, 5e7]
    # 20M..3B holds seven of 1, 2, 5 (20M 50M 100M 200M 500M 1B 2B): 1, 3 x 10^k instead
    assert svgplot.log_ticks(1.5e7, 3.5e9) == [3e7, 1e8, 3e8, 1e9, 3e9]
    # twelve decades: 10^k alone (13) and every second decade (7) are too many -> every third
    assert svgplot.log_ticks(1.0, 1e12) == [1.0, 1e3, 1e6, 1e9, 1e12]


@pytest.mark.parametrize(("lo", "hi", "ticks", "decimals"), [
    (0.0, 12.0, [0.0, 2.5, 5.0, 7.5, 10.0], 1),  # step 1 gives 13 ticks, 2 gives 7, 2.5 gives 5
    (25.6, 37.6, [26.0, 28.0, 30.0, 32.0, 34.0, 36.0], 0),  # step 1 gives 12, 2 gives 6
    (0.0, 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0], 0),  # step 10 gives 11, 20 gives 6
    (-4.4, 8.4, [-2.5, 0.0, 2.5, 5.0, 7.5], 1),  # step 2 gives 7 (-4..8)
])
def test_linear_ticks_by_hand(lo, hi, ticks, decimals):
    got, d = svgplot.linear_ticks(lo, hi)
    assert d == decimals
    assert got == pytest.approx(ticks)


def test_tick_labels_use_a_true_minus_and_no_negative_zero():
    assert svgplot.tick_label(-2.5, 1) == "\u22122.5"
    assert svgplot.tick_label(-0.0, 1) == "0.0"
    assert svgplot.tick_label(-1e-12, 0) == "0"


def test_every_marker_is_a_closed_outline():
    for m in "osD^vP*Xph<>":
        d = svgplot.marker_path(m)
        assert d.startswith("M") and d.endswith("Z"), m
        xs = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
        assert max(abs(v) for v in xs) <= svgplot.MARKER_SIZE  # centred, about one marker across


def _points(n, names=None):
    return [("none" if i % 2 else "mnli", 10 ** (7 + 3 * i / max(n - 1, 1)), 5 + (i * 7) % 11, "evaluated",
             (names or {}).get(i, f"model {i}")) for i in range(n)]


def test_figure_is_wellformed_deterministic_and_escapes_names():
    evil = '<script>alert("x")</script> & $x$'
    pts = _points(8, {3: evil})
    pts.append(("none", 3e8, 7.0, "reported", "published"))
    pts.append(("squad", 5e8, 9.0, "partial", "grid cell"))
    style = _series_style(["mnli", "none", "squad"])
    a, slopes = _figure([("xnli gap", pts), ("empty", [])], style, "gap", "t-gap")
    b, _ = _figure([("xnli gap", pts), ("empty", [])], style, "gap", "t-gap")
    assert a == b
    root = ET.fromstring(a)  # well-formed XML
    assert root.tag.endswith("svg")
    assert "<script" not in a and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; $x$" in a
    ids = re.findall(r'\bid="([^"]+)"', a)
    assert ids and all(i.startswith("t-gap-") for i in ids) and len(ids) == len(set(ids))
    for ref in re.findall(r'href="#([^"]+)"|url\(#([^)]+)\)', a):
        assert (ref[0] or ref[1]) in ids
    assert "empty" not in a  # an empty panel is not drawn
    assert set(slopes["xnli gap"]) == {"mnli", "none"}  # reported (one point) and partial are never fitted
    for kind, (_, text) in KINDS.items():
        assert svgplot.esc(text) in a, kind  # each kind that occurs is explained in the legend


def test_fit_line_is_the_least_squares_line_and_clipped():
    # y = 3 log10(x) - 20 exactly: slope 3 points per decade, the line from the smallest to the largest x
    pts = [("none", x, 3 * math.log10(x) - 20, "evaluated", f"m{x:g}") for x in (1e7, 1e8, 1e9)]
    panel, slopes = _panel("t", pts)
    assert slopes == {"none": pytest.approx(3.0)}
    (_, _, x0, y0, x1, y1), = panel["fits"]
    assert (x0, y0, x1, y1) == pytest.approx((1e7, 1.0, 1e9, 7.0))
    svg, _ = _figure([("t", pts)], _series_style(["none"]), "gap", "c")
    assert re.search(r'<clipPath id="c-c[^"]*"><rect', svg) and 'clip-path="url(#c-c' in svg


def test_names_never_overlap_and_stay_inside():
    frame = svgplot.Box(0, 0, 200, 120)
    # a crowded cluster: not every name can be placed; those placed must not collide
    pts = [(10 ** (7 + 0.02 * i), 50 + (i % 3), f"a long model name {i}") for i in range(20)]

    def to_px(x, y):
        return (math.log10(x) - 6.5) / 2 * 200, 120 - (y - 40) / 20 * 120

    svg, skipped = svgplot.place_labels(pts, to_px, frame)
    placed = re.findall(r'<text x="([-\d.]+)" y="([-\d.]+)" font-size="6"(?: text-anchor="(\w+)")?[^>]*>([^<]*)</text>', svg)
    assert skipped > 0 and len(placed) + skipped == len(pts) and placed
    boxes = [svgplot.text_box(float(x), float(y), t, 6, a or "start") for x, y, a, t in placed]
    for i, b in enumerate(boxes):
        assert b.inside(frame)
        assert not any(b.overlaps(o) for o in boxes[i + 1:])


def test_text_width_estimate_is_monotone_and_wide_for_cjk():
    assert svgplot.text_width("iii", 10) < svgplot.text_width("mmm", 10)
    assert svgplot.text_width("中文", 10) == pytest.approx(20.0)


def test_marker_masks_cover_what_their_fill_says():
    full, c = svgplot.marker_mask("o", "full")
    hollow, _ = svgplot.marker_mask("o", "none")
    half, _ = svgplot.marker_mask("o", "left")
    assert full.shape == (2 * c + 1, 2 * c + 1) and full.max() <= 1.0
    assert full[c, c] == 1.0 and hollow[c, c] == 0.0  # the centre is ink only when filled
    assert half[c, c - 1] == 1.0 and half[c, c + 1] == 0.0  # left half filled, right half open
    # ink area, in pixels: a filled disc of diameter MARKER_SIZE + MARKER_EDGE at RASTER_SCALE px/pt
    r = (svgplot.MARKER_SIZE + svgplot.MARKER_EDGE) / 2 * svgplot.RASTER_SCALE
    assert full.sum() == pytest.approx(math.pi * r * r, rel=0.08)
    assert hollow.sum() < half.sum() < full.sum()
    for m in "sD^vP*Xph<>":
        ink, k = svgplot.marker_mask(m, "full")
        assert ink[k, k] == 1.0 and 0 < ink.sum() < ink.size, m


def test_png_round_trips_exactly():
    import numpy as np

    Image = pytest.importorskip("PIL.Image")
    import io

    rgba = np.random.default_rng(0).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    data = svgplot.png_bytes(rgba)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data == svgplot.png_bytes(rgba)
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    assert (back == rgba).all()


def test_big_panels_become_one_bitmap(monkeypatch):
    import base64
    import io

    import numpy as np

    from xgap.leaderboard import plots

    monkeypatch.setattr(plots, "RASTER_LIMIT", 20)
    big = _points(30)
    small = _points(8)
    svg, _ = _figure([("big", big), ("small", small)], _series_style(["mnli", "none"]), "gap", "r")
    images = re.findall(r'<image [^>]*href="data:image/png;base64,([^"]+)"', svg)
    assert len(images) == 1  # the big panel's markers; the small panel keeps vector markers
    assert svg.count("<use ") == len(small)
    ET.fromstring(svg)
    Image = pytest.importorskip("PIL.Image")
    px = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]))).convert("RGBA"))
    assert px[..., 3].max() == 255 and (px[..., 3] > 0).mean() < 0.5  # markers drawn, background left transparent
    colors = {tuple(c) for c in px[px[..., 3] == 255][:, :3]}
    tab = {tuple(int(h[k:k + 2], 16) for k in (1, 3, 5)) for h in svgplot.TAB10[:2]}
    assert tab <= colors  # both series' colours, unblended where a marker is solid
    assert _figure([("big", big), ("small", small)], _series_style(["mnli", "none"]), "gap", "r")[0] == svg


def test_a_long_series_label_is_cut_in_the_legend():
    long = "mnli+" * 30
    pts = [(long, 10 ** (7 + i), 5.0 + i, "evaluated", f"m{i}") for i in range(3)]
    svg, slopes = _figure([("t", pts)], _series_style([long]), "gap", "l")
    assert svgplot.esc(long[:39] + "\u2026") in svg and svgplot.esc(long) not in svg
    assert set(slopes["t"]) == {long}  # the slope keeps the full name (the page's table)


def _png_pixels(svg: str):
    import base64
    import io

    import numpy as np

    Image = pytest.importorskip("PIL.Image")
    data = re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def test_bitmap_markers_land_on_their_points_unflipped():
    frame = svgplot.Box(0, 0, 100, 60)  # 150 x 90 pixels at 1.5 px/pt
    pts = [("s", x, y, "evaluated", "") for x in (2, 10, 50) for y in (2, 5, 8)]
    svg = svgplot.raster_markers(frame, [("#1f77b4", "o", "full", pts)], (0.0, 2.0), (0.0, 10.0))
    px = _png_pixels(svg)
    assert px.shape == (90, 150, 4)

    def pixel(x, y):  # the pixel a point lands on: x on log10 0..2 across 150 px, y 10..0 down 90 px
        return round((10 - y) / 10 * 90 - 0.5), round(math.log10(x) / 2 * 150 - 0.5)

    for _, x, y, _, _ in pts:
        r, c = pixel(x, y)
        assert px[r, c, 3] == 255 and tuple(px[r, c, :3]) == (0x1F, 0x77, 0xB4)
    for x in (2, 10, 50):  # nothing where a flipped or transposed drawing would put ink
        r, c = pixel(x, 3.5)
        assert px[r, c, 3] == 0
    assert (px[..., 3] > 0).sum() < 9 * 80  # nine markers of ~70 px each with their soft edge, nothing else


def test_bitmap_half_filled_markers_are_white_on_the_right_like_vector_ones():
    frame = svgplot.Box(0, 0, 100, 60)
    svg = svgplot.raster_markers(frame, [("#d62728", "s", "left", [("s", 10, 5, "partial", "")])], (0.0, 2.0), (0.0, 10.0))
    px = _png_pixels(svg)
    r, c = round(45 - 0.5), round(75 - 0.5)
    assert tuple(px[r, c - 1]) == (0xD6, 0x27, 0x28, 255)  # left half: the series colour
    assert tuple(px[r, c + 1]) == (255, 255, 255, 255)  # right half: white paper, as the vector marker


def test_fit_line_sits_inside_its_panels_clip():
    pts = [("none", x, 3 * math.log10(x) - 20 + (40 if x == 1e8 else 0), "evaluated", f"m{x:g}") for x in (1e7, 1e8, 1e9)]
    svg, _ = _figure([("t", pts)], _series_style(["none"]), "gap", "c")
    clip_id, rect = re.search(r'<clipPath id="(c-c[^"]+)"><rect ([^>]*)/></clipPath>', svg).groups()
    frame = re.search(r'<rect (x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+") fill="#ffffff"/>', svg.split("<g font")[1])
    assert rect == frame.group(1)  # the clip is the panel's frame
    group = re.search(rf'<g clip-path="url\(#{clip_id}\)">(.*?)</g>', svg).group(1)
    assert group.count("<path ") == 1 and 'stroke="#1f77b4"' in group


def test_legend_stays_inside_a_narrow_figure():
    names = ["n" * 45, "m" * 45, "none", "squad", "mnli"]
    pts = [(n, 10 ** (7 + i % 3), 5.0 + i, "evaluated", f"m{i}") for i, n in enumerate(names)]
    svg, _ = _figure([("t", pts)], _series_style(sorted(names)), "gap", "w")
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    for x, label in re.findall(r'<text x="([-\d.]+)" y="[-\d.]+" font-size="7">([^<]*)</text>', svg):
        assert 0 <= float(x) and float(x) + svgplot.text_width(label, 7) <= width, label


def test_control_characters_never_reach_the_svg():
    pts = _points(3, {1: "bad\x01name\x0b"})
    svg, _ = _figure([("t\x02", pts)], _series_style(["mnli", "none"]), "gap", "x")
    ET.fromstring(svg)
    assert "\x01" not in svg and "\x02" not in svg and "badname" in svg
