"""Summaries of experiment grids (X-STILTs studies) from the result store: pure computation.

A grid's cells are ordinary submissions whose ``manifest.json`` carries a ``manifest.grid`` object
(encoder, size, intermediate setting, seed, targets, languages, stand-ins; see
``schemas/submission.schema.json``). Grids usually evaluate only some of a target's languages, so
the main leaderboard marks those tasks *partial* and leaves them out of its scaling panels; here
every figure is computed over **the languages present in the records** (those of the target's card;
languages the grid asked for but that have no record are listed in ``missing_langs``):

- ``english``: the English primary score; ``others_mean``: the mean primary score over the other
  languages present; ``task_score``: the mean over all languages present;
- ``gap`` = English - mean(others) on the leaderboard's gap metric: the primary score, except for
  QA where it is exact match (EM) as in the XTREME paper, with the F1 gap in ``gap_f1``
  (so for QA ``gap`` is not ``english - others_mean``, which are on (EM + F1) / 2);
- with several seeds of one cell (same encoder, size and intermediate setting) every figure is the
  mean over the seeds, and ``gap_interval`` is mean +/- t(0.975, n-1) * sd / sqrt(n) over the
  seeds' gaps (a t-based 95% interval of the mean; ``interval_kind`` says ``"seeds"``);
- with one seed, ``gap_interval`` is a normal approximation from the per-language bootstrap 95%
  intervals of the gap metric: se_l = (hi - lo) / (2 * 1.96), var(gap) = se_en^2 + sum(se_o^2) / k^2
  over the k other languages, half-width 1.96 * sqrt(var). It **assumes the languages' scores are
  independent** (true for disjoint test sets; parallel sets such as XNLI's correlate, which makes
  it conservative for the gap). Any missing interval -> ``gap_interval`` is None.
- ``parameters``: ``manifest.json``'s ``parameters.total``, else the most common
  ``provenance.parameters.total`` of the cell's records.

Numbers only: nothing here formats or imports the site. The site's grid pages
(:mod:`xgap.leaderboard.grids`) and the Markdown of ``xgap grid report``
(:mod:`xgap.leaderboard.grid_report`) present these figures; no plotting or model libraries are
imported here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

Z95 = 1.96
# Two-sided 95% Student t quantiles by degrees of freedom; between entries the smaller df's
# (larger, so conservative) value is used, above 120 the df=120 one.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086,
        21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
        40: 2.021, 60: 2.000, 120: 1.980}
NONE_SETTING = "none"


def t95(df: int) -> float:
    """The two-sided 95% Student t quantile for ``df`` degrees of freedom (df >= 1)."""
    return _T95[max(k for k in _T95 if k <= df)]


@dataclass
class CellTarget:
    """One grid cell (encoder size x intermediate setting, seeds pooled) on one target task."""

    experiment: str
    encoder: str
    size: str
    layers: int | None
    intermediate: str  # the setting's label: "none", "squad", "mnli+squad", ...
    seeds: list  # the seeds with records of this target
    submissions: list
    parameters: int | None
    target: str
    languages: list  # languages present (card order), English first when present
    english: float | None
    others_mean: float | None
    task_score: float | None
    gap: float | None  # on gap_metric
    gap_interval: tuple | None  # (lo, hi) or None
    per_lang: dict  # lang -> mean primary score over seeds
    missing_langs: list
    gap_metric: str = ""
    gap_f1: float | None = None  # QA only
    interval_kind: str | None = None  # "seeds" | "bootstrap" | None
    names: list = field(default_factory=list)  # display names of the cell's submissions
    seed_gaps: dict = field(default_factory=dict)  # seed -> that seed's gap (for paired differences)
    gap_se: float | None = None  # one seed: the bootstrap-based standard error of the gap

    @property
    def gap_halfwidth(self) -> float | None:
        return None if self.gap_interval is None else (self.gap_interval[1] - self.gap_interval[0]) / 2


class Size(NamedTuple):
    encoder: str
    size: str
    layers: int | None
    parameters: int | None


@dataclass
class GridSummary:
    experiment: str
    title: str
    targets: list
    sizes: list  # [Size], smallest first (unknown parameter counts last)
    settings: list  # "none" first, then in order of first appearance
    cells: list  # [CellTarget]
    stand_ins: list

    def cell(self, encoder: str, size: str, setting: str, target: str) -> CellTarget | None:
        for c in self.cells:
            if (c.encoder, c.size, c.intermediate, c.target) == (encoder, size, setting, target):
                return c
        return None

    def target_cells(self, target: str) -> list:
        """The cells of ``target`` in size order, then setting order."""
        size_rank = {(s.encoder, s.size): i for i, s in enumerate(self.sizes)}
        set_rank = {s: i for i, s in enumerate(self.settings)}
        cells = [c for c in self.cells if c.target == target]
        return sorted(cells, key=lambda c: (size_rank[(c.encoder, c.size)], set_rank[c.intermediate]))


@dataclass
class GainRow:
    """Intermediate setting vs ``none`` at one size (None where either side is unknown)."""

    encoder: str
    size: str
    parameters: int | None
    setting: str
    score_gain: float | None
    english_gain: float | None
    gap_change: float | None  # negative: the gap shrank
    gap_change_halfwidth: float | None = None  # 95%; see gain_rows
    interval_kind: str | None = None  # "paired seeds" | "bootstrap" | None


# ----------------------------------------------------------------------------- helpers
class _Target(NamedTuple):
    name: str
    languages: tuple
    english: str
    has_gap: bool
    is_qa: bool
    kind: str


_TARGETS: dict = {}


def _target_info(task: str) -> _Target | None:
    """What a grid needs from ``task``'s card (None for an unknown task); cards are read once."""
    _memo = _TARGETS
    if task not in _memo:
        from xgap.cards import load_card
        from xgap.errors import XgapError

        try:
            c = load_card(task)
        except XgapError:
            _memo[task] = None
        else:
            _memo[task] = _Target(c.name, tuple(c.languages), c.english, c.has_gap, c.format == "extractive-qa", c.kind)
    return _memo[task]


