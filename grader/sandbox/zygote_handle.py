"""The zygote, as the grading process sees it: start, control channel, submissions, workers' ends.

The zygote (zygote.py, run as a script) is the one child process that forks the workers. It runs
no student code and only the grading process holds the other end of its
control socket, so everything it says is trusted; everything else about it is
bounded: every wait has a deadline, and a zygote that fails to answer, answers
wrongly or dies is marked ``tainted`` and replaced before its next use.
"""
from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from .. import NAME
from . import cgroup, isolation
from .limits import DEFAULT_LIMITS, Limits

START_TIMEOUT = 30.0     # seconds for a zygote to import numpy and say it is ready
CONTROL_TIMEOUT = 10.0   # seconds for the zygote to answer open / close / fork
REAP_TIMEOUT = 5.0       # seconds for the zygote to confirm a killed worker's end
END_GRACE = 0.5          # seconds a worker told to end has to exit before it is killed


class ZygoteFailure(Exception):
    """The zygote failed the grader (no answer, a wrong answer, died): not the student's doing."""


def child_env() -> Dict[str, str]:
    """The child's whole environment: nothing of the grader's is passed on."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib"}


def _as_uid(uid: Optional[int], action: Callable[[], None]) -> None:
    """Run ``action`` in a child that has dropped to ``uid`` (None: as we are); wait for it."""
    pid = os.fork()
    if pid == 0:
        try:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            action()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` (we are root): workers and whatever escaped them."""
    _as_uid(uid, lambda: os.kill(-1, signal.SIGKILL))


def _private_folder() -> Path:
    """A new folder of ours for scratch on the host: 0711 (workers may pass, not list or write).

    Its mode is set through a descriptor opened without following links, never by path.
    """
    path = Path(tempfile.mkdtemp(prefix=NAME + "-"))
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, 0o711)
    finally:
        os.close(fd)
    return path


def group_limits(limits: Limits) -> Tuple[int, int]:
    """The control group's memory and process limits for a zygote and its workers: what one worker
    may use, what its scratch may hold (tmpfs pages count), and room for the zygote itself."""
    return (limits.memory_mb + limits.disk_mb + 256) * 1024 * 1024, limits.processes + 8


def new_zygote(mode: Optional[str], limits: Limits = DEFAULT_LIMITS, unsafe: bool = False,
               hide: Sequence[Path] = ()):
    """The zygote for ``mode``: the forking one, or the portable stand-in where it cannot run."""
    if isolation.choose(mode, unsafe) == "spawn":
        from .spawn import SpawnZygote
        return SpawnZygote(limits, hide)
    return Zygote(mode, limits, unsafe, hide)


_EARLY: Dict[Tuple[Optional[str], bool], "Zygote"] = {}


def launch_early(mode: Optional[str], unsafe: bool = False) -> None:
    """Start a zygote for ``mode`` now, before the rubric is read (its limits come later).

    ``grader check`` calls this first, so that the sandbox's start (an interpreter
    importing numpy) runs beside the grader's own imports; :meth:`Zygote.adopt`
    takes it over. One that is never adopted is closed when the process exits.
    """
    if (mode, unsafe) in _EARLY or isolation.choose(mode, unsafe) == "spawn":
        return   # (spawn: no process lives between workers)
    zygote = Zygote(mode, DEFAULT_LIMITS, unsafe)
    try:
        zygote._launch()
    except ZygoteFailure:
        zygote.close()
        return
    if not _EARLY:
        atexit.register(_close_early)
    _EARLY[(mode, unsafe)] = zygote


def _close_early() -> None:
    while _EARLY:
        _EARLY.popitem()[1].close()


