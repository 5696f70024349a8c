"""``xgap compare BASE NEW``: the regression gate between two submissions' results.

For every (task, language) record present in both, ``delta = NEW - BASE`` on the primary score,
with a 95% interval:

- **paired bootstrap** (:func:`xgap.metrics.bootstrap.paired_bootstrap_delta`, 1,000 resamples,
  seed 0 by default) when both records have prediction sidecars whose ``per_example`` values give
  the primary score (accuracy 0/1 or 0/100; QA (EM+F1)/2 per question) over the *same* examples
  (same count and, when both sidecars carry it, identical gold);
- otherwise **unpaired**: when both records carry a 95% interval for the primary metric, the normal
  approximation ``delta +- sqrt(h_base^2 + h_new^2)`` with ``h`` each interval's half-width;
  failing that, no interval.

**Gate** (exit 1): a (task, language) *fails* when ``delta < -tolerance`` **and** the upper end of
its 95% interval is below 0 -- the score dropped by more than the tolerance and the interval rules
out "no change". Without an interval a drop below ``-tolerance`` fails. A record in BASE that is
missing from NEW, or is on a different metric, also fails unless ``--allow-missing``. Records only
in NEW are listed, never failures. Gains never fail. The Markdown report (stdout, and ``--report
FILE``) is written for a CI comment: verdict first, failures next, every row in a ``<details>``.
"""

from __future__ import annotations

from pathlib import Path

from xgap.record import Record

DASH = "\u2014"


def resolve_submission(arg: str, results: str) -> Path:
    """``arg`` as a submission results folder, else ``<results>/<arg>``."""
    from xgap.errors import XgapError

    p = Path(arg)
    if p.is_dir() and (p / "manifest.json").exists() or p.is_dir() and any(c.is_dir() for c in p.iterdir()):
        return p
    q = Path(results) / arg
    if q.is_dir():
        return q
    raise XgapError(f"'{arg}': no such submission results folder (looked at {p} and {q}) - fix: give results/<submission> "
                    f"or a submission id with --results")


def _per_example(sidecar: dict, record: Record):
    """Per-example values of the record's primary score (0-100 scale), or None when unavailable."""
    import numpy as np

    pe = (sidecar or {}).get("per_example") or {}
    metric = record.primary_metric
    if metric in pe:
        vals = np.asarray(pe[metric], dtype=float)
    elif metric == "em_f1_mean" and "exact_match" in pe and "f1" in pe and len(pe["exact_match"]) == len(pe["f1"]):
        vals = (np.asarray(pe["exact_match"], dtype=float) + np.asarray(pe["f1"], dtype=float)) / 2
    else:
        return None
    if vals.size == 0:
        return None
    mean, score = float(vals.mean()), record.primary_score
    if abs(mean * 100 - score) < abs(mean - score):
        vals, mean = vals * 100, mean * 100
    # The values must reproduce the recorded score (allowing for rounding): otherwise they are not its examples.
    return vals if abs(mean - score) <= 0.01 + 1e-6 * abs(score) else None


def _sidecar(path: str, record: Record):
    from xgap.errors import XgapError
    from xgap.store import ResultStore

    if not record.predictions:
        return None, "no predictions sidecar"
    try:
        return ResultStore(Path(path).parent).load_predictions(record, Path(path)), None
    except FileNotFoundError:
        return None, "predictions sidecar missing"
    except (XgapError, ValueError) as exc:
        return None, f"sidecar unusable ({str(exc)[:80]})"


def compare_records(base: Record, new: Record, base_path: str, new_path: str, n_resamples: int, seed: int) -> dict:
    """One row: delta and its interval (paired where possible) for a (task, language)."""
    import math

    from xgap.metrics.bootstrap import paired_bootstrap_delta

    row = {"base": base.primary_score, "new": new.primary_score, "delta": new.primary_score - base.primary_score,
           "low": None, "high": None, "method": "none", "note": ""}
    sb, why_b = _sidecar(base_path, base)
    sn, why_n = _sidecar(new_path, new)
    vb = _per_example(sb, base) if sb else None
    vn = _per_example(sn, new) if sn else None
    same = vb is not None and vn is not None and len(vb) == len(vn)
    if same and sb.get("gold") is not None and sn.get("gold") is not None and sb["gold"] != sn["gold"]:
        same = False
        row["note"] = "different examples (gold differs)"
    if same and n_resamples > 0:
        d, lo, hi = paired_bootstrap_delta(vn, vb, n_resamples=n_resamples, seed=seed)
        row.update(delta=d, low=lo, high=hi, method="paired")
        return row
    if not row["note"]:
        if vb is None or vn is None:
            row["note"] = why_b or why_n or "no per-example values for the primary metric"
        else:
            row["note"] = f"different example counts ({len(vb)} vs {len(vn)})"
    cb = (base.ci95 or {}).get(base.primary_metric)
    cn = (new.ci95 or {}).get(new.primary_metric)
    if cb and cn:
        half = math.hypot((cb[1] - cb[0]) / 2, (cn[1] - cn[0]) / 2)
        row.update(low=row["delta"] - half, high=row["delta"] + half, method="unpaired")
    return row


def _by_key(records: list) -> dict:
    """``{(task, language): (path, Record)}`` of a submission's ``[(path, record dict)]``."""
    out = {}
    for path, rec in records:
        r = Record.from_dict(rec)
        out[(r.task, r.language)] = (path, r)
    return out