def target_has_gap(task: str) -> bool:
    """Whether ``task``'s card defines a gap (retrieval does not: English is the query side, never
    scored alone). An unknown task counts as having one, so its panel says "no data" rather than nothing."""
    info = _target_info(task)
    return info is None or info.has_gap


def _mean(xs) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def _manifest_file(sub) -> dict:
    return getattr(sub, "manifest_file", None) or {}


def grid_of(sub) -> dict | None:
    """``manifest.grid`` of a submission (None when it is not a grid cell)."""
    grid = (_manifest_file(sub).get("manifest") or {}).get("grid")
    return grid if isinstance(grid, dict) and grid.get("experiment") else None


def _parameters(sub) -> int | None:
    params = _manifest_file(sub).get("parameters") or {}
    if params.get("total"):
        return params["total"]
    totals = Counter((rec.get("provenance") or {}).get("parameters", {}).get("total") for _, rec in sub.records)
    totals.pop(None, None)
    return totals.most_common(1)[0][0] if totals else None


def _size_label(grid: dict) -> str:
    if grid.get("size"):
        return str(grid["size"])
    return f"L{grid['layers']}" if grid.get("layers") else "full"


def _gap_value(rec: dict, info: _Target, metric: str) -> float | None:
    return rec["metrics"].get(metric) if info.is_qa else rec["primary_score"]


def _se(rec: dict, metric: str) -> float | None:
    ci = (rec.get("ci95") or {}).get(metric)
    return None if not ci else (ci[1] - ci[0]) / (2 * Z95)


def _seed_stats(info: _Target, recs: dict) -> dict:
    """Figures of one seed's records ``{lang: record}`` (card languages only)."""
    metric = "exact_match" if info.is_qa else None
    scores = {l: r["primary_score"] for l, r in recs.items()}
    en = scores.get(info.english) if info.has_gap else None
    others = [s for l, s in scores.items() if not (info.has_gap and l == info.english)]
    out = {"per_lang": scores, "english": en, "others_mean": _mean(others), "task_score": _mean(scores.values()),
           "gap": None, "gap_f1": None, "se": None}
    if not (info.has_gap and info.english in recs and len(recs) > 1):
        return out
    en_rec = recs[info.english]
    other_recs = [r for l, r in recs.items() if l != info.english]
    gm = metric or en_rec["primary_metric"]
    vals = [_gap_value(r, info, gm) for r in other_recs]
    en_v = _gap_value(en_rec, info, gm)
    if en_v is not None and all(v is not None for v in vals):
        out["gap"] = en_v - sum(vals) / len(vals)
    if info.is_qa:
        f1 = [r["metrics"].get("f1") for r in other_recs]
        if en_rec["metrics"].get("f1") is not None and all(v is not None for v in f1):
            out["gap_f1"] = en_rec["metrics"]["f1"] - sum(f1) / len(f1)
    ses = [_se(en_rec, en_rec["primary_metric"] if metric is None else metric)]
    ses += [_se(r, r["primary_metric"] if metric is None else metric) for r in other_recs]
    if out["gap"] is not None and all(s is not None for s in ses):
        k = len(other_recs)
        out["se"] = math.sqrt(ses[0] ** 2 + sum(s * s for s in ses[1:]) / k ** 2)
    return out


