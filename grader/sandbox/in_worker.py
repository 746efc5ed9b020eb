"""Inside a worker: load the student's modules, answer the grader's calls (a plain module of the child).

Imported by zygote.py, next to it; depends on the standard library, numpy
and wire only. Everything here runs with the worker's dropped
privileges, after the student's code may have changed anything in this
process: it only shapes what the worker sends, never what the grader decides.
"""
import ast
import copy
import importlib.util
import os
import sys
import threading
import time
import traceback
import types

import random

import numpy as np

import wire

WHERE_EVERY = 2.0     # seconds between 'where' notes while a student module's top level runs
_NOTE_LOCK = threading.Lock()

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


def _integral(value):
    if isinstance(value, (bool, int, np.integer)):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "biu"


def classic_div(a, b):
    """``a / b`` as Python 2 computed it: floor division when both are integers (numpy's too)."""
    return a // b if _integral(a) and _integral(b) else a / b


def classic_idiv(a, b):
    """``a /= b`` as Python 2 computed it (in place for arrays, as before)."""
    if _integral(a) and _integral(b):
        a //= b
    else:
        a /= b
    return a


class ClassicDivision(ast.NodeTransformer):
    """Rewrites ``/`` and ``/=`` of a ported Python 2 module into classic division, keeping line numbers."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            call = ast.Call(func=ast.Name("__a1_div__", ast.Load()), args=[node.left, node.right], keywords=[])
            return ast.copy_location(call, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            target = copy.deepcopy(node.target)
            for sub in ast.walk(target):
                if hasattr(sub, "ctx"):
                    sub.ctx = ast.Load()
            value = ast.Call(func=ast.Name("__a1_idiv__", ast.Load()), args=[target, node.value], keywords=[])
            return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)
        return node


class StudentFinder:
    """Imports the student's own .py files tolerantly.

    Top-level code that raises (a sanity check outside ``__main__``, ``sys.exit``)
    leaves the module with whatever it defined before the error, and the error
    is recorded: one bad line must not cost functions that were already defined.
    """

    def __init__(self, directory, stand_ins=None, classic=(), channel=None):
        self.directory = directory
        self.report = {}
        self.stand_ins = stand_ins
        self.classic = set(classic)   # modules ported from Python 2: / floors on integers there
        self.channel = channel
        self.broken = {}   # module -> why the grader will not have it run again (it hung or ended a worker)

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
        if name in self.broken:
            self.report[name] = {"status": "error", "type": "NotLoaded", "message": self.broken[name]}
            if self.stand_ins is not None and self.stand_ins.replaces(name):
                self.stand_ins.patch(module)
                return
            raise ImportError("%s.py is not loaded again: %s" % (name, self.broken[name]))
        try:
            with open(file, "rb") as handle:
                source = handle.read()
            if name in self.classic and b"from __future__ import division" not in source:
                tree = ClassicDivision().visit(ast.parse(source, file))
                code = compile(ast.fix_missing_locations(tree), file, "exec", dont_inherit=True)
                module.__dict__["__a1_div__"], module.__dict__["__a1_idiv__"] = classic_div, classic_idiv
            else:
                code = compile(source, file, "exec", dont_inherit=True)
        except (SyntaxError, OSError, ValueError) as exc:
            self.report[name] = dict(describe_error(exc, file), status="error")
            if self.stand_ins is not None and self.stand_ins.replaces(name):
                # Only the stand-ins are needed from it: the part under grading still loads.
                self.stand_ins.patch(module)
                return
            raise ImportError("%s could not be %s" % (name, "compiled" if isinstance(exc, SyntaxError)
                                                       else "read")) from None
        # The grader learns which module a worker was running when it hung or ended (process.Worker),
        # and, while it runs, on which of its lines: a hang is then reported with its file and line.
        self.note("importing", name)
        watch = self._watch(name, file)
        try:
            exec(code, module.__dict__)
        except BaseException as exc:  # noqa: B902 - SystemExit at import included
            self.report[name] = dict(describe_error(exc, file), status="partial")
        else:
            self.report.setdefault(name, {"status": "ok"})
        watch()
        self.note("imported", name)
        if self.stand_ins is not None:
            self.stand_ins.patch(module)


    def note(self, op, name, **more):
        if self.channel is not None:
            with _NOTE_LOCK:     # the watcher thread sends notes too: one frame at a time on the socket
                wire.send(self.channel.wfd, dict(more, op=op, module=name))

    def _watch(self, name, file):
        """While the main thread runs ``file``'s top level, tell the grader every WHERE_EVERY s which of
        its lines runs (the innermost frame in that file), as a 'where' note. Returns the stop function,
        which returns once no note is being sent. No thread (none allowed here): nothing is told."""
        if self.channel is None:
            return lambda: None
        main, stop = threading.get_ident(), threading.Event()

        def run():
            while not stop.wait(WHERE_EVERY):
                frame = sys._current_frames().get(main)
                while frame is not None and frame.f_code.co_filename != file:
                    frame = frame.f_back
                if frame is not None:
                    import linecache
                    text = linecache.getline(file, frame.f_lineno).strip()[:120]
                    with _NOTE_LOCK:
                        if not stop.is_set():
                            wire.send(self.channel.wfd, {"op": "where", "module": name, "line": frame.f_lineno,
                                                         "text": text})
                del frame
        try:
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
        except (RuntimeError, OSError):    # RLIMIT_NPROC: a thread is a process to it
            return lambda: None

        def done():
            with _NOTE_LOCK:
                stop.set()
        return done


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

    def cost(self, handle, x, r):
        """The grader's (cost, gradient) at x for the cost ``handle`` (a compact frame each way)."""
        wire.send(self.wfd, wire.pack_cost_call(handle, x, r))
        return wire.unpack_cost_value(wire.recv(self.rfd))


