"""``xgap import-reported``: published figures become result records marked ``reported``.

Why records (and not a side table): the leaderboard is rendered from result records only, so
published baselines sit beside evaluated models through exactly the same code path -- yet they
can never be mixed up with them. Each published model gets its own submission folder holding one
``status: "reported"`` record per task with ``language: "all"`` (the paper's task average; no
per-language breakdown exists, so no gap can be derived and the site shows it as unknown, never
0), the citation, and ``provenance.source`` naming the reference file. Importing into a folder
that already holds evaluated records is refused.

Which metric a figure is on: the reference file may say so per task (``metrics: {task: name}``);
otherwise published QA columns are F1 (XTREME's tables and the mT5 README print F1 for QA) and
every other task uses its card's primary metric. Parameter counts are the published ones and are
written to ``manifest.json`` marked ``reported``.

Manifests: ``<manifests>/<id>.yaml`` (default ``submissions/``) is used when present and must say
``reported: true``; otherwise a minimal manifest is synthesised from the reference entry.
"""

from __future__ import annotations

from pathlib import Path


def _fail(path, where: str, what: str, fix: str):
    from xgap.errors import XgapError

    return XgapError(f"{path}: {where}: {what} - fix: {fix}")


def _default_manifest_dir():
    for cand in (Path("submissions"), Path(__file__).resolve().parent.parent / "submissions"):
        if cand.is_dir():
            return cand
    return None


def load_reference(path) -> dict:
    """Read and check a published-figures file (layout of ``published-xtreme.yaml``)."""
    from xgap.yamlio import read_yaml

    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list) or not doc["models"]:
        raise _fail(path, "(top level)", "expected a mapping with a non-empty 'models:' list", "see ../shared/reference/published-xtreme.yaml")
    sources = doc.get("sources") or {}
    if not isinstance(sources, dict):
        raise _fail(path, "sources", "expected a mapping of source ids to {cite, note}", "give each source a cite:")
    for sid, src in sources.items():
        for key in ("cite", "note"):
            if isinstance(src, dict) and key in src and not isinstance(src[key], str):
                raise _fail(path, f"sources.{sid}.{key}", f"expected a string, got {type(src[key]).__name__}", f"write {key}: as one string")
    for i, m in enumerate(doc["models"]):
        where = f"models[{i}]"
        if not isinstance(m, dict):
            raise _fail(path, where, "expected a mapping", "give id, name, params, intermediate, scores, source")
        for key in ("id", "name", "scores", "source"):
            if key not in m:
                raise _fail(path, where, f"missing required field '{key}'", f"add '{key}'")
        for key in ("id", "name", "source", "hub", "base_encoder", "params_source"):
            if key in m and not isinstance(m[key], str):
                raise _fail(path, f"{where}.{key}", f"expected a string, got {type(m[key]).__name__}", f"write {key}: as one string")
        inter = m.get("intermediate", "none")
        if not (isinstance(inter, str) or (isinstance(inter, list) and inter and all(isinstance(x, str) for x in inter))):
            raise _fail(path, f"{where}.intermediate", f"expected a string or a list of strings, got {type(inter).__name__}",
                        "name the intermediate task(s), or 'none'")
        from xgap.errors import XgapError
        from xgap.store import safe_identifier

        try:
            safe_identifier(m["id"], "id")
        except XgapError as exc:
            raise _fail(path, f"{where}.id", str(exc).split(" - fix")[0], "lower-case letters, digits, '_', '.', '-' (it names a folder)") from None
        if not isinstance(m["scores"], dict) or not m["scores"]:
            raise _fail(path, f"{where}.scores", "expected a mapping of task -> score", "e.g. scores: {xnli: 65.4}")
        for t, v in m["scores"].items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 100:
                raise _fail(path, f"{where}.scores.{t}", f"{v!r} is not a score between 0 and 100", "give the published number")
        if m["source"] not in sources or not isinstance(sources[m["source"]], dict) or "cite" not in sources[m["source"]]:
            raise _fail(path, f"{where}.source", f"unknown source {m['source']!r}", f"add it under sources: with a cite: (known: {', '.join(sources) or 'none'})")
        if "params" in m and (not isinstance(m["params"], int) or isinstance(m["params"], bool) or m["params"] < 1):
            raise _fail(path, f"{where}.params", f"{m['params']!r} is not a positive integer", "give the published parameter count")
    return doc


