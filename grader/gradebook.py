"""The gradebook: one SQLite file (WAL mode), one row per assignment and student, kept as soon as graded.

Every table that holds a student's result (grades, fingerprints, similar pairs, the TAs'
decisions, lateness, the shards graded) is keyed by the assignment first: the id of the
rubric graded with (``rubric.assignment``). A :class:`Gradebook` is opened for one
assignment and reads and writes only its rows, so a class of another assignment graded
into the same file never touches them. A gradebook written before assignments (its rows
keyed by the student alone: ``PRAGMA user_version`` 0) is upgraded when it is opened,
in one transaction: its rows go to the assignment it is opened for.

Each row holds the student id, the content hash of what was graded, the rubric's
hash, the grader's version, the full result tree (JSON), the score, the status
and the timings. A row is committed the moment its submission is graded, so a
batch killed at any point loses nothing it finished; re-running skips every
student whose content, rubric and grader version are unchanged.
"""
from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .errors import GraderError
from .lateness import SCHEMA as LATENESS_SCHEMA
from .overrides import SCHEMA as OVERRIDES_SCHEMA

# PRAGMA user_version: 0 (or none) rows keyed by student alone; 1 keyed by (assignment, student).
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    assignment TEXT NOT NULL,        -- the rubric's assignment id (rubric.assignment)
    student TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,            -- graded | error (the submission's) | grader_error (ours: regraded next run)
    error TEXT,
    result TEXT,                     -- the result tree as JSON (null for an error)
    seconds REAL NOT NULL,
    graded_at TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
)
"""
# Fingerprints of each student's code and write-up (similarity.py), kept beside the grade.
PRINTS_SCHEMA = """CREATE TABLE IF NOT EXISTS prints (assignment TEXT NOT NULL, student TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (assignment, student))"""
# The last `grader similar`'s pairs, for the review page: similar, for a person to look at.
SIMILAR_SCHEMA = """CREATE TABLE IF NOT EXISTS similar (assignment TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    score REAL NOT NULL, details TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (assignment, a, b))"""
# The shards of an assignment's class graded into this gradebook: grader batch --shard K/N records (K, N), a
# batch of the whole class (1, 1); a merge, those of the gradebooks it accepted. Merge takes from a gradebook
# only the rows of its own shards' students. None recorded (a gradebook older than this table): the whole class.
SHARDS_SCHEMA = """CREATE TABLE IF NOT EXISTS shards (assignment TEXT NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (assignment, k, n))"""
# The tables as a gradebook of user_version 0 created them (keyed by student alone): what is upgraded on
# open, and what merge still reads from a shard graded before assignments.
OLD_SCHEMAS = {
    "grades": """CREATE TABLE IF NOT EXISTS grades (student TEXT PRIMARY KEY, content_hash TEXT NOT NULL,
        rubric_hash TEXT NOT NULL, grader_version TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,
        status TEXT NOT NULL, error TEXT, result TEXT, seconds REAL NOT NULL, graded_at TEXT NOT NULL)""",
    "overrides": """CREATE TABLE IF NOT EXISTS overrides (student TEXT NOT NULL, part TEXT NOT NULL, points REAL,
        verdict TEXT, comment TEXT NOT NULL DEFAULT '', by TEXT NOT NULL, at TEXT NOT NULL, fingerprint TEXT NOT NULL,
        version INTEGER NOT NULL, PRIMARY KEY (student, part))""",
    "prints": "CREATE TABLE IF NOT EXISTS prints (student TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "similar": """CREATE TABLE IF NOT EXISTS similar (a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL,
        details TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (a, b))""",
    "shards": "CREATE TABLE IF NOT EXISTS shards (k INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (k, n))",
    "lateness": """CREATE TABLE IF NOT EXISTS lateness (kind TEXT NOT NULL, student TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (kind, student))""",
}
TABLES = {"grades": SCHEMA, "overrides": OVERRIDES_SCHEMA, "prints": PRINTS_SCHEMA, "similar": SIMILAR_SCHEMA,
          "shards": SHARDS_SCHEMA, "lateness": LATENESS_SCHEMA}
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


def default_assignment() -> str:
    """The assignment of the bundled default rubric: every command's, without ``--rubric``."""
    global _DEFAULT_ASSIGNMENT
    if _DEFAULT_ASSIGNMENT is None:
        from .rubric import default_rubric_path, load_rubric
        _DEFAULT_ASSIGNMENT = load_rubric(default_rubric_path()).assignment
    return _DEFAULT_ASSIGNMENT


