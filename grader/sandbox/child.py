"""The sandboxed child: a zygote that forks one worker per part to run student code.

Run as ``python -I [-S] child.py CONFIG_JSON``; CONFIG_JSON gives the control
socket's fd, the isolation mode, an optional extra module folder (``site``:
numpy and fissix alone, in the private view of bwrap mode), the work folder,
the unprivileged uid/gid for workers and the resource limits.

The zygote imports numpy (and the modules students commonly use) once and never
imports student or reference code; it holds nothing secret, since everything
it has is inherited by the workers it forks. It obeys only its control socket
(from the grader): ``open`` writes a submission's files into a fresh
size-limited tmpfs, ``fork`` (with a socket passed along, SCM_RIGHTS) starts a
worker that holds that socket and nothing else of the zygote's, ``kill`` ends
it, ``close`` removes everything the submission left. It reports each
worker's end. A worker enters its own IPC namespace, drops privileges, sets
its limits, then serves the grader over its own socket: ``prepare`` (port the
files, porting.py) or ``load`` (the student's modules, with proxies for the
isolated functions: they call back to the grader, so no reference code is ever
here) and the calls that follow.
"""
import base64
import json
import os
import select
import signal
import socket
import sys

CONFIG = json.loads(sys.argv[1]) if __name__ == "__main__" else {}
if CONFIG.get("site"):
    sys.path.insert(0, CONFIG["site"])

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
import random  # noqa: E402,F401  (student code and testfns share the one random module)
import re  # noqa: E402,F401
import resource  # noqa: E402
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
import numpy.testing  # noqa: E402,F401

# `python -I` leaves the script's folder off sys.path: add it for our siblings
# only, and take it away before any student code runs.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import kernel  # noqa: E402
import testfns  # noqa: E402
import wire  # noqa: E402
try:
    import porting  # noqa: E402
    if not porting.preload():
        porting = None
except ImportError:
    porting = None
sys.path.remove(_HERE)

STDOUT_CAP = 8 * 1024


class CappedWriter:
    """A text stream that keeps the first STDOUT_CAP characters and counts the rest."""

    def __init__(self, cap=STDOUT_CAP):
        self.cap, self.parts, self.kept, self.dropped = cap, [], 0, 0

    def write(self, text):
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def text(self):
        out = "".join(self.parts)
        if self.dropped:
            out += "\n[... %d more characters not shown]" % self.dropped
        return out


# ---------------------------------------------------------------- loading

def describe_error(exc, filename=None):
    """One exception as data: type, message, and the last line in the student's files."""
    tb = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    where = None
    for frame in reversed(tb):
        if frame.filename.startswith(os.getcwd() + os.sep) or frame.filename == filename:
            where = frame
            break
    if isinstance(exc, SyntaxError) and exc.lineno:
        file, line = os.path.basename(exc.filename or filename or "?"), exc.lineno
    elif where is not None:
        file, line = os.path.basename(where.filename), where.lineno
    else:
        file, line = None, None
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    if isinstance(exc, SystemExit):
        message = "exit(%s)" % (exc.code,)
    return {"type": type(exc).__name__, "message": message[:500], "file": file, "line": line}