def _no_op(*args, **kwargs):
    """Stands in for a function called for its printed output only (rubric ``stub: true``)."""
    return None


def _like(value, args):
    """The reference's ``value`` in the form the student's code works in.

    A network written with np.matrix passes matrices and expects matrices back
    (``*`` is then a matrix product): given a matrix, the stand-in answers with
    one. The student's own function is never run to find out: it may be the
    broken one (it may even exit the process).
    """
    first = args[0] if args else None
    if isinstance(first, np.matrix) and isinstance(value, np.ndarray) and not isinstance(value, np.matrix):
        return np.asmatrix(value.reshape(first.shape) if value.size == first.size else value)
    return value


def stand_in(channel, name, stub=False):
    """A graded function this part depends on: the grader answers with the reference's values
    (a ``stub`` answers None at once, and never calls back)."""
    if stub:
        return _no_op

    def f(*args):
        return _like(channel.callback(name, args), args)

    f.__name__ = f.__qualname__ = name
    return f


class StandIns:
    """Where the stand-ins go: into the student's own modules, replacing only those functions.

    ``specs``: for each function, ``home`` (the module the student's graded
    version was found in, or None) and ``module`` (the one a student imports it
    from), and ``stub`` (a no-op stands in). Everything else the student wrote stays theirs: other
    functions of that module, and helpers of the same name elsewhere. A home that
    cannot be loaded, or a module that does not exist, is replaced by a module
    holding the stand-ins alone.
    """

    def __init__(self, channel, specs, graded=()):
        self.channel = channel
        self.graded = set(graded)   # modules holding the function under grading: always the student's
        self.by_home, self.fallback = {}, {}
        self.stubs = {spec["name"] for spec in specs if spec.get("stub")}
        for spec in specs:
            home, module = spec.get("home"), spec["module"]
            if home or module in self.graded:
                self.by_home.setdefault(home or module, []).append(spec["name"])
            else:
                self.fallback.setdefault(module, []).append(spec["name"])

    def install(self):
        for module_name, names in self.fallback.items():
            module = types.ModuleType(module_name)
            module.__file__ = "<grader proxy %s>" % module_name
            self.patch(module, names)
            sys.modules.setdefault(module_name, module)

    def patch(self, module, names=None):
        for name in names if names is not None else self.by_home.get(module.__name__, []):
            module.__dict__[name] = stand_in(self.channel, name, name in self.stubs)

    def replaces(self, module_name):
        """True when a broken ``module_name`` may be stood in for (never a graded module)."""
        return module_name in self.by_home and module_name not in self.graded


# Removed from numpy in 1.24 but common in older submissions (legacy.py notes their use).
NUMPY_ALIASES = {"float": float, "int": int, "object": object, "complex": complex, "str": str, "bool": bool}


def restore_numpy_aliases():
    for name, value in NUMPY_ALIASES.items():
        try:
            getattr(np, name)
        except AttributeError:
            setattr(np, name, value)


_SESSION = {}   # this worker's finder, kept for the next part's load


