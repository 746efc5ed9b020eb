"""The wire protocol between the grader and the sandboxed child.

Frames are a 4-byte big-endian length and a UTF-8 JSON object (or, for a
gradient checker's calls of its cost, a compact binary frame: see "cost
frames" below). Values inside messages are tagged, so decoding never guesses
and never runs code:

    {"t": "none"} {"t": "bool", "v": true} {"t": "int", "v": "12"}
    {"t": "float", "v": 1.5} {"t": "str", "v": "..."}
    {"t": "list", "v": [...]} {"t": "tuple", "v": [...]}
    {"t": "nd", "dtype": "<f8", "shape": [2, 3], "data": "<base64>"}   ("scalar": true for np.float64 etc.)
    {"t": "fn", "id": 3}       (grader -> child only: a cost the child calls back for)
    {"t": "other", "type": "dict", "v": "<repr, capped>"}

This file is imported by the grader as ``grader.sandbox.wire`` and by the child
as a plain module next to it, so it depends on the standard library and numpy only.
"""
import base64
import json
import math
import os
import re
import select
import struct
import time

import numpy as np

MAX_FRAME = 64 * 1024 * 1024      # bytes in one message (the grader's, with a submission's files)
MAX_REPLY = 8 * 1024 * 1024       # bytes in one message from a worker (the grader reads these)
MAX_CONTAINERS = 200_000          # JSON objects and arrays in one message, counted before parsing
MAX_ARRAY_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 8
MAX_ITEMS = 100_000               # list/tuple items in one message
MAX_STR = 64 * 1024
MAX_INT_DIGITS = 400
# Only plain numeric dtypes cross: bool, ints, floats, complex, in any byte order.
_DTYPE_RE = re.compile(r"^[<>|=]?[biufc][1-9][0-9]?$")


class ProtocolError(Exception):
    """A frame or value that does not follow the protocol; the call fails."""


class Timeout(Exception):
    """The other side did not answer within the deadline."""


class Closed(Exception):
    """The other side closed its end of the pipe."""


# ---------------------------------------------------------------- values

def encode(value, depth=0):
    """Encode a Python/numpy value as a tagged JSON-able object.

    Anything that is not a number, array, string, list or tuple crosses only as
    its type name and a capped repr: the parent can say what came back, never
    use it.
    """
    if depth > MAX_DEPTH:
        return {"t": "other", "type": type(value).__name__, "v": "<nested too deep>"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, np.generic) and not isinstance(value, np.bool_):
        # Before int and float: np.float64 is a float, and must arrive as the numpy scalar it is.
        encoded = encode(np.asarray(value), depth)
        if encoded.get("t") == "nd":
            encoded["scalar"] = True
        return encoded
    if isinstance(value, int):
        text = str(value)
        if len(text) > MAX_INT_DIGITS:
            return {"t": "other", "type": "int", "v": text[:60] + "..."}
        return {"t": "int", "v": text}
    if isinstance(value, float):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:MAX_STR]}
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biufc" and arr.nbytes <= MAX_ARRAY_BYTES:
            if not arr.flags.c_contiguous:   # (ascontiguousarray would make a 0-d array 1-d)
                arr = np.ascontiguousarray(arr)
            return {"t": "nd", "dtype": arr.dtype.str, "shape": list(arr.shape),
                    "data": base64.b64encode(arr.tobytes()).decode("ascii")}
        return {"t": "other", "type": "ndarray[%s]" % arr.dtype, "v": _short_repr(arr)}
    if isinstance(value, (list, tuple)):
        tag = "tuple" if isinstance(value, tuple) else "list"
        if len(value) > MAX_ITEMS:
            return {"t": "other", "type": tag, "v": "<%d items>" % len(value)}
        return {"t": tag, "v": [encode(v, depth + 1) for v in value]}
    return {"t": "other", "type": type(value).__name__, "v": _short_repr(value)}


def _short_repr(value):
    try:
        text = repr(value)
    except BaseException:  # a hostile __repr__ must not break encoding
        text = "<unprintable>"
    return text[:200]


