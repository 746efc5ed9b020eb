"""The sandboxed child: a zygote that forks the workers that run student code.

Run as ``python -I [-S] zygote.py CONFIG_JSON``; CONFIG_JSON gives the control
socket's fd, the isolation mode, an optional extra module folder (``site``:
numpy and fissix alone, in the private view of bwrap mode), the work folder and
the unprivileged uid/gid for workers. The resource limits and the folders to
hide come in the first message (``configure``): the grader may start the
zygote before it has read its rubric.

The zygote imports numpy (and the modules students commonly use) once and never
imports student or reference code; it holds nothing secret, since everything
it has is inherited by the workers it forks. It obeys only its control socket
(from the grader): ``open`` writes a submission's files into a fresh
size-limited tmpfs, ``fork`` (with a socket passed along, SCM_RIGHTS) starts a
worker that holds that socket and nothing else of the zygote's, ``kill`` ends
it, ``close`` removes everything the submission left. It reports each
worker's end. A worker enters its own IPC namespace, drops privileges, sets
its limits, then serves the grader over its own socket: ``prepare`` (port the
files, porting.py), then ``load`` (the student's modules, with proxies for the
isolated functions: they call back to the grader, so no reference code is ever
here) and the calls that follow; a later ``load`` adds the next part's modules
(parts with the same stand-ins share a worker).
"""
import base64
import importlib
import json
import os
import select
import signal
import socket
import sys

CONFIG = json.loads(sys.argv[1]) if __name__ == "__main__" else {}
for _site in reversed(CONFIG.get("site") or []):
    sys.path.insert(0, _site)

# Everything a worker may import is imported here, while the interpreter's own
# files are still readable: after the worker drops to an unprivileged uid, a
# Python installed in a 0700 home cannot read its standard library any more.
import collections  # noqa: E402,F401
import copy  # noqa: E402,F401
import encodings.idna  # noqa: E402,F401  (socket's host names)
import functools  # noqa: E402,F401
import glob  # noqa: E402,F401
import heapq  # noqa: E402,F401
import io  # noqa: E402,F401
import importlib.util  # noqa: E402  (before any finder of ours: find_spec must not import)
import itertools  # noqa: E402,F401
import math  # noqa: E402,F401
import operator  # noqa: E402,F401
import pickle  # noqa: E402,F401
import random  # noqa: E402,F401  (student code and the cost proxies share the one random module)
import re  # noqa: E402,F401
try:
    import resource  # noqa: E402
except ImportError:   # Windows: the spawn path sets the limits the platform has, and none there
    resource = None
import shutil  # noqa: E402,F401
import string  # noqa: E402,F401
import tempfile  # noqa: E402,F401
import time  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402,F401

import numpy as np  # noqa: E402
import numpy.fft  # noqa: E402,F401
import numpy.linalg  # noqa: E402,F401
import numpy.random  # noqa: E402,F401

# `python -I` leaves the script's folder off sys.path: add it for our siblings
# only, and take it away before any student code runs.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import in_worker  # noqa: E402
import wire  # noqa: E402
if not CONFIG.get("spawn"):
    import kernel  # noqa: E402  (Linux only; the spawn path never needs it)
try:
    import porting  # noqa: E402
    PORTING_PROBLEM = porting.preload()
except Exception as _exc:  # noqa: BLE001 - Python 2 porting is optional: its failure costs only itself
    porting, PORTING_PROBLEM = None, "the porting module failed to load (%s)" % _exc
sys.path.remove(_HERE)
if CONFIG.get("mode") == "uid":
    # A dropped uid may not read the interpreter's home (pyenv under a 0700 /root): what the
    # course's environment offers is imported now. In bwrap, students import it when they need it.
    for _name in ("numpy.testing", "scipy.special", "matplotlib.pyplot"):
        try:
            importlib.import_module(_name)
        except Exception:  # noqa: BLE001 - not installed, or broken: students get a clear ImportError
            pass

# ---------------------------------------------------------------- processes

_exit = os._exit   # bound now: student code may replace os._exit in its own worker
SHARED_TEMP = ("/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue", "/var/crash")
_TOKEN = re.compile(r"^[0-9a-f]{16,64}$")


def drop(config):
    """Become the workers' unprivileged uid (no-op without one)."""
    if config.get("uid") is not None:
        os.setgroups([])
        os.setgid(int(config["gid"]))
        os.setuid(int(config["uid"]))


