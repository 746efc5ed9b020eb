"""The grader's side of the sandbox: one submission's scratch space, and the workers that run it.

A :class:`Sandbox` is one submission: its files, sent to the zygote (zygote_handle.py),
which writes them into a fresh size-limited tmpfs of its own (the grading
process never touches a folder the sandbox's uid can write).
:meth:`Sandbox.open` gives a part a worker: the one that served the
submission's last part when it is intact and runs with the same stand-ins, else
a freshly forked one; for each fork the grader makes a socket pair and passes
one end along, so each worker speaks on its own channel and cannot be taken
for the zygote or for another worker. No worker outlives its submission.
:class:`Worker` sends calls, answers the worker's callbacks (the isolated
functions, computed here from the reference) and decodes the raw values that
come back. A call that times out, crashes the worker or breaks the protocol
fails alone: the zygote kills the worker, and the next call gets a new one.

Everything a worker says is checked (wire.recv's limits, then the value
decoder) and every wait has an absolute deadline. A zygote that misbehaves is
replaced and the submission graded again from scratch (:class:`ZygoteFailure`):
such a failure is the grader's, never the student's.
"""
from __future__ import annotations

import json
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import proxies, wire
from .limits import DEFAULT_LIMITS, Limits
from .zygote_handle import Zygote, ZygoteFailure, new_zygote  # noqa: F401  (the sandbox's public names live here)

MAX_RELOADS = 3
BASELINE_TTL = 60.0   # seconds a measured np.exp yardstick is reused (per zygote)
SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


@dataclass(frozen=True)
class Failed:
    """A request that got no usable reply; made here, so a worker cannot forge one."""

    failure: str      # timeout | crashed | protocol
    error: str


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
    """'ValueError: shapes not aligned (layers.py line 41)' from the child's error record."""
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


@dataclass
class Prepared:
    """What the worker that prepared a submission's files reported (untrusted data)."""

    reports: Any = None
    problem: Optional[str] = None
    porting: Optional[str] = None   # why Python 2 files could not be ported here, if they could not


