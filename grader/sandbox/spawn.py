"""The portable sandbox: a fresh interpreter per worker, for machines without Linux's calls.

On macOS, Windows or any Python that lacks what the forking zygote needs
(isolation.zygote_missing), :class:`SpawnZygote` stands in for
:class:`~grader.sandbox.zygote_handle.Zygote` with the same interface: each worker is
``python -I zygote.py`` started anew (numpy imported each time, as the
``spawn`` start method does), and it connects back to the grader on the
loopback address with a one-time token, so nothing but that worker can speak
for it. The grader enforces every time limit (it kills the worker's process
tree); the child sets the resource limits the platform has. The submission's
files live in a folder the grader makes and names, removed with everything
in it when the submission is done.
"""
from __future__ import annotations

import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import NAME
from . import wire
from .limits import DEFAULT_LIMITS, Limits

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 30.0   # seconds for a new worker to import numpy and connect back
END_GRACE = 0.5        # seconds a worker told to end has to exit before it is killed
TOKEN_BYTES = 32       # the hex token's length on the wire


def child_command(config: Dict[str, Any]) -> List[str]:
    """The command that starts one worker (the test suite swaps it to hide Linux's modules there too)."""
    return [sys.executable, "-I", str(HERE / "zygote.py"), json.dumps(config)]


def _flags() -> Dict[str, Any]:
    """Popen options that put the worker in a process group of its own (to end its whole tree)."""
    if os.name == "nt":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {"start_new_session": True}


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the worker and every process in its group (also when the worker itself has exited)."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            pass
    elif os.name == "nt" and proc.poll() is None:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass


def _remove_tree(folder: str) -> None:
    """Remove ``folder`` and all in it, however deep; links are removed, never followed.

    Each folder met is first moved up into ``folder`` itself, so no path grows
    longer than two names and nothing recurses (a student may nest thousands deep).
    """
    pending = [folder]
    while pending:
        here = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            entries = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    moved = os.path.join(folder, "..up-" + secrets.token_hex(8))
                    os.rename(entry.path, moved)
                    pending.append(moved)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
        if here != folder:
            try:
                os.rmdir(here)
            except OSError:
                pass
    try:
        os.rmdir(folder)
    except OSError:
        pass


class SpawnZygote:
    """Starts one worker process per request; the Zygote interface, without a zygote."""

    mode = label = "spawn"
    contained = False

    def __init__(self, limits: Limits = DEFAULT_LIMITS, hide: Sequence[Path] = ()):
        self.limits = limits
        self.hide = [str(p) for p in hide]
        self.porting = True
        self.tainted = False
        self.baselines: Dict[Any, Tuple[float, float]] = {}
        self.proc: Optional[subprocess.Popen] = None
        self.folder: Optional[str] = None

    # -- the Zygote interface
    def ensure(self) -> None:
        """Nothing runs between workers."""

    def open_submission(self, files: Sequence[Tuple[str, bytes]]) -> str:
        """Write the files into a new folder of the grader's; its path."""
        self.close_submission()
        folder = tempfile.mkdtemp(prefix=NAME + "-spawn-")
        try:
            for rel, data in files:
                parts = wire.file_parts(rel)
                here = folder
                for part in parts[:-1]:
                    here = os.path.join(here, part)
                    if not os.path.isdir(here):
                        os.mkdir(here, 0o700)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
                with os.fdopen(os.open(os.path.join(here, parts[-1]), flags, 0o600), "wb") as handle:
                    handle.write(data)
        except (OSError, wire.ProtocolError) as exc:
            _remove_tree(folder)
            from .zygote_handle import ZygoteFailure
            raise ZygoteFailure("the submission's scratch space could not be made (%s)" % exc) from None
        self.folder = folder
        return folder

    def close_submission(self) -> None:
        self._end_worker()
        if self.folder is not None:
            _remove_tree(self.folder)
            self.folder = None

    def fork(self) -> socket.socket:
        """Start a worker; the grader's end of its connection, once it has proved its token."""
        from .zygote_handle import ZygoteFailure, child_env
        self._end_worker()
        token = secrets.token_hex(TOKEN_BYTES // 2)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            config = {"spawn": True, "mode": "spawn", "port": listener.getsockname()[1], "token": token,
                      "limits": self.limits.to_child(), "contain": False}
            env = dict(child_env(), MPLCONFIGDIR=os.path.join(self.folder or tempfile.gettempdir(), ".matplotlib"))
            if os.name == "nt":   # Windows needs these to start an interpreter at all
                env.update({k: v for k, v in os.environ.items() if k.upper() in ("SYSTEMROOT", "WINDIR")})
            try:
                self.proc = subprocess.Popen(child_command(config), stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             env=env, cwd=self.folder or None, **_flags())
            except OSError as exc:
                raise ZygoteFailure("a worker could not be started (%s)" % exc) from None
            sock = self._accept(listener, token, time.monotonic() + START_TIMEOUT)
        finally:
            listener.close()
        if sock is None:
            self._end_worker()
            raise ZygoteFailure("a worker did not start within %g s" % START_TIMEOUT)
        sock.setblocking(False)
        return sock

    def _accept(self, listener: socket.socket, token: str, deadline: float) -> Optional[socket.socket]:
        """The connection that sends ``token`` first; any other is closed. None at the deadline."""
        while time.monotonic() < deadline and self.proc is not None and self.proc.poll() is None:
            listener.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                continue
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                said = b""
                while len(said) < TOKEN_BYTES:
                    chunk = sock.recv(TOKEN_BYTES - len(said))
                    if not chunk:
                        break
                    said += chunk
            except OSError:
                said = b""
            if hmac.compare_digest(said, token.encode("ascii")):
                return sock
            sock.close()
        return None

    def ended(self, kill: bool) -> Dict[str, Any]:
        """How the live worker ended: waited for (a grace) unless ``kill``, then killed with its tree."""
        proc = self.proc
        if proc is None:
            return {"signal": None, "code": None}
        if not kill:
            try:
                proc.wait(timeout=END_GRACE)
            except subprocess.TimeoutExpired:
                pass
        _kill_tree(proc)
        code = proc.wait()
        self.proc = None
        return {"signal": -code, "code": None} if code < 0 else {"signal": None, "code": code}

    def _end_worker(self) -> None:
        if self.proc is not None:
            self.ended(kill=True)

    def stop(self) -> None:
        self._end_worker()

    def close(self) -> None:
        self.close_submission()