class StudentFinder:
    """Imports the student's own .py files tolerantly.

    Top-level code that raises (a sanity check outside ``__main__``, ``sys.exit``)
    leaves the module with whatever it defined before the error, and the error
    is recorded: one bad line must not cost functions that were already defined.
    """

    def __init__(self, directory):
        self.directory = directory
        self.report = {}

    def find_spec(self, name, path=None, target=None):
        if "." in name:
            return None
        file = os.path.join(self.directory, name + ".py")
        if not os.path.isfile(file):
            return None
        return importlib.util.spec_from_file_location(name, file, loader=self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name, file = module.__name__, module.__file__
        try:
            with open(file, "rb") as handle:
                code = compile(handle.read(), file, "exec", dont_inherit=True)
        except SyntaxError as exc:
            self.report[name] = dict(describe_error(exc, file), status="error")
            raise ImportError("%s could not be compiled" % name) from None
        except (OSError, ValueError) as exc:
            self.report[name] = dict(describe_error(exc, file), status="error")
            raise ImportError("%s could not be read" % name) from None
        try:
            exec(code, module.__dict__)
        except BaseException as exc:  # noqa: B902 - SystemExit at import included
            self.report[name] = dict(describe_error(exc, file), status="partial")
        else:
            self.report.setdefault(name, {"status": "ok"})


class Channel:
    """The worker's own socket to the grader; also carries proxy calls back to it."""

    def __init__(self, fd):
        self.rfd = self.wfd = fd

    def callback(self, name, args):
        """Ask the grader to run the reference's ``name`` on ``args``; return its value.

        The student's code sees an ordinary function. Errors come back as a
        built-in exception type of the same name where there is one.
        """
        wire.send(self.wfd, {"op": "callback", "fn": name, "args": [wire.encode(a) for a in args]})
        reply = wire.recv(self.rfd)
        if reply.get("op") != "callback_result":
            raise RuntimeError("the grader did not answer the call of %s" % name)
        if reply.get("error"):
            error = reply["error"]
            kind = getattr(__builtins__, str(error.get("type")), None) if not isinstance(
                __builtins__, dict) else __builtins__.get(str(error.get("type")))
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                kind = RuntimeError
            raise kind(str(error.get("message", "")))
        return wire.decode(reply.get("value"))


def _proxy(channel, name):
    def proxy(*args):
        return channel.callback(name, args)

    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def _gradcheck_stub(f, x):
    """Stands in for gradcheck_naive while another function is graded: checks nothing."""
    return None


def install_proxies(channel, modules):
    """Modules named as the student imports them, whose isolated functions call the grader."""
    for module_name, names in modules.items():
        module = types.ModuleType(module_name)
        module.__file__ = "<grader proxy %s>" % module_name
        for name in names:
            setattr(module, name, _gradcheck_stub if name == "gradcheck_naive" else _proxy(channel, name))
        sys.modules[module_name] = module


# Removed from numpy in 1.24 but common in older submissions (legacy.py notes their use).
NUMPY_ALIASES = {"float": float, "int": int, "object": object, "complex": complex, "str": str, "bool": bool}


def restore_numpy_aliases():
    for name, value in NUMPY_ALIASES.items():
        try:
            getattr(np, name)
        except AttributeError:
            setattr(np, name, value)


def load(message, channel):
    """Load the requested student modules; return the reply and the functions found."""
    restore_numpy_aliases()
    directory = message["dir"]
    os.chdir(directory)
    sys.path.insert(0, directory)
    install_proxies(channel, message.get("inject", {}))
    finder = StudentFinder(directory)
    sys.meta_path.insert(0, finder)
    functions, found, capture = {}, {}, CappedWriter()
    sys.stdout = sys.stderr = capture
    try:
        for module_name, fn_name in message["targets"]:
            key = module_name + "." + fn_name
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", "").startswith("<grader proxy"):
                if not os.path.isfile(os.path.join(directory, module_name + ".py")):
                    found[key] = "no file"
                    continue
                try:
                    module = __import__(module_name)
                except BaseException as exc:
                    finder.report.setdefault(module_name, dict(describe_error(exc), status="error"))
                    found[key] = "module failed"
                    continue
            for fname, proxy_module in message.get("rebind", {}).items():
                if fname in module.__dict__ and proxy_module in sys.modules:
                    module.__dict__[fname] = getattr(sys.modules[proxy_module], fname)
            fn = module.__dict__.get(fn_name)
            if callable(fn):
                functions[key] = fn
                found[key] = "ok"
                if message.get("first"):
                    break  # the first candidate found is the one graded: load no more
            else:
                found[key] = "not defined" if fn is None else "not callable"
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    reply = {"op": "loaded", "found": found, "modules": finder.report, "stdout": capture.text()}
    return reply, functions


# ---------------------------------------------------------------- calls

def materialize(args):
    """Decode call arguments; build catalogue functions with a log of their calls."""
    logs, out = [], []
    for raw in args:
        value = wire.decode(raw)
        if isinstance(value, wire.FunctionSpec):
            if value.name not in testfns.CATALOGUE:
                raise wire.ProtocolError("unknown function %r" % value.name)
            log = []
            logs.append(log)
            value = testfns.build(value.name, value.params, log)
        out.append(value)
    return out, logs


def call_once(fn, args, keep_args):
    capture = CappedWriter()
    sys.stdout = sys.stderr = capture
    start = time.perf_counter()
    value, error = None, None
    try:
        value = fn(*args)
    except BaseException as exc:  # noqa: B902 - the student's SystemExit is a result too
        error = describe_error(exc)
    finally:
        elapsed = time.perf_counter() - start
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    result = {"error": error, "stdout": capture.text(), "elapsed": elapsed}
    try:
        result["value"] = wire.encode(value) if error is None else {"t": "none"}
    except MemoryError:
        result["value"] = {"t": "other", "type": "?", "v": "<too large to send>"}
    if keep_args:
        result["args_after"] = [wire.encode(a) if not callable(a) else {"t": "none"} for a in args]
    return result


def handle_call(functions, message):
    fn = functions[message["fn"]]
    op = message["op"]
    if op == "call":
        args, logs = materialize(message["args"])
        result = call_once(fn, args, message.get("keep_args", False))
        result["f_calls"] = [[wire.encode(x) for x in log] for log in logs]
        return {"op": "result", "result": result}
    if op == "map":
        base, _ = materialize(message["args"])
        index = message["vary"]
        results = []
        for raw in message["values"]:
            args = list(base)
            args[index] = wire.decode(raw)
            results.append(call_once(fn, args, False))
        return {"op": "results", "results": results}
    if op == "time":
        args, _ = materialize(message["args"])
        best, base = float("inf"), float("inf")
        for _ in range(int(message.get("repeat", 5))):
            copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
            result = call_once(fn, copies, False)
            if result["error"]:
                return {"op": "timed", "error": result["error"]}
            best = min(best, result["elapsed"])
            start = time.perf_counter()
            np.exp(args[0])
            base = min(base, time.perf_counter() - start)
        return {"op": "timed", "student": best, "baseline": base, "error": None}
    raise wire.ProtocolError("unknown op %r" % op)


def serve(channel, functions):
    while True:
        message = wire.recv(channel.rfd)
        if message.get("op") == "end":
            return
        try:
            reply = handle_call(functions, message)
        except (KeyError, wire.ProtocolError) as exc:
            reply = {"op": "refused", "why": str(exc)[:200]}
        wire.send(channel.wfd, reply)


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
                        ("RLIMIT_CORE", 0)):
        if value is not None and hasattr(resource, name):
            try:
                resource.setrlimit(getattr(resource, name), (int(value), int(value)))
            except (ValueError, OSError):
                pass
    # No setuid program can give back what the uid drop takes away.
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
    drop(config)


