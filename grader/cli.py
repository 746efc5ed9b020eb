"""The ``grader`` command: parse arguments, call the stages, render, set the exit code.

Exit codes: 0 graded; 1 graded but below --min-score; 2 usage, rubric or
submission-path error, or no safe sandbox here; 3 the grader itself failed
(one line on stderr, never a traceback).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_BELOW_MIN, EXIT_OK, GraderError, SubmissionError
from .report import FORMATS, render

EXIT_CODES_HELP = ("Exit codes: 0 graded; 1 graded but the score is below --min-score; "
                   "2 usage, rubric or submission-path error, no safe sandbox here, or (batch) no submission "
                   "could be read; 3 the grader itself failed (batch: on any submission; nothing of it was "
                   "recorded as a grade, an earlier grade stays).")


class GraderGroup(click.Group):
    """Turns a GraderError anywhere below into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            click.echo("grader: error: %s" % exc, err=True)
            sys.exit(exc.exit_code)


@click.group(cls=GraderGroup, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="a1grader")
def main() -> None:
    """Grade a course's homework: its code in a sandbox, its written derivations read and decided."""


def _bundled_names() -> str:
    from .bundled import bundled_rubrics_dir, default_rubric_path
    default = default_rubric_path().stem
    names = sorted(p.stem for p in bundled_rubrics_dir().glob("*.yaml"))
    return ", ".join(n + (" (the default)" if n == default else "") for n in names) or "none"


RUBRIC_HELP = "Rubric YAML, or a bundled rubric's name: %s." % _bundled_names()


def _load_rubric(path):
    """The rubric at ``path``; a bare name that is no file is a bundled rubric (its file's stem)."""
    from .rubric import default_rubric_path, load_rubric, named_rubric
    if path and not Path(path).exists() and named_rubric(path):
        return load_rubric(named_rubric(path))
    return load_rubric(Path(path) if path else default_rubric_path())


def assignment_option(fn):
    """``--rubric`` of a command that reads the gradebook: only the rows of its assignment are read or written."""
    return click.option("--rubric", "rubric_path", metavar="FILE",
                        help="The rubric (YAML, or a bundled rubric's name) of the assignment to work on: only the "
                             "gradebook's rows of its assignment: id are read or written (default: the bundled "
                             "default rubric's).")(fn)


def _assignment(rubric_path) -> str:
    return _load_rubric(rubric_path).assignment


def _open_book(db_path: str, assignment: str):
    """The gradebook at ``db_path`` (which must exist), open for ``assignment``.

    When it holds no row of that assignment but rows of others, a note on stderr names them: the
    rows are there, under another assignment (another --rubric).
    """
    from .gradebook import Gradebook
    if not Path(db_path).is_file():
        raise GraderError("gradebook not found: %s" % db_path)
    book = Gradebook(Path(db_path), assignment)
    if not len(book):
        others = book.assignments()
        if others:
            click.echo("grader: note: %s holds no grades of assignment %s, only of %s: give the --rubric of that "
                       "assignment" % (db_path, assignment, ", ".join("%s (%d)" % kv for kv in others.items())),
                       err=True)
    return book


def _rows(db_path: str, rubric_path) -> list:
    """The gradebook's rows of the rubric's assignment, with the TAs' decisions and the late policy applied."""
    with _open_book(db_path, _assignment(rubric_path)) as book:
        return book.adjusted_rows()


def _submission_dir(path: str, cache: Path | None = None) -> Path:
    """The folder to grade: ``path`` itself, or a zip's contents unpacked under ``cache``."""
    from .discover import locate
    folder = Path(path)
    if not folder.exists():
        raise SubmissionError("submission not found: %s" % path)
    if folder.is_file() and folder.suffix.lower() == ".zip" and cache is not None:
        try:
            return locate(folder, cache)
        except ValueError as exc:
            raise SubmissionError("%s: %s" % (path, exc)) from None
    if not folder.is_dir():
        raise SubmissionError("submission is not a folder or a zip: %s" % path)
    try:
        next(folder.iterdir(), None)
    except OSError as exc:
        raise SubmissionError("submission folder cannot be read: %s (%s)" % (path, exc.strerror)) from None
    return folder


