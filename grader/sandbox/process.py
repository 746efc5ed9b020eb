"""The grader's side of the sandbox: the zygote, one submission's scratch folder, workers.

A :class:`Zygote` is one long-lived child process (see child.py) started in the
strongest isolation mode available (isolation.py); it can serve many
submissions one after another. A :class:`Sandbox` is one submission: a fresh
scratch copy of its files, given to the worker's unprivileged uid.
:meth:`Sandbox.open` forks a fresh worker that loads the student's modules for
one part; :class:`Worker` sends calls, answers the worker's callbacks (the
isolated functions, computed here from the reference) and decodes the raw
values that come back. A call that times out, crashes the worker or breaks the
protocol fails alone: the worker is killed and reloaded for the next call.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from . import isolation, wire
from .limits import DEFAULT_LIMITS, Limits

MAX_COPY_BYTES = 20 * 1024 * 1024
MAX_RELOADS = 3
SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


@dataclass
class CallRecord:
    """One call of a student function, as the child reported it (values decoded).

    ``failure`` is None for a normal return, else ``"exception"``, ``"timeout"``,
    ``"crashed"``, ``"memory"`` or ``"protocol"``; ``error`` then says what
    happened in one line.
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


def describe_exit(ended: Dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> str:
    sig = ended.get("signal")
    if sig:
        name = SIGNAL_NAMES.get(sig, str(sig))
        if sig in (signal.SIGXCPU,):
            return "the process used up its CPU time (%s)" % name
        return "the process was killed by %s" % name
    return "the process exited with code %s" % ended.get("code")


def copy_submission(src: Path, dst: Path) -> None:
    """Copy the student's regular files (no links, nothing hidden, nothing huge) into ``dst``."""
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
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` (we are root): workers and whatever escaped them."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


class Zygote:
    """The child process that forks workers; restarted transparently if it dies.

    ``mode`` is an isolation mode name or None for the strongest available.
    """

    def __init__(self, mode: Optional[str] = None, limits: Limits = DEFAULT_LIMITS):
        self.mode = isolation.detect(mode)
        self.limits = limits
        self.scratch_root = Path(tempfile.mkdtemp(prefix="a1grader-"))
        self.lease = isolation.UidLease() if self.mode in ("bwrap", "uid") else None
        if self.lease:
            # Owned by the workers' uid; 0711 so that the zygote, root without
            # CAP_DAC_OVERRIDE inside bwrap, can still enter it.
            os.chown(self.scratch_root, self.lease.uid, self.lease.uid)
            os.chmod(self.scratch_root, 0o711)
        self.plan = isolation.plan(self.mode, self.scratch_root)
        self.proc: Optional[subprocess.Popen] = None
        self.rfd = self.wfd = -1
        self._host_pid: Optional[int] = None
        self.worker_pids: set = set()   # host pids of live workers (plain and uid modes)
        self._count = 0

    # -- lifecycle
    def ensure(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self._start()

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        config = {"rfd": to_child_r, "wfd": from_child_w, "site": self.plan.site,
                  "uid": self.lease.uid if self.lease else None,
                  "gid": self.lease.uid if self.lease else None, "limits": self.limits.to_child()}
        self.proc = subprocess.Popen(
            self.plan.command + [json.dumps(config)], pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=child_env(), cwd=str(self.scratch_root), start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.rfd, self.wfd = from_child_r, to_child_w
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self._host_pid = None

    def stop(self) -> None:
        """Kill the zygote and every worker and descendant it had."""
        if self.proc is not None:
            for fd in (self.wfd, self.rfd):   # an idle zygote exits on EOF, and is reaped normally
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(self.proc.pid)   # whatever is left; in bwrap the pid namespace dies with it
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        for pid in self.worker_pids:
            _kill_group(pid)
        self.worker_pids.clear()
        if self.lease and os.geteuid() == 0:
            _sweep_uid(self.lease.uid)

    def forget_files(self) -> None:
        """Remove what the workers' uid left in shared temporary folders (uid mode only).

        The next submission runs under the same uid: it must not find the last
        one's files. In bwrap mode those folders are read-only in the view.
        """
        if self.mode != "uid" or not self.lease:
            return
        for folder in ("/tmp", "/var/tmp", "/dev/shm"):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.path == str(self.scratch_root) or \
                            entry.stat(follow_symlinks=False).st_uid != self.lease.uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop()
        self.forget_files()
        if self.lease:
            self.lease.release()
        shutil.rmtree(self.scratch_root, ignore_errors=True)

    # -- submissions and workers
    def new_folder(self, submission: Path) -> tuple:
        """A fresh scratch copy of ``submission``: (path here, path as the child sees it)."""
        self._count += 1
        name = "s%d" % self._count
        here = self.scratch_root / name
        here.mkdir(mode=0o700)
        copy_submission(submission, here)
        if self.lease:
            _chown_tree(here, self.lease.uid, self.lease.uid)
        return here, self.plan.work_dir + "/" + name

    def fork(self, deadline: float) -> int:
        """A new worker, waiting for its load message; returns its pid (as the zygote sees it)."""
        self.ensure()
        wire.send(self.wfd, {"op": "fork"}, deadline)
        forked = wire.recv(self.rfd, deadline)
        if forked.get("op") != "forked" or not isinstance(forked.get("pid"), int):
            raise wire.ProtocolError("expected the worker's pid")
        if self.mode != "bwrap":
            self.worker_pids.add(forked["pid"])
        return forked["pid"]

    def kill_worker(self, pid: Optional[int]) -> Dict[str, Any]:
        """Kill the running worker (and its descendants) and return the zygote's report of its end."""
        zygote = self._zygote_pid()
        if zygote:
            try:
                os.kill(zygote, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        if pid and self.mode != "bwrap":
            _kill_group(pid)
        return self.reaped(pid)

    def reaped(self, pid: Optional[int]) -> Dict[str, Any]:
        """Wait for the zygote's word that the worker ended; restart afresh if it does not come."""
        try:
            while True:
                message = wire.recv(self.rfd, time.monotonic() + 5)
                if message.get("op") == "exited":
                    self.worker_pids.discard(pid)
                    return message
        except (wire.Timeout, wire.Closed, wire.ProtocolError):
            self.stop()   # the stream is no longer trustworthy
            return {"op": "exited", "signal": None, "code": None}

    def _zygote_pid(self) -> Optional[int]:
        """The zygote's pid here: the Popen child itself, or inside bwrap its descendant."""
        if self.proc is None:
            return None
        if self.mode != "bwrap":
            return self.proc.pid
        if self._host_pid is None:
            self._host_pid = _find_descendant(self.proc.pid, self.plan.command[-1].encode())
        return self._host_pid


def _find_descendant(root: int, needle: bytes) -> Optional[int]:
    """The first descendant of ``root`` whose command line contains ``needle``."""
    frontier = [root]
    for _ in range(6):
        nxt = []
        for pid in frontier:
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                kids = []
            for kid in kids:
                try:
                    with open("/proc/%d/cmdline" % kid, "rb") as handle:
                        argv = handle.read().split(b"\0")
                except OSError:
                    continue
                # bwrap's own argv contains the script too: the zygote is the
                # process whose argv *runs* it (the script right after the flags).
                if needle in argv and not argv[0].endswith(b"bwrap"):
                    return kid
            nxt.extend(kids)
        frontier = nxt
    return None


class Sandbox:
    """One submission: its scratch copy and its time budget. Use as a context manager.

    With no ``zygote`` given, the sandbox starts (and later stops) its own.
    """

    def __init__(self, submission: Path, limits: Limits = DEFAULT_LIMITS, zygote: Optional[Zygote] = None,
                 mode: Optional[str] = None):
        self.submission = Path(submission)
        self.limits = limits
        self.own_zygote = zygote is None
        self.zygote = zygote or Zygote(mode, limits)
        self.scratch, self.child_dir = self.zygote.new_folder(self.submission)
        self.started = time.monotonic()

    @property
    def mode(self) -> str:
        return self.zygote.mode

    def remaining(self) -> float:
        return self.limits.budget - (time.monotonic() - self.started)

    def close(self) -> None:
        if self.own_zygote:
            self.zygote.close()
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.zygote.forget_files()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def open(self, targets: Sequence[Sequence[str]], inject: Mapping[str, Sequence[str]],
             rebind: Mapping[str, str], callbacks: Optional[Mapping[str, Callable[..., Any]]] = None) -> "Worker":
        """Fork a worker that loads ``targets`` ([module, name] pairs) with isolation.

        ``inject`` names the proxy modules and their functions, ``rebind`` the
        names in the student's module to point at them, ``callbacks`` the
        grader-side functions the proxies call.
        """
        message = {"op": "load", "dir": self.child_dir, "targets": [list(t) for t in targets],
                   "inject": {k: list(v) for k, v in inject.items()}, "rebind": dict(rebind), "first": True}
        return Worker(self, message, dict(callbacks or {}))


class Worker:
    """A forked worker holding one part's loaded functions; reloaded after a failure."""

    def __init__(self, sandbox: Sandbox, message: Dict[str, Any], callbacks: Dict[str, Callable[..., Any]]):
        self.sandbox = sandbox
        self.zygote = sandbox.zygote
        self.message = message
        self.callbacks = callbacks
        self.reloads = 0
        self.pid: Optional[int] = None
        self.loaded: Dict[str, Any] = {}
        self.failures: List[str] = []   # 'timeout' / 'crashed' / 'memory' events, for the part's status
        self._load()

    def _fail_load(self, failure: str, error: str) -> None:
        self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": failure, "error": error}
        self.failures.append(failure)

    def _load(self) -> None:
        budget = self.sandbox.remaining()
        if budget <= 0:
            return self._fail_load("timeout", "was not run: the submission's time budget (%g s) is used up"
                                   % self.sandbox.limits.budget)
        limit = min(self.sandbox.limits.load_timeout, budget)
        deadline = time.monotonic() + limit
        try:
            self.pid = self.zygote.fork(deadline)
            wire.send(self.zygote.wfd, self.message, deadline)
            reply = self._answer_callbacks(deadline)
        except wire.Timeout:
            ended = self.zygote.kill_worker(self.pid)
            self.pid = None
            return self._fail_load("timeout", "loading your files took longer than %g s (timeout)" % limit
                                   if ended.get("op") else "loading timed out")
        except (wire.Closed, wire.ProtocolError) as exc:
            self.zygote.stop()
            self.pid = None
            return self._fail_load("crashed", "the child process failed while loading (%s)" % exc)
        if reply.get("op") == "exited":
            self.zygote.worker_pids.discard(self.pid)
            self.pid = None
            return self._fail_load("crashed", "your code exited during import: " + describe_exit(reply))
        if reply.get("op") != "loaded":
            self.zygote.stop()
            self.pid = None
            return self._fail_load("crashed", "unexpected reply while loading")
        self.loaded = {"found": dict(reply.get("found", {})), "modules": dict(reply.get("modules", {})),
                       "stdout": str(reply.get("stdout", ""))[:20000]}

    def end(self) -> None:
        if self.pid is None:
            return
        try:
            wire.send(self.zygote.wfd, {"op": "end"}, time.monotonic() + 5)
            self.zygote.reaped(self.pid)
        except (wire.Timeout, wire.Closed):
            self.zygote.kill_worker(self.pid)
        self.pid = None

    # -- calls
    def _answer_callbacks(self, deadline: float) -> Dict[str, Any]:
        """Read replies until a final one, computing every proxy call on the way."""
        while True:
            reply = wire.recv(self.zygote.rfd, deadline)
            if reply.get("op") != "callback":
                return reply
            wire.send(self.zygote.wfd, self._callback(reply), deadline)

    def _callback(self, request: Dict[str, Any]) -> Dict[str, Any]:
        fn = self.callbacks.get(str(request.get("fn")))
        if fn is None:
            return {"op": "callback_result", "error": {"type": "NameError", "message": "no such function"}}
        try:
            args = [wire.decode(a) for a in request.get("args", [])]
            return {"op": "callback_result", "value": wire.encode(fn(*args))}
        except wire.ProtocolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's arguments made the reference fail
            return {"op": "callback_result", "error": {"type": type(exc).__name__, "message": str(exc)[:300]}}

    def _request(self, message: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        """Send one request and return the reply, or a synthetic failure reply."""
        if self.pid is None:
            if self.reloads >= MAX_RELOADS or self.loaded.get("failure"):
                return {"op": "failed", "failure": "crashed", "error": "was not run: the process had failed too often"}
            self.reloads += 1
            self._load()
            if self.pid is None:
                return {"op": "failed", "failure": self.loaded.get("failure", "crashed"),
                        "error": self.loaded.get("error", "could not reload")}
        budget = self.sandbox.remaining()
        if budget <= 0:
            self.failures.append("timeout")
            return {"op": "failed", "failure": "timeout",
                    "error": "was not run: the submission's time budget (%g s) is used up" % self.sandbox.limits.budget}
        limit = min(timeout, budget)
        deadline = time.monotonic() + limit
        try:
            wire.send(self.zygote.wfd, message, deadline)
            reply = self._answer_callbacks(deadline)
        except wire.Timeout:
            self.zygote.kill_worker(self.pid)
            self.pid = None
            self.failures.append("timeout")
            return {"op": "failed", "failure": "timeout", "error": "took longer than %g s (timeout)" % limit}
        except (wire.Closed, wire.ProtocolError) as exc:
            self.zygote.stop()
            self.pid = None
            self.failures.append("crashed")
            return {"op": "failed", "failure": "protocol", "error": "the child sent a malformed reply (%s)" % exc}
        if reply.get("op") == "exited":
            self.zygote.worker_pids.discard(self.pid)
            self.pid = None
            self.failures.append("crashed")
            return {"op": "failed", "failure": "crashed", "error": describe_exit(reply, self.sandbox.limits)}
        return reply

    def call(self, key: str, args: Sequence[Any], keep_args: bool = False,
             timeout: Optional[float] = None) -> CallRecord:
        message = {"op": "call", "fn": key, "args": [wire.encode_arg(a) for a in args], "keep_args": keep_args}
        reply = self._request(message, timeout or self.sandbox.limits.timeout)
        if reply.get("op") != "result":
            return _failed(reply)
        return self._record(reply.get("result"))

    def map(self, key: str, args: Sequence[Any], vary: int, values: Sequence[Any],
            timeout: Optional[float] = None) -> List[CallRecord]:
        """Call the function once per value, substituting it for argument ``vary``."""
        message = {"op": "map", "fn": key, "args": [wire.encode_arg(a) for a in args], "vary": vary,
                   "values": [wire.encode(v) for v in values]}
        limit = (timeout or self.sandbox.limits.timeout) * max(1, len(values)) ** 0.5 + 1
        reply = self._request(message, limit)
        results = reply.get("results") if reply.get("op") == "results" else None
        if not isinstance(results, list) or len(results) != len(values):
            failed = _failed(reply) if reply.get("op") != "results" else CallRecord(
                failure="protocol", error="malformed batch reply")
            return [failed for _ in values]
        return [self._record(r) for r in results]

    def time(self, key: str, args: Sequence[Any], repeat: int = 5,
             timeout: Optional[float] = None) -> CallRecord:
        """Best-of-``repeat`` seconds of the function and of ``np.exp(args[0])``: value (student, baseline)."""
        message = {"op": "time", "fn": key, "args": [wire.encode_arg(a) for a in args], "repeat": repeat}
        reply = self._request(message, (timeout or self.sandbox.limits.timeout) * 2)
        if reply.get("op") != "timed":
            return _failed(reply)
        if reply.get("error"):
            info = reply["error"] if isinstance(reply["error"], dict) else {}
            return self._exception(info)
        try:
            return CallRecord(value=(float(reply["student"]), float(reply["baseline"])))
        except (KeyError, TypeError, ValueError):
            return CallRecord(failure="protocol", error="malformed timing reply")

    def _exception(self, info: Dict[str, Any], **extra: Any) -> CallRecord:
        if info.get("type") == "MemoryError":
            self.failures.append("memory")
            return CallRecord(failure="memory", error_info=info, error="ran out of memory (limit %d MiB)%s" % (
                self.sandbox.limits.memory_mb, " at %s line %s" % (info["file"], info.get("line"))
                if info.get("file") else ""), **extra)
        return CallRecord(failure="exception", error=describe_exception(info), error_info=info, **extra)

    def _record(self, raw: Any) -> CallRecord:
        """Decode one call result; anything malformed becomes a protocol failure."""
        try:
            if not isinstance(raw, dict):
                raise wire.ProtocolError("result is not an object")
            error = raw.get("error")
            stdout = str(raw.get("stdout", ""))[:20000]
            elapsed = float(raw.get("elapsed", 0.0))
            if error is not None:
                return self._exception(error if isinstance(error, dict) else {}, stdout=stdout, elapsed=elapsed)
            args_after = raw.get("args_after")
            return CallRecord(
                value=wire.decode(raw.get("value")), stdout=stdout, elapsed=elapsed,
                args_after=[wire.decode(a) for a in args_after] if isinstance(args_after, list) else None,
                f_calls=[[wire.decode(x) for x in log] for log in raw.get("f_calls", []) if isinstance(log, list)])
        except (wire.ProtocolError, TypeError, ValueError) as exc:
            return CallRecord(failure="protocol", error="malformed result (%s)" % exc)


def _failed(reply: Dict[str, Any]) -> CallRecord:
    if reply.get("op") == "refused":
        return CallRecord(failure="protocol", error="the call was refused: %s" % reply.get("why"))
    return CallRecord(failure=reply.get("failure", "protocol"), error=reply.get("error", "no reply"))
