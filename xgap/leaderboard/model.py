"""The leaderboard table, built from checked result records (no rendering here).

Rules (SPEC §1, §5, §9), each a decision a reader of the site relies on:

- **Task score** = unweighted mean of the per-language primary scores over the card's languages.
  With every card language present the task is *complete*; with only some, the mean over those is
  shown but marked ``partial n/N`` and never counts toward the XTREME score or the mean gap.
  Languages outside the card (e.g. extra Tatoeba pairs) are shown on the task page, never averaged.
- **Reported** (published) figures arrive as one ``language: "all"`` record per task. They are
  complete by definition (the paper averaged over the task's languages) but count toward the
  XTREME score only when their metric is the card's primary one (published QA figures are F1, not
  (EM+F1)/2, so they are shown as "F1" and kept out). Their gap is unknown (None), never 0.
  A submission mixing evaluated and reported records is an error: the two are never blended.
- **Gap** per task (cards with ``has_gap``): ``score(en) - mean(score(others present))`` via
  :func:`xgap.metrics.aggregate.gap`; QA on exact match with the F1 gap beside it. Needs English and
  at least one other language. **Mean gap** = mean over the complete tasks whose gap is defined.
- **XTREME score** = :func:`xgap.metrics.aggregate.xtreme_score` of the complete, comparable tasks:
  None (shown "incomplete") unless all nine are there.
- **Ranking**: XTREME score (higher first; submissions without one after all that have one), then
  the number of complete tasks, then -- only to order submissions that have no XTREME score -- the
  mean over their complete tasks (used for ordering, never displayed as a score), then name.
  Equal keys share a rank ("1, 1, 3").
- **Task pages** rank by that task's score alone: complete tasks on the card's primary metric first,
  then complete published figures on another metric (QA: F1), then partial ones (mean over fewer
  languages); within each group higher score first, then name. Equal (group, score) share a rank.
- **Parameters**: measured counts (``manifest.json`` written by ``xgap run``, else the most common
  ``provenance.parameters.total``); for reported submissions the published count, marked reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from xgap.errors import XgapError
from xgap.metrics.aggregate import XTREME_TASKS, category_scores, gap, task_score, xtreme_score


@dataclass(frozen=True)
class TaskInfo:
    """What the table needs from a target task's card."""

    name: str
    languages: tuple
    english: str
    has_gap: bool
    is_qa: bool
    primary_metric: str
    category: str | None
    version: int


def target_tasks() -> list[TaskInfo]:
    """Target cards in XTREME's category order (pawsx xnli udpos panx xquad mlqa tydiqa bucc tatoeba), others after."""
    from xgap.cards import list_cards

    infos = [
        TaskInfo(c.name, tuple(c.languages), c.english, c.has_gap, c.format == "extractive-qa", c.primary_metric,
                 c.category, c.version)
        for c in list_cards() if c.kind == "target"
    ]
    order = {t: i for i, t in enumerate(XTREME_TASKS)}
    return sorted(infos, key=lambda t: (order.get(t.name, len(order)), t.name))


@dataclass(slots=True)
class LangScore:
    lang: str
    score: float
    ci: tuple | None
    n: int | None
    metrics: dict
    extra: bool = False  # not one of the card's languages: shown, never averaged


@dataclass
class TaskResult:
    task: str
    status: str  # evaluated | reported
    langs: dict = field(default_factory=dict)  # lang -> LangScore (per-language records only)
    n_expected: int = 0
    score: float | None = None
    metric: str = ""  # the metric ``score`` is on
    complete: bool = False
    comparable: bool = True  # same metric as the card's primary: may count toward XTREME
    en_score: float | None = None
    en_em: float | None = None
    en_f1: float | None = None
    gap: float | None = None  # EM gap for QA
    gap_f1: float | None = None
    citation: str | None = None

    n_present: int = 0  # card languages present (extra languages not counted)
    per_language: bool = False  # has per-language figures: kept when ``langs`` is left out (see entry_plain)

    @property
    def by_language(self) -> bool:
        """Whether there are per-language figures (a published task average has none)."""
        return self.per_language or bool(self.langs)

    @property
    def coverage(self) -> str:
        """``"15/15"``, ``"partial 3/15"`` or ``"reported"`` (task-level published figure)."""
        if self.status == "reported" and not self.by_language:
            return "reported"
        return f"{self.n_present}/{self.n_expected}" if self.complete else f"partial {self.n_present}/{self.n_expected}"

    @property
    def counts(self) -> bool:
        """Counts toward the XTREME score (complete and on the card's primary metric)."""
        return self.complete and self.comparable and self.score is not None


