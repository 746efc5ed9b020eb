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
from .report import FORMATS, render

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


def _emit(result, fmt: str, out_path: str | None, folder: str) -> None:
    """Print the report, or write it to ``out_path`` (its folder is created)."""
    if out_path is None and fmt == "text":
        from rich.console import Console
        from .report.text import render as render_text
        render_text(result, Console())
        return
    text = render(result, fmt, folder=folder)
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError("cannot write %s: %s" % (out_path, exc.strerror)) from None


def sandbox_options(fn):
    """The sandbox's limits and isolation mode, overriding the rubric's ``limits:``."""
    options = [
        click.option("--timeout", type=float, default=None, metavar="SECONDS",
                     help="Time limit per call of a student function."),
        click.option("--budget", type=float, default=None, metavar="SECONDS",
                     help="Time limit for everything one submission may take."),
        click.option("--memory", "memory_mb", type=int, default=None, metavar="MIB",
                     help="Memory limit of the student's process."),
        click.option("--isolation", type=click.Choice(["auto", "bwrap", "uid", "plain"]), default="auto",
                     show_default=True, help="Sandbox mode; auto picks the strongest that works here."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _make_grader(rubric, timeout, budget, memory_mb, isolation):
    from .runner import Grader
    limits = rubric.limits.override(budget=budget, memory_mb=memory_mb)
    return Grader(rubric, timeout=timeout, limits=limits, mode=None if isolation == "auto" else isolation)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("submission", metavar="DIR", required=False)
@click.option("--rubric", "rubric_path", metavar="FILE", help="Rubric YAML (default: the bundled rubrics/a1.yaml).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (a table), json (the result tree), junit (XML for CI), github (workflow "
                   "annotations), markdown (for a step summary), gradescope (results.json).")
@click.option("--out", "out_path", metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option("--min-score", type=float, default=None, metavar="X", help="Exit with 1 when the score is below X.")
@sandbox_options
@click.option("--explain-sandbox", is_flag=True, help="Say which isolation mode is active here, and exit.")
def check(submission: str | None, rubric_path: str | None, fmt: str, out_path: str | None, min_score: float | None,
          timeout: float | None, budget: float | None, memory_mb: int | None, isolation: str,
          explain_sandbox: bool) -> None:
    """Grade the student folder DIR and print the result."""
    if explain_sandbox:
        from .sandbox import isolation as iso
        click.echo(iso.explain(iso.detect(None if isolation == "auto" else isolation)))
        sys.exit(EXIT_OK)
    if submission is None:
        raise click.UsageError("missing argument DIR (the student's folder)")
    rubric = _load_rubric(rubric_path)
    folder = _submission_dir(submission)
    with _make_grader(rubric, timeout, budget, memory_mb, isolation) as grader:
        result = grader.grade(folder)
    _emit(result, fmt, out_path, submission)
    if min_score is not None and result.score < min_score:
        sys.exit(EXIT_BELOW_MIN)
    sys.exit(EXIT_OK)


@main.group()
def gradescope() -> None:
    """Gradescope autograder bundles."""


@gradescope.command("build")
@click.option("--rubric", "rubric_path", metavar="FILE", help="Rubric YAML (default: the bundled rubrics/a1.yaml).")
@click.option("--out", "out_path", metavar="FILE", default="autograder.zip", show_default=True)
def gradescope_build(rubric_path: str | None, out_path: str) -> None:
    """Build the autograder zip to upload to Gradescope."""
    from .bundles import build_gradescope
    from .rubric import default_rubric_path
    path = build_gradescope(Path(rubric_path) if rubric_path else default_rubric_path(), Path(out_path))
    click.echo("wrote %s" % path)


@main.group()
def kit() -> None:
    """The students' self-check kit (public checks, no reference)."""


@kit.command("build")
@click.option("--rubric", "rubric_path", metavar="FILE", help="Rubric YAML (default: the bundled rubrics/a1.yaml).")
@click.option("--out", "out_path", metavar="DIR", required=True)
def kit_build(rubric_path: str | None, out_path: str) -> None:
    """Build the student kit into DIR."""
    from .bundles import build_kit
    from .rubric import default_rubric_path
    path = build_kit(Path(rubric_path) if rubric_path else default_rubric_path(), Path(out_path))
    click.echo("wrote %s" % path)


if __name__ == "__main__":  # pragma: no cover
    main()