_DEFAULT_ASSIGNMENT: Optional[str] = None


class Gradebook:
    """An open gradebook file, for one assignment. Use as a context manager.

    ``assignment``: the id of the rubric graded with (``rubric.assignment``; default: the bundled
    default rubric's). Every method reads and writes only that assignment's rows; a gradebook of
    the old form is upgraded first (:func:`_upgrade`), its rows given to ``assignment``.
    """

    def __init__(self, path: Path, assignment: Optional[str] = None):
        from .rubric import ASSIGNMENT_ID
        self.path = Path(path)
        self.assignment = default_assignment() if assignment is None else assignment
        if not isinstance(self.assignment, str) or not ASSIGNMENT_ID.match(self.assignment):
            raise GraderError("%r is no assignment id (1 to 64 letters, digits, _, . or -)" % (self.assignment,))
        try:
            if not self.path.exists():
                # Grades are private: created 0600 (SQLite gives its -wal and -shm files the same mode).
                os.close(os.open(str(self.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise GraderError("cannot create gradebook %s: %s" % (path, exc.strerror)) from None
        self.db = None
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            _upgrade(self.db, self.assignment, str(path))
        except BaseException as exc:
            if self.db is not None:
                self.db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise GraderError("cannot open gradebook %s: %s" % (path, exc)) from None
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, student: str) -> Optional[Row]:
        cur = self.db.execute("SELECT %s FROM grades WHERE assignment = ? AND student = ?" % ", ".join(COLUMNS),
                              (self.assignment, student))
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
                "INSERT INTO grades (assignment, %s) VALUES (?, %s) ON CONFLICT(assignment, student) DO UPDATE SET %s"
                " WHERE excluded.status != 'grader_error' OR grades.status = 'grader_error'" % (
                    ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS)),
                    ", ".join("%s = excluded.%s" % (c, c) for c in COLUMNS[1:])),
                (self.assignment,) + tuple(getattr(row, c) for c in COLUMNS))
        return cur.rowcount > 0

    def claim_shard(self, k: int, n: int) -> None:
        """Record that shard ``k`` of ``n`` of the class is graded into this gradebook (1 of 1: all of it)."""
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO shards (assignment, k, n) VALUES (?, ?, ?)",
                            (self.assignment, int(k), int(n)))

    def shards(self) -> Set[Tuple[int, int]]:
        return {(int(k), int(n)) for k, n in self.db.execute("SELECT k, n FROM shards WHERE assignment = ?",
                                                             (self.assignment,))}

    def put_prints(self, student: str, data: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO prints (assignment, student, data) VALUES (?, ?, ?)",
                            (self.assignment, _storable(student), data))

    def prints(self) -> Dict[str, Dict[str, Any]]:
        return {s: json.loads(d) for s, d in self.db.execute("SELECT student, data FROM prints WHERE assignment = ?",
                                                             (self.assignment,))}

    def put_similar(self, pairs: List[Dict[str, Any]]) -> None:
        """Replace this assignment's stored pairs with ``pairs`` (each {"a", "b", "score", ...})."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.db:
            self.db.execute("DELETE FROM similar WHERE assignment = ?", (self.assignment,))
            self.db.executemany("INSERT OR REPLACE INTO similar (assignment, a, b, score, details, at)"
                                " VALUES (?, ?, ?, ?, ?, ?)",
                                [(self.assignment, p["a"], p["b"], p["score"], json.dumps(p), now) for p in pairs])

    def similar(self) -> List[Dict[str, Any]]:
        return [json.loads(d) for (d,) in self.db.execute(
            "SELECT details FROM similar WHERE assignment = ? ORDER BY score DESC", (self.assignment,))]

    def rows(self) -> List[Row]:
        cur = self.db.execute("SELECT %s FROM grades WHERE assignment = ? ORDER BY student" % ", ".join(COLUMNS),
                              (self.assignment,))
        return [Row(*r) for r in cur.fetchall()]

    def assignments(self) -> Dict[str, int]:
        """Every assignment this file holds grades of (all of them, not only this one's), with its row count."""
        return dict(self.db.execute("SELECT assignment, COUNT(*) FROM grades GROUP BY assignment ORDER BY assignment"))

    def adjusted_rows(self) -> List[Row]:
        """The rows as every output shows them: with the TAs' decisions, then today's late policy, applied
        (see overrides.py and lateness.py)."""
        from . import lateness, overrides
        decided = overrides.by_student(overrides.load(self.db, self.assignment))
        late = lateness.load(self.db, self.assignment)
        out = []
        for row in self.rows():
            mine = decided.get(row.student)
            if row.result:
                try:
                    result = lateness.show(overrides.apply(row.result_dict(), mine or {}), row.student, late)
                except (ValueError, TypeError, KeyError, AttributeError):
                    result = None    # a damaged row: the reports say so, as for any unreadable result
                if result is not None:
                    row = Row(**dict(row.__dict__, result=json.dumps(result), score=float(result["score"])))
            out.append(row)
        return out

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM grades WHERE assignment = ?", (self.assignment,)).fetchone()[0]


def _columns(db: sqlite3.Connection, table: str) -> List[str]:
    return [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]


def _upgrade(db: sqlite3.Connection, assignment: str, name: str) -> None:
    """Make ``db`` a gradebook of SCHEMA_VERSION: its tables created, or those of the old form upgraded.

    All in one transaction (BEGIN IMMEDIATE: one writer at a time, the version read again once the lock
    is held): a crash or an error midway leaves the file as it was, to be upgraded by the next open.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise GraderError("%s was written by a newer grader (gradebook version %d; this one reads up to %d): "
                          "upgrade the grader" % (name, version, SCHEMA_VERSION))
    if version == SCHEMA_VERSION:
        for schema in TABLES.values():      # none missing (nothing to do, no lock taken, when all are there)
            db.execute(schema)
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            for table, schema in TABLES.items():
                _upgrade_table(db, table, schema, assignment)
            db.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _upgrade_table(db: sqlite3.Connection, table: str, schema: str, assignment: str) -> None:
    """Create ``table`` in its new form, or (old form: keyed without the assignment) copy every row into it."""
    old = _columns(db, table)
    if not old or "assignment" in old:
        db.execute(schema)
        return
    db.execute("ALTER TABLE %s RENAME TO %s_before_assignments" % (table, table))
    db.execute(schema)
    kept = [c for c in old if c in _columns(db, table)]
    db.execute("INSERT INTO %s (assignment, %s) SELECT ?, %s FROM %s_before_assignments" % (
        table, ", ".join(kept), ", ".join(kept), table), (assignment,))
    db.execute("DROP TABLE %s_before_assignments" % table)


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


@dataclass
class Merged:
    """What a merge did: the rows and decisions it copied, and each row it refused, with why."""

    rows: int = 0
    decisions: int = 0
    refused: List[str] = field(default_factory=list)       # "part2.db: bob: graded with another rubric ..."
    sources: List[str] = field(default_factory=list)       # "part2.db: shard 2/3, 14 rows"


@dataclass
class _Source:
    name: str
    claims: Set[Tuple[int, int]]     # of the merge's assignment; empty: the source holds nothing of it
    rows: List[Tuple[Any, tuple]]    # (assignment, the COLUMNS' values): every row, of any assignment
    overrides: List[Tuple[Any, tuple]]


READ_SECONDS = 120.0            # reading one gradebook: a verified one takes a fraction of a second
CLOCK_SKEW_SECONDS = 15 * 60    # how far ahead of this machine's clock a shard's clock may be
TOLERANCE = 1e-3                # scores are kept to 4 decimals (scoring.points)
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def merge(sources: List[Path], into: Path, rubric=None) -> Merged:
    """Copy the rows of the source gradebooks that can be verified into ``into``; say which were refused.

    Merged per assignment: only the rows (and decisions, shard claims) of ``rubric``'s
    assignment are taken; a row of another assignment is refused, to be merged with
    its own rubric. A source of the old form (rows keyed by the student alone, before
    assignments) is read as ``rubric``'s assignment's, as opening it would upgrade it.

    Nothing from a gradebook is trusted: each source is opened read-only and must
    have exactly a gradebook's tables and columns (no view, trigger or other
    object); each row must be of ``rubric`` (default: the bundled one), its
    result tree must be that rubric's and add up to its score, its date must not
    be ahead of this clock, and its student must belong to the shards its
    gradebook was graded for; sources of one merge must not claim the same
    shard. ``into`` is a gradebook file itself (never a link) or a new one.
    A source that cannot be read as a gradebook raises GraderError before
    anything is written; a row that fails is refused and named in ``refused``.

    Of the rows that pass, the newest ``graded_at`` wins, except that a grader
    failure never replaces a grade (or a submission's error) and is always
    replaced by one. TAs' decisions travel with the grades, the newest one of
    each part winning, under the same checks.
    """
    from .rubric import default_rubric_path, load_rubric
    rubric = rubric if rubric is not None else load_rubric(default_rubric_path())
    into = Path(into)
    assignment = rubric.assignment
    books = [_read_source(Path(source), into, assignment) for source in sources]
    target_claims = _target_claims(into, assignment)
    _check_claims(books, target_claims, into)
    merged = Merged()
    latest = datetime.now(timezone.utc).timestamp() + CLOCK_SKEW_SECONDS
    parts = {part.id: part.points for _, part in rubric.parts()}
    with _open_target(into, assignment) as target:
        for book in books:
            before = (merged.rows, len(merged.refused))
            for of, values in book.rows:
                why = _other_assignment(of, rubric) or _row_problem(values, rubric, book.claims, latest)
                if why:
                    merged.refused.append("%s: %s: %s" % (book.name, _shown(values[0]), why))
                    continue
                row = Row(*values)
                current = target.get(row.student)
                if current is None or current.status == "grader_error" or current.graded_at <= row.graded_at:
                    merged.rows += target.put(row)
            merged.decisions += _merge_overrides(book, target, rubric, parts, latest, merged.refused)
            for k, n in book.claims:
                target.claim_shard(k, n)
            merged.sources.append("%s: %s, %d rows merged, %d refused" % (
                book.name, _describe_claims(book.claims), merged.rows - before[0], len(merged.refused) - before[1]))
    return merged


def _shown(value: Any) -> str:
    """A student id (or anything a forged row holds instead) as one short printable line."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text[:80] + ("..." if len(text) > 80 else "")


def _other_assignment(of: Any, rubric) -> Optional[str]:
    """Why a row (or a decision) of assignment ``of`` is not merged with ``rubric``, or None."""
    if of == rubric.assignment:
        return None
    return "of assignment %s, not %s's %s: merge it with that assignment's rubric" % (
        _shown(of), rubric.path.name, rubric.assignment)


def _describe_claims(claims: Set[Tuple[int, int]]) -> str:
    if not claims:
        return "nothing of this assignment"
    if (1, 1) in claims:
        return "the whole class"
    return "shard%s %s" % ("s" if len(claims) > 1 else "", ", ".join("%d/%d" % c for c in sorted(claims)))


def _expected_tables(old: bool = False) -> Dict[str, list]:
    """Each table of a gradebook (``old``: of the form before assignments) and its columns, as SQLite describes
    them (PRAGMA table_xinfo)."""
    db = sqlite3.connect(":memory:")
    try:
        for schema in (OLD_SCHEMAS if old else TABLES).values():
            db.execute(schema)
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: db.execute("PRAGMA table_xinfo(%s)" % n).fetchall() for n in names}
    finally:
        db.close()


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can only read ``path``, and gives up after READ_SECONDS."""
    db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5, isolation_level=None)
    deadline = time.monotonic() + READ_SECONDS
    db.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10000)
    for pragma in ("trusted_schema = OFF", "query_only = ON", "cell_size_check = ON", "mmap_size = 0"):
        db.execute("PRAGMA " + pragma)
    return db


def _verify_tables(db: sqlite3.Connection, name: str, need_grades: bool = True) -> Tuple[Set[str], bool]:
    """The gradebook tables ``db`` has, and whether they are of the old form (before assignments: every row
    then is of the assignment merged); GraderError unless it holds nothing else and each is a gradebook's,
    all of one form."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise GraderError("%s was written by a newer grader (gradebook version %s; this one reads up to %d)"
                          % (name, _shown(version), SCHEMA_VERSION))
    expected = _expected_tables()
    tables = set()
    for kind, item, table in db.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall():
        if kind == "table" and item in expected:
            tables.add(item)
        elif not (kind == "index" and str(item).startswith("sqlite_autoindex_") and table in expected):
            raise GraderError("%s is not a gradebook: it holds a %s named %s, which no gradebook has"
                              % (name, _shown(kind), _shown(item)))
    if need_grades and "grades" not in tables:
        raise GraderError("%s is not a gradebook: it has no grades table" % name)
    found = {table: db.execute("PRAGMA table_xinfo(%s)" % table).fetchall() for table in sorted(tables)}
    old = _expected_tables(old=True)
    # The form is the grades table's (else the first table's); every other table must be of the same one.
    first = "grades" if "grades" in found else next(iter(found), None)
    is_old = first is not None and found[first] == old[first] and found[first] != expected[first]
    form = old if is_old else expected
    for table, columns in found.items():
        if columns != form[table]:
            raise GraderError("%s is not a gradebook: its %s table's columns are not a gradebook's" % (name, table))
    check = db.execute("PRAGMA quick_check").fetchall()
    if check != [("ok",)]:
        raise GraderError("%s is damaged: %s" % (name, _shown(check[0][0] if check else "no answer")))
    return tables, is_old