def _cell_target(experiment: str, key: tuple, members: list, info: _Target, expected: list) -> CellTarget | None:
    """``members``: [(seed, submission, {lang: record})] of one cell on one target (seeds sorted)."""
    stats = [_seed_stats(info, recs) for _, _, recs in members if recs]
    if not stats:
        return None
    order = {l: i for i, l in enumerate(info.languages)}
    present = {l for _, _, recs in members for l in recs}
    langs = sorted(present, key=lambda l: (l != info.english, order[l]))
    per_lang = {l: _mean(s["per_lang"][l] for s in stats if l in s["per_lang"]) for l in langs}
    missing = [l for l in expected if any(l not in recs for _, _, recs in members)]
    gaps = [s["gap"] for s in stats if s["gap"] is not None]
    interval, kind = None, None
    if len(gaps) >= 2:
        m = sum(gaps) / len(gaps)
        sd = math.sqrt(sum((g - m) ** 2 for g in gaps) / (len(gaps) - 1))
        hw = t95(len(gaps) - 1) * sd / math.sqrt(len(gaps))
        interval, kind = (m - hw, m + hw), "seeds"
    elif len(stats) == 1 and stats[0]["se"] is not None:
        hw = Z95 * stats[0]["se"]
        interval, kind = (stats[0]["gap"] - hw, stats[0]["gap"] + hw), "bootstrap"
    encoder, size, layers, setting = key
    subs = [sub for _, sub, _ in members]
    params = Counter(p for p in (_parameters(s) for s in subs) if p)
    first_metric = next(iter(members[0][2].values()))["primary_metric"] if members[0][2] else ""
    return CellTarget(
        experiment=experiment, encoder=encoder, size=size, layers=layers, intermediate=setting,
        seeds=[seed for seed, _, recs in members if recs], submissions=[s.id for s in subs],
        parameters=params.most_common(1)[0][0] if params else None, target=info.name, languages=langs,
        english=_mean(s["english"] for s in stats if s["english"] is not None),
        others_mean=_mean(s["others_mean"] for s in stats if s["others_mean"] is not None),
        task_score=_mean(s["task_score"] for s in stats), gap=_mean(gaps), gap_interval=interval, per_lang=per_lang,
        missing_langs=missing, gap_metric="exact_match" if info.is_qa else first_metric,
        gap_f1=_mean(s["gap_f1"] for s in stats if s["gap_f1"] is not None), interval_kind=kind,
        names=[str((_manifest_file(s).get("manifest") or {}).get("name") or s.id) for s in subs],
        seed_gaps={seed: s["gap"] for (seed, _, recs), s in zip([m for m in members if m[2]], stats) if s["gap"] is not None},
        gap_se=stats[0]["se"] if len(stats) == 1 else None)


# ----------------------------------------------------------------------------- public API
def summarize_submissions(submissions, experiment: str | None = None) -> list[GridSummary]:
    """Grid summaries from already-read submissions, one per experiment (sorted by name).

    ``submissions``: objects with ``id``, ``manifest_file`` (the parsed ``manifest.json`` or None)
    and ``records`` (``[(path, record)]``) -- :class:`xgap.leaderboard.records.SubmissionFiles`
    or the leaderboard's :class:`~xgap.leaderboard.model.Entry`. Submissions without
    ``manifest.grid`` are ignored; ``experiment`` keeps only that experiment.
    """
    by_exp: dict = {}
    for sub in submissions:
        grid = grid_of(sub)
        if grid is None or (experiment is not None and grid["experiment"] != experiment):
            continue
        by_exp.setdefault(str(grid["experiment"]), []).append((grid, sub))
    return [_summarize(name, members) for name, members in sorted(by_exp.items())]


