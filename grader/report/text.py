"""The terminal report: a table of question, part, check, points and the reason."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..scoring import SubmissionResult
from .common import clean


def _pts(score: float, max_score: float) -> str:
    return "%g/%g" % (score, max_score)


def _t(text) -> str:
    """Student text inside rich markup, before a closing tag: cleaned and escaped ('[/]' would close a tag)."""
    return escape(clean(text))


def _plain(text) -> Text:
    """Student text on its own (a cell, a line): cleaned, never parsed as markup.

    Not escape(): with no tag after it, escape()'s guard for a final backslash would show it twice.
    """
    return Text(clean(text))


def render(result: SubmissionResult, console: Console) -> None:
    """Print the per-check table, then hints, notes and the student's own output.

    Every string reaches rich through :func:`_t` or :func:`_plain`: nothing a student's code prints is read as markup.
    """
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False,
                  title=_plain("a1grader %s: %s" % (result.grader_version, clean(result.submission))),
                  caption=_plain("sandbox: " + clean(result.sandbox)) if result.sandbox else None)
    table.add_column("Question")
    table.add_column("Part")
    table.add_column("Check")
    table.add_column("Points", justify="right")
    table.add_column("Reason", overflow="fold")
    for q in result.questions:
        for p in q.parts:
            if p.status != "graded":
                table.add_row(_plain(q.id), _plain(p.id), "[bold]%s[/]" % _t(p.status), _pts(p.score, p.max_score),
                              _plain(p.checks[0].message if p.checks else ""), style="red")
                continue
            for c in p.checks:
                style = None if c.passed else ("yellow" if c.score > 0 else "red")
                mark = "" if c.passed else "✗ "
                table.add_row(_plain(q.id), _plain(p.id), _plain(mark + c.id), _pts(c.score, c.max_score),
                              _plain(c.message), style=style)
        table.add_section()
    console.print(table)
    for q in result.questions:
        for p in q.parts:
            console.print("[bold]%s %s[/]: %s" % (_t(q.id), _t(p.title), _pts(p.score, p.max_score))
                          + ("" if p.status == "graded" else "  [red](%s)[/]" % _t(p.status)))
            for note in p.notes:
                console.print(_plain("   note: " + clean(note)))
            for hint in p.hints:
                console.print(_plain("   hint: " + clean(hint)))
            if p.output.strip():
                console.print(_plain("   your code printed while loading: " + _first_lines(clean(p.output))))
    console.print("[bold]Total: %s[/]" % _pts(result.score, result.max_score))


def _first_lines(text: str, n: int = 3) -> str:
    lines = text.strip().splitlines()
    shown = " | ".join(line[:100] for line in lines[:n])
    return shown + (" | ..." if len(lines) > n else "")