def load(message, channel):
    """Load the requested student modules; return the reply and the functions found.

    A ``baseline`` worker loads nothing of the student's: it offers the numpy function the
    message names (a ufunc, such as ``exp``), the yardstick the grader times the student's
    function against.
    """
    if message.get("baseline"):
        name = str(message["baseline"])
        fn = getattr(np, name, None)
        if not isinstance(fn, np.ufunc):
            return {"op": "loaded", "found": {}, "modules": {}, "stdout": "",
                    "failure": "crashed", "error": "no numpy function %r to time against" % name[:40]}, {}
        return {"op": "loaded", "found": {"np." + name: "ok"}, "modules": {}, "stdout": ""}, {"np." + name: fn}
    finder = _SESSION.get("finder")
    if finder is None:   # the worker's first part; later parts share its plan (process.Sandbox.open)
        restore_numpy_aliases()
        directory = message["dir"]
        os.chdir(directory)
        sys.path.insert(0, directory)
        stand_ins = StandIns(channel, message.get("stand_ins", []), {m for m, _ in message["targets"]})
        stand_ins.install()
        finder = _SESSION["finder"] = StudentFinder(directory, stand_ins, message.get("classic_division", []),
                                                    channel)
        sys.meta_path.insert(0, finder)
    broken = message.get("broken")
    if isinstance(broken, dict):
        finder.broken.update({str(k): str(v) for k, v in broken.items()})
    directory = finder.directory
    functions, found, capture = {}, {}, CappedWriter()
    sys.stdout = sys.stderr = capture
    chosen = False
    try:
        for module_name, fn_name in message["targets"]:
            key = module_name + "." + fn_name
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", "").startswith("<grader proxy"):
                if chosen:
                    continue   # the first candidate found is the one graded: import no more
                if not os.path.isfile(os.path.join(directory, module_name + ".py")):
                    found[key] = "no file"
                    continue
                try:
                    module = __import__(module_name)
                except BaseException as exc:
                    finder.report.setdefault(module_name, dict(describe_error(exc), status="error"))
                    found[key] = "module failed"
                    continue
            fn = module.__dict__.get(fn_name)
            if callable(fn):
                functions[key] = fn
                found[key] = "ok"
                # Later candidates only from modules already loaded: the grader may find the
                # first one is not what the part means (runner._standalone).
                chosen = bool(message.get("first"))
            else:
                found[key] = "not defined" if fn is None else "not callable"
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    reply = {"op": "loaded", "found": found, "modules": finder.report, "stdout": capture.text()}
    return reply, functions


# ---------------------------------------------------------------- calls

def cost_proxy(channel, handle):
    """The function a student's checker receives: it asks the grader for (cost, grad) at x.

    It draws one number from ``random`` on every call, whatever the cost, so a
    checker that restores the random state before each call gets comparable
    costs, and no cost looks different from another.
    """
    def f(x):
        return channel.cost(handle, np.asarray(x, dtype=np.float64), random.random())

    return f


def materialize(args, channel):
    """Decode call arguments; function handles become proxies that call the grader."""
    out = []
    for raw in args:
        value = wire.decode(raw)
        if isinstance(value, wire.FunctionHandle):
            value = cost_proxy(channel, value.id)
        out.append(value)
    return out


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


def handle_call(functions, message, channel):
    fn = functions[message["fn"]]
    op = message["op"]
    if op == "call":
        args = materialize(message["args"], channel)
        result = call_once(fn, args, message.get("keep_args", False))
        return {"op": "result", "result": result}
    if op == "map":
        base = materialize(message["args"], channel)
        index = message["vary"]
        results = []
        for raw in message["values"]:
            args = list(base)
            args[index] = wire.decode(raw)
            results.append(call_once(fn, args, False))
        return {"op": "results", "results": results}
    raise wire.ProtocolError("unknown op %r" % op)


def serve(channel, functions):
    while True:
        message = wire.recv(channel.rfd)
        if message.get("op") == "end":
            return
        if message.get("op") == "load":   # the next part: its modules beside what is loaded
            reply, more = load(message, channel)
            functions.update(more)
            wire.send(channel.wfd, reply)
            continue
        try:
            reply = handle_call(functions, message, channel)
        except (KeyError, wire.ProtocolError) as exc:
            reply = {"op": "refused", "why": str(exc)[:200]}
        wire.send(channel.wfd, reply)
