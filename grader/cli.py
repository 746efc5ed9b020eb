"""The ``grader`` command: parse arguments, call the stages, render, set the exit code.

Exit codes: 0 graded; 1 graded but below --min-score; 2 usage, rubric or
submission-path error (one line on stderr, never a traceback).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_BELOW_MIN, EXIT_OK, GraderError, SubmissionError

EXIT_CODES_HELP = ("Exit codes: 0 graded; 1 graded but the score is below --min-score; "
                   "2 usage, rubric or submission-path error.")


class GraderGroup(click.Group):
    """Turns a GraderError anywhere below into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            click.echo("grader: error: %s" % exc, err=True)
            sys.exit(exc.exit_code)


@click.group(cls=GraderGroup, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="a1grader")
def main() -> None:
    """Grade Assignment 1 (softmax and neural-network basics) submissions."""


def _load_rubric(path):
    from .rubric import default_rubric_path, load_rubric
    return load_rubric(Path(path) if path else default_rubric_path())


def _submission_dir(path: str) -> Path:
    folder = Path(path)
    if not folder.exists():
        raise SubmissionError("submission not found: %s" % path)
    if not folder.is_dir():
        raise SubmissionError("submission is not a folder: %s" % path)
    try:
        next(folder.iterdir(), None)
    except OSError as exc:
        raise SubmissionError("submission folder cannot be read: %s (%s)" % (path, exc.strerror)) from None
    return folder


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("submission", metavar="DIR")
@click.option("--rubric", "rubric_path", metavar="FILE", help="Rubric YAML (default: the bundled rubrics/a1.yaml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--min-score", type=float, default=None, metavar="X", help="Exit with 1 when the score is below X.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Time limit per call of a student function.")
def check(submission: str, rubric_path: str | None, fmt: str, min_score: float | None, timeout: float | None) -> None:
    """Grade the student folder DIR and print the result."""
    from .runner import grade
    rubric = _load_rubric(rubric_path)
    folder = _submission_dir(submission)
    result = grade(folder, rubric, timeout=timeout)
    if fmt == "json":
        from .report.json_report import render
        click.echo(render(result), nl=False)
    else:
        from rich.console import Console
        from .report.text import render as render_text
        render_text(result, Console())
    if min_score is not None and result.score < min_score:
        sys.exit(EXIT_BELOW_MIN)
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