class Sandbox:
    """One submission: its files in the zygote's scratch space and its time budget.

    Use as a context manager. With no ``zygote`` given, the sandbox starts (and
    later stops) its own.
    """

    def __init__(self, files: Sequence[Tuple[str, bytes]], limits: Limits = DEFAULT_LIMITS,
                 zygote: Optional[Zygote] = None, mode: Optional[str] = None):
        self.limits = limits
        self.own_zygote = zygote is None
        self.zygote = zygote or new_zygote(mode, limits)
        self.started = time.monotonic()
        self.live: Optional[Worker] = None   # the worker that serves the next part of its plan
        # Student modules that hung or ended their worker while importing: {module: (failure, why)}.
        # Never run again for this submission; the parts that use them get stand-ins.
        self.broken: Dict[str, Tuple[str, str]] = {}
        try:
            self.child_dir = self.zygote.open_submission(files)
        except BaseException:
            self._release()
            raise

    @property
    def mode(self) -> str:
        return self.zygote.mode

    def remaining(self) -> float:
        return self.limits.budget - (time.monotonic() - self.started)

    def _release(self) -> None:
        if self.own_zygote:
            self.zygote.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.end()
            self.live = None
        self.zygote.close_submission()
        self._release()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def mark_broken(self, importing: Sequence[str], failure: str, why: str) -> None:
        """The innermost module being imported when a worker hung or ended is broken."""
        if importing and importing[-1] not in self.broken:
            self.broken[importing[-1]] = (failure, "%s.py %s" % (importing[-1], why))

    def prepare(self, reject: bool) -> Prepared:
        """Make the files loadable (decode, port Python 2) in a worker, within the budget.

        That worker has run nothing of the student's: it stays to load the first part.
        """
        if self.live is not None:
            self.live.end()
        self.live = worker = Worker(self, {"op": "prepare", "dir": self.child_dir, "reject": bool(reject)}, {},
                                    final="prepared")
        if worker.loaded.get("failure"):
            return Prepared(None, "preparing your files failed: %s" % worker.loaded["error"])
        reply = worker.loaded["reply"]
        error = reply.get("error")
        problem = None
        if isinstance(error, dict):
            problem = "preparing your files failed: %s" % describe_exception(error)
        porting = reply.get("porting")
        return Prepared(reply.get("reports"), problem, str(porting)[:300] if porting else None)

    def baseline(self, inputs: Sequence[Any], fresh: bool = False, name: str = "exp") -> Optional[float]:
        """Best wall seconds of the numpy function ``name`` (a ufunc) over ``inputs``, in a worker with
        nothing of the student's.

        The yardstick depends on the machine, not on the student: measured at most once a
        minute per zygote, function and input shape.
        """
        key = (name,) + _shapes(inputs)
        best = None if fresh else self._cached(key)
        if best is None:
            best = self._measure_baseline(inputs, name)
            self._remember(key, best)
        return best

    def cached_baseline(self, inputs: Sequence[Any], name: str = "exp") -> Optional[float]:
        """The yardstick for inputs of these shapes, if it was measured less than BASELINE_TTL ago."""
        return self._cached((name,) + _shapes(inputs))

    def _cached(self, key: Tuple[Tuple[int, ...], ...]) -> Optional[float]:
        found = self.zygote.baselines.get(key)
        return found[1] if found and time.monotonic() - found[0] < BASELINE_TTL else None

    def _remember(self, key: Tuple[Tuple[int, ...], ...], best: Optional[float]) -> None:
        if best is not None:
            self.zygote.baselines[key] = (time.monotonic(), best)

    def _measure_baseline(self, inputs: Sequence[Any], name: str) -> Optional[float]:
        worker = Worker(self, self._baseline_load(name), {})
        try:
            return _time_baseline(worker, inputs, name)
        finally:
            worker.end()

    def _baseline_load(self, name: str) -> Dict[str, Any]:
        return {"op": "load", "dir": self.child_dir, "targets": [], "baseline": name}

    def premeasure(self, shapes: Sequence[Sequence[int]], name: str = "exp") -> None:
        """Measure the yardstick for inputs of these shapes now, unless it is cached.

        Called after :meth:`prepare`: its worker has run nothing of the student's, so
        it measures here instead of a worker forked for the purpose later (and the
        student's worker is not paused for it). The yardstick depends on the shapes
        only; any values of them will do.
        """
        shapes = tuple(tuple(int(n) for n in shape) for shape in shapes)
        key = (name,) + shapes
        live = self.live
        if not shapes or self._cached(key) is not None or live is None or live.plan is not None or live.sock is None:
            return
        live.take(self._baseline_load(name), {}, None)   # still no student code: the first part may load here
        if not live.loaded.get("failure"):
            inputs = [np.random.default_rng(k).normal(size=shape) for k, shape in enumerate(shapes)]
            self._remember(key, _time_baseline(live, inputs, name))

    def open(self, targets: Sequence[Sequence[str]], stand_ins: Sequence[Mapping[str, Any]] = (),
             callbacks: Optional[Mapping[str, Callable[..., Any]]] = None,
             classic_division: Sequence[str] = ()) -> "Worker":
        """A worker that has loaded ``targets`` ([module, name] pairs) for one part.

        ``stand_ins`` name the graded functions this part depends on, each with
        the module the student's version lives in (``home``) and the module it is
        imported from (``module``): in the worker they call back to
        ``callbacks``, grader-side functions (the reference's). Modules named in
        ``classic_division`` (ported from Python 2) keep Python 2's ``/``.

        Parts with the same stand-ins and division share a worker while it is
        intact: it loads the next part's modules beside what it holds (a worker
        that failed was replaced by a fresh one anyway). The sandbox holds one
        worker at a time, so another plan ends it, and closing ends the last.
        """
        message = {"op": "load", "dir": self.child_dir, "targets": [list(t) for t in targets],
                   "stand_ins": [dict(s) for s in stand_ins], "first": True,
                   "classic_division": list(classic_division)}
        # With stand-ins, which modules are graded decides which module a stand-in may replace whole.
        graded = sorted({t[0] for t in message["targets"]}) if stand_ins else []
        plan = json.dumps([message["stand_ins"], message["classic_division"], graded], sort_keys=True)
        live = self.live
        if live is not None and live.plan in (None, plan):
            live.take(message, dict(callbacks or {}), plan)
            return live
        if live is not None:
            live.end()
        self.live = Worker(self, message, dict(callbacks or {}))
        self.live.plan = plan
        return self.live