def _import_in_background(fmt: str, out_path: str | None):
    """Import the report's modules in a thread while the grading process mostly waits on the sandbox.

    Joined before the report is made (``_emit`` imports them again, by then at no cost).
    """
    import importlib
    import threading
    from .report import module_name
    names = ["rich.console"] * (fmt == "text") + [module_name(fmt)]
    thread = threading.Thread(target=lambda: [importlib.import_module(n) for n in names], daemon=True)
    thread.start()
    return thread


def _emit(result, fmt: str, out_path: str | None, folder: str) -> None:
    """Print the report, or write it to ``out_path`` (its folder is created)."""
    if out_path is None and fmt == "text":
        from rich.console import Console
        from .report.text import render as render_text
        render_text(result, Console())
        return
    _write(render(result, fmt, folder=folder), out_path)


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
        click.option("--i-know-it-is-unsafe", "unsafe", is_flag=True,
                     help="Allow plain mode as root (student code then runs as root): a throwaway container only."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _sandbox_mode(isolation: str, unsafe: bool, tell: bool = False):
    """The mode to grade in (refusing unsafe ones).

    ``tell`` (a whole class, or root): when the mode is weaker than this machine
    could give, say once on stderr what would make it stronger. A student's own
    check stays quiet: there is nothing on their laptop for them to change.
    """
    from .sandbox import isolation as iso
    requested = None if isolation == "auto" else isolation
    mode = iso.choose(requested, unsafe)
    why = iso.weaker_than_possible(requested, mode) if tell or iso.is_root() else None
    if tell:
        click.echo("grader: isolation: %s (grader check --explain-sandbox says what it guarantees)"
                   % iso.mode_label(mode), err=True)
    if why:
        click.echo("grader: note: %s" % why, err=True)
    return mode


def _make_grader(rubric, timeout, budget, memory_mb, isolation, unsafe, mode=None):
    from .runner import Grader
    limits = rubric.limits.override(budget=budget, memory_mb=memory_mb)
    return Grader(rubric, timeout=timeout, limits=limits, mode=mode or _sandbox_mode(isolation, unsafe),
                  unsafe=unsafe)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("submission", metavar="DIR", required=False)
@click.option("--rubric", "rubric_path", metavar="FILE", help=RUBRIC_HELP)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (a table), json (the result tree), junit (XML for CI), github (workflow "
                   "annotations), markdown (for a step summary), gradescope (results.json).")
@click.option("--out", "out_path", metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option("--min-score", type=float, default=None, metavar="X", help="Exit with 1 when the score is below X.")
@sandbox_options
@click.option("--explain-sandbox", is_flag=True, help="Say which isolation mode is active here, and exit.")
@click.option("--gradescope-metadata", "metadata", metavar="FILE", default=None,
              help="Gradescope's submission_metadata.json: its submission time and due date decide lateness.")
def check(submission: str | None, rubric_path: str | None, fmt: str, out_path: str | None, min_score: float | None,
          timeout: float | None, budget: float | None, memory_mb: int | None, isolation: str, unsafe: bool,
          explain_sandbox: bool, metadata: str | None) -> None:
    """Grade the student's folder (or zip) DIR and print the result."""
    if explain_sandbox:
        from .sandbox import isolation as iso
        requested = None if isolation == "auto" else isolation
        click.echo("\n".join(iso.explain_lines(iso.choose(requested, unsafe), requested)))
        sys.exit(EXIT_OK)
    if submission is None:
        raise click.UsageError("missing argument DIR (the student's folder)")
    import tempfile
    from .sandbox.zygote_handle import launch_early
    mode = _sandbox_mode(isolation, unsafe)
    launch_early(mode, unsafe)   # the sandbox starts while the rubric and the checks are imported
    rubric = _load_rubric(rubric_path)
    with tempfile.TemporaryDirectory(prefix="a1grader-check-") as cache:
        folder = _submission_dir(submission, Path(cache))
        with _make_grader(rubric, timeout, budget, memory_mb, isolation, unsafe, mode) as grader:
            reporting = _import_in_background(fmt, out_path)
            result = grader.grade(folder, label=submission)
            reporting.join()
    if metadata:    # one submission, shown now: the policy is applied here
        from . import lateness
        times = lateness.gradescope_times(Path(metadata))
        lateness.apply(result, lateness.assess(rubric.late, times["submitted"], "Gradescope's submission time",
                                               times["due"] if rubric.late.due is None else None))
    _emit(result, fmt, out_path, submission)
    if min_score is not None and result.score < min_score:
        sys.exit(EXIT_BELOW_MIN)
    sys.exit(EXIT_OK)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("root", metavar="ROOT")
@click.option("--rubric", "rubric_path", metavar="FILE", help=RUBRIC_HELP)
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE",
              help="The gradebook (SQLite); one file holds any number of assignments, each under its rubric's "
                   "assignment: id.")
@click.option("--jobs", type=int, default=None, metavar="N", help="Parallel graders (default: the number of cores).")
@click.option("--force", is_flag=True, help="Regrade submissions that are unchanged since they were graded.")
@click.option("--shard", default=None, metavar="K/N", help="Grade only the K-th of N deterministic parts of the class.")
@click.option("--quiet", is_flag=True, help="No progress bar: one log line per submission.")
@click.option("--student", "students", multiple=True, metavar="ID",
              help="Regrade only this student (repeatable), even if unchanged: a regrade request.")
@click.option("--extensions", "extensions_path", metavar="FILE",
              help="CSV of student,due: each student's own due date, replacing those given before (applied by the "
                   "next export, feedback or report; nothing is regraded).")
@click.option("--times", "times_path", metavar="FILE",
              help="CSV of student,submitted_at: when each came in, from your LMS (folders and zips record no time).")
@sandbox_options
def batch(root: str, rubric_path: str | None, db_path: str, jobs: int | None, force: bool, shard: str | None,
          quiet: bool, students, extensions_path: str | None, times_path: str | None, timeout: float | None, budget: float | None,
          memory_mb: int | None, isolation: str, unsafe: bool) -> None:
    """Grade every submission under ROOT into the gradebook; resumable."""
    from . import batch as batching
    if not Path(root).is_dir():
        raise GraderError("submissions folder not found: %s" % root)
    rubric = _load_rubric(rubric_path)
    limits = rubric.limits.override(budget=budget, memory_mb=memory_mb)
    mode = _sandbox_mode(isolation, unsafe, tell=True)
    from .coursesecret import course_secret
    secret, where = course_secret()   # made here, once, before the graders start (coursesecret.py)
    if not secret:
        click.echo("grader: note: no course secret (%s): every input is predictable from the files; set "
                   "A1GRADER_SECRET, or let the grader keep one under a writable home" % where, err=True)
    from .lateness import read_times
    extensions, times = ((path, read_times(Path(path), what)) if path else None
                         for path, what in ((extensions_path, "due"), (times_path, "submitted_at")))
    stats = _run_with_progress(batching, Path(root), rubric, db_path, jobs, force, batching.parse_shard(shard),
                               timeout, limits, mode, quiet, unsafe, tuple(students), (extensions, times))
    click.echo("graded %d, unchanged %d, could not grade %d, of %d submissions in %.1f s -> %s" % (
        stats.graded, stats.skipped, stats.failed, stats.total, stats.seconds, db_path), err=quiet)
    if stats.untimed and rubric.late.due and not times_path:
        click.echo("grader: note: no submission time for %d of %d submissions (folders and zips record none): no "
                   "late penalty for them; --times FILE gives them" % (stats.untimed, stats.total), err=True)
    if stats.scores and not quiet:
        from .report.summary import render_terminal
        render_terminal(db_path, assignment=rubric.assignment)
    if stats.grader_failed:
        from .errors import EXIT_GRADER_FAULT
        click.echo("grader: error: %s" % batching.grader_failure_line(stats), err=True)
        sys.exit(EXIT_GRADER_FAULT)
    if stats.failed and not stats.graded and not stats.skipped:
        raise GraderError("none of the %d submissions under %s could be graded (each is a bad zip, a link or a stray "
                          "file: grader report lists why)" % (stats.failed, root))


def _run_with_progress(batching, root, rubric, db_path, jobs, force, shard, timeout, limits, mode, quiet, unsafe,
                       only=(), late=(None, None)):
    if quiet:
        def log(student, stats):
            click.echo("%s done (%d graded, %d failed)" % (student, stats.graded, stats.failed), err=True)
        return batching.run(root, rubric, Path(db_path), jobs, force, shard, timeout, limits, mode, log, unsafe, only, *late)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}/s"),
               TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("failed: {task.fields[failed]}"))
    import time
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("grading", total=None, rate="-", failed=0)
        started = time.monotonic()

        def tick(student, stats):
            # The clock starts with the run, and a rate is shown only after a second of it: timed from the
            # first result, a resume's first tick made "273373.4/s".
            done, elapsed = stats.graded + stats.failed, time.monotonic() - started
            bar.update(task, total=stats.total - stats.skipped, completed=done,
                       rate="%.1f" % (done / elapsed) if elapsed >= 1.0 else "-", failed=stats.failed)
        return batching.run(root, rubric, Path(db_path), jobs, force, shard, timeout, limits, mode, tick, unsafe, only, *late)


