"""The gradebook: one SQLite file (WAL mode), one row per student, kept as soon as graded.

Each row holds the student id, the content hash of what was graded, the rubric's
hash, the grader's version, the full result tree (JSON), the score, the status
and the timings. A row is committed the moment its submission is graded, so a
batch killed at any point loses nothing it finished; re-running skips every
student whose content, rubric and grader version are unchanged.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from .errors import GraderError
from .overrides import SCHEMA as OVERRIDES_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    student TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,            -- graded | error (the submission's) | grader_error (ours: regraded next run)
    error TEXT,
    result TEXT,                     -- the result tree as JSON (null for an error)
    seconds REAL NOT NULL,
    graded_at TEXT NOT NULL
)
"""
# Fingerprints of each student's code and write-up (similarity.py), kept beside the grade.
PRINTS_SCHEMA = "CREATE TABLE IF NOT EXISTS prints (student TEXT PRIMARY KEY, data TEXT NOT NULL)"
# The last `grader similar`'s pairs, for the review page: similar, for a person to look at.
SIMILAR_SCHEMA = """CREATE TABLE IF NOT EXISTS similar (a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL,
    details TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (a, b))"""
COLUMNS = ("student", "content_hash", "rubric_hash", "grader_version", "score", "max_score", "status",
           "error", "result", "seconds", "graded_at")


@dataclass
class Row:
    student: str
    content_hash: str
    rubric_hash: str
    grader_version: str
    score: float
    max_score: float
    status: str
    error: Optional[str]
    result: Optional[str]
    seconds: float
    graded_at: str

    def result_dict(self) -> Optional[Dict[str, Any]]:
        return json.loads(self.result) if self.result else None