def _load_reply(reply: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of a worker's ``loaded`` message the grader uses, validated."""
    found, modules = reply.get("found"), reply.get("modules")
    if not isinstance(found, dict) or not isinstance(modules, dict):
        raise wire.ProtocolError("malformed load reply")
    states = ("ok", "no file", "module failed", "not defined", "not callable")
    clean_found = {str(k)[:200]: v for k, v in found.items() if v in states}
    clean_modules = {}
    for name, info in list(modules.items())[:50]:
        if not isinstance(info, dict):
            raise wire.ProtocolError("malformed module report")
        clean_modules[str(name)[:200]] = {
            key: (str(info[key])[:500] if key not in ("line",) else info[key] if isinstance(info[key], int)
                  and not isinstance(info[key], bool) else None)
            for key in ("status", "type", "message", "file", "line") if info.get(key) is not None}
    return {"found": clean_found, "modules": clean_modules, "stdout": str(reply.get("stdout", ""))[:20000]}


class Worker:
    """A forked worker holding one part's loaded functions; reloaded after a failure.

    ``final`` is the op of the reply that ends loading (``loaded``, or
    ``prepared`` for the worker that prepares the files).
    """

    def __init__(self, sandbox: Sandbox, message: Dict[str, Any], callbacks: Dict[str, Callable[..., Any]],
                 final: str = "loaded"):
        self.sandbox = sandbox
        self.zygote = sandbox.zygote
        self.costs: Dict[int, Callable[..., Any]] = {}   # handle -> cost, for the current request
        self.sock: Optional[socket.socket] = None
        self.loaded: Dict[str, Any] = {}
        self.plan: Optional[str] = None   # the stand-ins it loads with; None: nothing loaded yet (Sandbox.open)
        self.importing: List[str] = []    # the student modules being imported, innermost last (as the child says)
        self.where: Optional[Tuple[int, str]] = None   # (line, its text) of the module being imported, as the child says
        self._begin(message, callbacks, final)
        self._load()

    def take(self, message: Dict[str, Any], callbacks: Dict[str, Callable[..., Any]], plan: Optional[str]) -> None:
        """Serve another part: its modules are loaded beside the last part's, in this same process.

        A worker that is not running (killed, or paused for a baseline) is forked anew.
        """
        self.plan = plan
        self._begin(message, callbacks, "loaded")
        self._load()

    def _begin(self, message: Dict[str, Any], callbacks: Dict[str, Callable[..., Any]], final: str) -> None:
        """A part starts afresh in everything the grader counts: failures, reloads, time."""
        self.message, self.callbacks, self.final = message, callbacks, final
        self.reloads = 0
        self.suspended = False   # ended on purpose (for a baseline): the next call reloads for free
        self.call_seconds = 0.0   # spent in this part's calls, as measured here (loading excluded)
        self.slowest = 0.0
        self.failures: List[str] = []   # 'timeout' / 'crashed' / 'memory' events, for the part's status

    def _fail_load(self, failure: str, error: str) -> None:
        self.loaded = {"found": {}, "modules": {}, "stdout": "", "failure": failure, "error": error}
        self.failures.append(failure)

    def _load(self) -> None:
        """Load the message's modules; a module that hangs or ends the worker is found once.

        When the child was importing a module as it timed out or ended, that module is
        marked broken (Sandbox.broken) and the load is tried again without it, so the part
        is graded on whatever else it can load, and no later part waits for it again.
        """
        while True:
            known = len(self.sandbox.broken)
            reply, limit = self._load_once()
            if not isinstance(reply, Failed) or len(self.sandbox.broken) == known or self.sandbox.remaining() <= 0:
                break
            self.failures = []   # its own part will say the module did not load (runner._why_missing)
        if reply is None:
            return None
        if isinstance(reply, Failed):
            culprit = self.sandbox.broken.get(self.importing[-1]) if self.importing else None
            if culprit:
                error = culprit[1]
            elif reply.failure == "timeout":
                error = "loading your files took longer than %g s (timeout)" % limit
            elif reply.failure == "crashed":
                error = "your code exited during import: " + reply.error
            else:
                error = reply.error
            return self._fail_load("timeout" if reply.failure == "timeout" else "crashed", error)
        if reply.get("op") != self.final:
            self._kill()
            return self._fail_load("crashed", "unexpected reply while loading")
        try:
            self.loaded = _load_reply(reply) if self.final == "loaded" else {"reply": reply}
        except wire.ProtocolError as exc:
            self._kill()
            self._fail_load("crashed", "the child sent a malformed reply (%s)" % exc)

    def _load_once(self):
        """One load request: (the reply or Failed, its time limit); (None, 0) when no time is left."""
        budget = self.sandbox.remaining()
        if budget <= 0:
            self._fail_load("timeout", "was not run: the submission's time budget (%g s) is used up"
                            % self.sandbox.limits.budget)
            return None, 0.0
        limit = min(self.sandbox.limits.load_timeout, budget)
        if self.message.get("op") == "load":
            self.message["broken"] = {name: why for name, (_, why) in self.sandbox.broken.items()}
        if self.sock is None:
            self.sock = self.zygote.fork()
        return self._exchange(self.message, limit), limit

    def end(self) -> None:
        """Tell the worker to end and wait until the zygote confirms it has."""
        if self.sock is None:
            return
        try:
            wire.send(self.sock.fileno(), {"op": "end"}, time.monotonic() + 1)
        except (wire.Timeout, wire.Closed, wire.ProtocolError):
            pass
        self._close_sock()
        self.zygote.ended(kill=False)

    def _kill(self) -> Dict[str, Any]:
        self._close_sock()
        return self.zygote.ended(kill=True)

    def _close_sock(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # -- calls
    def _exchange(self, message: Dict[str, Any], limit: float):
        """Send one request on the worker's socket and return its reply (a dict) or :class:`Failed`.

        Callbacks (proxy calls) are answered on the way. Whatever the worker
        does, this returns: its reply, or a Failed after the worker has been
        killed and its end confirmed by the zygote.
        """
        deadline = time.monotonic() + limit
        fd = self.sock.fileno()
        self.importing, self.where = [], None
        try:
            wire.send(fd, message, deadline)
            while True:
                reply = wire.recv(fd, deadline, max_frame=wire.MAX_REPLY)
                op = reply.get("op")
                if op == "cost_call":
                    wire.send(fd, self._cost(reply), deadline)
                elif op == "callback":
                    wire.send(fd, self._callback(reply), deadline)
                elif op in ("importing", "imported"):
                    self._note_import(op, reply.get("module"))
                elif op == "where":
                    self._note_where(reply)
                else:
                    return reply
        except wire.Timeout:
            self._kill()
            self.failures.append("timeout")
            self.sandbox.mark_broken(self.importing, "timeout", "did not finish loading in %g s (timeout)%s"
                                     % (limit, self._where_said()))
            return Failed("timeout", "took longer than %g s (timeout)" % limit)
        except wire.Closed:
            # The worker is gone (or has closed its socket): the zygote says how it ended.
            self._close_sock()
            ended = self.zygote.ended(kill=True)
            self.failures.append("crashed")
            self.sandbox.mark_broken(self.importing, "crashed", "ended the process while loading: %s"
                                     % describe_exit(ended, self.sandbox.limits))
            return Failed("crashed", describe_exit(ended, self.sandbox.limits))
        except wire.ProtocolError as exc:
            self._kill()
            self.failures.append("crashed")
            return Failed("protocol", "the child sent a malformed reply (%s)" % exc)

    def _note_import(self, op: str, module: Any) -> None:
        """The child started or finished importing a student module (untrusted: it only names a
        module of this submission's that will not be run again, which costs only that module's parts)."""
        if not isinstance(module, str) or not module.isidentifier() or len(module) > 100:
            raise wire.ProtocolError("malformed import note")
        if op == "importing" and len(self.importing) < 64:
            self.importing.append(module)
        elif op == "imported" and module in self.importing:
            del self.importing[self.importing.index(module):]

    def _note_where(self, reply: Dict[str, Any]) -> None:
        """The line a student module's top level was running (untrusted: a number and up to 120 characters
        of the student's own line, shown only to that student and their TAs)."""
        line, text = reply.get("line"), reply.get("text", "")
        if not isinstance(line, int) or isinstance(line, bool) or not isinstance(text, str):
            raise wire.ProtocolError("malformed where note")
        if self.importing and reply.get("module") == self.importing[-1]:
            self.where = (line, text[:120])

    def _where_said(self) -> str:
        """', still running line 3: while True:' when the child said where the hung module was."""
        if self.where is None:
            return ""
        return ", still running line %d%s" % (self.where[0], ": " + self.where[1] if self.where[1] else "")

    def _encode_args(self, args: Sequence[Any]) -> Tuple[List[Any], List[List[Any]]]:
        """Encoded arguments, each FunctionSpec replaced by a handle; and the costs' call logs."""
        self.costs, logs, out = {}, [], []
        for value in args:
            if isinstance(value, wire.FunctionSpec):
                log: List[Any] = []
                logs.append(log)
                handle = len(self.costs)
                self.costs[handle] = proxies.build(value.name, value.params, log)
                value = wire.FunctionHandle(handle)
            out.append(wire.encode_arg(value))
        return out, logs

    def _cost(self, message: Dict[str, Any]) -> bytes:
        """A student's checker called a cost: evaluate it here (it is logged as it runs)."""
        handle, x, r = wire.unpack_cost_call(message)
        cost = self.costs.get(handle)
        if cost is None:
            raise wire.ProtocolError("malformed cost call")
        value, grad = cost(x, min(max(r, 0.0), 1.0))
        return wire.pack_cost_value(value, grad)

    def _callback(self, request: Dict[str, Any]) -> Dict[str, Any]:
        fn = self.callbacks.get(str(request.get("fn")))
        if fn is None:
            return {"op": "callback_result", "error": {"type": "NameError", "message": "no such function"}}
        args = request.get("args", [])
        if not isinstance(args, list):
            raise wire.ProtocolError("malformed callback")
        try:
            values = [wire.decode(a) for a in args]
            return {"op": "callback_result", "value": wire.encode(fn(*values))}
        except wire.ProtocolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's arguments made the reference fail
            return {"op": "callback_result", "error": {"type": type(exc).__name__, "message": str(exc)[:300]}}

    def _request(self, message: Dict[str, Any], timeout: float):
        """Send one request; the worker's reply (a dict) or :class:`Failed`."""
        if self.sock is None:
            if self.suspended:
                self.suspended = False
            elif self.reloads >= MAX_RELOADS or self.loaded.get("failure"):
                return Failed("crashed", "was not run: the process had failed too often")
            else:
                self.reloads += 1
            self._load()
            if self.sock is None or self.loaded.get("failure"):
                return Failed(self.loaded.get("failure", "crashed"), self.loaded.get("error", "could not reload"))
        budget = self.sandbox.remaining()
        if budget <= 0:
            self.failures.append("timeout")
            return Failed("timeout", "was not run: the submission's time budget (%g s) is used up"
                          % self.sandbox.limits.budget)
        part_left = self.sandbox.limits.part_budget - self.call_seconds
        if part_left <= 0:
            self.failures.append("timeout")
            return Failed("timeout", "was not run: this function's calls used up their time budget (%g s); "
                          "its slowest call took %.2f s" % (self.sandbox.limits.part_budget, self.slowest))
        start = time.monotonic()
        reply = self._exchange(message, min(timeout, budget, part_left))
        elapsed = time.monotonic() - start
        self.call_seconds += elapsed
        self.slowest = max(self.slowest, elapsed)
        if isinstance(reply, Failed) and reply.failure == "timeout" and part_left < min(timeout, budget):
            reply = Failed("timeout", "used up what was left of this function's time budget (%g s for all "
                           "its calls) after %.2f s" % (self.sandbox.limits.part_budget, elapsed))
        return reply

    def call(self, key: str, args: Sequence[Any], keep_args: bool = False,
             timeout: Optional[float] = None) -> CallRecord:
        encoded, logs = self._encode_args(args)
        message = {"op": "call", "fn": key, "args": encoded, "keep_args": keep_args}
        reply = self._request(message, timeout or self.sandbox.limits.timeout)
        if isinstance(reply, Failed) or reply.get("op") != "result":
            record = _failed(reply)
        else:
            record = self._record(reply.get("result"))
        record.f_calls = logs   # as the grader saw the costs being called, not as the child says
        return record

    def map(self, key: str, args: Sequence[Any], vary: int, values: Sequence[Any],
            timeout: Optional[float] = None) -> List[CallRecord]:
        """Call the function once per value, substituting it for argument ``vary``."""
        message = {"op": "map", "fn": key, "args": self._encode_args(args)[0], "vary": vary,
                   "values": [wire.encode(v) for v in values]}
        limit = (timeout or self.sandbox.limits.timeout) * max(1, len(values)) ** 0.5 + 1
        reply = self._request(message, limit)
        ok = not isinstance(reply, Failed) and reply.get("op") == "results"
        results = reply.get("results") if ok else None
        if not isinstance(results, list) or len(results) != len(values):
            failed = CallRecord(failure="protocol", error="malformed batch reply") if ok else _failed(reply)
            return [failed for _ in values]
        return [self._record(r) for r in results]

    def time(self, key: str, args: Sequence[Any], repeat: int = 5,
             timeout: Optional[float] = None, fresh: bool = False, baseline: str = "exp") -> CallRecord:
        """Best-of-``repeat`` seconds of the function and of the numpy function ``baseline`` on
        ``args[0]``: value (student, baseline).

        Both are measured here, by the grading process, around whole calls (so
        no clock the student's code could rebind is read), each on a slightly
        different input (so no cached answer helps), and the baseline in a
        worker that never loaded the student's code (so no patched numpy
        slows it down). Both include the same round trip. The baseline may be
        a recent one (Sandbox.cached_baseline); ``fresh`` measures it again
        right after the student's calls, under the same load.
        """
        inputs = [_variant(args, k) for k in range(max(1, int(repeat)))]
        best = float("inf")
        for call_args in inputs:
            start = time.perf_counter()
            record = self.call(key, call_args, timeout=timeout)
            elapsed = time.perf_counter() - start
            if not record.ok:
                return record
            best = min(best, elapsed)
        yardsticks = [a[0] for a in inputs]
        measured = None if fresh else self.sandbox.cached_baseline(yardsticks, baseline)
        if measured is None:
            # One worker at a time: pause this one (its next call reloads it, not counted as a failure).
            self.end()
            self.suspended = True
            measured = self.sandbox.baseline(yardsticks, fresh=fresh, name=baseline)
        if measured is None:
            return CallRecord(failure="crashed", error="the timing baseline could not be measured")
        return CallRecord(value=(best, measured))

    def _exception(self, info: Dict[str, Any], **extra: Any) -> CallRecord:
        info = {k: info.get(k) for k in ("type", "message", "file", "line")}
        info = {k: (str(v)[:500] if k != "line" else v if isinstance(v, int) else None)
                for k, v in info.items() if v is not None}
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
                args_after=[wire.decode(a) for a in args_after] if isinstance(args_after, list) else None)
        except (wire.ProtocolError, TypeError, ValueError, OverflowError) as exc:
            return CallRecord(failure="protocol", error="malformed result (%s)" % exc)


def _shapes(inputs: Sequence[Any]) -> Tuple[Tuple[int, ...], ...]:
    """The yardstick cache's key (after the function's name): the inputs' shapes."""
    return tuple(np.shape(x) for x in inputs)


def _time_baseline(worker: "Worker", inputs: Sequence[Any], name: str) -> Optional[float]:
    """Best wall seconds of ``np.<name>`` over ``inputs`` in a worker loaded as a baseline; None on failure."""
    best = None
    for x in inputs:
        start = time.perf_counter()
        record = worker.call("np." + name, [x])
        elapsed = time.perf_counter() - start
        if not record.ok:
            return None
        best = elapsed if best is None else min(best, elapsed)
    return best


def _variant(args: Sequence[Any], k: int) -> List[Any]:
    """``args`` with its first (array) argument moved by ``k`` thousandths: same work, another input."""
    first = np.asarray(args[0], dtype=np.float64) + 1e-3 * k
    return [first] + list(args[1:])


def _failed(reply) -> CallRecord:
    """The record of a request that did not get the reply it asked for."""
    if isinstance(reply, Failed):
        return CallRecord(failure=reply.failure, error=reply.error)
    if reply.get("op") == "refused":
        return CallRecord(failure="protocol", error="the call was refused: %s" % str(reply.get("why"))[:200])
    return CallRecord(failure="protocol", error="unexpected reply %r" % str(reply.get("op"))[:40])
