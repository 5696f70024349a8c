"""One progress display per ``xgap run``: task, language, n/N overall, sentences/s and ETA.

Why: each encoding pass used to open its own anonymous ``encoding:`` bar, so a Tatoeba run showed
~49 bars that named neither the language nor how far the whole run was. Now the driver opens one
:class:`RunProgress` over every (task, language) it will compute, with each language's work
estimated at planning from its examples (bitext: both sides; mining: both corpora; otherwise one
per example), and the encoders report the sentences they pass through the model to it. Library
code that runs outside such a display (training's dev evaluation, benchmarks) keeps a plain bar.

On a terminal the display is one line rewritten in place; when stderr is not a terminal (CI logs)
it prints one line per finished language instead of carriage-return noise.
"""

from __future__ import annotations

import sys
import time

_active: RunProgress | None = None


def active() -> RunProgress | None:
    """The run-wide display sentences should be reported to, or None (then callers draw their own bar)."""
    return _active


def work_of(examples) -> int:
    """Sentences an evaluation of ``examples`` will encode (an estimate; it only drives the ETA).

    Two-sided examples (:class:`~xgap.data.examples.Bitext`, ``MiningCorpus``: anything with
    ``source`` and ``target``) count both sides; this base module does not import the data layer.
    """
    if hasattr(examples, "source") and hasattr(examples, "target"):
        return len(examples.source) + len(examples.target)
    try:
        return len(examples)
    except TypeError:
        return 1


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class RunProgress:
    """``units``: ``[(task, lang, estimated sentences[, submission])]`` in the order they will run.

    A unit is one (submission, task, language): a run over two submissions (the demo's two models) counts
    every language twice, and the line names the submission when there is more than one.
    """

    def __init__(self, units, enabled: bool = True, stream=None, min_interval: float = 0.25):
        self.weights = {(u[3] if len(u) > 3 else None, u[0], u[1]): max(1, int(u[2])) for u in units}
        self.total = sum(self.weights.values())
        self.n_units = len(self.weights)
        self.named = len({key[0] for key in self.weights}) > 1
        self.enabled = enabled and self.n_units > 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self.done_units = 0
        self.done_weight = 0
        self.sentences = 0
        self.unit_sentences = 0
        self.current: tuple | None = None
        self.started = time.perf_counter()
        self._last = 0.0
        self._width = 0

    # -- context: the display is active for its ``with`` block
    def __enter__(self):
        global _active
        self._previous, _active = _active, (self if self.enabled else None)
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        global _active
        _active = self._previous
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        return False

    # -- events
    def start(self, task: str, lang: str, submission: str | None = None) -> None:
        self.current = (submission, task, lang)
        self.unit_sentences = 0
        self._draw(force=True)

    def advance(self, sentences: int) -> None:
        self.sentences += sentences
        self.unit_sentences += sentences
        self._draw()

    def finish(self, task: str, lang: str, submission: str | None = None) -> None:
        self.done_units += 1
        self.done_weight += self.weights.get((submission, task, lang), 0)
        self.unit_sentences = 0
        self.current = None
        if self.enabled and not self.tty:
            self.stream.write(self.line(done=(submission, task, lang)) + "\n")
            self.stream.flush()

    # -- text
    def fraction(self) -> float:
        part = min(self.unit_sentences, self.weights.get(self.current, 0)) if self.current else 0
        return min(1.0, (self.done_weight + part) / self.total) if self.total else 1.0

    def line(self, done: tuple | None = None) -> str:
        elapsed = max(1e-9, time.perf_counter() - self.started)
        submission, task, lang = done or self.current or (None, "", "")
        who = f"{submission}: " if self.named and submission else ""
        n = self.done_units if done else min(self.done_units + 1, self.n_units)
        f = self.fraction()
        eta = _duration(elapsed * (1 - f) / f) if 0 < f < 1 else ("-" if f == 0 else "0s")
        what = "done" if done else "encoding"
        # the rate counts work done (a sentence found in the embedding cache is done too), so it predicts the ETA
        return (f"{who}{task} {lang}: {what} · language {n}/{self.n_units} · {100 * f:.0f}% of ~{self.total:,} sentences · "
                f"{f * self.total / elapsed:,.1f} sent/s · ETA {eta}")

    def _draw(self, force: bool = False) -> None:
        if not (self.enabled and self.tty):
            return
        now = time.perf_counter()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        text = self.line()
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
