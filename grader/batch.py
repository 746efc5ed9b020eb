"""Grade a whole class: discover, shard, skip what is unchanged, grade in parallel, keep each grade.

The parent process alone writes the gradebook, one committed row per submission
as soon as it is graded. Worker processes are forked from the warm parent
(numpy and the grader already imported); each holds one :class:`Grader`, whose
sandbox zygote (with its own unprivileged uid) serves all its submissions, each
in its own worker processes and a fresh scratch folder.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from . import __version__, lateness
from .discover import Submission, discover, shard_of
from .errors import GraderError
from .gradebook import Gradebook, make_row
from .similarity import dumps

_GRADER = None   # the worker process's Grader


@dataclass
class BatchStats:
    total: int = 0
    skipped: int = 0
    graded: int = 0
    failed: int = 0          # submissions that could not be graded: their own fault (bad zip, ...) or the grader's
    seconds: float = 0.0
    scores: List[float] = field(default_factory=list)
    grader_failed: List[Tuple[str, str]] = field(default_factory=list)   # (student, why): the grader's fault
    kept: List[str] = field(default_factory=list)    # of those, students whose earlier row stays in the gradebook
    untimed: int = 0         # submissions no source gave a submission time (no late penalty for them)


def parse_shard(text: Optional[str]) -> Tuple[int, int]:
    """'2/5' -> (2, 5); None -> (1, 1)."""
    if not text:
        return 1, 1
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise GraderError("--shard must look like K/N, e.g. 2/5, not %r" % text) from None
    if not 1 <= k <= n:
        raise GraderError("--shard %s: K must be between 1 and N" % text)
    return k, n


def _init_worker(rubric, timeout, limits, mode, unsafe, hide=()) -> None:
    global _GRADER
    from multiprocessing.util import Finalize
    from .runner import Grader
    _GRADER = Grader(rubric, timeout=timeout, limits=limits, mode=mode, unsafe=unsafe, fingerprints=True, hide=hide)
    Finalize(_GRADER, _GRADER.close, exitpriority=10)


def _grade_one(job: Tuple[str, str, List[str], Optional[str]]) -> Tuple[str, Optional[dict], Optional[str], float,
                                                                      Optional[dict]]:
    """Grade one submission; (student, result or None, why not, seconds, fingerprints). Never raises."""
    student, path, notes, facts = job
    start = time.perf_counter()
    try:
        result = _GRADER.grade(Path(path), label=student)
        result.notes = list(notes) + result.notes
        result.submitted = facts    # facts only: the late policy is applied when the grade is shown
        return student, result.to_dict(), None, time.perf_counter() - start, getattr(result, "prints", None)
    except Exception as exc:  # noqa: BLE001 - one submission's grader failure must not stop the class
        # Not the student's result: stored as a grader error, which the next run grades again.
        if _GRADER is not None:
            _GRADER.zygote.stop()
        return student, None, "the grader failed: %s: %s" % (type(exc).__name__, exc), time.perf_counter() - start, None


def plan(root: Path, cache: Path, shard: Tuple[int, int], only: Sequence[str] = ()) -> List[Submission]:
    """The submissions of this shard (or only the students ``only``, each of whom must be found), by student."""
    k, n = shard
    found = [s for s in discover(root, cache) if n == 1 or shard_of(s.student, n) == k]
    if only:
        missing = sorted(set(only) - {s.student for s in found})
        if missing:
            raise GraderError("no submission for %s under %s" % (", ".join(missing), root))
        found = [s for s in found if s.student in set(only)]
    return found


def run(root: Path, rubric, db: Path, jobs: Optional[int] = None, force: bool = False,
        shard: Tuple[int, int] = (1, 1), timeout: Optional[float] = None, limits=None, mode: Optional[str] = None,
        progress: Optional[Callable[[str, BatchStats], None]] = None, unsafe: bool = False,
        only: Sequence[str] = (), extensions=None, times=None) -> BatchStats:
    """Grade every submission under ``root`` (or only the students ``only``, again) into ``db``; return the counts.

    Only the rows of the rubric's assignment are read and written: another assignment's in ``db`` stay as they are.

    ``extensions`` and ``times`` ((file name, lateness.read_times of it); each id must name one student of the
    class, else GraderError before anything is graded) replace the gradebook's; the rubric's late policy is kept.
    """
    root = Path(root)
    if not root.is_dir():
        raise GraderError("submissions folder not found: %s" % root)
    start = time.perf_counter()
    stats = BatchStats()
    with tempfile.TemporaryDirectory(prefix="a1grader-batch-") as tmp, Gradebook(db, rubric.assignment) as book:
        book.claim_shard(*shard)    # merge takes from this gradebook only its shard's students
        submissions = plan(root, Path(tmp), shard, only)
        known = {s.student for s in submissions} | {r.student for r in book.rows()}
        lateness.record(book.db, rubric, *(None if given is None else lateness.match(given[1], known, given[0])
                                           for given in (extensions, times)))
        stats.untimed = sum(1 for s in submissions if s.path and not s.submitted and not s.late)
        force = force or bool(only)
        stats.total = len(submissions)
        todo = []
        for sub in submissions:
            digest = sub.content_hash()
            if not force and book.is_current(sub.student, digest, rubric.sha256, __version__):
                stats.skipped += 1
                continue
            if sub.path is None:
                book.put(make_row(sub.student, digest, rubric.sha256, __version__, None, sub.error,
                                  max_score=rubric.max_score))
                stats.failed += 1
                _report(progress, sub.student, stats)
                continue
            todo.append((sub, digest))
        if todo:
            _grade_all(todo, book, rubric, stats, jobs, timeout, limits, mode, progress, unsafe)
    stats.seconds = time.perf_counter() - start
    return stats


def grader_failure_line(stats: BatchStats) -> str:
    """One line on the grader's own failures in this run, naming the first one's reason; "" when there were none."""
    if not stats.grader_failed:
        return ""
    from .report.common import clean
    student, why = stats.grader_failed[0]
    why = " ".join(clean(why, 300).split()).removeprefix("the grader failed: ")
    kept = " (an earlier grade stays for %d)" % len(stats.kept) if stats.kept else ""
    return ("the grader itself failed on %d of %d submissions, first %s: %s; none of them was recorded as a grade%s;"
            " run grader batch again to retry them" % (len(stats.grader_failed), stats.total, clean(student, 200),
                                                      why, kept))


def _report(progress, student, stats) -> None:
    if progress:
        progress(student, stats)


def _grade_all(todo, book, rubric, stats, jobs, timeout, limits, mode, progress, unsafe) -> None:
    hashes = {sub.student: digest for sub, digest in todo}
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    context = multiprocessing.get_context("fork")
    # The folders that hold the class: out of every worker's sight where the mode hides folders (uid).
    classes = sorted({str(Path(sub.path).parent) for sub, _ in todo if sub.path})
    with context.Pool(jobs, initializer=_init_worker, initargs=(rubric, timeout, limits, mode, unsafe,
                                                                 classes)) as pool:
        work = [(sub.student, str(sub.path), sub.notes, sub.facts()) for sub, _ in todo]
        for student, result, error, seconds, prints in pool.imap_unordered(_grade_one, work):
            stored = book.put(make_row(student, hashes[student], rubric.sha256, __version__, result, error, seconds,
                                       max_score=rubric.max_score, status=None if result else "grader_error"))
            if prints is not None:
                book.put_prints(student, dumps(prints))
            if result is None:
                stats.failed += 1
                stats.grader_failed.append((student, error))
                if not stored:
                    stats.kept.append(student)
            else:
                stats.graded += 1
                stats.scores.append(float(result["score"]))
            _report(progress, student, stats)
        pool.close()
        pool.join()