def prepare(message):
    """Make the submission's files loadable (porting.py), within this worker's limits."""
    if porting is None:
        return {"op": "prepared", "reports": {}, "error": {"type": "ImportError", "message": "fissix is missing"}}
    try:
        return {"op": "prepared", "reports": porting.prepare(message["dir"], bool(message.get("reject")))}
    except BaseException as exc:  # noqa: B902 - a MemoryError on a huge file is the student's, not ours
        return {"op": "prepared", "reports": {}, "error": describe_error(exc)}


def worker(fd, config):
    """One part's worker: its own socket to the grader, nothing of the zygote's."""
    try:
        os.setpgid(0, 0)
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        if config.get("contain"):
            kernel.unshare(kernel.CLONE_NEWIPC)   # SysV objects die with this worker
        restrict(config)
        channel = Channel(fd)
        message = wire.recv(fd)
        if message.get("op") == "prepare":
            wire.send(fd, prepare(message))
        elif message.get("op") == "load":
            reply, functions = load(message, channel)
            wire.send(fd, reply)
            serve(channel, functions)
    finally:
        _exit(0)


def sweep(config):
    """Kill every process of the workers' uid (escapees from the worker's group included)."""
    if config.get("uid") is None:
        return
    pid = os.fork()
    if pid == 0:
        try:
            drop(config)
            os.kill(-1, signal.SIGKILL)   # as that uid: reaches exactly its processes
        finally:
            _exit(0)
    os.waitpid(pid, 0)


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
        return   # plain, or uid mode where the kernel refuses (--i-know-it-is-unsafe)
    if config.get("mode") == "uid":
        kernel.unshare(kernel.CLONE_NEWNS | kernel.CLONE_NEWIPC | kernel.CLONE_NEWNET)
        kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    for folder in SHARED_TEMP:
        if os.path.isdir(folder) and not os.path.islink(folder):
            kernel.tmpfs(folder, 4096, mode="0755", readonly=True)
    probe = os.fork()   # each worker will need a new IPC namespace: fail now, not later
    if probe == 0:
        try:
            kernel.unshare(kernel.CLONE_NEWIPC)
            _exit(0)
        except BaseException:  # noqa: B902
            _exit(1)
    if os.waitpid(probe, 0)[1] != 0:
        raise OSError("a worker cannot get its own IPC namespace")


def _relative(rel):
    """A file name inside the submission, or ProtocolError."""
    parts = rel.split("/") if isinstance(rel, str) else []
    if not parts or len(rel) > 400 or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise wire.ProtocolError("bad file name %r" % (rel,))
    return parts


def open_submission(message, config):
    """A fresh folder with the submission's files, owned by the workers' uid; its path."""
    token = message.get("token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise wire.ProtocolError("bad token")
    files = [(_relative(rel), base64.b64decode(data)) for rel, data in message.get("files", [])]
    work = config["work"]
    if config.get("contain"):
        kernel.tmpfs(work, int(message.get("quota", 64 << 20)))   # this submission's /tmp, and only its
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
        for shared in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
            try:
                targets += [entry.path for entry in os.scandir(shared)
                            if entry.stat(follow_symlinks=False).st_uid == int(config["uid"])]
            except OSError:
                pass
    ipc = _sysv_objects(int(config["uid"])) if config.get("uid") is not None else []
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
        sweep(self.config)

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


def main():
    # Student output must never reach the grader's terminal.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    zygote = Zygote(CONFIG)
    try:
        contain(CONFIG)
    except OSError as exc:
        zygote.send({"op": "ready", "error": "the sandbox cannot be contained here (%s)" % exc})
        return
    zygote.send({"op": "ready", "porting": porting is not None})
    zygote.run()


if __name__ == "__main__":
    main()
