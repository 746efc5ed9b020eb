"""The grader's side of the sandbox: start the child, load a part, call functions.

A :class:`Sandbox` owns one zygote process (see child.py) for one submission.
:meth:`Sandbox.open` forks a fresh worker that loads the student's modules for
one part; :class:`Worker` sends calls and decodes the raw values that come back.
A call that times out, crashes the worker or breaks the protocol fails alone:
the worker is killed and reloaded for the next call.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import wire

CHILD = Path(__file__).with_name("child.py")
MAX_COPY_BYTES = 20 * 1024 * 1024
MAX_RELOADS = 3
SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


@dataclass
class CallRecord:
    """One call of a student function, as the child reported it (values decoded).

    ``failure`` is None for a normal return, else ``"exception"``, ``"timeout"``,
    ``"crashed"`` or ``"protocol"``; ``error`` then says what happened in one line.
    """

    value: Any = None
    failure: Optional[str] = None
    error: Optional[str] = None
    error_info: Dict[str, Any] = field(default_factory=dict)
    stdout: str = ""
    elapsed: float = 0.0
    args_after: Optional[List[Any]] = None
    f_calls: List[List[Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


def describe_exception(info: Dict[str, Any]) -> str:
    """'ValueError: shapes not aligned (q2_neural.py line 41)' from the child's error record."""
    text = "%s: %s" % (info.get("type", "Exception"), info.get("message", ""))
    if info.get("file"):
        text += " (%s line %s)" % (info["file"], info.get("line"))
    return text


def describe_exit(ended: Dict[str, Any]) -> str:
    if ended.get("signal"):
        name = SIGNAL_NAMES.get(ended["signal"], str(ended["signal"]))
        return "the process was killed by %s" % name
    return "the process exited with code %s" % ended.get("code")


