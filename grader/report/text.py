"""The terminal report: each part, its checks and points, and why points were lost."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import NAME
from ..scoring import SubmissionResult
from .common import clean, pts as _pts, verdict_label, written_lines


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

    Readable at 80 columns: one line per part heading and per passed check; a
    failed check's reason on its own row below it, across the table's width.
    Every string reaches rich through :func:`_t` or :func:`_plain`: nothing a
    student's code prints is read as markup.
    """
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False, pad_edge=False,
                  title=_plain("%s %s: %s" % (NAME, result.grader_version, clean(result.submission))),
                  caption=_plain("sandbox: " + clean(result.sandbox)) if result.sandbox else None)
    table.add_column("Check", overflow="fold", ratio=1)
    table.add_column("Points", justify="right", no_wrap=True)
    for q in result.questions:
        for p in q.parts:
            status = "" if p.status == "graded" else "  [red](%s)[/]" % _t(p.status)
            if getattr(p, "verdict", None) and p.status == "graded":
                colour = {"correct": "green", "incorrect": "red"}.get(p.verdict, "yellow")
                status = "  [%s](%s)[/]" % (colour, _t(verdict_label(p)))
            table.add_row("[bold]%s %s[/]%s" % (_t(q.id), _t(p.title), status),
                          "[bold]%s[/]" % _pts(p.score, p.max_score))
            if p.status != "graded":
                table.add_row(Padding(_plain(p.checks[0].message if p.checks else ""), (0, 0, 0, 2)), "", style="red")
                continue
            for c in p.checks:
                if c.details.get("after_submission"):
                    table.add_row(Text("  · ") + _plain(c.id) + Text("  graded after submission", style="dim"),
                                  Text("(%g)" % c.details["after_submission"], style="dim"))
                    continue
                if c.details.get("verdict") == "read":       # a kit reads a written part; it decides nothing
                    table.add_row(Text("  · ") + _plain(c.id) + Text("  graded after submission", style="dim"), "")
                    continue
                if c.passed:
                    table.add_row(Text("  ✓ ") + _plain(c.id), _pts(c.score, c.max_score))
                    continue
                style = "yellow" if c.score > 0 else "red"
                table.add_row(Text("  ✗ ") + _plain(c.id), _pts(c.score, c.max_score), style=style)
                table.add_row(Padding(_plain(c.message), (0, 0, 0, 6)), "", style=style)
        table.add_section()
    console.print(table)
    for q in result.questions:
        for p in q.parts:
            written = written_lines(p)
            if not (p.notes or p.hints or p.output.strip() or written):
                continue
            console.print("[bold]%s %s[/]" % (_t(q.id), _t(p.title)))
            for line in written:
                console.print(_plain("   " + line))
            for note in p.notes:
                console.print(_plain("   note: " + clean(note)))
            for hint in p.hints:
                console.print(_plain("   hint: " + clean(hint)))
            if p.output.strip():
                console.print(_plain("   your code printed while loading: " + _first_lines(clean(p.output))))
    for note in getattr(result, "notes", []) or []:
        console.print(_plain("note: " + clean(note)))
    console.print("[bold]Total: %s[/]" % _pts(result.score, result.max_score))
    later = sum(c.details.get("after_submission") or 0 for p in result.parts() for c in p.checks)
    if later:   # the kit: hidden checks are out of its total, and not failures
        console.print(_plain("(what this self-check can see; %g more points are graded after you submit)" % later))


def _first_lines(text: str, n: int = 3) -> str:
    lines = text.strip().splitlines()
    shown = " | ".join(line[:100] for line in lines[:n])
    return shown + (" | ..." if len(lines) > n else "")
