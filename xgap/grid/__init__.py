"""Experiment grids: the X-STILTs study (encoders x intermediate settings x targets x seeds) as one YAML file.

Python API (the same operations as ``xgap grid plan|run|report``)::

    from xgap.grid import load_experiment, plan_grid, format_plan, run_grid

    exp = load_experiment("experiments/miniature.yaml")
    print(format_plan(plan_grid(exp, "results", data_dir="../shared/data")))
    outcome = run_grid(exp, "results", data_dir="../shared/data")

    from xgap.grid.summary import summarize_store
    from xgap.leaderboard.grid_report import markdown
    for summary in summarize_store("results", experiment=exp.name):
        print(markdown(summary))

Modules: :mod:`~xgap.grid.spec` (read, validate, expand into cells), :mod:`~xgap.grid.encoders`
(the size axis; truncated copies), :mod:`~xgap.grid.plan` (jobs and their status),
:mod:`~xgap.grid.run` (execution, local or Ray), :mod:`~xgap.grid.summary` (gaps, intervals,
gains from the store: numbers only), :mod:`~xgap.grid.commands` (CLI). How the figures are shown
(the Markdown report, the site's grid pages) lives in :mod:`xgap.leaderboard`.
"""

from importlib import import_module

_API = {"load_experiment": "spec", "plan_grid": "plan", "format_plan": "plan", "run_grid": "run"}
__all__ = list(_API)


def __getattr__(name: str):
    """Import lazily: the leaderboard imports :mod:`xgap.grid.summary` and should not load the rest."""
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
