"""Real submissions, made loadable: what was done to each file, as the feedback tells it.

The work itself (decoding, porting Python 2 with fissix, rewriting package-style
imports) reads and rewrites untrusted text, so it runs inside a sandbox worker
(grader/sandbox/porting.py, called by the child's ``prepare``), within the
submission's limits and budget. This module turns the worker's report, which is
untrusted data, into validated :class:`FileReport` objects and feedback notes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .sandbox import porting

port = porting.port   # the pure text transformation, for tests and tools


@dataclass
class FileReport:
    """What was done to one student file (module name without .py)."""

    module: str
    python2: Optional[Tuple[int, str]] = None          # (line, what) of the first Python 2 construct
    ported: bool = False
    first_change: Optional[Tuple[int, str, str]] = None  # (line, before, after)
    reencoded: bool = False
    imports: List[str] = field(default_factory=list)    # import lines rewritten (before)
    numpy_aliases: List[str] = field(default_factory=list)

    def notes(self, policy) -> List[str]:
        """The feedback lines for a part whose function lives in this file."""
        name = self.module + ".py"
        out = []
        if self.reencoded:
            out.append("%s is not UTF-8 and has no coding line: read as latin-1" % name)
        if self.ported:
            text = "%s is Python 2: ported to Python 3 before grading" % name
            if self.first_change:
                line, before, after = self.first_change
                text += " (first change, line %d: `%s` -> `%s`)" % (line, before.strip(), after.strip())
            penalty = _penalty(policy)
            if penalty:
                text += "; the rubric takes %g%% off for this" % (100 * penalty)
            out.append(text)
        for line in self.imports:
            out.append("resolved `%s` in %s to your own files" % (line.strip(), name))
        if self.numpy_aliases:
            out.append("%s uses %s, removed in NumPy 1.24: restored for grading" % (
                name, ", ".join("np." + a for a in self.numpy_aliases)))
        return out


def _penalty(policy) -> float:
    value = policy.get("python2") if isinstance(policy, dict) else None
    if isinstance(value, dict):
        return float(value.get("port_with_penalty", 0.0))
    return 0.0


def rejects(policy) -> bool:
    """True when the rubric's policy grades Python 2 files as they are (no port)."""
    return isinstance(policy, dict) and policy.get("python2") == "reject"


def _text(value: Any, cap: int = 300) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value[:cap]


def _line(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a line number")
    return value


def from_wire(data: Any) -> Dict[str, FileReport]:
    """The worker's ``prepared`` reports, validated; ValueError when malformed.

    Everything in ``data`` came from a process that ran student code: only the
    expected fields, types and sizes are kept.
    """
    if not isinstance(data, dict) or len(data) > 200:
        raise ValueError("reports are not a mapping")
    reports: Dict[str, FileReport] = {}
    for module, raw in data.items():
        if not isinstance(module, str) or not module.isidentifier() or not isinstance(raw, dict):
            raise ValueError("malformed report")
        report = FileReport(module)
        if raw.get("python2") is not None:
            line, what = raw["python2"]
            report.python2 = (_line(line), _text(what))
        report.ported = raw.get("ported") is True
        if raw.get("first_change") is not None:
            line, before, after = raw["first_change"]
            report.first_change = (_line(line), _text(before), _text(after))
        report.reencoded = raw.get("reencoded") is True
        report.imports = [_text(v) for v in raw.get("imports", [])][:20]
        aliases = [_text(v) for v in raw.get("numpy_aliases", [])]
        report.numpy_aliases = [a for a in aliases if a in porting.NUMPY_ALIASES]
        reports[module] = report
    return reports


def prepare(folder: Path, policy) -> Dict[str, FileReport]:
    """Prepare ``folder`` in this process: for tests of trusted files only, never for a submission."""
    return from_wire(porting.prepare(str(folder), rejects(policy)))