def _manifest_for(model: dict, manifests, ref_path, citation: str) -> dict:
    from xgap.errors import XgapError
    from xgap.manifest import Manifest

    if manifests is not None:
        f = Path(manifests) / f"{model['id']}.yaml"
        if f.is_file():
            m = Manifest.load(f)
            if not m.reported:
                raise XgapError(f"{f}: reported: the manifest of published model '{model['id']}' must say 'reported: true' - fix: add it")
            if m.id != model["id"]:
                raise XgapError(f"{f}: id: '{m.id}' does not match '{model['id']}' in {ref_path} - fix: use the same id")
            return m.doc
    inter = model.get("intermediate", "none")
    doc = {"id": str(model["id"]), "name": str(model["name"]),
           "description": f"Published figures imported from {Path(ref_path).name}; no manifest found for this model.",
           "model": {"hub": str(model.get("hub", model["id"]))}, "base_encoder": str(model.get("base_encoder", model["name"])),
           "intermediate": inter if isinstance(inter, (str, list)) else str(inter), "license": "unknown",
           "authors": [citation.split(",")[0] if citation else "unknown"], "reported": True}
    if model.get("params"):
        doc["claimed_parameters"] = int(model["params"])
    return Manifest.parse(doc, f"{ref_path}: models[{model['id']}]").doc


def import_reported(path, output="results", manifests=None) -> dict:
    """Write reported records and ``manifest.json`` for every model of ``path``; returns counts."""
    from xgap import __version__
    from xgap.cards import load_card
    from xgap.errors import XgapError
    from xgap.provenance import now_iso
    from xgap.record import Record
    from xgap.store import ResultStore, atomic_write_json, read_submission

    ref = load_reference(path)
    manifests = manifests if manifests is not None else _default_manifest_dir()
    metric_override = ref.get("metrics") or {}
    ids = [m["id"] for m in ref["models"]]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise _fail(path, "models", f"duplicate id '{dup}'", "give every model its own id")
    store = ResultStore(output)
    written = 0
    with store.lock():
        for model in ref["models"]:
            src = ref["sources"][model["source"]]
            citation = str(src["cite"])
            manifest = _manifest_for(model, manifests, path, citation)
            sub = manifest["id"]
            folder = store.root / sub
            if folder.is_dir():
                # a corrupt record here stops the import (named)
                existing = [(p, Record.from_dict(rec)) for p, rec in read_submission(folder).records]
                if any(rec.status == "evaluated" for _, rec in existing):
                    raise XgapError(f"{folder}: holds evaluated records - reported figures never share a folder with them; "
                                    f"fix: give the published model another id in {path}")
                for p, rec in existing:  # drop reported figures the file no longer lists
                    if rec.status == "reported" and rec.task not in model["scores"]:
                        Path(p).unlink()
            for task, score in model["scores"].items():
                card = load_card(task)
                if card.kind != "target":
                    raise _fail(path, f"models[{sub}].scores.{task}", "is not a target task", "use one of the XTREME targets")
                metric = metric_override.get(task) or ("f1" if card.format == "extractive-qa" else card.primary_metric)
                record = Record(
                    status="reported", submission=sub, task=task, language="all", split=card.eval_split,
                    metrics={metric: float(score)}, primary_metric=metric, primary_score=float(score), n_examples=None,
                    settings={"zero_shot": True, "published": True}, citation=citation,
                    provenance={"xgap_version": __version__,
                                "source": f"{Path(path).name}: sources.{model['source']}" + (f" ({src['note']})" if src.get("note") else "")},
                )
                store.write(record)
                written += 1
            params = model.get("params") or manifest.get("claimed_parameters")
            psrc = ref["sources"].get(model.get("params_source"), {}).get("cite") if model.get("params_source") else None
            atomic_write_json(folder / "manifest.json", {
                "manifest": manifest,
                "parameters": ({"total": int(params), "non_embedding": None, "reported": True, **({"source": psrc} if psrc else {})}
                               if params else None),
                "updated_at": now_iso(),
            })
    return {"models": len(ref["models"]), "records": written, "output": str(store.root)}