def copy_submission(src: Path, dst: Path) -> None:
    """Copy the student's regular files (no links, nothing huge) into the scratch folder."""
    total = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_symlink() or any(part.startswith(".") for part in rel.parts):
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        size = path.stat().st_size
        if total + size > MAX_COPY_BYTES:
            continue
        total += size
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def child_env() -> Dict[str, str]:
    """The child's whole environment: nothing of the grader's is passed on."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Sandbox:
    """One submission's child process and scratch folder. Use as a context manager."""

    def __init__(self, submission: Path, timeout: float = 10.0, load_timeout: float = 20.0):
        self.submission = Path(submission)
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.scratch = Path(tempfile.mkdtemp(prefix="a1grader-"))
        copy_submission(self.submission, self.scratch)
        self.proc: Optional[subprocess.Popen] = None
        self.rfd = self.wfd = -1
        self.workers: set = set()   # pids (= process groups) of workers that may be alive

    # -- zygote lifecycle
    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=child_env(), cwd=str(self.scratch), start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.rfd, self.wfd = from_child_r, to_child_w
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)

    def _stop(self) -> None:
        for pid in self.workers:
            _kill_group(pid)
        self.workers.clear()
        if self.proc is not None:
            _kill_group(self.proc.pid)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for fd in (self.rfd, self.wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- workers
    def open(self, targets: Sequence[Sequence[str]], inject: Dict[str, str],
             rebind: Dict[str, str]) -> "Worker":
        """Fork a worker that loads ``targets`` ([module, name] pairs) with isolation."""
        message = {"op": "load", "dir": str(self.scratch), "targets": [list(t) for t in targets],
                   "inject": dict(inject), "rebind": dict(rebind), "first": True}
        return Worker(self, message)

    def _fork(self, message: Dict[str, Any], worker: "Worker") -> Dict[str, Any]:
        """Ask the zygote for a worker; its pid is known before it loads anything."""
        if self.proc is None or self.proc.poll() is not None:
            self._stop()
            self._start()
        deadline = time.monotonic() + self.load_timeout
        wire.send(self.wfd, message, deadline)
        forked = wire.recv(self.rfd, deadline)
        if forked.get("op") != "forked" or not isinstance(forked.get("pid"), int):
            raise wire.ProtocolError("expected the worker's pid")
        worker.pid = forked["pid"]
        self.workers.add(worker.pid)
        return wire.recv(self.rfd, deadline)

    def _reap(self, pid: Optional[int], kill: bool) -> Dict[str, Any]:
        """Wait for the zygote's report of the worker's end; kill first if asked."""
        if kill and pid:
            _kill_group(pid)
        try:
            while True:
                message = wire.recv(self.rfd, time.monotonic() + 5)
                if message.get("op") == "exited":
                    self.workers.discard(pid)
                    return message
        except (wire.Timeout, wire.Closed, wire.ProtocolError):
            self._stop()  # the stream is no longer trustworthy: start afresh next time
            return {"op": "exited", "signal": None, "code": None}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Worker:
    """A forked worker holding one part's loaded functions; reloaded after a failure."""

    def __init__(self, sandbox: Sandbox, message: Dict[str, Any]):
        self.sandbox = sandbox
        self.message = message
        self.reloads = 0
        self.pid: Optional[int] = None
        self.loaded: Dict[str, Any] = {}
        self.failures: List[str] = []   # 'timeout' / 'crashed' events, for the part's status
        self._load()

    def _load(self) -> None:
        try:
            reply = self.sandbox._fork(self.message, self)
        except wire.Timeout:
            self.sandbox._stop()
            self.pid = None
            self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": "timeout",
                           "error": "loading your files took longer than %g s" % self.sandbox.load_timeout}
            self.failures.append("timeout")
            return
        except (wire.Closed, wire.ProtocolError) as exc:
            self.sandbox._stop()
            self.pid = None
            self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": "crashed",
                           "error": "the child process failed while loading (%s)" % exc}
            self.failures.append("crashed")
            return
        if reply.get("op") == "exited":
            self.sandbox.workers.discard(self.pid)
            self.pid = None
            self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": "crashed",
                           "error": "loading your files ended the process: " + describe_exit(reply)}
            self.failures.append("crashed")
            return
        if reply.get("op") != "loaded":
            self.sandbox._stop()
            self.pid = None
            self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": "crashed",
                           "error": "unexpected reply while loading"}
            return
        self.pid = int(reply.get("pid", 0)) or None
        self.loaded = {"found": dict(reply.get("found", {})), "modules": dict(reply.get("modules", {})),
                       "stdout": str(reply.get("stdout", ""))[:20000]}

    @property
    def alive(self) -> bool:
        return self.pid is not None

    def end(self) -> None:
        if self.pid is None:
            return
        try:
            wire.send(self.sandbox.wfd, {"op": "end"}, time.monotonic() + 5)
            self.sandbox._reap(self.pid, kill=False)
        except (wire.Timeout, wire.Closed):
            self.sandbox._reap(self.pid, kill=True)
        self.pid = None

    # -- calls
    def _request(self, message: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        """Send one request and return the reply, or a synthetic failure reply."""
        if self.pid is None:
            if self.reloads >= MAX_RELOADS or self.loaded.get("failure"):
                return {"op": "failed", "failure": "crashed", "error": "not run: the process had failed too often"}
            self.reloads += 1
            self._load()
            if self.pid is None:
                return {"op": "failed", "failure": self.loaded.get("failure", "crashed"),
                        "error": self.loaded.get("error", "could not reload")}
        deadline = time.monotonic() + timeout
        try:
            wire.send(self.sandbox.wfd, message, deadline)
            reply = wire.recv(self.sandbox.rfd, deadline)
        except wire.Timeout:
            self.sandbox._reap(self.pid, kill=True)
            self.pid = None
            self.failures.append("timeout")
            return {"op": "failed", "failure": "timeout", "error": "took longer than %g s (timeout)" % timeout}
        except (wire.Closed, wire.ProtocolError) as exc:
            self.sandbox._stop()
            self.pid = None
            self.failures.append("crashed")
            return {"op": "failed", "failure": "protocol", "error": "the child sent a malformed reply (%s)" % exc}
        if reply.get("op") == "exited":
            self.sandbox.workers.discard(self.pid)
            self.pid = None
            self.failures.append("crashed")
            return {"op": "failed", "failure": "crashed", "error": describe_exit(reply)}
        return reply

    def call(self, key: str, args: Sequence[Any], keep_args: bool = False,
             timeout: Optional[float] = None) -> CallRecord:
        message = {"op": "call", "fn": key, "args": [wire.encode_arg(a) for a in args], "keep_args": keep_args}
        reply = self._request(message, timeout or self.sandbox.timeout)
        if reply.get("op") != "result":
            return _failed(reply)
        return _record(reply.get("result"))

    def map(self, key: str, args: Sequence[Any], vary: int, values: Sequence[Any],
            timeout: Optional[float] = None) -> List[CallRecord]:
        """Call the function once per value, substituting it for argument ``vary``."""
        message = {"op": "map", "fn": key, "args": [wire.encode_arg(a) for a in args], "vary": vary,
                   "values": [wire.encode(v) for v in values]}
        limit = (timeout or self.sandbox.timeout) * max(1, len(values)) ** 0.5 + 1
        reply = self._request(message, limit)
        results = reply.get("results") if reply.get("op") == "results" else None
        if not isinstance(results, list) or len(results) != len(values):
            failed = _failed(reply) if reply.get("op") != "results" else CallRecord(
                failure="protocol", error="malformed batch reply")
            return [failed for _ in values]
        return [_record(r) for r in results]

    def time(self, key: str, args: Sequence[Any], repeat: int = 5,
             timeout: Optional[float] = None) -> CallRecord:
        """Best-of-``repeat`` seconds of the function and of ``np.exp(args[0])``: value (student, baseline)."""
        message = {"op": "time", "fn": key, "args": [wire.encode_arg(a) for a in args], "repeat": repeat}
        reply = self._request(message, (timeout or self.sandbox.timeout) * 2)
        if reply.get("op") != "timed":
            return _failed(reply)
        if reply.get("error"):
            info = reply["error"] if isinstance(reply["error"], dict) else {}
            return CallRecord(failure="exception", error=describe_exception(info), error_info=info)
        try:
            return CallRecord(value=(float(reply["student"]), float(reply["baseline"])))
        except (KeyError, TypeError, ValueError):
            return CallRecord(failure="protocol", error="malformed timing reply")


def _failed(reply: Dict[str, Any]) -> CallRecord:
    if reply.get("op") == "refused":
        return CallRecord(failure="protocol", error="the call was refused: %s" % reply.get("why"))
    return CallRecord(failure=reply.get("failure", "protocol"), error=reply.get("error", "no reply"))


def _record(raw: Any) -> CallRecord:
    """Decode one call result; anything malformed becomes a protocol failure."""
    try:
        if not isinstance(raw, dict):
            raise wire.ProtocolError("result is not an object")
        error = raw.get("error")
        stdout = str(raw.get("stdout", ""))[:20000]
        elapsed = float(raw.get("elapsed", 0.0))
        if error is not None:
            info = error if isinstance(error, dict) else {}
            return CallRecord(failure="exception", error=describe_exception(info), error_info=info,
                              stdout=stdout, elapsed=elapsed)
        args_after = raw.get("args_after")
        return CallRecord(
            value=wire.decode(raw.get("value")), stdout=stdout, elapsed=elapsed,
            args_after=[wire.decode(a) for a in args_after] if isinstance(args_after, list) else None,
            f_calls=[[wire.decode(x) for x in log] for log in raw.get("f_calls", []) if isinstance(log, list)])
    except (wire.ProtocolError, TypeError, ValueError) as exc:
        return CallRecord(failure="protocol", error="malformed result (%s)" % exc)
