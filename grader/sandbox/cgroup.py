"""One memory and process limit for everything a zygote and its workers run: a control group.

RLIMIT_AS and RLIMIT_NPROC count per process and per uid; a submission that
forks eight children, each just under the address-space limit, holds eight
times the memory the rubric allows. A control group counts all of them, and
the kernel memory and tmpfs pages they make, against one ``memory`` limit and
one ``pids`` limit. The grader (root) makes a group per zygote, named by
itself, below the group it runs in; the zygote is started inside it (a shell
that moves itself in, then execs it), so every worker is born inside.
Workers raise their own OOM score, so at the limit the kernel ends the
student's process, not the zygote. cgroup v2 where its controllers can be
enabled, else v1's ``memory`` and ``pids`` hierarchies; where neither can be
written (not root, no delegation) there is no group and the per-process
limits remain (``--explain-sandbox`` says which).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List, Optional
from .. import NAME

CGROUP_ROOT = Path("/sys/fs/cgroup")
_COUNT = [0]


def _own(hierarchy: str) -> Optional[str]:
    """This process's group in a v1 ``hierarchy`` ('' for v2), from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and (parts[1] == hierarchy or (hierarchy and hierarchy in parts[1].split(","))):
            return parts[2]
    return None


def _v2_base() -> Optional[Path]:
    """A v2 folder whose children may get memory and pids limits, or None.

    Our own group cannot have children with controllers while it holds
    processes (the "no internal processes" rule) unless it is the root:
    so the root, or a group of ours directly below it.
    """
    if not (CGROUP_ROOT / "cgroup.controllers").exists():
        return None
    try:
        wanted = {"memory", "pids"}
        if not wanted <= set((CGROUP_ROOT / "cgroup.controllers").read_text().split()):
            return None
        base = CGROUP_ROOT / NAME
        base.mkdir(exist_ok=True)
        for folder in (CGROUP_ROOT, base):
            enabled = set((folder / "cgroup.subtree_control").read_text().split())
            if not wanted <= enabled:
                (folder / "cgroup.subtree_control").write_text(" ".join("+" + c for c in sorted(wanted)))
        return base
    except OSError:
        return None


def _v1_bases() -> Optional[List[Path]]:
    """The v1 memory and pids folders below our own groups, or None."""
    bases = []
    for hierarchy in ("memory", "pids"):
        own = _own(hierarchy)
        folder = CGROUP_ROOT / hierarchy
        if own is None or not folder.is_dir():
            return None
        bases.append(folder / own.lstrip("/"))
    return bases if all(os.access(b, os.W_OK) for b in bases) else None


class Group:
    """The groups (one in v2, two in v1) a zygote runs in; ``prefix`` starts a command inside them."""

    def __init__(self, folders: List[Path], version: int):
        self.folders = folders
        self.version = version

    def limit(self, memory_bytes: int, pids: int) -> None:
        """Set (or change) the group's limits."""
        for folder in self.folders:
            for name, value in (("memory.max", memory_bytes), ("memory.limit_in_bytes", memory_bytes),
                                ("pids.max", pids)):
                if (folder / name).exists():
                    (folder / name).write_text(str(int(value)))

    def prefix(self) -> List[str]:
        """A command prefix: a shell that enters every group, then execs the rest."""
        targets = " ".join("'%s'" % (f / "cgroup.procs") for f in self.folders)
        return ["/bin/sh", "-c", 'for p in %s; do echo $$ > "$p" || exit 97; done; exec "$@"' % targets, "sh"]

    def remove(self) -> None:
        """Remove the groups once their processes are gone (they go with the zygote)."""
        deadline = time.monotonic() + 2
        for folder in self.folders:
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break   # a process still exiting: the group stays, empty soon, and harms no one
                    time.sleep(0.02)


def make(memory_bytes: int, pids: int) -> Optional[Group]:
    """A new group limited to ``memory_bytes`` and ``pids``, or None where none can be made."""
    if os.geteuid() != 0:
        return None
    _COUNT[0] += 1
    name = "%s-%d-%d" % (NAME, os.getpid(), _COUNT[0])
    base = _v2_base()
    if base is not None:
        group = Group([base / name], 2)
    else:
        bases = _v1_bases()
        if bases is None:
            return None
        group = Group([folder / name for folder in bases], 1)
    try:
        for folder in group.folders:
            folder.mkdir()
        if (group.folders[0] / "memory.swap.max").exists():
            (group.folders[0] / "memory.swap.max").write_text("0")
        group.limit(memory_bytes, pids)
    except OSError:
        group.remove()
        return None
    return group


def available() -> bool:
    """Whether a group can be made here (tried: made and removed)."""
    group = make(1 << 30, 64)
    if group is None:
        return False
    group.remove()
    return True
