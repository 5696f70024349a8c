"""``xgap submit check FILE``: validate a submission manifest and verify its claimed size.

Why a separate check: a submitter should learn before a long run that the manifest is invalid, a
task name is wrong, or the claimed parameter count is off. SPEC §1: size is counted from the loaded
weights and never trusted, so for a model that is available here (a local folder, a package that
ships the checkpoint, or a hub checkpoint already in the local cache) the weights are loaded with
``transformers.AutoModel`` and counted now (:func:`xgap.modeling.models.parameter_counts`); a
claim more than 1% off is an error (exit 1), exactly the rule ``xgap run`` applies. A hub model
that is not available offline is counted when ``xgap run`` loads it; the check says so.
"""

from __future__ import annotations

from pathlib import Path

TOLERANCE = 0.01


def _mismatch_error(msg: str):
    from xgap.errors import XgapError

    class ParameterMismatch(XgapError):
        exit_code = 1

    return ParameterMismatch(msg)


def _available_ref(model: dict, trust: bool = False):
    """A loadable :class:`ModelRef` for the manifest's model, or (None, why) when it is not here.

    ``trust`` (run the checkpoint's own code) is the operator's ``--trust-remote-code``; the
    manifest cannot ask for it (its schema refuses ``trust_remote_code: true``)."""
    from xgap.modeling.models import ModelRef, checkpoint_dir

    if model.get("path"):
        ref = ModelRef(model["path"], None, trust)
        return (ref, None) if ref.is_local else (None, f"local folder {model['path']} does not exist here")
    if model.get("package"):
        from xgap.harness.runner import package_model_dir

        return ModelRef(package_model_dir(model["package"]), None, trust), None
    ref = ModelRef(model["hub"], model.get("revision"), trust)
    if checkpoint_dir(ref) is None:
        return None, f"hub checkpoint '{model['hub']}' is not in the local cache (offline)"
    return ref, None


def check_submission(path, count: bool = True, trust_remote_code: bool = False) -> list:
    """Validate ``path`` and (if possible) count its parameters; return the report lines."""
    from xgap.cards import manifest_task_problems
    from xgap.errors import XgapError
    from xgap.manifest import Manifest

    m = Manifest.load(path)
    if Path(path).stem != m.id:
        raise XgapError(f"{path}: id: '{m.id}' differs from the file name '{Path(path).stem}' - fix: rename the file or the id")
    found = manifest_task_problems(m.doc, str(path))
    if found:
        raise XgapError(found[0])
    kind = "reported (published figures only; import with xgap import-reported)" if m.reported else "to evaluate"
    lines = [f"{path}: valid submission '{m.id}' ({m.name}), {kind}"]
    inter = m.intermediate
    lines.append(f"intermediate: {inter if isinstance(inter, str) else ' + '.join(inter)}; tasks: "
                 f"{', '.join(m.tasks) or ('as published' if m.reported else 'none listed')}")
    claimed = m.claimed_parameters
    where = next(f"{k} {m.model[k]}" for k in ("path", "package", "hub") if m.model.get(k))
    ref, why = _available_ref(m.model, trust_remote_code) if count else (None, "counting skipped (--no-count)")
    if ref is None:
        run = "shown as the published size (reported, not verified)" if m.reported else \
            "counted from the weights when `xgap run` loads the model; a claim more than 1% off stops the run"
        claim = f"claimed {claimed:,}" if claimed else "no claimed_parameters"
        lines.append(f"parameters: {claim}; {why}: {run}")
        return lines
    from xgap.modeling.models import UNUSED_POOLER, load_model, parameter_counts

    counts = parameter_counts(load_model(ref, "AutoModel", allow_missing=UNUSED_POOLER))
    total = counts["total"]
    if claimed:
        off = abs(total - claimed) / claimed
        if off > TOLERANCE:
            raise _mismatch_error(f"{path}: claimed_parameters {claimed:,} differs from the {total:,} counted from the weights "
                                  f"({where}) by {off:.1%} (> 1%) - fix: set claimed_parameters: {total}")
        verdict = f"claimed {claimed:,}: ok, {off:.2%} off (tolerance 1%)"
    else:
        verdict = f"no claim to check - add claimed_parameters: {total}"
    lines.append(f"parameters: {total:,} counted from the weights ({where}; {counts['non_embedding']:,} without embeddings); {verdict}")
    return lines