@dataclass
class Entry:
    """One submission's row of the overview, plus what its pages show."""

    id: str
    name: str
    status: str  # evaluated | reported
    manifest: dict
    manifest_file: dict | None
    intermediate: list
    parameters: int | None = None
    non_embedding: int | None = None
    parameters_source: str | None = None  # measured | reported
    tasks: dict = field(default_factory=dict)  # task -> TaskResult
    other_records: list = field(default_factory=list)  # (path, record) for non-target tasks
    records: list = field(default_factory=list)  # all (path, record)
    xtreme: float | None = None
    categories: dict = field(default_factory=dict)
    mean_gap: float | None = None
    gap_tasks: list = field(default_factory=list)
    rank: int | None = None

    @property
    def n_complete(self) -> int:
        return sum(1 for t in self.tasks.values() if t.complete)

    @property
    def intermediate_label(self) -> str:
        return " + ".join(self.intermediate) if self.intermediate else "none"


@dataclass
class Leaderboard:
    tasks: list  # [TaskInfo]
    entries: list  # [Entry], ranked

    def task_ranking(self, task: str) -> list:
        """``[(rank, entry, TaskResult)]`` of the submissions with results on ``task``, best first (see the rules above)."""
        rows = [(e, e.tasks[task]) for e in self.entries if task in e.tasks]

        def group(tr) -> int:
            return 0 if tr.complete and tr.comparable else (1 if tr.complete else 2)

        rows.sort(key=lambda r: (group(r[1]), r[1].score is None, -(r[1].score or 0.0), r[0].name.lower(), r[0].id))
        out, prev = [], None
        for i, (e, tr) in enumerate(rows, 1):
            key = (group(tr), None if tr.score is None else round(tr.score, 6))
            out.append((out[-1][0] if key == prev else i, e, tr))
            prev = key
        return out

    def by_size(self) -> list:
        """Smallest first; unknown sizes last."""
        return sorted(self.entries, key=lambda e: (e.parameters is None, e.parameters or 0, e.rank or 0))

    def by_gap(self) -> list:
        """Smallest mean gap first (lower is better); unknown gaps last."""
        return sorted(self.entries, key=lambda e: (e.mean_gap is None, e.mean_gap if e.mean_gap is not None else 0, e.rank or 0))


def _intermediate(manifest: dict) -> list:
    inter = manifest.get("intermediate", "none")
    items = [inter] if isinstance(inter, str) else list(inter)
    return [str(i) for i in items if str(i) and str(i) != "none"]


