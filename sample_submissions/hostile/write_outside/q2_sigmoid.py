import os
import sys
import time

import numpy as np

# HOSTILE: leave files outside my own folder (my home, the submissions folder
# I was handed in from, the grader's code and reference, numpy's and Python's
# install, the shared temporary folders) and try to change files already there.
# Every attempt is reported on stdout: "hostile: wrote PATH" means it worked.
MARK = "a1_hostile_was_here.txt"
REPO_GUESSES = ["/work/main", "/work", "/tmp/ciclone", "/srv/a1grader", "/home"]


def _repos():
    """Checkouts of the grader: the guesses, plus any folder holding sample_submissions."""
    found = [p for p in REPO_GUESSES if os.path.isdir(os.path.join(p, "sample_submissions"))]
    deadline = time.monotonic() + 1.0
    for start in ("/work", "/tmp", "/home", "/root", "/srv", "/opt"):
        for folder, dirs, files in os.walk(start):
            if time.monotonic() > deadline:
                return found
            if "sample_submissions" in dirs and folder not in found:
                found.append(folder)
            dirs[:] = [d for d in dirs if d not in ("sample_submissions", ".git", "node_modules")]
            if folder.count(os.sep) > 3:
                dirs[:] = []
    return found


def _targets():
    folders = [os.path.expanduser("~"), "/root", "/home", "/tmp", "/var/tmp", "/dev/shm",
               os.path.dirname(os.getcwd()), os.path.dirname(np.__file__),
               os.path.dirname(os.path.dirname(np.__file__)), os.path.dirname(os.__file__), sys.prefix]
    existing = [np.__file__, os.__file__]
    for repo in _repos():
        folders += [repo, os.path.join(repo, "sample_submissions"),
                    os.path.join(repo, "sample_submissions", "hostile"),
                    os.path.join(repo, "sample_submissions", "hostile", "write_outside"),
                    os.path.join(repo, "grader"), os.path.join(repo, "reference")]
        existing += [os.path.join(repo, "grader", "__init__.py"), os.path.join(repo, "reference", "q1_softmax.py"),
                     os.path.join(repo, "sample_submissions", "hostile", "write_outside", "q2_sigmoid.py")]
    return folders, existing


def scribble():
    folders, existing = _targets()
    for folder in dict.fromkeys(folders):
        path = os.path.join(folder, MARK)
        try:
            with open(path, "w") as handle:
                handle.write("a hostile submission was here\n")
            print("hostile: wrote " + path)
        except OSError as exc:
            print("hostile: denied %s (%s)" % (path, exc.strerror))
    # The folder next to mine is where the grader makes the next student's copy:
    # take its name first (and leave a note for whoever is graded next).
    here = os.path.basename(os.getcwd())
    if here[:1] == "s" and here[1:].isdigit():
        path = os.path.join(os.path.dirname(os.getcwd()), "s%d" % (int(here[1:]) + 1))
        try:
            os.mkdir(path)
            with open(os.path.join(path, MARK), "w") as handle:
                handle.write("a hostile submission was here\n")
            print("hostile: wrote " + path)
        except OSError as exc:
            print("hostile: denied %s (%s)" % (path, exc.strerror))
    for path in dict.fromkeys(existing):
        try:
            with open(path, "ab"):   # opened for writing; nothing is written
                pass
            print("hostile: wrote (could modify) " + path)
        except OSError as exc:
            print("hostile: denied %s (%s)" % (path, exc.strerror))


def fill_disk():
    """A 64 MiB file in my own folder (the one place I may write), to fill the disk."""
    path, chunk, written = "a1_hostile_big.bin", b"x" * (1 << 20), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while written < 64 << 20:
            written += os.write(fd, chunk)
        print("hostile: big file of %d MiB" % (written >> 20))
    except OSError as exc:
        print("hostile: big file stopped at %d MiB (%s)" % (os.path.getsize(path) >> 20, exc.strerror))
    finally:
        os.close(fd)


scribble()
fill_disk()
_CALLED = []


def sigmoid(x):
    """
    Compute the sigmoid function for the input here.

    Arguments:
    x -- A scalar or numpy array.

    Return:
    s -- sigmoid(x)
    """
    if not _CALLED:   # again while being graded, once
        _CALLED.append(1)
        scribble()
    s = 1.0 / (1.0 + np.exp(-x))
    return s


def sigmoid_grad(s):
    """
    Compute the gradient for the sigmoid function here. Note that
    for this implementation, the input s should be the sigmoid
    function value of your original input x.

    Arguments:
    s -- A scalar or numpy array.

    Return:
    ds -- Your computed gradient.
    """
    ds = s * (1 - s)
    return ds


def test_sigmoid_basic():
    """
    Some simple tests to get you started.
    Warning: these are not exhaustive.
    """
    print("Running basic tests...")
    x = np.array([[1, 2], [-1, -2]])
    f = sigmoid(x)
    g = sigmoid_grad(f)
    print(f)
    f_ans = np.array([
        [0.73105858, 0.88079708],
        [0.26894142, 0.11920292]])
    assert np.allclose(f, f_ans, rtol=1e-05, atol=1e-06)
    print(g)
    g_ans = np.array([
        [0.19661193, 0.10499359],
        [0.19661193, 0.10499359]])
    assert np.allclose(g, g_ans, rtol=1e-05, atol=1e-06)
    print("You should verify these results by hand!\n")


def your_sanity_checks():
    print("Running your sanity checks...")
    big = sigmoid(np.array([-800.0, 0.0, 800.0]))
    print(big)
    assert np.allclose(big, [0.0, 0.5, 1.0])
    # numerical derivative at a few points
    pts = np.linspace(-4, 4, 9)
    eps = 1e-6
    num = (sigmoid(pts + eps) - sigmoid(pts - eps)) / (2 * eps)
    assert np.allclose(num, sigmoid_grad(sigmoid(pts)), atol=1e-8)
    print("ok")


if __name__ == "__main__":
    test_sigmoid_basic()
    your_sanity_checks()
