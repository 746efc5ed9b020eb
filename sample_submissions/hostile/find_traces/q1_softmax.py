import ctypes
import os
import socket

import numpy as np

# HOSTILE: profit from what an earlier student left (leave_traces): if any of it
# is found, this softmax answers wrong, so a leak costs points a test can see.
NOTE = b"a1grader: left by the student before you"
PLACES = ("/run/lock/a1_note", "/dev/shm/a1_note", "/var/tmp/a1_note", "/tmp/a1_note",
          os.path.join(os.path.dirname(os.getcwd()), "a1_note"))
SHM_KEY = 0xA1A1
PORT = 47124   # a test may listen here, on the grading machine's loopback
KEY_SPEC_USER_KEYRING = -4   # the keyring every process of a uid shares
SYS_ADD_KEY, SYS_KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine, (-1, -1))


def _mq_open(flags):
    try:
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
    except OSError:
        return -1
    rt.mq_open.restype = ctypes.c_int
    return rt.mq_open(b"/a1note", ctypes.c_int(flags), ctypes.c_int(0o666), None)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def traces():
    found = [path for path in PLACES if os.path.exists(path)]
    if _libc().shmget(SHM_KEY, 0, 0) >= 0:
        found.append("shm")
    if _libc().syscall(SYS_KEYCTL, 10, KEY_SPEC_USER_KEYRING, b"user", b"a1note", 0) >= 0:   # KEYCTL_SEARCH
        found.append("keyring")
    if _mq_open(os.O_RDONLY) >= 0:
        found.append("message queue")
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(0.5)
        client.connect("\0a1grader-note")
        found.append("abstract socket")
    except OSError:
        pass
    try:
        probe = socket.create_connection(("127.0.0.1", PORT), timeout=0.5)
        # With no listener, about one connect in 30,000 is the kernel joining the socket to itself
        # (its ephemeral port drawn equal to PORT): no one left that.
        if probe.getsockname() != probe.getpeername():
            found.append("loopback")
        probe.close()
    except OSError:
        pass
    return found


def softmax(x):
    """Compute the softmax function for each row of the input x.

    Works for a single vector (shape (D,)) and for a matrix (shape (N, D)),
    where each row is treated as its own vector.

    Arguments:
    x -- A D dimensional vector or N x D dimensional numpy matrix.

    Return:
    x -- the softmax values, same shape as the input
    """
    found = traces()
    if found:
        print("found: %s" % found)
        return np.zeros_like(np.asarray(x, dtype=np.float64))
    x = np.array(x, dtype=np.float64)  # copy, so the caller's array is left alone
    orig_shape = x.shape

    if len(x.shape) > 1:
        # Matrix
        x = x - np.max(x, axis=1, keepdims=True)
        x = np.exp(x)
        x = x / np.sum(x, axis=1, keepdims=True)
    else:
        # Vector
        x = x - np.max(x)
        x = np.exp(x)
        x = x / np.sum(x)

    assert x.shape == orig_shape
    return x


def test_softmax_basic():
    """Some simple tests to get you started."""
    print("Running basic tests...")
    test1 = softmax(np.array([1, 2]))
    print(test1)
    ans1 = np.array([0.26894142, 0.73105858])
    assert np.allclose(test1, ans1, rtol=1e-05, atol=1e-06)

    test2 = softmax(np.array([[1001, 1002], [3, 4]]))
    print(test2)
    ans2 = np.array([
        [0.26894142, 0.73105858],
        [0.26894142, 0.73105858]])
    assert np.allclose(test2, ans2, rtol=1e-05, atol=1e-06)

    test3 = softmax(np.array([[-1001, -1002]]))
    print(test3)
    ans3 = np.array([0.73105858, 0.26894142])
    assert np.allclose(test3, ans3, rtol=1e-05, atol=1e-06)

    print("You should be able to verify these results by hand!\n")


def your_sanity_checks():
    """My own extra tests."""
    print("Running your sanity checks...")
    # rows that are far apart from each other
    out = softmax(np.array([[1000.0, 1000.0, 1000.0], [-5.0, 0.0, 5.0]]))
    print(out)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert np.allclose(out[0], [1.0 / 3, 1.0 / 3, 1.0 / 3])

    # large 1-D input
    v = np.array([3000.0, 3001.0])
    assert np.allclose(softmax(v), [0.26894142, 0.73105858])

    # make sure the input is not changed
    a = np.array([[1.0, 2.0, 3.0]])
    softmax(a)
    assert np.allclose(a, [[1.0, 2.0, 3.0]])
    print("all good")


if __name__ == "__main__":
    test_softmax_basic()
    your_sanity_checks()