def _task_from_langs(info: TaskInfo, status: str, recs: dict) -> TaskResult:
    card_langs = set(info.languages)
    tr = TaskResult(task=info.name, status=status, n_expected=len(info.languages), metric=info.primary_metric,
                    per_language=bool(recs))
    for lang, rec in recs.items():
        ci = (rec.get("ci95") or {}).get(rec["primary_metric"])
        tr.langs[lang] = LangScore(lang, rec["primary_score"], tuple(ci) if ci else None, rec.get("n_examples"),
                                   rec["metrics"], extra=lang not in card_langs)
    counted = {l: {"s": s.score} for l, s in tr.langs.items() if not s.extra}
    tr.n_present = len(counted)
    if counted:
        tr.score = task_score(counted, "s")
    tr.complete = len(counted) == len(info.languages)
    # non-comparable data (accepted hub deviations or size mismatches, see xgap.data.hub) never counts
    tr.comparable = all(r["primary_metric"] == info.primary_metric and not r.get("provenance", {}).get("data_caveats")
                        for l, r in recs.items() if l in card_langs)
    en = tr.langs.get(info.english)
    if en is not None and not en.extra:
        tr.en_score = en.score
        tr.en_em, tr.en_f1 = en.metrics.get("exact_match"), en.metrics.get("f1")
    if info.has_gap:
        if info.is_qa:
            em = {l: s.metrics["exact_match"] for l, s in tr.langs.items() if not s.extra and "exact_match" in s.metrics}
            f1 = {l: s.metrics["f1"] for l, s in tr.langs.items() if not s.extra and "f1" in s.metrics}
            tr.gap, tr.gap_f1 = gap(em, info.english), gap(f1, info.english)
        else:
            tr.gap = gap({l: c["s"] for l, c in counted.items()}, info.english)
    return tr


def _task_reported(info: TaskInfo, rec: dict) -> TaskResult:
    metric = rec["primary_metric"]
    return TaskResult(task=info.name, status="reported", n_expected=len(info.languages), score=rec["primary_score"],
                      metric=metric, complete=True, comparable=metric == info.primary_metric,
                      citation=rec.get("citation"))


def _parameters(sub, status: str) -> tuple:
    params = (sub.manifest_file or {}).get("parameters")
    if params and params.get("total"):
        source = "reported" if status == "reported" or params.get("reported") else "measured"
        return params["total"], params.get("non_embedding"), source
    if status == "reported":
        claimed = ((sub.manifest_file or {}).get("manifest") or {}).get("claimed_parameters")
        return (claimed, None, "reported") if claimed else (None, None, None)
    totals = Counter()
    non_emb = {}
    for _, rec in sub.records:
        p = rec["provenance"].get("parameters")
        if p and "total" in p:
            totals[p["total"]] += 1
            non_emb.setdefault(p["total"], p.get("non_embedding"))
    if not totals:
        return None, None, None
    total = totals.most_common(1)[0][0]
    return total, non_emb[total], "measured"


def build_entry(sub, tasks: list) -> Entry:
    """One :class:`Entry` from a :class:`xgap.leaderboard.records.SubmissionFiles`."""
    statuses = {rec["status"] for _, rec in sub.records}
    manifest = dict((sub.manifest_file or {}).get("manifest") or {})
    if len(statuses) > 1:
        raise XgapError(f"{sub.folder}: mixes evaluated and reported records - reported figures must live in their own "
                        f"submission folder (xgap import-reported writes one per model)")
    status = statuses.pop() if statuses else ("reported" if manifest.get("reported") else "evaluated")
    entry = Entry(id=sub.id, name=str(manifest.get("name") or sub.id), status=status, manifest=manifest,
                  manifest_file=sub.manifest_file, intermediate=_intermediate(manifest), records=sub.records)
    entry.parameters, entry.non_embedding, entry.parameters_source = _parameters(sub, status)
    info_by_name = {t.name: t for t in tasks}
    per_task: dict = {}
    for path, rec in sub.records:
        if rec["task"] in info_by_name:
            per_task.setdefault(rec["task"], {})[rec["language"]] = rec
        else:
            entry.other_records.append((path, rec))
    for info in tasks:
        recs = per_task.get(info.name)
        if not recs:
            continue
        langs = {l: r for l, r in recs.items() if l != "all"}
        if langs:
            entry.tasks[info.name] = _task_from_langs(info, status, langs)
        else:
            entry.tasks[info.name] = _task_reported(info, recs["all"])
    counted = {t: r.score for t, r in entry.tasks.items() if r.counts}
    entry.xtreme = xtreme_score(counted)
    entry.categories = category_scores(counted)
    gaps = [(t, r.gap) for t, r in entry.tasks.items() if r.complete and r.gap is not None]
    entry.gap_tasks = [t for t, _ in gaps]
    entry.mean_gap = sum(g for _, g in gaps) / len(gaps) if gaps else None
    return entry