def _database_error(name: str, exc: Exception) -> GraderError:
    if "interrupt" in str(exc):
        return GraderError("%s is not a gradebook: reading it took more than %g s" % (name, READ_SECONDS))
    return GraderError("%s is not a gradebook: %s" % (name, exc))


def _read_source(path: Path, into: Path, assignment: str) -> _Source:
    """Everything merge uses of one source gradebook, read (and its form checked) before anything is written."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise GraderError("gradebook not found: %s" % path) from None
    except OSError as exc:
        raise GraderError("cannot read gradebook %s: %s" % (path, exc.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        raise GraderError("%s is not a gradebook: not a regular file" % name)
    if os.path.lexists(into) and os.path.exists(into) and os.path.samefile(path, into):
        raise GraderError("%s is the gradebook merged into (--into)" % name)
    try:
        db = _open_read_only(path)
        try:
            tables, old = _verify_tables(db, name)
            from .overrides import COLUMNS as OC
            rows = _with_assignment(db, "grades", COLUMNS, old, assignment)
            overrides = _with_assignment(db, "overrides", OC, old, assignment) if "overrides" in tables else []
            claims = [] if "shards" not in tables else [v for of, v in _with_assignment(
                db, "shards", ("k", "n"), old, assignment) if of == assignment]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise _database_error(name, exc) from None
    if not claims and not any(of == assignment for of, _ in rows + overrides):
        return _Source(name, set(), rows, overrides)     # nothing of this assignment: it claims no shard of it
    return _Source(name, _claims(claims, name), rows, overrides)


def _with_assignment(db: sqlite3.Connection, table: str, columns, old: bool, assignment: str) -> List[Tuple[Any, tuple]]:
    """(assignment, values of ``columns``) of every row of ``table``; the old form's rows are all of
    ``assignment``, the one merged (as opening the file would make them)."""
    of = "? AS assignment" if old else "assignment"
    cur = db.execute("SELECT %s, %s FROM %s" % (of, ", ".join(columns), table), (assignment,) if old else ())
    return [(r[0], tuple(r[1:])) for r in cur.fetchall()]


def _claims(values, name: str) -> Set[Tuple[int, int]]:
    """The shards a gradebook says it holds; none recorded: the whole class."""
    claims = set()
    for k, n in values:
        if not (isinstance(k, int) and isinstance(n, int) and 1 <= k <= n <= 100000):
            raise GraderError("%s is not a gradebook: it records a shard %s/%s" % (name, _shown(k), _shown(n)))
        claims.add((k, n))
    return claims or {(1, 1)}


def _target_claims(into: Path, assignment: str) -> Set[Tuple[int, int]]:
    """The shards of ``assignment`` the gradebook merged into holds already (empty: none of its rows)."""
    if not os.path.isfile(into) or os.path.islink(into) or os.path.getsize(into) == 0:
        return set()
    try:
        db = _open_read_only(into)
        try:
            tables, old = _verify_tables(db, str(into), need_grades=False)
            mine = ("", ()) if old else (" WHERE assignment = ?", (assignment,))
            if "grades" not in tables or not db.execute("SELECT COUNT(*) FROM grades" + mine[0], mine[1]).fetchone()[0]:
                return set()
            claims = db.execute("SELECT k, n FROM shards" + mine[0], mine[1]).fetchall() if "shards" in tables else []
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise _database_error(str(into), exc) from None
    return _claims(claims, str(into))


def _check_claims(books: List[_Source], target: Set[Tuple[int, int]], into: Path) -> None:
    """Shards of one split, each from one gradebook: a gradebook cannot bring another's students by its word alone."""
    books = [b for b in books if b.claims]      # those holding nothing of the assignment merged bring nothing
    whole = [b.name for b in books if (1, 1) in b.claims]
    sharded = [b for b in books if (1, 1) not in b.claims]
    counts = sorted({n for b in sharded for _, n in b.claims} | {n for _, n in target if (1, 1) not in target})
    if len(counts) > 1:
        raise GraderError("the gradebooks hold shards of different splits (%s): merge shards of one split" % ", ".join(
            "%s: %s" % (b.name, _describe_claims(b.claims)) for b in sharded))
    if sharded and whole:
        raise GraderError("%s holds the whole class, %s holds %s: merge them separately" % (
            whole[0], sharded[0].name, _describe_claims(sharded[0].claims)))
    if whole and target and (1, 1) not in target:
        raise GraderError("%s holds the whole class, %s holds %s: merge it into a new gradebook" % (
            whole[0], into, _describe_claims(target)))
    seen: Dict[Tuple[int, int], str] = {}
    for book in sharded:
        for claim in sorted(book.claims):
            if claim in seen:
                raise GraderError("%s and %s both say they hold shard %d/%d: at most one of them is what it says; "
                                  "merge the right one" % (seen[claim], book.name, claim[0], claim[1]))
            seen[claim] = book.name