class Zygote:
    """The child process that forks workers; replaced transparently when it fails.

    ``mode`` is an isolation mode name or None for the strongest available.
    """

    def __init__(self, mode: Optional[str] = None, limits: Limits = DEFAULT_LIMITS, unsafe: bool = False,
                 hide: Sequence[Path] = ()):
        self.mode = isolation.choose(mode, unsafe)
        self.label = isolation.mode_label(self.mode)
        self.contained = isolation.contained(self.label)
        self.limits = limits
        self.hide = [str(p) for p in hide]   # folders covered by an empty mount in uid mode
        self.lease = isolation.UidLease() if self.label in ("bwrap", "uid", "uid-uncontained") else None
        # Without a tmpfs of its own, the zygote keeps scratch folders on the host, in a folder
        # of the grader's (root-owned and 0711 as root: workers can pass, not list or write).
        self.plain_root = _private_folder() if not self.contained else None
        self.plan = isolation.plan(self.mode, self.plain_root)
        self.proc: Optional[subprocess.Popen] = None
        self.group: Optional[cgroup.Group] = None
        self.ctrl: Optional[socket.socket] = None
        self.porting = False
        self.tainted = False
        self.configured = False
        self.baselines: Dict[Any, Tuple[float, float]] = {}   # timing yardsticks (workers.Sandbox.baseline)

    # -- lifecycle
    @classmethod
    def adopt(cls, mode: Optional[str], limits: Limits = DEFAULT_LIMITS, unsafe: bool = False,
              hide: Sequence[Path] = ()) -> "Zygote":
        """A zygote for these settings: the one :func:`launch_early` started for ``mode``, else a new one."""
        zygote = _EARLY.pop((mode, unsafe), None)
        if zygote is None:
            return new_zygote(mode, limits, unsafe, hide)
        zygote.limits, zygote.hide = limits, [str(p) for p in hide]
        return zygote

    def ensure(self) -> None:
        if self.proc is not None and not self.configured and self.proc.poll() is None and not self.tainted:
            return self._configure()   # launched early: it has been importing numpy meanwhile
        if self.proc is None or self.proc.poll() is not None or self.tainted:
            self.stop()
            self._start()

    def _start(self) -> None:
        self._launch()
        self._configure()

    def _configure(self) -> None:
        """Give the launched zygote its limits and folders to hide; wait until it is ready."""
        self.configured = True
        if self.group is not None:
            try:
                self.group.limit(*group_limits(self.limits))
            except OSError:
                pass   # the limits it was made with stay
        self._send({"op": "configure", "limits": self.limits.to_child(), "hide": self.hide})
        ready = self._expect("ready", START_TIMEOUT)
        if ready.get("error"):
            self.stop()
            raise ZygoteFailure(str(ready["error"]))
        self.porting = ready.get("porting") is True

    def _launch(self) -> None:
        """Start the zygote process; it imports numpy, then waits for :meth:`_configure`."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.contained and self.group is None:
            self.group = cgroup.make(*group_limits(self.limits))
        config = {"control": theirs.fileno(), "mode": self.mode, "contain": self.contained,
                  "userns": self.label == "bwrap-userns", "seccomp": isolation.seccomp_works(),
                  "site": self.plan.site, "work": self.plan.work,
                  "uid": self.lease.uid if self.lease else None, "gid": self.lease.uid if self.lease else None}
        try:
            self.proc = subprocess.Popen(
                (self.group.prefix() if self.group else []) + self.plan.command + [json.dumps(config)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=child_env(), cwd="/", start_new_session=True)
        except OSError as exc:
            ours.close()
            raise ZygoteFailure("the sandbox could not be started (%s)" % exc) from None
        finally:
            theirs.close()
        ours.setblocking(False)
        self.ctrl, self.tainted, self.configured = ours, False, False

    def stop(self) -> None:
        """Kill the zygote and every worker and descendant it had."""
        if self.ctrl is not None:
            self.ctrl.close()
            self.ctrl = None
        if self.proc is not None:
            # Killed at once, not waited for: it holds nothing to save, and its workers go with it
            # (bwrap: its pid namespace; uid: the sweep below).
            try:   # our own child's group: in bwrap the pid namespace dies with it
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=REAP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if self.lease and isolation.is_root():
            _sweep_uid(self.lease.uid)
        if self.group is not None:
            self.group.remove()
            self.group = None

    def close(self) -> None:
        self.stop()
        if self.plain_root is not None:
            # What is left inside belongs to the workers' uid: removed with its rights, not ours;
            # then our own folder, empty, by name in a folder no worker can write.
            uid = self.lease.uid if self.lease and isolation.is_root() else None
            leftovers = [str(self.plain_root / name) for name in os.listdir(self.plain_root)]
            if leftovers:
                _as_uid(uid, lambda: os.execvp("rm", ["rm", "-rf", "--"] + leftovers))
            try:
                os.rmdir(self.plain_root)
            except OSError:
                pass   # not empty: a leftover the workers' uid could not remove stays, and harms no one
        if self.lease:
            self.lease.release()

    # -- the control channel (trusted: only the zygote writes on it)
    def _send(self, message: Dict[str, Any], timeout: float = CONTROL_TIMEOUT) -> None:
        from . import wire   # here, not at the top: launch_early runs before numpy (wire's) is imported
        if self.ctrl is None:
            raise ZygoteFailure("the sandbox is not running")
        try:
            wire.send(self.ctrl.fileno(), message, time.monotonic() + timeout)
        except (wire.Timeout, wire.Closed, wire.ProtocolError) as exc:
            self.tainted = True
            raise ZygoteFailure("the sandbox did not take a request (%s)" % (exc or type(exc).__name__)) from None

    def _expect(self, op: str, timeout: float, patient: bool = False) -> Dict[str, Any]:
        """The zygote's next message, which must be ``op``; else the zygote is replaced.

        ``patient``: a timeout raises wire.Timeout and leaves the zygote in service
        (the message may still come).
        """
        from . import wire
        if self.ctrl is None:
            raise ZygoteFailure("the sandbox is not running")
        try:
            message = wire.recv(self.ctrl.fileno(), time.monotonic() + timeout)
        except wire.Timeout:
            if patient:
                raise
            self.tainted = True
            raise ZygoteFailure("the sandbox did not answer in %g s" % timeout) from None
        except (wire.Closed, wire.ProtocolError) as exc:
            self.tainted = True
            raise ZygoteFailure("the sandbox did not answer (%s)" % (exc or type(exc).__name__)) from None
        if message.get("op") != op and not (op == "opened" and message.get("op") == "open_failed"):
            self.tainted = True
            raise ZygoteFailure("the sandbox said %r, not %r" % (message.get("op"), op))
        return message

    def open_submission(self, files: Sequence[Tuple[str, bytes]]) -> str:
        """Give the zygote a submission's files; the folder (as workers see it) they are in."""
        self.ensure()
        token = secrets.token_hex(16)
        quota = sum(len(data) for _, data in files) + self.limits.disk_mb * 1024 * 1024
        self._send({"op": "open", "token": token, "quota": quota, "inodes": self.limits.files + 2 * len(files) + 64,
                    "files": [[rel, base64.b64encode(data).decode("ascii")] for rel, data in files]})
        opened = self._expect("opened", CONTROL_TIMEOUT)
        if opened.get("op") == "open_failed":
            self.tainted = True
            raise ZygoteFailure("the submission's scratch space could not be made (%s)" % opened.get("why"))
        return str(opened["dir"])

    def close_submission(self) -> None:
        """Remove everything of the submission; a failure replaces the zygote, never costs a grade."""
        if self.ctrl is None or self.proc is None or self.proc.poll() is not None:
            return
        try:
            self._send({"op": "close"})
            closed = self._expect("closed", CONTROL_TIMEOUT + REAP_TIMEOUT)
            if not closed.get("ok"):
                self.tainted = True
        except ZygoteFailure:
            self.tainted = True

    def fork(self) -> socket.socket:
        """A new worker; returns the grader's end of the socket that only this worker holds.

        Never starts a zygote: a new one would not hold the submission's files, and the
        student would be graded on nothing. A zygote lost mid-submission is a ZygoteFailure.
        """
        if self.ctrl is None or self.tainted or self.proc is None or self.proc.poll() is not None:
            raise ZygoteFailure("the sandbox stopped while a submission was being graded")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._send({"op": "fork"})
            try:
                socket.send_fds(self.ctrl, [b"F"], [theirs.fileno()])
            except OSError as exc:
                self.tainted = True
                raise ZygoteFailure("the sandbox did not take a worker's socket (%s)" % exc) from None
        except ZygoteFailure:
            ours.close()
            raise
        finally:
            theirs.close()
        try:
            self._expect("forked", CONTROL_TIMEOUT)
        except ZygoteFailure:
            ours.close()
            raise
        ours.setblocking(False)
        return ours

    def ended(self, kill: bool) -> Dict[str, Any]:
        """The zygote's word that the live worker ended: killed now, or (``kill`` False) after a grace."""
        from . import wire
        if not kill:
            try:
                return self._expect("exited", END_GRACE, patient=True)
            except wire.Timeout:
                pass   # it did not stop when told to: kill it
        self._send({"op": "kill"})
        return self._expect("exited", REAP_TIMEOUT)