#: TaskResult fields kept by :func:`entry_plain`, in order (``langs`` is left out: ``per_language`` says whether it had any).
_TASK_FIELDS = ("task", "status", "n_expected", "score", "metric", "complete", "comparable", "en_score", "en_em", "en_f1", "gap",
                "gap_f1", "citation", "n_present")
#: Entry fields kept by :func:`entry_plain`, in order (``manifest`` is rebuilt from ``manifest_file``).
_ENTRY_FIELDS = ("id", "name", "status", "manifest_file", "intermediate", "parameters", "non_embedding", "parameters_source",
                 "xtreme", "categories", "mean_gap", "gap_tasks")
#: Where :func:`entry_plain` puts an entry's ``manifest_file`` (read back without rebuilding the entry).
PLAIN_MANIFEST_FILE = _ENTRY_FIELDS.index("manifest_file")


def entry_plain(e: Entry) -> list:
    """``e`` as plain JSON-able data: everything the overview, task pages, JSON, CSV and plots read.

    Left out: the records (``records``, ``other_records``, each language's ``LangScore``), which only a
    submission's own page and the task pages' language cells need -- the site caches those as HTML
    (see :func:`xgap.leaderboard.render.build_site`) -- and ``rank`` (it depends on the other entries).
    :func:`entry_from_plain` gives the entry back; ``tests/test_leaderboard_incremental.py`` checks
    that a site built from these equals one built from records.
    """
    return [*(getattr(e, f) for f in _ENTRY_FIELDS),
            [[*(getattr(tr, f) for f in _TASK_FIELDS), tr.by_language] for tr in e.tasks.values()]]


def entry_from_plain(row: list) -> Entry:
    """The :class:`Entry` of :func:`entry_plain` (no records; ``rank`` unset).

    Built by filling the instances' ``__dict__`` (a third of the cost of the constructors' keyword
    arguments; 10,000 submissions make 90,000 task results per build); every field is set here, and
    ``tests/test_leaderboard_incremental.py`` compares the result with the entry it came from."""
    e = object.__new__(Entry)
    e.__dict__.update(zip(_ENTRY_FIELDS, row))
    e.manifest = dict((e.manifest_file or {}).get("manifest") or {})
    e.other_records, e.records, e.rank = [], [], None
    e.tasks = tasks = {}
    n = len(_TASK_FIELDS)
    new, fields = object.__new__, _TASK_FIELDS
    for t in row[-1]:
        tr = new(TaskResult)
        d = tr.__dict__
        d.update(zip(fields, t))
        d["langs"], d["per_language"] = {}, t[n]
        tasks[d["task"]] = tr
    return e


def _order_mean(e: Entry) -> float:
    """Mean over the complete tasks: orders submissions without an XTREME score; never shown."""
    scores = [t.score for t in e.tasks.values() if t.complete and t.score is not None]
    return round(sum(scores) / len(scores), 6) if scores else float("-inf")


def rank_entries(entries: list) -> list:
    """Sort by (XTREME desc, complete tasks desc, mean of complete tasks desc, name); ties share a rank."""
    def tie_key(e):
        return (round(e.xtreme, 6) if e.xtreme is not None else None, e.n_complete,
                None if e.xtreme is not None else _order_mean(e))

    ordered = sorted(entries, key=lambda e: (e.xtreme is None, -(e.xtreme or 0.0), -e.n_complete,
                                             0.0 if e.xtreme is not None else -_order_mean(e), e.name.lower(), e.id))
    prev = object()
    for i, e in enumerate(ordered, 1):
        key = tie_key(e)
        e.rank = ordered[i - 2].rank if key == prev else i
        prev = key
    return ordered


def build_leaderboard(submissions: list, tasks: list | None = None) -> Leaderboard:
    """Rank every submission of a store (see :func:`xgap.leaderboard.records.read_store`)."""
    tasks = target_tasks() if tasks is None else tasks
    return Leaderboard(tasks=tasks, entries=rank_entries([build_entry(s, tasks) for s in submissions]))
