"""The static leaderboard: result records in, a self-contained HTML site out.

Why a package of small modules: reading a store must be fast and strict (:mod:`.records`), the
table logic must be testable without rendering (:mod:`.model`), plotting decides what is drawn
(:mod:`.plots`) apart from how (:mod:`.svgplot`, pure-Python SVG; matplotlib only for the grid
pages, :mod:`.grids`), and only the build needs any of it. :mod:`.commands` registers ``xgap leaderboard`` and
imports nothing beyond the standard library at module level, so ``xgap --help`` stays fast.

Entry point for Python callers: :func:`xgap.leaderboard.render.build_site`.
"""