def gate(row: dict, tolerance: float) -> bool:
    """True when the row fails: delta < -tolerance and (no interval, or its upper end < 0)."""
    return row["delta"] < -tolerance and (row["high"] is None or row["high"] < 0)


def compare(base_dir, new_dir, tolerance: float = 0.5, n_resamples: int = 1000, seed: int = 0, allow_missing: bool = False) -> dict:
    """Compare two submission folders; returns ``{"rows": [...], "failed": n, ...}``."""
    import math

    from xgap.errors import XgapError
    from xgap.store import read_submission

    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise XgapError(f"tolerance must be a finite number >= 0, got {tolerance!r} (NaN would turn the gate off)")

    base, new = read_submission(Path(base_dir)), read_submission(Path(new_dir))
    b = _by_key(base.records)
    n = _by_key(new.records)
    rows = []
    for key in sorted(set(b) | set(n)):
        task, lang = key
        if key not in n:
            rows.append({"task": task, "lang": lang, "status": "ok" if allow_missing else "FAIL", "kind": "missing",
                         "base": b[key][1].primary_score, "new": None, "delta": None, "low": None, "high": None,
                         "method": DASH, "note": "missing in NEW"})
            continue
        if key not in b:
            rows.append({"task": task, "lang": lang, "status": "new", "kind": "new", "base": None, "new": n[key][1].primary_score,
                         "delta": None, "low": None, "high": None, "method": DASH, "note": "only in NEW"})
            continue
        (pb, rb), (pn, rn) = b[key], n[key]
        if rb.primary_metric != rn.primary_metric or rb.status != rn.status:
            rows.append({"task": task, "lang": lang, "status": "ok" if allow_missing else "FAIL", "kind": "incomparable",
                         "base": rb.primary_score, "new": rn.primary_score, "delta": None, "low": None, "high": None,
                         "method": DASH, "note": f"not comparable: {rb.status} {rb.primary_metric} vs {rn.status} {rn.primary_metric}"})
            continue
        row = compare_records(rb, rn, pb, pn, n_resamples, seed)
        row.update(task=task, lang=lang, kind="compared", status="FAIL" if gate(row, tolerance) else "ok")
        rows.append(row)
    failed = [r for r in rows if r["status"] == "FAIL"]
    return {"base": str(base_dir), "new": str(new_dir), "base_id": base.id, "new_id": new.id, "tolerance": tolerance,
            "n_resamples": n_resamples, "seed": seed, "rows": rows, "failed": len(failed),
            "compared": sum(r["kind"] == "compared" for r in rows)}


def _f(x, signed=False) -> str:
    if x is None:
        return DASH
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def _md_row(r) -> str:
    ci = f"[{r['low']:+.2f}, {r['high']:+.2f}]" if r["low"] is not None else DASH
    status = "**FAIL**" if r["status"] == "FAIL" else r["status"]
    note = str(r.get("note") or "").replace("|", "\\|")
    return f"| {r['task']} | {r['lang']} | {_f(r['base'])} | {_f(r['new'])} | {_f(r['delta'], True)} | {ci} | {r['method']} | {status} | {note} |"


def markdown(result: dict) -> str:
    """The report: verdict, gate rule, failures, then every row (collapsed)."""
    head = "| task | lang | base | new | Δ | 95% CI of Δ | interval | status | note |\n|---|---|---:|---:|---:|---|---|---|---|"
    rows = result["rows"]
    failed = [r for r in rows if r["status"] == "FAIL"]
    verdict = (f"**FAIL**: {len(failed)} of {len(rows)} (task, language) result(s) regressed or are missing"
               if failed else f"**PASS**: no (task, language) score dropped by more than {result['tolerance']} beyond its interval")
    paired = sum(r["method"] == "paired" for r in rows)
    lines = [f"## xgap compare: `{result['base_id']}` → `{result['new_id']}`", "", verdict, "",
             f"Gate: a score fails when Δ < −{result['tolerance']} and the upper end of Δ's 95% interval is below 0 "
             f"(no interval: Δ < −{result['tolerance']} fails); a result missing from NEW fails. Intervals: paired bootstrap "
             f"({result['n_resamples']} resamples, seed {result['seed']}) for {paired} of {result['compared']} compared results, "
             f"where both sides have per-example predictions on the same examples; otherwise unpaired (normal approximation "
             f"from both records' 95% CIs) or none.", ""]
    if failed:
        lines += ["### Failures", "", head, *[_md_row(r) for r in failed], ""]
    deltas = [r for r in rows if r["delta"] is not None]
    if deltas:
        by_task: dict = {}
        for r in deltas:
            by_task.setdefault(r["task"], []).append(r)
        lines += ["### Per task (mean over the languages both have)", "", "| task | languages | base | new | Δ |", "|---|---:|---:|---:|---:|"]
        for t, rs in by_task.items():
            mb, mn = sum(r["base"] for r in rs) / len(rs), sum(r["new"] for r in rs) / len(rs)
            lines.append(f"| {t} | {len(rs)} | {mb:.2f} | {mn:.2f} | {mn - mb:+.2f} |")
        lines.append("")
    lines += ["<details><summary>All results</summary>", "", head, *[_md_row(r) for r in rows], "", "</details>", ""]
    return "\n".join(lines)
