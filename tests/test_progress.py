"""One progress display per run (task, language, n/N overall, rate, ETA) and the CLI flags that steer it."""

from __future__ import annotations

import io

import pytest

from xgap.cli import build_parser, main
from xgap.progress import RunProgress, active, work_of


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_log_stream_gets_one_line_per_finished_language():
    out = io.StringIO()
    with RunProgress([("tatoeba", "de", 100), ("tatoeba", "fr", 300)], stream=out) as prog:
        assert active() is prog
        prog.start("tatoeba", "de")
        prog.advance(60)
        assert prog.fraction() == pytest.approx(60 / 400)
        prog.advance(80)  # more than estimated: a language never counts for more than its share
        assert prog.fraction() == pytest.approx(100 / 400)
        prog.finish("tatoeba", "de")
        prog.start("tatoeba", "fr")
        prog.finish("tatoeba", "fr")
    assert active() is None
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("tatoeba de: done · language 1/2 · 25% of ~400 sentences")
    assert "ETA" in lines[0] and "sent/s" in lines[0]
    assert lines[1].startswith("tatoeba fr: done · language 2/2 · 100%") and lines[1].endswith("ETA 0s")


def test_terminal_gets_one_line_rewritten_and_cleared():
    out = _Tty()
    with RunProgress([("xnli", "de", 10)], stream=out, min_interval=0) as prog:
        prog.start("xnli", "de")
        prog.advance(5)
        assert "xnli de: encoding · language 1/1 · 50%" in out.getvalue().split("\r")[-1]
        prog.finish("xnli", "de")
    text = out.getvalue()
    assert "\n" not in text and text.endswith("\r")  # the line is wiped at the end


def test_disabled_display_is_not_active():
    with RunProgress([("xnli", "de", 10)], enabled=False, stream=io.StringIO()):
        assert active() is None


def test_work_estimates():
    from xgap.data.examples import Bitext

    assert work_of(Bitext(["a", "b"], ["c", "d"])) == 4
    assert work_of([1, 2, 3]) == 3


@pytest.mark.parametrize("argv", [["tasks", "list", "--quiet"], ["tasks", "list", "-q"], ["--quiet", "tasks", "list"],
                                  ["tasks", "show", "xnli", "-q"], ["validate", "tasks/", "--quiet"]])
def test_quiet_is_accepted_before_and_after_any_command(argv):
    args = build_parser().parse_args(argv)
    assert args.quiet is True


def test_every_subcommand_accepts_quiet_and_documents_its_arguments():
    import argparse

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, child in action.choices.items():
                    yield from walk(child, f"{name} {sub_name}")
        yield name, parser

    seen = 0
    for name, parser in walk(build_parser(), "xgap"):
        options = {s for a in parser._actions for s in a.option_strings}
        assert "--quiet" in options, name
        undocumented = [a.dest for a in parser._actions if not a.help and not isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))]
        assert not undocumented, f"{name}: {undocumented} without help"
        assert "%%" not in parser.format_help(), name
        seen += 1
    assert seen > 20


def test_quiet_after_the_command_silences_logging(capsys):
    assert main(["tasks", "list", "--quiet"]) == 0
    assert "18 tasks" in capsys.readouterr().out


def test_two_submissions_count_each_language_once_per_submission():
    """The demo runs two models over the same (task, language)s: 2 x 2 units, named by submission,
    never 'language 3/2'."""
    out = io.StringIO()
    units = [("tatoeba", lang, 100, sub) for sub in ("e5", "minilm") for lang in ("de", "fr")]
    with RunProgress(units, stream=out) as prog:
        for sub in ("e5", "minilm"):
            for lang in ("de", "fr"):
                prog.start("tatoeba", lang, sub)
                prog.advance(100)
                prog.finish("tatoeba", lang, sub)
    lines = out.getvalue().splitlines()
    assert [line.split(" · ")[1] for line in lines] == [f"language {i}/4" for i in range(1, 5)]
    assert lines[0].startswith("e5: tatoeba de: done") and lines[3].startswith("minilm: tatoeba fr: done")
    assert lines[1].split(" · ")[2] == "50% of ~400 sentences" and lines[3].split(" · ")[2] == "100% of ~400 sentences"