def _belongs(student: str, claims: Set[Tuple[int, int]]) -> bool:
    from .discover import shard_of
    return any(n == 1 or shard_of(student, n) == k for k, n in claims)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _when(value: Any, latest: float) -> Optional[str]:
    """Why ``value`` is no time a row or a decision can have been made at, or None."""
    if not isinstance(value, str):
        return "no date"
    try:
        stamp = datetime.strptime(value, _TIME).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return "its date %s is not a date" % _shown(value)
    if stamp > latest:
        return "dated %s, ahead of this machine's clock" % value
    return None


def _row_problem(values: tuple, rubric, claims: Set[Tuple[int, int]], latest: float) -> Optional[str]:
    """Why one row of a source gradebook cannot be taken as it is, or None."""
    row = dict(zip(COLUMNS, values))
    student = row["student"]
    if not isinstance(student, str) or not student.strip():
        return "not a student id"
    if not _belongs(student, claims):
        return "not a student of %s, the gradebook's own" % _describe_claims(claims)
    for column in ("content_hash", "rubric_hash", "grader_version", "status", "graded_at"):
        if not isinstance(row[column], str):
            return "its %s is not text" % column
    for column in ("score", "max_score", "seconds"):
        if _number(row[column]) is None:
            return "its %s is not a number" % column
    late = _when(row["graded_at"], latest)
    if late:
        return late
    if row["rubric_hash"] != rubric.sha256:
        return "graded with another rubric (sha256 %s, not %s's %s)" % (
            _shown(row["rubric_hash"])[:12], rubric.path.name, rubric.sha256[:12])
    if abs(row["max_score"] - rubric.max_score) > TOLERANCE:
        return "its max_score %g is not the rubric's %g" % (row["max_score"], rubric.max_score)
    if row["status"] in ("error", "grader_error"):
        if row["result"] is not None or row["score"] != 0:
            return "an ungraded row (%s) with a score" % row["status"]
        return None
    if row["status"] != "graded":
        return "unknown status %s" % _shown(row["status"])
    if not isinstance(row["result"], str):
        return "a graded row without its result"
    try:
        tree = json.loads(row["result"])
    except (ValueError, RecursionError):
        return "its result is not JSON"
    why = _tree_problem(tree, rubric)
    if why:
        return why
    if abs(row["score"] - tree["score"]) > TOLERANCE:
        return "its score %g is not its result's %g" % (row["score"], tree["score"])
    return None


