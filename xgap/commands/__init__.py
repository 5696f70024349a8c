"""The core ``xgap`` subcommands, one module each, registered like every other subcommand.

Every subcommand of ``xgap`` comes from a module with ``register(subparsers)``; :data:`xgap.cli.COMMANDS`
lists them all, in the order ``xgap --help`` shows them. Modules here hold the commands that belong
to no other package (``tasks``, ``validate``, ``data``, ``run``, ``score``, ``export``); packages with
their own commands keep them next to their code (``xgap.grid.commands``, ``xgap.training.commands``,
...). Each module imports only the standard library (and :mod:`xgap.argtypes`) at module level, so
``xgap --help`` stays fast; handlers import what they need when they run.
"""
