"""The terminal report: a table of question, part, check, points and the reason."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..scoring import SubmissionResult


def _pts(score: float, max_score: float) -> str:
    return "%g/%g" % (score, max_score)


def render(result: SubmissionResult, console: Console) -> None:
    """Print the per-check table, then hints, notes and the student's own output."""
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False,
                  title="a1grader %s: %s" % (result.grader_version, escape(result.submission)),
                  caption="sandbox: %s" % result.sandbox if result.sandbox else None)
    table.add_column("Question")
    table.add_column("Part")
    table.add_column("Check")
    table.add_column("Points", justify="right")
    table.add_column("Reason", overflow="fold")
    for q in result.questions:
        for p in q.parts:
            if p.status != "graded":
                table.add_row(q.id, p.id, "[bold]%s[/]" % p.status, _pts(p.score, p.max_score),
                              escape(p.checks[0].message if p.checks else ""), style="red")
                continue
            for c in p.checks:
                style = None if c.passed else ("yellow" if c.score > 0 else "red")
                mark = "" if c.passed else "✗ "
                table.add_row(q.id, p.id, mark + c.id, _pts(c.score, c.max_score), escape(c.message), style=style)
        table.add_section()
    console.print(table)
    for q in result.questions:
        for p in q.parts:
            console.print("[bold]%s %s[/]: %s" % (q.id, escape(p.title), _pts(p.score, p.max_score))
                          + ("" if p.status == "graded" else "  [red](%s)[/]" % p.status))
            for note in p.notes:
                console.print("   note: " + escape(note))
            for hint in p.hints:
                console.print("   hint: " + escape(hint))
            if p.output.strip():
                console.print("   your code printed while loading: " + escape(_first_lines(p.output)))
    console.print("[bold]Total: %s[/]" % _pts(result.score, result.max_score))


def _first_lines(text: str, n: int = 3) -> str:
    lines = text.strip().splitlines()
    shown = " | ".join(line[:100] for line in lines[:n])
    return shown + (" | ..." if len(lines) > n else "")