def _summarize(experiment: str, members: list) -> GridSummary:
    title, targets, stand_ins = "", [], []
    cells: dict = {}  # (encoder, size, layers, setting) -> [(seed, sub)]
    for grid, sub in sorted(members, key=lambda m: (m[0].get("seed", 0), m[1].id)):
        title = title or str(grid.get("title") or "")
        for t in grid.get("targets") or []:
            if t not in targets:
                targets.append(str(t))
        for s in grid.get("stand_ins") or []:
            if s not in stand_ins:
                stand_ins.append(str(s))
        setting = str(grid.get("intermediate") or NONE_SETTING)
        key = (str(grid["encoder"]), _size_label(grid), grid.get("layers"), setting)
        cells.setdefault(key, []).append((grid.get("seed", 0), sub))
    for _, sub in members:  # target tasks with records that the grid did not list
        for _, rec in sub.records:
            info = _target_info(rec["task"])
            if info is not None and info.kind == "target" and rec["task"] not in targets:
                targets.append(rec["task"])
    seen = list(dict.fromkeys(k[3] for k in cells))  # first seen, in the (seed, id) order above
    settings = ([NONE_SETTING] if NONE_SETTING in seen else []) + [s for s in seen if s != NONE_SETTING]
    out_cells = []
    for key, subs in cells.items():
        for target in targets:
            info = _target_info(target)
            if info is None:
                continue
            expected_all = {}
            per_seed = []
            for seed, sub in subs:
                grid = grid_of(sub)
                recs = {rec["language"]: rec for _, rec in sub.records
                        if rec["task"] == target and rec["language"] in info.languages}
                if not recs and target not in (grid.get("targets") or []):
                    continue  # a seed run without this target (e.g. before it was added): not missing, not counted
                asked = (grid.get("languages") or {}).get(target)
                for l in (asked if asked else info.languages):
                    if l in info.languages:
                        expected_all.setdefault(l, None)
                per_seed.append((seed, sub, recs))
            if not any(recs for _, _, recs in per_seed):
                continue
            c = _cell_target(experiment, key, per_seed, info, list(expected_all))
            if c is not None:
                out_cells.append(c)
    sizes = {}
    for c in sorted(out_cells, key=lambda c: settings.index(c.intermediate)):
        k = (c.encoder, c.size)
        if k not in sizes or (sizes[k].parameters is None and c.parameters):
            sizes[k] = Size(c.encoder, c.size, c.layers, c.parameters)
    ordered = sorted(sizes.values(), key=lambda s: (s.parameters is None, s.parameters or 0, s.layers or 0, s.encoder, s.size))
    targets = [t for t in targets if any(c.target == t for c in out_cells)]
    summary = GridSummary(experiment=experiment, title=title or experiment, targets=targets, sizes=ordered,
                          settings=settings, cells=out_cells, stand_ins=stand_ins)
    summary.cells = [c for t in targets for c in summary.target_cells(t)]
    return summary


def summarize_store(results_root: str | Path, experiment: str | None = None, on_problem=None) -> list[GridSummary]:
    """Read the store at ``results_root`` (the leaderboard's checked fast reader) and summarise its grids."""
    from xgap.store import read_store

    return summarize_submissions(read_store(results_root, on_problem), experiment)


def gain_rows(summary: GridSummary, target: str) -> list[GainRow]:
    """Per size (smallest first) and non-``none`` setting present: the change against ``none``.

    ``score_gain`` = task_score(setting) - task_score(none), ``english_gain`` likewise on English,
    ``gap_change`` = gap(setting) - gap(none) (negative: intermediate training shrank the gap);
    None wherever the ``none`` cell (or either value) is missing.
    """
    def diff(a, b):
        return None if a is None or b is None else a - b

    rows = []
    for s in summary.sizes:
        base = summary.cell(s.encoder, s.size, NONE_SETTING, target)
        for setting in summary.settings:
            if setting == NONE_SETTING:
                continue
            c = summary.cell(s.encoder, s.size, setting, target)
            if c is None:
                continue
            hw, kind = _change_halfwidth(c, base)
            rows.append(GainRow(s.encoder, s.size, s.parameters, setting,
                                diff(c.task_score, base and base.task_score),
                                diff(c.english, base and base.english),
                                diff(c.gap, base and base.gap), hw, kind))
    return rows


def _change_halfwidth(cell: CellTarget, base: CellTarget | None) -> tuple:
    """95% half-width of ``gap(cell) - gap(base)``: ``(half-width, kind)`` or ``(None, None)``.

    With two or more seeds in both cells: a paired t-interval over the seeds both share (same
    seed, same data order; the per-seed differences are what varies). With one seed each: from the
    two bootstrap standard errors, sqrt(se_a^2 + se_b^2) * 1.96 (the two are scored on the same test
    sets, so treating them as independent overstates the noise; conservative).
    """
    if base is None or cell.gap is None or base.gap is None:
        return None, None
    common = sorted(set(cell.seed_gaps) & set(base.seed_gaps))
    if len(common) >= 2:
        d = [cell.seed_gaps[s] - base.seed_gaps[s] for s in common]
        m = sum(d) / len(d)
        sd = math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1))
        return t95(len(d) - 1) * sd / math.sqrt(len(d)), "paired seeds"
    if cell.gap_se is not None and base.gap_se is not None:
        return Z95 * math.sqrt(cell.gap_se ** 2 + base.gap_se ** 2), "bootstrap"
    return None, None


def target_languages(summary: GridSummary, target: str) -> list:
    """The union of the languages present in ``target``'s cells, in first-seen order."""
    langs = []
    for c in summary.target_cells(target):
        langs.extend(l for l in c.languages if l not in langs)
    return langs
