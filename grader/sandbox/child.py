"""The sandboxed child: a zygote that forks one worker per part to run student code.

Run as ``python -I child.py READ_FD WRITE_FD``. The zygote imports numpy once and
never imports student or reference code; for every ``load`` it forks a worker,
waits for it and reports how it ended. The worker loads the student's modules
(injecting the reference modules the grader sent for isolation) and answers
calls until told to end. Only tagged values cross (see wire.py); what the
student prints is captured per call, capped, and returned as text.
"""
import importlib.util  # before any finder of ours is installed: find_spec must not import
import os
import random  # noqa: F401  (student code and testfns share the one random module)
import signal
import sys
import time
import traceback
import types

import numpy as np

# `python -I` leaves the script's folder off sys.path: add it for our two
# siblings only, and take it away before any student code runs.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import testfns  # noqa: E402
import wire  # noqa: E402
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


def inject_reference(modules):
    """Place reference modules (name -> source) in sys.modules, as the isolation rule asks."""
    for name, source in modules.items():
        module = types.ModuleType(name)
        module.__file__ = "<reference %s>" % name
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)


def load(message):
    """Load the requested student modules; return the reply and the functions found."""
    directory = message["dir"]
    os.chdir(directory)
    sys.path.insert(0, directory)
    inject_reference(message.get("inject", {}))
    finder = StudentFinder(directory)
    sys.meta_path.insert(0, finder)
    functions, found, capture = {}, {}, CappedWriter()
    sys.stdout = sys.stderr = capture
    try:
        for module_name, fn_name in message["targets"]:
            key = module_name + "." + fn_name
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", "").startswith("<reference"):
                if not os.path.isfile(os.path.join(directory, module_name + ".py")):
                    found[key] = "no file"
                    continue
                try:
                    module = __import__(module_name)
                except BaseException as exc:
                    finder.report.setdefault(module_name, dict(describe_error(exc), status="error"))
                    found[key] = "module failed"
                    continue
            for fname, ref_module in message.get("rebind", {}).items():
                if fname in module.__dict__ and ref_module in sys.modules:
                    module.__dict__[fname] = getattr(sys.modules[ref_module], fname)
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
    reply = {"op": "loaded", "pid": os.getpid(), "found": found,
             "modules": finder.report, "stdout": capture.text()}
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
    result["value"] = wire.encode(value) if error is None else {"t": "none"}
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


def serve(rfd, wfd, functions):
    while True:
        message = wire.recv(rfd)
        if message.get("op") == "end":
            return
        try:
            reply = handle_call(functions, message)
        except (KeyError, wire.ProtocolError) as exc:
            reply = {"op": "refused", "why": str(exc)[:200]}
        wire.send(wfd, reply)


def worker(rfd, wfd, message):
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        reply, functions = load(message)
        wire.send(wfd, reply)
        serve(rfd, wfd, functions)
    finally:
        os._exit(0)


def zygote(rfd, wfd):
    while True:
        try:
            message = wire.recv(rfd)
        except wire.Closed:
            return
        if message.get("op") != "load":
            return
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.read(go_r, 1)   # wait until the grader knows our pid: see below
            os.close(go_r)
            worker(rfd, wfd, message)
        os.close(go_r)
        # The grader learns the worker's pid before the worker runs any student
        # code, so it can kill the worker's process group on a timeout at load.
        # Sent before the worker may write, the two messages never interleave.
        wire.send(wfd, {"op": "forked", "pid": pid})
        os.write(go_w, b"g")
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            ended = {"op": "exited", "signal": os.WTERMSIG(status), "code": None}
        else:
            ended = {"op": "exited", "signal": None, "code": os.WEXITSTATUS(status)}
        wire.send(wfd, ended)


def main(argv):
    rfd, wfd = int(argv[1]), int(argv[2])
    # Student output must never reach the protocol pipes or the grader's terminal.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    zygote(rfd, wfd)


if __name__ == "__main__":
    main(sys.argv)