def _tree_problem(tree: Any, rubric) -> Optional[str]:
    """Why ``tree`` is not a result of ``rubric`` whose scores add up, or None."""
    from .scoring import STATUSES, points
    if not isinstance(tree, dict) or not isinstance(tree.get("questions"), list):
        return "its result is not a result tree"
    if not isinstance(tree.get("rubric"), dict) or tree["rubric"].get("sha256") != rubric.sha256:
        return "its result names another rubric"
    if len(tree["questions"]) != len(rubric.questions):
        return "its result has %d questions, the rubric %d" % (len(tree["questions"]), len(rubric.questions))
    total = 0.0
    for qspec, question in zip(rubric.questions, tree["questions"]):
        if not isinstance(question, dict) or question.get("id") != qspec.id or not isinstance(question.get("parts"), list) \
                or len(question["parts"]) != len(qspec.parts):
            return "its result's question %s is not the rubric's" % qspec.id
        qsum = 0.0
        for pspec, part in zip(qspec.parts, question["parts"]):
            if not isinstance(part, dict) or part.get("id") != pspec.id or part.get("status") not in STATUSES \
                    or not isinstance(part.get("checks"), list) or len(part["checks"]) != len(pspec.checks):
                return "its result's part %s is not the rubric's" % pspec.id
            psum = 0.0
            for cspec, check in zip(pspec.checks, part["checks"]):
                if not isinstance(check, dict) or check.get("id") != cspec.id:
                    return "its result's check %s/%s is not the rubric's" % (pspec.id, cspec.id)
                score, most = _number(check.get("score")), _number(check.get("max_score"))
                if most is None or abs(most - points(cspec.points)) > TOLERANCE:
                    return "its check %s/%s is worth %s, the rubric's %g" % (pspec.id, cspec.id, check.get("max_score"),
                                                                             cspec.points)
                if score is None or not -TOLERANCE <= score <= most + TOLERANCE:
                    return "its check %s/%s scores %s of %g" % (pspec.id, cspec.id, check.get("score"), most)
                psum += score
            for key, want in (("score", points(psum)), ("max_score", points(pspec.points))):
                if _number(part.get(key)) is None or abs(part[key] - want) > TOLERANCE:
                    return "its part %s's %s %s is not what its checks add up to (%g)" % (pspec.id, key, part.get(key),
                                                                                          want)
            qsum += part["score"]
        for key, want in (("score", points(qsum)), ("max_score", points(qspec.points))):
            if _number(question.get(key)) is None or abs(question[key] - want) > TOLERANCE:
                return "its question %s's %s %s is not what its parts add up to (%g)" % (qspec.id, key,
                                                                                         question.get(key), want)
        total += question["score"]
    raw = points(total)
    want = raw
    lateness = tree.get("lateness") or {}
    if lateness:
        penalty = _number(lateness.get("penalty_percent") or 0.0) if isinstance(lateness, dict) else None
        if penalty is None or not 0 <= penalty <= 100 or _number(lateness.get("raw_score")) is None \
                or abs(lateness["raw_score"] - raw) > TOLERANCE:
            return "its late penalty is not one the grader gives"
        want = round(raw * (1.0 - penalty / 100.0), 4)
    if _number(tree.get("score")) is None or abs(tree["score"] - want) > TOLERANCE:
        return "its result scores %s, its checks add up to %g" % (tree.get("score"), want)
    if _number(tree.get("max_score")) is None or abs(tree["max_score"] - rubric.max_score) > TOLERANCE:
        return "its result's max_score is not the rubric's"
    return None