def restrict(config):
    """Limits and the unprivileged identity of a worker, before any student code runs."""
    limits = config.get("limits", {})
    for name, value in (("RLIMIT_AS", limits.get("memory_bytes")), ("RLIMIT_FSIZE", limits.get("file_bytes")),
                        ("RLIMIT_CPU", limits.get("cpu_seconds")), ("RLIMIT_NPROC", limits.get("processes")),
                        ("RLIMIT_NOFILE", limits.get("open_files")), ("RLIMIT_CORE", 0)):
        if value is not None and hasattr(resource, name):
            try:
                resource.setrlimit(getattr(resource, name), (int(value), int(value)))
            except (ValueError, OSError):
                pass
    if config.get("spawn"):
        return   # no Linux calls: the portable path has the limits above, where the platform has them
    try:   # out of memory, the kernel ends this worker first, never the zygote
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    # No setuid program can give back what the uid drop takes away.
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
    drop(config)
    if config.get("userns"):
        # A user namespace of its own: the zygote's rights (its mounts, its namespaces) are out of reach.
        kernel.unshare(kernel.CLONE_NEWUSER)
    if config.get("seccomp"):
        kernel.refuse_syscalls()   # last: nothing above needs the calls it refuses


def prepare(message):
    """Make the submission's files loadable (porting.py), within this worker's limits.

    Without fissix the files are still decoded and their imports made plain;
    only Python 2 files stay as they are, and the reply says why (``porting``).
    """
    if porting is None:
        return {"op": "prepared", "reports": {}, "porting": PORTING_PROBLEM}
    try:
        reply = {"op": "prepared", "reports": porting.prepare(message["dir"], bool(message.get("reject")))}
    except BaseException as exc:  # noqa: B902 - a MemoryError on a huge file is the student's, not ours
        reply = {"op": "prepared", "reports": {}, "error": in_worker.describe_error(exc)}
    if PORTING_PROBLEM:
        reply["porting"] = PORTING_PROBLEM
    return reply


def worker(fd, config):
    """One part's worker: its own socket to the grader, nothing of the zygote's."""
    try:
        if hasattr(os, "setpgid"):
            os.setpgid(0, 0)
        for name in ("SIGTERM", "SIGUSR1", "SIGCHLD"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        if config.get("contain"):
            kernel.unshare(kernel.CLONE_NEWIPC)   # SysV objects die with this worker
        restrict(config)
        channel = in_worker.Channel(fd)
        message = wire.recv(fd)
        if isinstance(message.get("dir"), str):
            # matplotlib plots off screen and keeps its cache in the submission's own scratch; in
            # plain mode temporary files go there too, so they go when the submission does.
            os.environ["MPLCONFIGDIR"] = os.path.join(message["dir"], ".matplotlib")
            if not config.get("contain"):
                for name in ("TMPDIR", "TEMP", "TMP"):
                    os.environ[name] = message["dir"]
                tempfile.tempdir = None
        if message.get("op") == "prepare":
            wire.send(fd, prepare(message))
            message = wire.recv(fd)   # nothing of the student's has run here: this worker may load next
        if message.get("op") == "load":
            reply, functions = in_worker.load(message, channel)
            wire.send(fd, reply)
            in_worker.serve(channel, functions)
    finally:
        _exit(0)


def nest(fd, config):
    """userns mode: the worker runs as pid 1 of a pid namespace of its own; this process stands for it.

    All the worker's processes end with it, wherever they went, and none of them
    can name the zygote. This process holds nothing of the worker's and ends as
    the worker ended (the same exit code or signal); killed, it takes the
    worker along (the worker's parent-death signal).
    """
    alive_r, alive_w = os.pipe()
    try:
        kernel.unshare(kernel.CLONE_NEWPID)
        pid = os.fork()
    except BaseException:  # noqa: B902
        _exit(70)
    if pid == 0:
        os.close(alive_w)
        kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([alive_r], [], [], 0)[0]:
            _exit(70)   # this stand-in died before the death signal was set: end now
        os.close(alive_r)
        worker(fd, config)
    os.close(fd)
    os.close(alive_r)
    while True:
        try:
            status = os.waitpid(pid, 0)[1]
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
    _exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def descendants():
    """Every process below this one (by the parents /proc gives), deepest last."""
    me = os.getpid()
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, "rb") as handle:
                    fields = handle.read()
                fields = fields[fields.rindex(b")") + 2:].split()
                if fields[0] not in (b"Z", b"X"):   # dead already: reaped by its parent, nothing to kill
                    parents.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [me]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child != me and child not in found:
                found.append(child)
                todo.append(child)
    return found