def decode(obj, depth=0, budget=None):
    """Decode a tagged value, validating every field before allocating anything."""
    if budget is None:
        budget = [MAX_ITEMS]
    if depth > MAX_DEPTH + 1 or not isinstance(obj, dict):
        raise ProtocolError("malformed value")
    budget[0] -= 1
    if budget[0] < 0:
        raise ProtocolError("too many values")
    tag = obj.get("t")
    if tag == "none":
        return None
    if tag == "bool":
        return _typed(obj.get("v"), bool)
    if tag == "int":
        text = _typed(obj.get("v"), str)
        if len(text) > MAX_INT_DIGITS or not re.fullmatch(r"-?[0-9]+", text):
            raise ProtocolError("malformed int")
        return int(text)
    if tag == "float":
        v = obj.get("v")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ProtocolError("malformed float")
        return float(v)
    if tag == "str":
        return _typed(obj.get("v"), str)[:MAX_STR]
    if tag in ("list", "tuple"):
        items = _typed(obj.get("v"), list)
        out = [decode(v, depth + 1, budget) for v in items]
        return tuple(out) if tag == "tuple" else out
    if tag == "nd":
        return _decode_array(obj)
    if tag == "fn":
        handle = _typed(obj.get("id"), int)
        if not 0 <= handle < 1 << 20:
            raise ProtocolError("malformed function handle")
        return FunctionHandle(handle)
    if tag == "other":
        return Opaque(str(obj.get("type", "?"))[:80], str(obj.get("v", ""))[:200])
    raise ProtocolError("unknown value tag %r" % (tag,))


def _typed(v, kind):
    if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
        raise ProtocolError("expected %s" % kind.__name__)
    return v


