"""The written half in its own process, under the submission's memory limit and a time budget.

No student code runs here, but a write-up is hostile input all the same: a
PDF built to make its parser loop, a formula built to make sympy expand for
minutes, 20 MB of ``{``. So the reading and deciding happen in a long-lived
child (sympy imported once) that limits its own address space; the grading
process waits at most ``budget`` seconds for a submission's answer. A child
that runs out of time or dies is killed and replaced; that submission's
written parts become ``needs_review`` with the reason, and nothing else of it
(or of anyone else) is lost.

Frames: 4-byte big-endian length, then JSON. Request ``{"rubric", "files":
[[name, base64]], "seed", "skipped"}``; reply ``{"parts": {id: PartResult}}``.
"""
from __future__ import annotations

import base64
import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from ..scoring import PartResult, _from_dict, points

MAX_REPLY = 16 * 1024 * 1024
VERDICTS = ("correct", "incorrect", "needs_review", "missing", "read")   # read: a kit reads, decides nothing


class WrittenService:
    """The parent's handle on the child; starts it at once so it loads while the zygote does."""

    def __init__(self, rubric, memory_mb: int, budget: float, prove: bool = False):
        self.rubric = rubric
        self.prove = prove          # also prove scalar results by sympy (worth its import over a class)
        self.memory = int(memory_mb) * 1024 * 1024
        self.budget = float(budget)
        self.proc: Optional[subprocess.Popen] = None
        self._start()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        code = "import sys; sys.path.insert(0, %r); from grader.written.service import main; main(%d, %r)" % (
            root, self.memory, self.prove)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)

    def grade(self, files: Sequence[Tuple[str, bytes]], seed: int, skipped: Sequence[str] = ()) -> Dict[str, PartResult]:
        """The written parts' results; ``needs_review`` for all of them if the child fails."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        request = {"rubric": str(Path(self.rubric.path).resolve()), "seed": int(seed), "skipped": list(skipped),
                   "files": [[name, base64.b64encode(data).decode("ascii")] for name, data in files]}
        try:
            _write(self.proc.stdin, request)
            reply = _read(self.proc.stdout, time.monotonic() + self.budget)
            return {pid: _part(data) for pid, data in reply["parts"].items()}
        except TimeoutError:
            why = "reading the write-up took more than %g s" % self.budget
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            why = "reading the write-up failed (%s)" % (type(exc).__name__ if not isinstance(exc, EOFError)
                                                        else "out of memory, or a crash")
        self.stop()
        from .grade import unread
        return {part.id: unread(part, why, "not graded: %s; a TA will read it" % why)
                for part in self.rubric.written_parts()}

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9) if hasattr(os, "killpg") else self.proc.kill()
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None

    close = stop


def _part(data: dict) -> PartResult:
    """A part's result from the child's JSON, its numbers and verdict checked."""
    result = _from_dict(PartResult, data)
    if result.verdict not in VERDICTS:
        raise ValueError("verdict")
    for check in result.checks:
        check.score = points(min(max(float(check.score), 0.0), float(check.max_score)))
    result.score = points(sum(c.score for c in result.checks))
    return result


def _write(stream, message: dict) -> None:
    data = json.dumps(message).encode("utf-8")
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: Optional[float]) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read(stream, deadline: Optional[float]) -> dict:
    if deadline is not None and os.name == "nt":
        return _read_in_thread(stream, deadline)
    fd = stream.fileno()
    (size,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if size > MAX_REPLY:
        raise ValueError("reply too large")
    return json.loads(_read_exact(fd, size, deadline).decode("utf-8"))


def _read_in_thread(stream, deadline: float) -> dict:
    """Windows cannot wait on a pipe with select: read in a thread, and stop waiting at the deadline
    (the caller then kills the child, which ends the read)."""
    import threading
    box: list = []

    def read() -> None:
        try:
            box.append(_read(stream, None))
        except BaseException as exc:  # noqa: B902 - handed to the waiting thread
            box.append(exc)
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not box:
        raise TimeoutError()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


# ---------------------------------------------------------------------------- the child


def main(memory: int, prove: bool = False) -> None:
    """Serve requests on stdin/stdout until stdin closes."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass   # Windows has no such limit: the time budget still holds
    out = sys.stdout.buffer
    sys.stdout = sys.stderr          # a stray print must not corrupt the frames
    from ..rubric import load_rubric
    from .grade import grade_writeup
    if prove:
        import sympy  # noqa: F401  (loaded before the first write-up, not during it)
    rubrics = {}
    while True:
        try:
            request = _read(sys.stdin.buffer, None)
        except (EOFError, OSError):
            return
        try:
            path = request["rubric"]
            if path not in rubrics:
                rubrics[path] = load_rubric(path)
            files = [(name, base64.b64decode(data)) for name, data in request["files"]]
            results = grade_writeup(rubrics[path], files, int(request["seed"]), request.get("skipped", []))
            reply = {"parts": {pid: _plain(r) for pid, r in results.items()}}
        except MemoryError:
            reply = {"error": "out of memory"}
        _write(out, reply)


def _plain(result: PartResult) -> dict:
    from ..scoring import _plain as plain
    from dataclasses import asdict
    return plain(asdict(result))