def sweep_descendants(keep=None):
    """Plain mode: kill every process the workers left (this zygote is their subreaper) and reap them.

    ``keep``: the live worker's pid, reaped by its own pidfd, never here.
    """
    for _ in range(200):
        found = descendants()
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in found:
            if pid != keep:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except OSError:
                    pass
        time.sleep(0.002)


def sweep(config, keep=None):
    """Kill every process of the workers' uid (escapees from the worker's group included).

    Without a uid of their own (plain mode), every process below this zygote.
    """
    if config.get("uid") is None:
        if not config.get("contain") and not config.get("userns"):
            sweep_descendants(keep)
        return
    pid = os.fork()
    if pid == 0:
        try:
            drop(config)
            # As that uid, kill(-1) reaches exactly its processes; again until none is left alive
            # (one that holds much memory takes a moment to go), for two seconds at most.
            end = time.monotonic() + 2
            while True:
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                if not _alive_of(os.getuid()) or time.monotonic() > end:
                    break
                time.sleep(0.005)
        finally:
            _exit(0)
    os.waitpid(pid, 0)


def _alive_of(uid):
    """Pids of ``uid``'s processes that are not dead already (zombies wait only for their parent)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                if os.stat("/proc/" + entry).st_uid != uid:
                    continue
                with open("/proc/%s/stat" % entry, "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            if stat[stat.rindex(b")") + 2:][:1] not in (b"Z", b"X"):
                found.append(int(entry))
    return found


def contain(config):
    """Namespaces and empty temporary folders for everything this zygote forks.

    bwrap has already given new network, IPC and pid namespaces; in uid mode
    the zygote (root on the host) makes its own mount, IPC and network
    namespaces. In both, the world-writable folders a worker could leave
    something in are covered by empty read-only file systems, and /tmp gets a
    fresh size-limited tmpfs for each submission (``open_submission``).
    """
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    if not config.get("contain"):
        # plain, or uid mode where the kernel refuses (--i-know-it-is-unsafe): whatever a worker
        # leaves running becomes this zygote's child, so the sweep finds it.
        kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
        return
    if config.get("mode") == "uid":
        kernel.unshare(kernel.CLONE_NEWNS | kernel.CLONE_NEWIPC | kernel.CLONE_NEWNET)
        kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
        # The reference and the grader's code (this program included: it is loaded already)
        # are readable by anyone on the host; here they are empty folders.
        for folder in config.get("hide", []):
            if os.path.isdir(folder) and not os.path.islink(folder):
                kernel.tmpfs(folder, 4096, mode="0755", readonly=True)
        # Other users' processes out of sight: the grader's command line names the class's folder.
        kernel.mount("proc", "/proc", "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC, "hidepid=2")
    for folder in SHARED_TEMP:
        if os.path.isdir(folder) and not os.path.islink(folder):
            kernel.tmpfs(folder, 4096, mode="0755", readonly=True)
    probe = os.fork()   # each worker will need its namespaces: fail now, not later
    if probe == 0:
        try:
            kernel.unshare(kernel.CLONE_NEWIPC | (kernel.CLONE_NEWPID if config.get("userns") else 0))
            if config.get("userns"):
                inner = os.fork()
                if inner == 0:
                    try:
                        kernel.unshare(kernel.CLONE_NEWUSER)
                        _exit(0)
                    except BaseException:  # noqa: B902
                        _exit(1)
                _exit(0 if os.waitpid(inner, 0)[1] == 0 else 1)
            _exit(0)
        except BaseException:  # noqa: B902
            _exit(1)
    if os.waitpid(probe, 0)[1] != 0:
        raise OSError("a worker cannot get its own namespaces (IPC%s)" % (
            ", pid and user" if config.get("userns") else ""))


def open_submission(message, config):
    """A fresh folder with the submission's files, owned by the workers' uid; its path."""
    token = message.get("token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise wire.ProtocolError("bad token")
    files = [(wire.file_parts(rel), base64.b64decode(data)) for rel, data in message.get("files", [])]
    work = config["work"]
    if config.get("contain"):
        # This submission's /tmp, and only its: bounded in bytes and in files.
        kernel.tmpfs(work, int(message.get("quota", 64 << 20)), inodes=int(message.get("inodes", 4096)))
    folder = os.path.join(work, "s-" + token)
    if not config.get("contain"):
        # On the host, in the grader's 0711 folder that no worker can write: made by us, handed over by fd.
        os.mkdir(folder, 0o700)
        if config.get("uid") is not None:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                os.fchown(fd, int(config["uid"]), int(config["gid"]))
            finally:
                os.close(fd)
    pid = os.fork()
    if pid == 0:   # the files are written with the student's own rights
        try:
            drop(config)
            if config.get("contain"):
                os.mkdir(folder, 0o700)   # in this submission's own tmpfs
            for parts, data in files:
                here = folder
                for part in parts[:-1]:
                    here = os.path.join(here, part)
                    if not os.path.isdir(here):
                        os.mkdir(here, 0o700)
                fd = os.open(os.path.join(here, parts[-1]), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            _exit(0)
        except BaseException:  # noqa: B902
            _exit(1)
    if os.waitpid(pid, 0)[1] != 0:
        raise OSError("the submission's files could not be written")
    return folder


def close_submission(folder, config):
    """Everything the submission left is gone: its processes, its files, its /tmp."""
    sweep(config)
    if config.get("contain"):
        kernel.umount(config["work"])   # detached at once, whatever depth or count of files
        return
    # Uncontained: remove with the workers' own rights (so no link leads anywhere they could
    # not go) what they left in their folder and, with a uid, in the shared temporary folders.
    targets = [folder] if folder else []
    if config.get("uid") is not None:
        targets += _owned_anywhere(int(config["uid"]))
    ipc = _sysv_objects(int(config["uid"])) if config.get("uid") is not None else []
    if config.get("uid") is None and _BEFORE is not None:
        # Plain mode as an ordinary user: what this uid made in the shared folders while the
        # submission ran, less the grader's own folders (a1grader-*).
        targets += [path for path in _owned(os.geteuid()) if path not in _BEFORE[0]
                    and not os.path.basename(path).startswith("a1grader-")]
        ipc += [arg for pair in _pairs(_sysv_objects(os.geteuid())) if pair not in _BEFORE[1] for arg in pair]
    if not targets and not ipc:
        return
    pid = os.fork()
    if pid == 0:
        try:
            drop(config)
            if ipc:
                helper = os.fork()
                if helper == 0:
                    os.execvp("ipcrm", ["ipcrm"] + ipc)
                os.waitpid(helper, 0)
            if targets:
                os.execvp("rm", ["rm", "-rf", "--"] + targets)   # rm copes with any depth, never follows links
        finally:
            _exit(1)
    os.waitpid(pid, 0)


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
_BEFORE = None   # plain mode as an ordinary user: what the uid owned in shared places before the submission


def _owned(uid):
    """Paths of the entries in the shared temporary folders that ``uid`` owns."""
    found = []
    for shared in SHARED_FOLDERS:
        try:
            found += [entry.path for entry in os.scandir(shared) if entry.stat(follow_symlinks=False).st_uid == uid]
        except OSError:
            pass
    return found


def _owned_anywhere(uid):
    """Paths ``uid`` owns in the shared temporary folders, at any depth (a world-writable folder
    inside one hides a note as well as the top does); topmost only, since rm takes what is below."""
    found = []
    for shared in SHARED_FOLDERS:
        pending = [shared]
        while pending and len(found) < 10000:
            here = pending.pop()
            try:
                entries = list(os.scandir(here))
            except OSError:
                continue
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_uid == uid:
                    found.append(entry.path)
                elif entry.is_dir(follow_symlinks=False) and info.st_mode & 0o002:
                    pending.append(entry.path)   # world-writable: the uid may have left something inside
    return found


def _pairs(args):
    return [tuple(args[k:k + 2]) for k in range(0, len(args), 2)]


def remember_shared(config):
    """Plain mode as an ordinary user: note what is ours in the shared places before a submission runs."""
    global _BEFORE
    if config.get("uid") is None and not config.get("contain") and os.geteuid() != 0:
        _BEFORE = (set(_owned(os.geteuid())), set(_pairs(_sysv_objects(os.geteuid()))))


def _sysv_objects(uid):
    """ipcrm arguments for the SysV shared memory, queues and semaphores ``uid`` owns."""
    out = []
    for kind, flag in (("shm", "-m"), ("msg", "-q"), ("sem", "-s")):
        try:
            with open("/proc/sysvipc/" + kind) as handle:
                header = handle.readline().split()
                for line in handle:
                    row = dict(zip(header, line.split()))
                    if row.get("uid") == str(uid):
                        out += [flag, row[header[1]]]
        except (OSError, IndexError, KeyError):
            pass
    return out


class Zygote:
    """Forks workers on the grader's request and reports how each one ended.

    Its control socket is its own: a worker closes it before anything else
    and talks to the grader only over the socket the grader made for it.
    """

    def __init__(self, config):
        self.config = config
        self.ctrl = socket.socket(fileno=int(config["control"]))
        self.ctrl.setblocking(True)
        self.pid = self.pidfd = None
        self.folder = None

    def send(self, message):
        wire.send(self.ctrl.fileno(), message)

    def run(self):
        while True:
            watch = [self.ctrl] + ([self.pidfd] if self.pidfd is not None else [])
            ready = select.select(watch, [], [])[0]
            if self.pidfd is not None and self.pidfd in ready:
                self.reap()
            if self.ctrl in ready:
                try:
                    message = wire.recv(self.ctrl.fileno())
                except (wire.Closed, wire.ProtocolError):
                    self.kill()
                    return
                if not self.handle(message):
                    self.kill()
                    return

    def handle(self, message):
        op = message.get("op")
        if op == "fork":
            _, fds, _, _ = socket.recv_fds(self.ctrl, 1, 1)
            if len(fds) != 1 or self.pid is not None:
                return False
            self.fork(fds[0])
        elif op == "kill":
            self.kill()
        elif op == "open":
            try:
                remember_shared(self.config)
                self.folder = open_submission(message, self.config)
                self.send({"op": "opened", "dir": self.folder})
            except (OSError, ValueError, wire.ProtocolError) as exc:
                self.send({"op": "open_failed", "why": str(exc)[:300]})
        elif op == "close":
            self.kill()
            if self.pid is not None:
                os.waitpid(self.pid, 0)
                self._forget()
            try:
                close_submission(self.folder, self.config)
                self.send({"op": "closed", "ok": True})
            except (OSError, ValueError) as exc:
                self.send({"op": "closed", "ok": False, "why": str(exc)[:300]})
            self.folder = None
        else:
            return False
        return True

    def fork(self, fd):
        pid = os.fork()
        if pid == 0:
            self.ctrl.close()
            if self.config.get("userns"):
                nest(fd, self.config)
            worker(fd, self.config)
        os.close(fd)
        self.pid, self.pidfd = pid, os.pidfd_open(pid)
        self.send({"op": "forked"})

    def kill(self):
        if self.pid is not None:
            for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
                try:
                    target()
                except OSError:
                    pass
        sweep(self.config, keep=self.pid)

    def reap(self):
        _, status = os.waitpid(self.pid, 0)
        self._forget()
        sweep(self.config)   # whatever the worker started, wherever it went
        if os.WIFSIGNALED(status):
            self.send({"op": "exited", "signal": os.WTERMSIG(status), "code": None})
        else:
            self.send({"op": "exited", "signal": None, "code": os.WEXITSTATUS(status)})

    def _forget(self):
        os.close(self.pidfd)
        self.pid = self.pidfd = None


def spawned():
    """The portable path: this process is one worker. It connects back to the grader on the
    loopback address it was given and proves who it is with the token; then it serves."""
    sock = socket.create_connection(("127.0.0.1", int(CONFIG["port"])), timeout=30)
    sock.settimeout(None)
    sock.sendall(CONFIG["token"].encode("ascii"))
    worker(sock.fileno(), CONFIG)


def main():
    # Student output must never reach the grader's terminal.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if CONFIG.get("spawn"):
        return spawned()
    zygote = Zygote(CONFIG)
    # The grader starts this process before it has read its rubric: the limits and the
    # folders to hide come in the first message, and nothing else is obeyed before it.
    try:
        first = wire.recv(zygote.ctrl.fileno())
    except (wire.Closed, wire.ProtocolError):
        return
    if first.get("op") != "configure":
        return
    CONFIG["limits"], CONFIG["hide"] = dict(first.get("limits") or {}), list(first.get("hide") or [])
    try:
        contain(CONFIG)
    except OSError as exc:
        zygote.send({"op": "ready", "error": "the sandbox cannot be contained here (%s)" % exc})
        return
    zygote.send({"op": "ready", "porting": porting is not None})
    zygote.run()


if __name__ == "__main__":
    main()
