"""User-facing errors and the exit codes of the ``grader`` command.

This module is the one place the exit codes live (docs/architecture.md, rule 8): 0 graded;
1 graded but below ``--min-score``; 2 usage, rubric or submission-path error
(and a sandbox that cannot be had safely here); 3 the grader itself failed
(not the submission's fault: nothing was recorded as its grade).
A :class:`GraderError` is something the user can fix; the command prints its
message as one line and exits with its ``exit_code``, never with a traceback.
"""
from __future__ import annotations

from typing import Optional

EXIT_OK = 0
EXIT_BELOW_MIN = 1
EXIT_USAGE = 2
EXIT_GRADER_FAULT = 3


class GraderError(Exception):
    """A user-facing error: one line, exit code 2 (usage, rubric or submission-path error)."""

    exit_code = EXIT_USAGE


class RubricError(GraderError):
    """The rubric cannot be read or is invalid.

    The message reads ``<file>:<line>: <key path>: <what is wrong>``, e.g.
    ``my-rubric.yaml:14: questions[0].parts[1].checks[2].kind: unknown check kind 'valuez'``.
    The line and the key path are left out when unknown (a missing file, a YAML
    syntax error). ``file``, ``line`` and ``key`` are kept as attributes so tools
    and tests need not parse the message.
    """

    def __init__(self, message: str, *, file: Optional[str] = None, line: Optional[int] = None,
                 key: Optional[str] = None):
        super().__init__(message)
        self.file = file
        self.line = line
        self.key = key

    @classmethod
    def at(cls, file: str, line: Optional[int], key: Optional[str], problem: str) -> "RubricError":
        """An error located at ``file``:``line``, key path ``key``; unknown parts are omitted."""
        where = str(file)
        if line:
            where += ":%d" % line
        text = "%s: %s: %s" % (where, key, problem) if key else "%s: %s" % (where, problem)
        return cls(text, file=str(file), line=line or None, key=key or None)


class SubmissionError(GraderError):
    """A submission path that does not exist, is not a folder, or cannot be read."""


class SandboxUnavailable(GraderError):
    """No isolation mode that is safe here could be started (e.g. plain mode as root)."""


class GraderFault(GraderError):
    """The grader's own machinery failed (the sandbox's zygote, a scratch file system).

    Never the student's doing and never stored as their grade: a batch records
    the submission as not graded and grades it again on the next run.
    """

    exit_code = EXIT_GRADER_FAULT
