"""Real submissions, made loadable: Python 2 files, odd encodings, package-style imports.

Runs in the grading process on the sandbox's scratch copy of a submission,
before any of it is imported. It only reads and rewrites text (``compile`` in
the grader never runs the code), and reports what it did per file so the
feedback can say so.

* A file that is not UTF-8 and has no coding line is re-encoded from latin-1.
* A file that does not compile as Python 3 but parses as Python 2 is ported
  with fissix (a maintained lib2to3 fork) and the fixers in ``FIXERS``, unless
  the rubric's ``python2`` policy is ``reject``. Python 2's ``/`` on two ints
  floors; the port leaves ``/`` alone (docs/legacy.md).
* ``from .q1_softmax import x`` and ``from pkg.q1_softmax import x`` become
  ``from q1_softmax import x`` when q1_softmax.py is in the submission, so the
  student's own file (or, for an isolated function, the grader's proxy) is used.
* Uses of NumPy aliases removed in 1.24 (``np.float``, ...) are noted; the child
  restores them in its own numpy.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# The fixers that matter for this homework's code, in one place.
FIXERS = tuple("fissix.fixes.fix_" + name for name in (
    "print", "xrange", "dict", "has_key", "except", "raise", "imports", "imports2", "basestring",
    "unicode", "long", "ne", "apply", "exec", "execfile", "raw_input", "input", "itertools",
    "itertools_imports", "map", "filter", "zip", "next", "numliterals", "reduce", "renames",
    "standarderror", "sys_exc", "throw", "tuple_params", "types", "urllib", "repr", "funcattrs",
    "methodattrs", "nonzero", "operator", "getcwdu", "intern", "isinstance", "xreadlines", "buffer",
))
NUMPY_ALIASES = ("float", "int", "bool", "object", "complex", "str")
_ALIAS_USE = re.compile(r"\b(?:np|numpy)\.(%s)\b" % "|".join(NUMPY_ALIASES))
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.M)


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


def _decode(raw: bytes) -> Tuple[str, bool]:
    """The file's text, and whether it had to be read as latin-1."""
    head = b"\n".join(raw.splitlines()[:2])
    match = _CODING.search(head)
    if match:
        try:
            return raw.decode(match.group(1).decode("ascii")), False
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def _compiles(text: str, name: str) -> Optional[SyntaxError]:
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except ValueError as exc:   # null bytes
        return SyntaxError(str(exc))
    return None


@functools.lru_cache(maxsize=1)
def _tool():
    """One refactoring tool: building it compiles every fixer's pattern (slow)."""
    from fissix.refactor import RefactoringTool
    return RefactoringTool(list(FIXERS))


def port(text: str, name: str) -> Optional[str]:
    """The Python 3 version of a Python 2 source, or None when it is not valid Python 2 either."""
    tool = _tool()
    try:
        return str(tool.refactor_string(text if text.endswith("\n") else text + "\n", name))
    except Exception:  # noqa: BLE001 - fissix raises its own parse errors; any failure means "cannot port"
        return None


def _first_change(before: str, after: str) -> Optional[Tuple[int, str, str]]:
    for number, (old, new) in enumerate(zip(before.splitlines(), after.splitlines()), start=1):
        if old != new:
            return number, old, new
    return None


def _rewrite_imports(text: str, siblings: set) -> Tuple[str, List[str]]:
    """Package-style imports of the submission's own modules, made plain."""
    changed: List[str] = []

    def from_import(match: "re.Match[str]") -> str:
        module = match.group(2)
        if module not in siblings:
            return match.group(0)
        changed.append(match.group(0))
        return "%sfrom %s import" % (match.group(1), module)

    def plain_import(match: "re.Match[str]") -> str:
        module = match.group(2)
        if module not in siblings:
            return match.group(0)
        changed.append(match.group(0))
        return "%simport %s as %s" % (match.group(1), module, match.group(3) or module)

    text = re.sub(r"^([ \t]*)from\s+(?:\.+|[A-Za-z_][\w.]*\.)([A-Za-z_]\w*)\s+import", from_import, text, flags=re.M)
    text = re.sub(r"^([ \t]*)import\s+[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*\.([A-Za-z_]\w*)(?:\s+as\s+([A-Za-z_]\w*))?",
                  plain_import, text, flags=re.M)
    return text, changed


def prepare(folder: Path, policy) -> Dict[str, FileReport]:
    """Make the student files in ``folder`` loadable in place; report per module."""
    reject = isinstance(policy, dict) and policy.get("python2") == "reject"
    files = sorted(p for p in Path(folder).glob("*.py") if p.is_file())
    siblings = {p.stem for p in files}
    reports: Dict[str, FileReport] = {}
    for path in files:
        report = FileReport(path.stem)
        raw = path.read_bytes()
        text, report.reencoded = _decode(raw)
        original = text
        error = _compiles(text, path.name)
        if error is not None:
            ported = port(text, path.name)
            if ported is not None and _compiles(ported, path.name) is None:
                report.python2 = (error.lineno or 0, error.msg or "Python 2 syntax")
                if not reject:
                    text, report.ported = ported, True
                    report.first_change = _first_change(original, ported)
        text, report.imports = _rewrite_imports(text, siblings - {path.stem})
        report.numpy_aliases = sorted(set(_ALIAS_USE.findall(text)))
        if text != original or report.reencoded:
            path.write_text(text, encoding="utf-8")
        reports[path.stem] = report
    return reports