class Gradebook:
    """An open gradebook file. Use as a context manager."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            if not self.path.exists():
                # Grades are private: created 0600 (SQLite gives its -wal and -shm files the same mode).
                os.close(os.open(str(self.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise GraderError("cannot create gradebook %s: %s" % (path, exc.strerror)) from None
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(SCHEMA)
            self.db.execute(OVERRIDES_SCHEMA)
            self.db.execute(PRINTS_SCHEMA)
            self.db.execute(SIMILAR_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise GraderError("cannot open gradebook %s: %s" % (path, exc)) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, student: str) -> Optional[Row]:
        cur = self.db.execute("SELECT %s FROM grades WHERE student = ?" % ", ".join(COLUMNS), (student,))
        found = cur.fetchone()
        return Row(*found) if found else None

    def is_current(self, student: str, content_hash: str, rubric_hash: str, version: str) -> bool:
        """True when this student's stored grade is for exactly this content, rubric and grader.

        A row the grader failed to produce (``grader_error``) is never current.
        """
        row = self.get(student)
        return row is not None and row.status != "grader_error" and (row.content_hash, row.rubric_hash, row.grader_version) == (
            content_hash, rubric_hash, version)

    def put(self, row: Row) -> bool:
        """Store (or replace) one student's row and commit it now; False when it was not stored.

        A ``grader_error`` row (the grader's failure) never replaces a row of another status:
        the student's grade, or their submission's own error, stays. SQLite refuses lone
        surrogates (a folder name that is not UTF-8, a student's exception text): they are
        stored as U+FFFD.
        """
        row = Row(**{c: _storable(getattr(row, c)) for c in COLUMNS})
        # One statement, so that no other writer can slip a grade in between a check and the write.
        with self.db:
            cur = self.db.execute(
                "INSERT INTO grades (%s) VALUES (%s) ON CONFLICT(student) DO UPDATE SET %s"
                " WHERE excluded.status != 'grader_error' OR grades.status = 'grader_error'" % (
                    ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS)),
                    ", ".join("%s = excluded.%s" % (c, c) for c in COLUMNS[1:])),
                tuple(getattr(row, c) for c in COLUMNS))
        return cur.rowcount > 0

    def put_prints(self, student: str, data: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO prints (student, data) VALUES (?, ?)", (_storable(student), data))

    def prints(self) -> Dict[str, Dict[str, Any]]:
        return {s: json.loads(d) for s, d in self.db.execute("SELECT student, data FROM prints")}

    def put_similar(self, pairs: List[Dict[str, Any]]) -> None:
        """Replace the stored pairs with ``pairs`` (each {"a", "b", "score", ...})."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.db:
            self.db.execute("DELETE FROM similar")
            self.db.executemany("INSERT OR REPLACE INTO similar (a, b, score, details, at) VALUES (?, ?, ?, ?, ?)",
                                [(p["a"], p["b"], p["score"], json.dumps(p), now) for p in pairs])

    def similar(self) -> List[Dict[str, Any]]:
        return [json.loads(d) for (d,) in self.db.execute("SELECT details FROM similar ORDER BY score DESC")]

    def rows(self) -> List[Row]:
        cur = self.db.execute("SELECT %s FROM grades ORDER BY student" % ", ".join(COLUMNS))
        return [Row(*r) for r in cur.fetchall()]

    def adjusted_rows(self) -> List[Row]:
        """The rows as every output shows them: with the TAs' decisions applied (see overrides.py)."""
        from . import overrides
        decided = overrides.by_student(overrides.load(self.db))
        out = []
        for row in self.rows():
            mine = decided.get(row.student)
            if mine and row.result:
                try:
                    result = overrides.apply(row.result_dict(), mine)
                except (ValueError, TypeError, KeyError, AttributeError):
                    result = None    # a damaged row: the reports say so, as for any unreadable result
                if result is not None:
                    row = Row(**dict(row.__dict__, result=json.dumps(result), score=float(result["score"])))
            out.append(row)
        return out

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM grades").fetchone()[0]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: Any) -> Any:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def make_row(student: str, content_hash: str, rubric_hash: str, version: str, result: Optional[Dict[str, Any]],
             error: Optional[str] = None, seconds: float = 0.0, max_score: float = 0.0,
             status: Optional[str] = None) -> Row:
    """A row for a graded result, or (``result`` None) for a submission that could not be graded.

    ``status`` of an ungraded row: ``error`` (default: the submission's fault, e.g. a bad zip)
    or ``grader_error`` (the grader's: not kept as the student's grade).
    """
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if result is None:
        return Row(student, content_hash, rubric_hash, version, 0.0, max_score, status or "error", error, None,
                   seconds, now)
    return Row(student, content_hash, rubric_hash, version, float(result["score"]), float(result["max_score"]),
               "graded", None, json.dumps(result, sort_keys=False), seconds, now)


def merge(sources: List[Path], into: Path) -> int:
    """Copy every row of the source gradebooks into ``into``; count the rows copied.

    The newest ``graded_at`` wins, except that a grader failure never replaces a grade
    (or a submission's error) and is always replaced by one.
    """
    count = 0
    with Gradebook(into) as target:
        for source in sources:
            if not Path(source).is_file():
                raise GraderError("gradebook not found: %s" % source)
            with Gradebook(source) as book:
                for row in book.rows():
                    current = target.get(row.student)
                    if current is None or current.status == "grader_error" or current.graded_at <= row.graded_at:
                        count += target.put(row)
                _merge_overrides(book.db, target.db)
    return count


def _merge_overrides(source, target) -> None:
    """The TAs' decisions travel with the grades: the newest decision of each part wins."""
    from .overrides import COLUMNS as OC, load
    mine = load(target)
    with target:
        for key, theirs in load(source).items():
            if key not in mine or mine[key].at < theirs.at:
                target.execute("INSERT OR REPLACE INTO overrides (%s) VALUES (%s)" % (", ".join(OC), ", ".join("?" * len(OC))),
                               tuple(getattr(theirs, c) for c in OC))


def iter_results(path: Path, adjusted: bool = True) -> Iterator[Row]:
    """Every row of the gradebook at ``path``; ``adjusted``: with the TAs' decisions applied."""
    if not Path(path).is_file():
        raise GraderError("gradebook not found: %s" % path)
    with Gradebook(path) as book:
        yield from (book.adjusted_rows() if adjusted else book.rows())
