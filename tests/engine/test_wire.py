"""The wire protocol accepts only well-formed tagged values and refuses the rest early."""
from __future__ import annotations

import base64
import os
import struct

import numpy as np
import pytest

from grader.sandbox import wire


def roundtrip(value):
    return wire.decode(wire.encode(value))


def test_values_round_trip_exactly():
    arr = np.random.default_rng(0).normal(size=(3, 4))
    assert np.array_equal(roundtrip(arr), arr) and roundtrip(arr).dtype == np.float64
    assert roundtrip(np.arange(5, dtype=np.int32)).dtype == np.int32
    assert roundtrip((1.5, [2, None], "s", True)) == (1.5, [2, None], "s", True)
    assert np.isnan(roundtrip(float("nan")))
    assert roundtrip(np.float64(2.5)) == 2.5
    assert roundtrip(np.matrix([[1.0, 2.0]])).shape == (1, 2)


def test_unknown_objects_cross_only_as_text():
    class Sneaky:
        def __repr__(self):
            return "I am 40/40"

    value = roundtrip(Sneaky())
    assert isinstance(value, wire.Opaque) and value.type_name == "Sneaky"
    assert isinstance(roundtrip(np.array([object()])), wire.Opaque)


def nd(dtype, shape, data):
    return {"t": "nd", "dtype": dtype, "shape": shape, "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize("obj", [
    nd("|O8", [1], b"\0" * 8),                       # object arrays could run code when used
    nd("[('a', 'O')]", [1], b"\0" * 8),              # structured dtype
    nd("<f8", [10 ** 6, 10 ** 6], b"\0" * 8),        # forged header asking for terabytes
    nd("<f8", [2], b"\0" * 8),                       # payload shorter than the shape
    nd("<f8", [-1], b""),
    {"t": "nd", "dtype": "<f8", "shape": [1], "data": "not base64!"},
    {"t": "int", "v": "1" * 5000},
    {"t": "pickle", "v": "gASV"},
    {"t": "list", "v": "nope"},
    "just a string",
])
def test_malformed_values_are_refused(obj):
    with pytest.raises(wire.ProtocolError):
        wire.decode(obj)


def test_nesting_and_item_count_are_capped():
    deep = {"t": "none"}
    for _ in range(50):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.ProtocolError):
        wire.decode(deep)
    wide = {"t": "list", "v": [{"t": "none"}] * (wire.MAX_ITEMS + 5)}
    with pytest.raises(wire.ProtocolError):
        wire.decode(wide)


def test_frames_are_checked_before_reading():
    r, w = os.pipe()
    try:
        os.write(w, struct.pack(">I", wire.MAX_FRAME + 1))
        with pytest.raises(wire.ProtocolError):
            wire.recv(r)
        os.write(w, struct.pack(">I", 5) + b"[1,2]")
        with pytest.raises(wire.ProtocolError):
            wire.recv(r)                              # not an object
        wire.send(w, {"op": "x", "n": 1})
        assert wire.recv(r) == {"op": "x", "n": 1}
    finally:
        os.close(r)
        os.close(w)


def test_a_flood_of_ready_frames_still_meets_its_deadline():
    """Reads go ahead without waiting when data is there: the deadline is checked all the same."""
    import socket
    import time
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    try:
        wire.send(theirs.fileno(), {"op": "callback"})
        assert wire.recv(ours.fileno(), deadline=time.monotonic() + 5) == {"op": "callback"}
        wire.send(theirs.fileno(), {"op": "callback"})
        with pytest.raises(wire.Timeout):
            wire.recv(ours.fileno(), deadline=time.monotonic() - 0.01)
        with pytest.raises(wire.Timeout):
            wire.send(ours.fileno(), {"op": "callback_result"}, deadline=time.monotonic() - 0.01)
    finally:
        ours.close()
        theirs.close()


def test_recv_times_out():
    r, w = os.pipe()
    try:
        import time
        with pytest.raises(wire.Timeout):
            wire.recv(r, deadline=time.monotonic() + 0.05)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("payload", [
    b"[" * 100_000 + b"]" * 100_000,                       # nested past the parser's recursion limit
    b'{"a":[' + b"{}," * (wire.MAX_CONTAINERS + 1) + b"{}]}",   # millions of objects cost gigabytes
    b'{"a": 1',                                              # not JSON
])
def test_hostile_payloads_are_protocol_errors_not_crashes(payload):
    with pytest.raises(wire.ProtocolError):
        wire.parse(payload)


def test_a_worker_frame_is_capped_before_it_is_read():
    r, w = os.pipe()
    try:
        os.write(w, struct.pack(">I", 63 * 1024 * 1024) + b"[" + b"{}," * 1000)
        with pytest.raises(wire.ProtocolError, match="exceeds the limit"):
            wire.recv(r, max_frame=wire.MAX_REPLY)
    finally:
        os.close(r)
        os.close(w)


def test_numpy_scalars_and_0d_arrays_keep_their_type_and_shape():
    """A cost is a numpy scalar in the course: a checker may read cost.shape."""
    cost = wire.decode(wire.encode(np.float64(1.5)))
    assert type(cost) is np.float64 and cost.shape == ()
    zero_d = wire.decode(wire.encode(np.array(2.0)))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == ()   # the handout's np.array(123.456)
    assert type(wire.decode(wire.encode(1.5))) is float


def test_cost_frames_round_trip_and_refuse_anything_malformed():
    """The gradient checker's cost calls travel as compact binary frames, validated like the rest."""
    x = np.arange(6.0).reshape(2, 3)
    handle, got, r = wire.unpack_cost_call(wire.parse(wire.pack_cost_call(7, x, 0.25)))
    assert (handle, r) == (7, 0.25) and np.array_equal(got, x) and got.shape == (2, 3)
    cost, grad = wire.unpack_cost_value(wire.parse(wire.pack_cost_value(np.float64(1.5), x)))
    assert isinstance(cost, np.float64) and cost == 1.5 and np.array_equal(grad, x)
    zero_d = wire.unpack_cost_value(wire.parse(wire.pack_cost_value(2.0, np.asarray(3.0))))[1]
    assert zero_d.shape == () and zero_d == 3.0
    good = wire.pack_cost_call(1, x, 0.5)
    bad = [
        b"\x00Q" + good[2:],                                     # an unknown binary kind
        good[:10],                                               # cut short
        good[:-8],                                               # data shorter than its shape
        good + b"\0" * 8,                                        # data longer than its shape
        good[:14] + bytes([33]) + good[15:],                     # 33 dimensions
        wire.COST_CALL + struct.pack("<Id", 1, 0.5) + struct.pack("<BI", 1, 200_000) + b"\0" * 1_600_000,
    ]
    for payload in bad:
        with pytest.raises(wire.ProtocolError):
            wire.unpack_cost_call(wire.parse(payload))
    # A JSON frame cannot pass for a binary one: JSON has no bytes.
    with pytest.raises(wire.ProtocolError):
        wire.unpack_cost_call(wire.parse(b'{"op": "cost_call", "raw": "\\u0000C"}'))
    with pytest.raises(wire.ProtocolError):
        wire.unpack_cost_value(wire.parse(good))   # a call where a value was expected
