"""Making a student's files loadable, run inside a sandbox worker (never in the grader).

Decoding, compiling and porting Python 2 read and rewrite untrusted text; a
4 MB file can take a minute and gigabytes, so this runs in a worker with the
submission's limits and budget (zygote.py's ``prepare``). It is a plain module
(standard library and fissix only) so the child can import it by file name.

* A file that is not UTF-8 and has no coding line is re-encoded from latin-1.
* A file that does not compile as Python 3 but parses as Python 2 is ported
  with fissix (a maintained lib2to3 fork) and the fixers in ``FIXERS``, unless
  the policy is ``reject``. Python 2's ``/`` on two ints floors; the port
  leaves ``/`` alone (docs/legacy.md).
* ``from .layers import x`` and ``from pkg.layers import x`` become
  ``from layers import x`` when layers.py is in the submission.
* Uses of NumPy aliases removed in 1.24 (``np.float``, ...) are noted.

:func:`prepare` returns plain data (lists, strings, ints): what the grader
receives and validates (grader/legacy.py).
"""
import functools
import importlib
import os
import re
from typing import List, Optional, Tuple

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




# Codecs a student file may need: a worker with dropped privileges may not be able to
# import more of the standard library (a Python installed in a 0700 home).
CODECS = ("utf-8-sig", "latin-1", "cp1252", "ascii", "iso8859-15", "utf-16")


def preload():
    """Import fissix, its fixers and the codecs now (the zygote does, before privileges drop).

    Returns None when porting is ready, else why it is not (fissix missing or
    broken): only Python 2 files then go unported, nothing else is affected.
    fissix's grammar is generated from its text (about 15 ms) instead of being
    read from, and written to, a pickle cache under ``$HOME``: a sandbox has no
    writable home, and a cache another run could write is no input to trust.
    """
    for name in CODECS:
        "".encode(name)
    try:
        import fissix
        from fissix.pgen2 import pgen
        fissix.pgen2.driver.load_grammar = lambda gt, *args, **kwargs: pgen.generate_grammar(gt)
        import fissix.refactor  # noqa: F401
        for name in FIXERS:
            importlib.import_module(name)
    except ImportError as exc:
        return "fissix is not installed (%s)" % exc
    except Exception as exc:  # noqa: BLE001 - a broken optional piece costs only Python 2 porting
        return "fissix failed to load (%s: %s)" % (type(exc).__name__, exc)
    return None


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


def _expand_indentation(text: str) -> str:
    """Leading tabs as Python 2 read them (to the next multiple of 8), the rest of each line untouched."""
    return re.sub(r"^[ \t]+", lambda m: m.group(0).expandtabs(8), text, flags=re.M)


def prepare(folder, reject=False):
    """Make the student's top-level .py files in ``folder`` loadable, in place.

    Returns {module: report} with plain values only: ``python2`` [line, what]
    or None, ``ported``, ``first_change`` [line, before, after] or None,
    ``reencoded``, ``imports`` (lines rewritten, as they were) and
    ``numpy_aliases``. Links are neither read nor written.
    """
    names = sorted(n for n in os.listdir(folder) if n.endswith(".py")
                   and os.path.isfile(os.path.join(folder, n)) and not os.path.islink(os.path.join(folder, n)))
    siblings = {n[:-3] for n in names}
    reports = {}
    for name in names:
        path = os.path.join(folder, name)
        report = {"python2": None, "ported": False, "first_change": None, "reencoded": False,
                  "imports": [], "numpy_aliases": []}
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read()
        text, report["reencoded"] = _decode(raw)
        original = text
        error = _compiles(text, name)
        if isinstance(error, (TabError, IndentationError)) and "\t" in text:
            # Python 2 read a tab as up to the next multiple of 8 columns; Python 3 refuses the mix.
            expanded = _expand_indentation(text)
            if _compiles(expanded, name) is None or port(expanded, name) is not None:
                text, error = expanded, _compiles(expanded, name)
        if error is not None:
            ported = port(text, name)
            if ported is not None and _compiles(ported, name) is None:
                report["python2"] = [error.lineno or 0, error.msg or "Python 2 syntax"]
                if not reject:
                    text, report["ported"] = ported, True
                    change = _first_change(original, ported)
                    report["first_change"] = list(change) if change else None
        text, report["imports"] = _rewrite_imports(text, siblings - {name[:-3]})
        report["numpy_aliases"] = sorted(set(_ALIAS_USE.findall(text)))
        if text != original or report["reencoded"]:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        reports[name[:-3]] = report
    return reports