@main.command()
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@assignment_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "canvas"]), default="csv", show_default=True,
              help="csv/json: every score; canvas: Canvas's gradebook import, matched to --roster.")
@click.option("--roster", "roster_path", metavar="ROSTER.csv", help="Canvas's gradebook export (for --format canvas).")
@click.option("--column", default=None, metavar="NAME",
              help="The assignment's column in Canvas (e.g. 'Homework 2 (12345)'); default: the roster's one "
                   "assignment column.")
@click.option("--out", "out_path", metavar="FILE", help="Write to FILE instead of standard output.")
def export(db_path: str, rubric_path: str | None, fmt: str, roster_path: str | None, column: str | None,
           out_path: str | None) -> None:
    """One row per student of the rubric's assignment: total, per question and per part scores (the TAs' decisions
    applied)."""
    from .report.export import to_csv, to_json
    rows = _rows(db_path, rubric_path)
    if fmt == "canvas":
        from .report.canvas import to_canvas
        if not roster_path:
            raise GraderError("--format canvas needs --roster ROSTER.csv (Canvas's gradebook export)")
        try:
            roster = Path(roster_path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise GraderError("cannot read the roster %s: %s" % (roster_path, exc.strerror or exc)) from None
        from .report.canvas import assignment_column
        column, note = assignment_column(roster, column, _load_rubric(rubric_path).name)
        if note:
            click.echo("grader: note: %s" % note, err=True)
        text, missing, unmatched = to_canvas(rows, roster, column)
        _write(text, out_path)
        for name in missing:
            click.echo("on the roster, no submission: %s" % name, err=True)
        for name in unmatched:
            click.echo("a submission no roster row claims: %s" % name, err=True)
        return
    text = to_csv(rows) if fmt == "csv" else to_json(rows)
    _write(text, out_path)


@main.command()
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@assignment_option
@click.option("--out", "out_dir", required=True, metavar="DIR")
@click.option("--format", "fmt", type=click.Choice(["markdown", "gradescope"]), default="markdown", show_default=True,
              help="markdown: <student>.md; gradescope: <student>.json, Gradescope's results.json.")
def feedback(db_path: str, rubric_path: str | None, out_dir: str, fmt: str) -> None:
    """One feedback file per student of the rubric's assignment, with the TAs' decisions applied."""
    from .report.common import feedback_file, write_atomic
    from .report.markdown import render as render_md, render_ungraded
    from .scoring import result_from_dict
    rows = _rows(db_path, rubric_path)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    count, failed = 0, []
    for row in rows:
        try:
            data = row.result_dict()
            if fmt == "gradescope":
                from .report.gradescope import render as render_gs
                text = render_gs(result_from_dict(data)) if data else json.dumps(
                    {"score": 0, "output": "Not graded: %s" % (row.error or "no reason recorded"), "tests": []})
            else:
                text = render_md(result_from_dict(data)) if data else render_ungraded(row.student, row.error)
        except Exception as exc:   # noqa: BLE001  one student's unrenderable result must not cost the rest theirs
            text = render_ungraded(row.student, "your feedback could not be rendered (%s); ask the course staff"
                                   % type(exc).__name__)
            failed.append(row.student)
        path = folder / feedback_file(row.student)
        if fmt == "gradescope":
            path = path.with_suffix(".json")
        try:
            write_atomic(path, text)
        except OSError as exc:
            click.echo("grader: warning: cannot write %s: %s" % (path, exc.strerror), err=True)
            failed.append(row.student)
            continue
        count += 1
    click.echo("wrote %d feedback files to %s" % (count, folder))
    if failed:
        click.echo("grader: warning: feedback not rendered or not written for %d students: %s" % (
            len(failed), ", ".join(feedback_file(s)[:-3] for s in failed[:20])), err=True)


@main.command()
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@assignment_option
@click.option("--out", "out_path", default="report.html", show_default=True, metavar="FILE")
@click.option("--feedback-dir", default=None, metavar="DIR",
              help="Link each student to DIR/<student>.md: the folder `grader feedback --out DIR` wrote, as you typed "
                   "it there (the links work wherever the report is written).")
def report(db_path: str, rubric_path: str | None, out_path: str, feedback_dir: str | None) -> None:
    """One self-contained HTML page about the whole class of the rubric's assignment."""
    from .report.html import render as render_html
    from .report.summary import class_summary
    from .report.export import student_row
    from .report.html import feedback_link
    with _open_book(db_path, _assignment(rubric_path)) as book:
        rows = book.adjusted_rows()
        flagged = book.similar()
    summary = class_summary(rows)
    if feedback_dir is not None:
        feedback_dir, warning = feedback_link(feedback_dir, out_path)
        if warning:
            click.echo("grader: warning: %s" % warning, err=True)
    _write(render_html(summary, feedback_dir=feedback_dir, similar=flagged, students=[student_row(r) for r in rows]),
           out_path)
    click.echo("wrote %s" % out_path)


@main.command()
@click.argument("student", required=False)
@click.argument("part", required=False)
@click.argument("points", required=False, type=float)
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@assignment_option
@click.option("--verdict", type=click.Choice(["correct", "incorrect"]), default=None,
              help="Decide by verdict instead of points: correct is full points, incorrect none.")
@click.option("--comment", default="", metavar="TEXT", help="Why, for the student (shown in their feedback).")
@click.option("--by", default=None, metavar="NAME", help="Who decides (default: $A1GRADER_TA, else the login name).")
@click.option("--remove", is_flag=True, help="Forget the decision on STUDENT PART.")
@click.option("--list", "listing", is_flag=True, help="List the decisions (with --stale: only those made for an earlier answer).")
@click.option("--stale", is_flag=True, help="With --list: only decisions whose answer has changed since.")
@click.option("--replace", is_flag=True, help="Replace (or --remove) another TA's current decision on STUDENT PART.")
def override(student, part, points, db_path, rubric_path, verdict, comment, by, remove, listing, stale,
             replace) -> None:
    """A TA's decision on one part: grader override --db DB STUDENT PART (POINTS | --verdict V) [--comment TEXT].

    Kept beside the grader's result, applied by export, feedback and the class report, and kept
    through regrades; when the student's answer changes, it turns stale (listed, not applied).
    """
    from . import overrides
    with _open_book(db_path, _assignment(rubric_path)) as book:
        if listing:
            for line in _override_lines(book, stale):
                click.echo(line)
            return
        if not student or not part:
            raise GraderError("give STUDENT and PART (or --list)")
        row = book.get(student)
        if row is None or not row.result:
            raise GraderError("no graded result for student %r in %s%s" % (
                student, db_path, _did_you_mean(student, [r.student for r in book.rows() if r.result])))
        result = row.result_dict()
        found = overrides.part_of(result, part)
        if found is None:
            raise GraderError("student %r has no part %r%s" % (student, part, _did_you_mean(
                part, [p["id"] for q in result.get("questions", []) for p in q.get("parts", [])])))
        before = overrides.load(book.db, book.assignment).get((student, part))
        # Another TA's current decision is theirs: replacing or removing it takes --replace (a stale one is
        # for an earlier answer and waits to be decided again).
        theirs = (before is not None and before.by != overrides.who(by)
                  and before.fingerprint == found.get("fingerprint", ""))
        if theirs and not replace:
            raise GraderError("%s / %s was decided by %s (%s): %g/%g%s; give --replace to %s it" % (
                student, part, before.by, before.at[:10], before.points_for(found["max_score"]), found["max_score"],
                ": " + before.comment if before.comment else "", "remove" if remove else "replace"))
        if remove:
            click.echo("removed" if overrides.remove(book.db, book.assignment, student, part) else "there was no decision to remove")
            return
        if (points is None) == (verdict is None):
            raise GraderError("give POINTS or --verdict (one of them)")
        if points is not None and not 0 <= points <= found["max_score"]:
            raise GraderError("points must be between 0 and %g for %s" % (found["max_score"], part))
        made = overrides.decide(book.db, book.assignment, student, part, found.get("fingerprint", ""), points, verdict, comment, by,
                                seen=before.version if before else 0)
        click.echo("%s / %s: %g/%g by %s%s" % (student, part, made.points_for(found["max_score"]),
                                               found["max_score"], made.by, "" if before is None else
                                               " (replaces %s's %g)" % (before.by,
                                                                         before.points_for(found["max_score"]))))


def _did_you_mean(given: str, known) -> str:
    """'; did you mean 'alice_1001'?' when a known id is close to the one typed (a typo, another case), else ''."""
    import difflib
    known = sorted(set(known))
    by_case = {k.lower(): k for k in known}
    close = [by_case[given.lower()]] if given.lower() in by_case else difflib.get_close_matches(given, known, 3, 0.6)
    close += [k for k in known if given and given.lower() in k.lower() and k not in close][:3 - len(close)]
    return "; did you mean %s?" % " or ".join(repr(c) for c in close) if close else ""


def _override_lines(book, stale_only: bool):
    from . import overrides
    for (student, part), o in sorted(overrides.load(book.db, book.assignment).items()):
        row = book.get(student)
        found = overrides.part_of(row.result_dict(), part) if row and row.result else None
        is_stale = found is None or found.get("fingerprint", "") != o.fingerprint
        if stale_only and not is_stale:
            continue
        value = "%g" % o.points if o.points is not None else o.verdict
        yield "%s\t%s\t%s\t%s\t%s\t%s%s" % (student, part, value, o.by, o.at, o.comment,
                                             "\tSTALE: the answer changed since" if is_stale else "")


@main.command()
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@assignment_option
@click.option("--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1 (0: any free one).")
@click.option("--by", default=None, metavar="NAME", help="Who decides (default: $A1GRADER_TA, else the login name).")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
def review(db_path: str, rubric_path: str | None, port: int, by: str | None, no_browser: bool) -> None:
    """A local page to decide what the grader could not: answer groups, largest first.

    Decisions are written to the gradebook at once (Ctrl-C loses nothing) and applied by
    export, feedback and the class report. Serves on 127.0.0.1 only.
    """
    from .review.app import serve

    def opened(url: str) -> None:
        click.echo("review page: %s  (Ctrl-C to stop; every decision is already saved)" % url)
        sys.stdout.flush()
        if not no_browser:
            import webbrowser
            webbrowser.open(url)

    assignment = _assignment(rubric_path)
    _open_book(db_path, assignment).close()     # not found, or none of this assignment's: said before serving
    serve(Path(db_path), port, by, opened, assignment)


@main.command()
@click.option("--db", "db_path", default="grades.db", show_default=True, metavar="FILE")
@click.option("--rubric", "rubric_path", metavar="FILE", help="The rubric the class was graded with (its graded "
              "functions are compared); a bundled rubric's name works too.")
@click.option("--starter", "starter_dir", default=None, metavar="DIR",
              help="The course's starter folder: its code is never evidence (without it, what most of the class "
                   "shares counts as starter).")
@click.option("--threshold", type=float, default=None, metavar="X", help="Report pairs scoring at least X (0..1).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--out", "out_path", metavar="FILE", help="Write to FILE instead of standard output.")
def similar(db_path: str, rubric_path: str | None, starter_dir: str | None, threshold: float | None, fmt: str,
            out_path: str | None) -> None:
    """Pairs of students whose code or write-ups are more alike than independent work: for a person to look at.

    Kept in the gradebook for the review page. See docs/similarity.md.
    """
    from . import similarity as sim
    from .discover import read_files
    from .report import similar as out
    rubric = _load_rubric(rubric_path)
    graded = {c.name for _, part in rubric.parts() for c in part.find}
    if threshold is None:
        threshold = sim.DEFAULT_THRESHOLD
    if not 0 <= threshold <= 1:
        raise GraderError("--threshold must be between 0 and 1, not %g" % threshold)
    starter = set()
    if starter_dir:
        if not Path(starter_dir).is_dir():
            raise GraderError("starter folder not found: %s" % starter_dir)
        starter = sim.starter_prints(read_files(Path(starter_dir)).files)
    with _open_book(db_path, rubric.assignment) as book:
        prints = book.prints()
        results = {row.student: row.result_dict() for row in book.rows() if row.result}
        students = [sim.build(name, prints[name], results.get(name), graded, starter) for name in sorted(prints)]
        pairs = sim.compare(students, threshold)
        book.put_similar([p.to_dict() for p in pairs])
    text = {"text": lambda: out.to_text(pairs), "json": lambda: out.to_json(pairs),
            "html": lambda: out.to_html(pairs, {s.name: s for s in students}, threshold)}[fmt]()
    _write(text, out_path)


@main.command()
@click.argument("sources", nargs=-1, required=True, metavar="A.db B.db ...")
@click.option("--into", "into", required=True, metavar="FILE")
@click.option("--rubric", "rubric_path", metavar="FILE", help="The rubric the gradebooks were graded with (a file, or a "
              "bundled rubric's name; default: the bundled default): its assignment's rows are merged, rows graded "
              "with another rubric are refused.")
def merge(sources, into: str, rubric_path: str | None) -> None:
    """Combine gradebooks (from shards) into one, taking only the rows it can verify.

    Merged per assignment: only the rows of the rubric's assignment are taken (a row of another is
    refused: merge it with its own rubric). Each source must be a gradebook (its tables and columns,
    nothing else); each row must be graded with the rubric, its result must add up to its score, its date must not be ahead of
    this clock, and its student must be of the shard its gradebook was graded for. Rows refused
    are listed on stderr, and the exit code is then 2; the others are merged.
    """
    from .gradebook import merge as merge_books
    rubric = _load_rubric(rubric_path)
    merged = merge_books([Path(s) for s in sources], Path(into), rubric)
    for line in merged.sources:
        click.echo(line)
    for line in merged.refused:
        click.echo("grader: refused: %s" % line, err=True)
    click.echo("merged %d rows into %s" % (merged.rows, into))
    if merged.refused:
        raise GraderError("merge refused %d of what it was given (listed above); the rest is merged"
                          % len(merged.refused))


def _default_samples_dir() -> Path:
    """The repository's ``sample_submissions/``: beside the ``grader`` package (a checkout, or an editable
    install), else in the current folder (an installed grader run from the checkout, as the README does)."""
    beside = Path(__file__).resolve().parent.parent / "sample_submissions"
    return beside if beside.is_dir() else Path("sample_submissions")


@main.command("sample")
@click.argument("name", required=False)
@click.argument("dest", required=False)
@click.option("--samples", "samples_dir", metavar="DIR", default=None,
              help="The samples folder, with its manifest.yaml (default: the repository's sample_submissions/, "
                   "beside the grader's code or in the current folder).")
@click.option("--list", "listing", is_flag=True, help="List the samples (with each one's mistake) and exit.")
def sample(name: str | None, dest: str | None, samples_dir: str | None, listing: bool) -> None:
    """Make the full folder of a sample submission, to grade or read: grader sample NAME DEST.

    Most samples hold only the files they change from another one (the base their manifest
    names); this lays out the folder a student would have handed in, byte for byte. DEST must
    not exist, or be empty; nothing is written outside it. A group's name (hostile) makes a
    folder of each of its samples. --list names them all.
    """
    from . import samples
    folder = Path(samples_dir) if samples_dir else _default_samples_dir()
    if not (folder / samples.MANIFEST).is_file():
        raise GraderError("no samples folder at %s (it has no %s)%s" % (
            folder, samples.MANIFEST, "" if samples_dir else "; give --samples DIR"))
    if listing:
        described = samples.described(folder)
        width = max((len(n) for n, _ in described), default=0)
        for each, mistake in described:
            click.echo(("%-*s  %s" % (width, each, mistake or "")).rstrip())
        return
    if not name or not dest:
        raise GraderError("give NAME and DEST (or --list)")
    catalog = samples.Catalog.read(folder)
    if name not in catalog.entries and name not in catalog.groups:
        raise GraderError("unknown sample %r in %s%s" % (name, folder, _did_you_mean(name, catalog.names)))
    try:
        made = samples.assemble(folder, name, Path(dest))
    except OSError as exc:
        raise GraderError("cannot write %s: %s" % (exc.filename or dest, exc.strerror)) from None
    count = sum(1 for p in made.rglob("*") if p.is_file())
    click.echo("wrote %s: %d file%s of %s" % (made, count, "" if count == 1 else "s", name))


def _write(text: str, out_path: str | None) -> None:
    """Print ``text``, or write it to ``out_path`` (its folder is created) as UTF-8, all or nothing.

    The renderers already cleaned every student string; lone surrogates are replaced once more here
    so that no content can make printing or writing fail. The file is written to a temporary file
    in its folder and renamed over ``out_path`` (report.common.write_atomic): never empty or half-written.
    """
    from .report.common import encodable, write_atomic
    text = encodable(text)
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(out_path, text)
    except OSError as exc:
        raise GraderError("cannot write %s: %s" % (out_path, exc.strerror)) from None


@main.group()
def gradescope() -> None:
    """Gradescope autograder bundles."""


@gradescope.command("build")
@click.option("--rubric", "rubric_path", metavar="FILE", help=RUBRIC_HELP)
@click.option("--out", "out_path", metavar="FILE", default="autograder.zip", show_default=True)
def gradescope_build(rubric_path: str | None, out_path: str) -> None:
    """Build the autograder zip to upload to Gradescope."""
    from .bundles import build_gradescope, kit_rubric_path
    from .rubric import default_rubric_path
    path = build_gradescope(kit_rubric_path(rubric_path) if rubric_path else default_rubric_path(), Path(out_path))
    click.echo("wrote %s" % path)


@main.group()
def kit() -> None:
    """The students' self-check kit (public checks, no reference)."""


@kit.command("build")
@click.option("--rubric", "rubric_path", metavar="FILE", help=RUBRIC_HELP)
@click.option("--out", "out_path", metavar="DIR", required=True)
def kit_build(rubric_path: str | None, out_path: str) -> None:
    """Build the student kit into DIR."""
    from .bundles import build_kit
    from .rubric import default_rubric_path
    path = build_kit(Path(rubric_path) if rubric_path else default_rubric_path(), Path(out_path))
    click.echo("wrote %s" % path)


def entry() -> None:
    """The ``grader`` command: :func:`main`, then an exit without the interpreter's teardown.

    By then every file, gradebook and sandbox is closed, and atexit's handlers run
    here; what is skipped is freeing numpy's and every module's objects one by one,
    about 50 ms of each ``grader check``.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # noqa: BLE001 - a bug of the grader's is exit 3, never 1 ("below --min-score")
        import os
        from .errors import EXIT_GRADER_FAULT
        if os.environ.get("A1GRADER_DEBUG"):
            import traceback
            traceback.print_exc()
        print("grader: error: the grader itself failed: %s: %s (A1GRADER_DEBUG=1 shows where)"
              % (type(exc).__name__, str(exc)[:300]), file=sys.stderr)
        code = EXIT_GRADER_FAULT
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    import atexit
    import os
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1   # the reader went away (a closed pipe): like Python's own exit
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    entry()