def _decode_array(obj):
    dtype = _typed(obj.get("dtype"), str)
    if not _DTYPE_RE.match(dtype):
        raise ProtocolError("array dtype %r not allowed" % dtype)
    shape = _typed(obj.get("shape"), list)
    if len(shape) > 32 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise ProtocolError("malformed array shape")
    dt = np.dtype(dtype)
    count = math.prod(shape)
    if count * dt.itemsize > MAX_ARRAY_BYTES:
        raise ProtocolError("array of %d elements is too large" % count)
    data = _typed(obj.get("data"), str)
    if len(data) > 4 * (MAX_ARRAY_BYTES // 3) + 8:
        raise ProtocolError("array payload too large")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ProtocolError("array payload is not base64") from exc
    if len(raw) != count * dt.itemsize:
        raise ProtocolError("array payload does not match its shape")
    arr = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    # A numpy scalar stays a scalar, a 0-d array an array (np.nditer(x, op_flags=['readwrite']) needs one).
    return arr[()] if arr.ndim == 0 and obj.get("scalar") is True else arr


def decode_plain(obj, depth=0):
    """Decode a JSON mapping whose values are tagged values (function params)."""
    return {str(k): decode(v, depth + 1) for k, v in obj.items()}


class FunctionSpec:
    """A cost from the grader's catalogue (proxies.py) to pass to a student's function.

    It never crosses the wire: the worker receives a :class:`FunctionHandle`
    and calls back to the grader, which evaluates the cost and logs the call,
    so nothing in the child says which cost it is or where it is wrong.
    """

    def __init__(self, name, params=None):
        self.name = name
        self.params = dict(params or {})

    def __repr__(self):
        return "FunctionSpec(%r, %r)" % (self.name, self.params)


class FunctionHandle:
    """What the child receives for a FunctionSpec: a number, nothing else."""

    def __init__(self, handle):
        self.id = handle

    def to_wire(self):
        return {"t": "fn", "id": self.id}


class Opaque:
    """Something the student returned that is not a number or an array."""

    def __init__(self, type_name, text):
        self.type_name = type_name
        self.text = text

    def __repr__(self):
        return "<%s %s>" % (self.type_name, self.text)


def encode_arg(value):
    """Encode a call argument (values, or FunctionHandle placeholders)."""
    if isinstance(value, FunctionHandle):
        return value.to_wire()
    if isinstance(value, FunctionSpec):
        raise TypeError("a FunctionSpec is replaced by a FunctionHandle before it is sent")
    return encode(value)


# ---------------------------------------------------------------- cost frames
#
# A student's gradient checker calls its cost over and over (every element, twice), and the
# cost lives in the grader (proxies.py). These calls travel in a compact binary frame instead
# of tagged JSON: a NUL byte (no JSON text starts with one), a kind byte, then fixed fields and
# raw little-endian float64 data. recv() hands them over as {"op": "cost_call"|"cost_value",
# "raw": bytes}; a JSON frame cannot forge that message, because JSON has no bytes.

COST_CALL = b"\x00C"     # worker -> grader: handle (u32), r (f64), x's shape, x
COST_VALUE = b"\x00V"    # grader -> worker: cost (f64), the gradient's shape, the gradient
MAX_COST_ELEMENTS = 100_000
_F8 = np.dtype("<f8")


def _pack_array(arr):
    arr = np.asarray(arr, dtype=_F8)
    if not arr.flags.c_contiguous:   # (ascontiguousarray would make a 0-d array 1-d)
        arr = np.ascontiguousarray(arr)
    if arr.ndim > 32:
        raise ProtocolError("array of %d dimensions" % arr.ndim)
    return struct.pack("<B%dI" % arr.ndim, arr.ndim, *arr.shape) + arr.tobytes()


def _unpack_array(raw, at):
    """The float64 array stored in ``raw`` from offset ``at`` to its end, validated before allocating."""
    if len(raw) < at + 1:
        raise ProtocolError("cost frame too short")
    ndim = raw[at]
    if ndim > 32 or len(raw) < at + 1 + 4 * ndim:
        raise ProtocolError("malformed cost frame shape")
    shape = struct.unpack_from("<%dI" % ndim, raw, at + 1)
    count = math.prod(shape)
    start = at + 1 + 4 * ndim
    if count > MAX_COST_ELEMENTS or len(raw) - start != 8 * count:
        raise ProtocolError("cost frame data does not match its shape")
    return np.frombuffer(raw, dtype=_F8, count=count, offset=start).reshape(shape).copy()


def _raw_of(message, kind):
    raw = message.get("raw")
    if message.get("op") != kind or not isinstance(raw, bytes):
        raise ProtocolError("expected a %s frame" % kind)
    return raw


def pack_cost_call(handle, x, r):
    return COST_CALL + struct.pack("<Id", int(handle), float(r)) + _pack_array(x)


def unpack_cost_call(message):
    """(handle, x, r) of a ``cost_call`` message, or ProtocolError."""
    raw = _raw_of(message, "cost_call")
    if len(raw) < 14:
        raise ProtocolError("cost frame too short")
    handle, r = struct.unpack_from("<Id", raw, 2)
    return handle, _unpack_array(raw, 14), r


def pack_cost_value(cost, grad):
    return COST_VALUE + struct.pack("<d", float(cost)) + _pack_array(grad)


def unpack_cost_value(message):
    """(cost as a numpy float64, gradient) of a ``cost_value`` message, or ProtocolError."""
    raw = _raw_of(message, "cost_value")
    if len(raw) < 10:
        raise ProtocolError("cost frame too short")
    (cost,) = struct.unpack_from("<d", raw, 2)
    return np.float64(cost), _unpack_array(raw, 10)


def file_parts(rel):
    """A submission's file name as the parts of a path inside its folder, or ProtocolError.

    No part may be empty, ``.``, ``..``, hidden, or hold a drive or a backslash (Windows reads
    those as a path of their own): whoever writes the files, they land inside the folder.
    """
    parts = rel.split("/") if isinstance(rel, str) else []
    if not parts or len(rel) > 400 or any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or ":" in p
                                          for p in parts):
        raise ProtocolError("bad file name %r" % (rel,))
    return parts


