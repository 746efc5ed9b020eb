"""Resource limits of the sandbox: the one place their defaults live.

A rubric may set any of them under ``limits:``; ``grader check`` options
override the rubric. Time limits are enforced by the grader (it kills the
worker); the others are kernel limits the worker sets on itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Mapping


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0        # seconds for one call of a student function
    load_timeout: float = 20.0   # seconds to import the student's files (their top-level code runs)
    budget: float = 120.0        # seconds of everything one submission may take
    part_budget: float = 3.0     # seconds of calls one part may take (honest parts take under 0.2)
    memory_mb: int = 1024        # address space of a worker (RLIMIT_AS); numpy imports within 200
    file_mb: int = 16            # largest file a worker may write (RLIMIT_FSIZE)
    disk_mb: int = 64            # all a submission's workers may write, beyond its own files (tmpfs size)
    processes: int = 64          # processes and threads of the worker's uid (RLIMIT_NPROC)
    open_files: int = 256        # file descriptors of one worker process (RLIMIT_NOFILE)
    files: int = 4096            # files and folders a submission may make in its scratch (tmpfs nr_inodes)

    def to_child(self) -> Dict[str, int]:
        """The kernel limits, as the child sets them."""
        return {"memory_bytes": self.memory_mb * 1024 * 1024, "file_bytes": self.file_mb * 1024 * 1024,
                "cpu_seconds": int(self.budget) + 1, "processes": self.processes, "open_files": self.open_files}

    def override(self, **values: Any) -> "Limits":
        """A copy with the given (non-None) values replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Limits":
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise KeyError(sorted(unknown)[0])
        return cls().override(**{k: (float(v) if isinstance(getattr(cls(), k), float) else int(v))
                                 for k, v in data.items()})

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


DEFAULT_LIMITS = Limits()