def _merge_overrides(book: _Source, target: "Gradebook", rubric, parts: Dict[str, float], latest: float,
                     refused: List[str]) -> int:
    """The TAs' decisions travel with the grades, under the same checks: the newest decision of each part wins."""
    from .overrides import COLUMNS as OC, load
    mine = load(target.db, target.assignment)
    count = 0
    for of, values in book.overrides:
        o = dict(zip(OC, values))
        why = _other_assignment(of, rubric) or _decision_problem(o, book.claims, parts, latest)
        if why:
            refused.append("%s: %s: %s (decision on %s)" % (book.name, _shown(o["student"]), why, _shown(o["part"])))
            continue
        key = (o["student"], o["part"])
        if key not in mine or mine[key].at < o["at"]:
            with target.db:
                target.db.execute("INSERT OR REPLACE INTO overrides (assignment, %s) VALUES (?, %s)" % (
                    ", ".join(OC), ", ".join("?" * len(OC))), (target.assignment,) + tuple(o[c] for c in OC))
            count += 1
    return count


def _decision_problem(o: Dict[str, Any], claims: Set[Tuple[int, int]], parts: Dict[str, float],
                      latest: float) -> Optional[str]:
    """Why one decision of a source gradebook cannot be taken as it is, or None."""
    from .overrides import VERDICTS
    if not isinstance(o["student"], str) or not _belongs(o["student"], claims):
        return "not a student of %s, the gradebook's own" % _describe_claims(claims)
    if o["part"] not in parts:
        return "a decision on %s, which is no part of the rubric" % _shown(o["part"])
    if o["points"] is not None and (_number(o["points"]) is None or not 0 <= o["points"] <= parts[o["part"]]):
        return "a decision of %s points on a part worth %g" % (_shown(o["points"]), parts[o["part"]])
    if o["verdict"] not in VERDICTS + (None,) or (o["points"] is None and o["verdict"] is None):
        return "a decision with neither points nor a verdict"
    if not all(isinstance(o[c], str) for c in ("comment", "by", "fingerprint")) or \
            not isinstance(o["version"], int) or isinstance(o["version"], bool):
        return "a decision that is not one"
    return _when(o["at"], latest)