# ---------------------------------------------------------------- frames

def send(fd, message, deadline=None):
    """Write one framed message (a dict, or a packed cost frame) to ``fd``, giving up at ``deadline``.

    With a deadline, ``fd`` must be non-blocking (it is waited on only when it is not ready).
    """
    _check(deadline)
    if isinstance(message, bytes):
        payload = message
    else:
        payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(payload) > MAX_FRAME:
        raise ProtocolError("message too large (%d bytes)" % len(payload))
    data = memoryview(struct.pack(">I", len(payload)) + payload)
    eager = _eager(fd, deadline)
    while data:
        if not eager:
            _wait(fd, deadline, write=True)
        try:
            n = _write(fd, data)
        except BlockingIOError:
            _wait(fd, deadline, write=True)
            continue
        except (BrokenPipeError, OSError) as exc:
            raise Closed(str(exc)) from exc
        data = data[n:]


def recv(fd, deadline=None, max_frame=MAX_FRAME):
    """Read one framed JSON message from ``fd``, bounded in size, structure and depth.

    The length is checked before the payload is read, the number of JSON
    containers before it is parsed (a frame of a million ``{}`` would cost the
    reader gigabytes), and nesting too deep for the parser is a ProtocolError,
    never a RecursionError: whatever the other side sends, the reader gets a
    message or one of this module's exceptions.
    """
    _check(deadline)   # also when every read succeeds at once: a flood of frames still times out
    header = _read_exact(fd, 4, deadline)
    (length,) = struct.unpack(">I", header)
    if length > max_frame:
        raise ProtocolError("message of %d bytes exceeds the limit" % length)
    payload = _read_exact(fd, length, deadline)
    return parse(payload)


def parse(payload):
    """One frame's payload as a message (a dict), or ProtocolError."""
    if payload[:1] == b"\x00":
        kind = {COST_CALL: "cost_call", COST_VALUE: "cost_value"}.get(payload[:2])
        if kind is None:
            raise ProtocolError("unknown binary frame")
        return {"op": kind, "raw": payload}
    if payload.count(b"{") + payload.count(b"[") > MAX_CONTAINERS:
        raise ProtocolError("message holds too many values")
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("message is not JSON within the limits") from exc
    if not isinstance(message, dict):
        raise ProtocolError("message is not an object")
    return message


def _read_exact(fd, n, deadline):
    chunks = []
    eager = _eager(fd, deadline)
    while n:
        if not eager:
            _wait(fd, deadline, write=False)
        try:
            chunk = _read(fd, min(n, 1 << 20))
        except BlockingIOError:
            _wait(fd, deadline, write=False)
            continue
        except OSError as exc:   # a reset socket: the other side is gone
            raise Closed(str(exc)) from exc
        if not chunk:
            raise Closed("pipe closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _eager(fd, deadline):
    """True when ``fd`` can be read or written before waiting on it: non-blocking, or no deadline.

    A select before every read and write costs as much as the read or write; a
    non-blocking fd is waited on only when it is not ready. A blocking fd with a
    deadline is waited on first, so that it cannot block past the deadline.
    """
    return deadline is None or (os.name != "nt" and not os.get_blocking(fd))


if os.name == "nt":   # a socket there is no file descriptor: os.read and os.write cannot use it
    import socket as _socket

    def _on_socket(fd, op, arg):
        sock = _socket.socket(fileno=fd)
        try:
            return getattr(sock, op)(arg)
        finally:
            sock.detach()

    def _read(fd, n):
        return _on_socket(fd, "recv", n)

    def _write(fd, data):
        return _on_socket(fd, "send", data)
else:
    _read, _write = os.read, os.write


def _check(deadline):
    if deadline is not None and time.monotonic() >= deadline:
        raise Timeout()


def _wait(fd, deadline, write):
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Timeout()
    if write:
        ready = select.select([], [fd], [], remaining)[1]
    else:
        ready = select.select([fd], [], [], remaining)[0]
    if not ready:
        raise Timeout()
