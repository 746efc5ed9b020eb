"""The grader's handle on one student function living in a sandbox worker, and the protocol
every such handle keeps."""
from __future__ import annotations

from typing import Any, List, Protocol, Sequence, runtime_checkable

from .workers import CallRecord, Worker


class StudentError(Exception):
    """The student's function did not return normally (raised, timed out, crashed).

    Checks may let it propagate: the runner turns it into a failed check whose
    message is :attr:`record.error`.
    """

    def __init__(self, record: CallRecord, context: str = ""):
        self.record = record
        self.context = context
        super().__init__(self.describe())

    def describe(self) -> str:
        text = failure_phrase(self.record)
        return "%s %s" % (text, self.context) if self.context else text


def failure_phrase(record: CallRecord) -> str:
    """What a failed call did, as a phrase that follows the function's name.

    'raised ValueError: ... (layers.py line 12)', 'still raises
    NotImplementedError at line 57 of layers.py (unfinished?)', 'took longer
    than 10 s (timeout)', 'failed: the process was killed by SIGSEGV'.
    """
    info = record.error_info or {}
    if record.failure == "exception" and info.get("type") == "NotImplementedError":
        where = " at line %s of %s" % (info.get("line"), info.get("file")) if info.get("file") else ""
        return "still raises NotImplementedError%s (unfinished?)" % where
    if record.failure == "exception":
        return "raised " + (record.error or "")
    if record.failure == "timeout" and (record.error or "").startswith("took"):
        return record.error or ""
    return "failed: " + (record.error or "")


@runtime_checkable
class StudentCallable(Protocol):
    """What a check calls: a student's function, or something that looks like one.

    :class:`StudentFunction` (a function in a sandbox worker), an assignment's adapter (a
    function read through another one, grader.plugins.ADAPTERS) and
    :class:`grader.sandbox.local.LocalStudent` (in-process, for the checks' own tests) keep it.
    ``name`` is the function's name, ``label`` the same in the student's terms (which file).
    ``run`` never raises for the student's faults: a failure is the record's; ``__call__``
    returns the value or raises :class:`StudentError`.
    """

    name: str
    label: str

    def run(self, *args: Any, keep_args: bool = False) -> CallRecord: ...

    def __call__(self, *args: Any) -> Any: ...


class StudentFunction:
    """Calls one loaded student function; every value returned is raw and decoded (a StudentCallable).

    ``label`` names the function in the student's terms, e.g. ``relu (layers.py)``.
    """

    def __init__(self, worker: Worker, key: str, label: str):
        self.worker = worker
        self.key = key
        self.label = label
        self.name = key.rsplit(".", 1)[-1]

    def run(self, *args: Any, keep_args: bool = False) -> CallRecord:
        """Call and return the whole record (value or failure, output, arguments after)."""
        return self.worker.call(self.key, args, keep_args=keep_args)

    def __call__(self, *args: Any) -> Any:
        """Call and return the value; raise :class:`StudentError` if it did not return."""
        record = self.run(*args)
        if not record.ok:
            raise StudentError(record)
        return record.value

    def map(self, args: Sequence[Any], vary: int, values: Sequence[Any]) -> List[CallRecord]:
        """One call per value (in one message), that value standing for argument ``vary``."""
        return self.worker.map(self.key, args, vary, values)

    def time(self, *args: Any, repeat: int = 5, fresh: bool = False, baseline: str = "exp") -> CallRecord:
        """Best-of-``repeat`` seconds of this call and of the numpy function ``baseline`` on ``args[0]``
        (``fresh``: a new yardstick)."""
        return self.worker.time(self.key, args, repeat=repeat, fresh=fresh, baseline=baseline)