def _open_target(into: Path, assignment: str) -> "Gradebook":
    """The gradebook merged into: a file that is a gradebook (never a link, nor another program's database), or new."""
    name = str(into)
    try:
        before = os.lstat(into)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise GraderError("cannot use %s as the gradebook: %s" % (name, exc.strerror)) from None
    if before is not None and stat.S_ISLNK(before.st_mode):
        raise GraderError("%s is a link: merge writes into a gradebook file itself, never through a link" % name)
    if before is not None and not stat.S_ISREG(before.st_mode):
        raise GraderError("%s is not a gradebook: not a regular file" % name)
    for suffix in ("-wal", "-shm", "-journal"):
        beside = Path(name + suffix)
        if os.path.lexists(beside) and (os.path.islink(beside) or not beside.is_file()):
            raise GraderError("%s is a link or not a file: SQLite would write through it" % beside)
    if before is None:
        try:   # made here, 0600, and never through a link that appears meanwhile
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        except OSError as exc:
            raise GraderError("cannot create gradebook %s: %s" % (name, exc.strerror)) from None
        before = os.lstat(into)
    book = Gradebook(into, assignment)
    after = os.lstat(into)
    if stat.S_ISLNK(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        book.close()
        raise GraderError("%s was replaced while it was being opened" % name)
    return book


def iter_results(path: Path, adjusted: bool = True, assignment: Optional[str] = None) -> Iterator[Row]:
    """Every row of ``assignment`` (default: the bundled rubric's) in the gradebook at ``path``; ``adjusted``:
    with the TAs' decisions applied."""
    if not Path(path).is_file():
        raise GraderError("gradebook not found: %s" % path)
    with Gradebook(path, assignment) as book:
        yield from (book.adjusted_rows() if adjusted else book.rows())
