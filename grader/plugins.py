"""Extension points: what an assignment's plug-in registers, and how a rubric names its plug-in.

An assignment is data (a rubric, a reference folder laid out like a student's, samples) plus
one plug-in: a Python module or package that its rubric names with ``plugin:``: a dotted
module name (``plugin: mycourse.hw2``), a file beside the rubric (``plugin: hw2_checks.py``) or
a package folder beside it (``plugin: hw2/``, with its ``__init__.py``: its mistake finders can
then live in a module of their own, which a student kit leaves out). Importing the plug-in registers what the assignment's own checks need, under
names its rubric then uses:

* check kinds: :func:`grader.checks.base.register` and :func:`~grader.checks.base.register_plan`
  (``kind:`` in a check);
* input generators: :func:`input_generator` (``random: [{gen: NAME, ...}]`` in a check);
* adapters: :func:`adapter` (``find: [{module:, name:, adapter: NAME}]`` in a part): grade a
  function through another one the student wrote;
* mistake finders: :func:`mistake_finders` (``diagnose: NAME`` in a part, with the hint of each
  mistake under ``mistakes:``): name a known mistake from what the student's function returns;
* argument proxies: :func:`cost_family` (``fn: NAME`` in a gradient checker's check): a cost
  handed to the student's code as an opaque callable, evaluated in the grading process;
* the written reader's vocabulary: :func:`math_function` (a function a write-up may call, such
  as ReLU, with its numeric meaning).

The engine imports nothing of any assignment: a rubric without ``plugin:`` uses the general
check kinds only. A plug-in is course code, trusted as the rubric is; student code never runs
in the grading process whatever a plug-in does.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from .checks.inputs import GENERATORS
from .sandbox.proxies import register_cost as cost_family  # noqa: F401  (an extension point)

# adapter name -> class: ``Adapter(student)`` looks like the graded function (the StudentCallable
# protocol, grader.sandbox.student); ``Adapter.not_standalone(candidate)`` says why a function of
# the part's own name is not the one the rubric means, or None.
ADAPTERS: Dict[str, Any] = {}


@dataclass(frozen=True)
class Finder:
    """A mistake finder: ``module``'s function ``function(result, student, reference) -> [ids]``.

    The module is imported only when a part is diagnosed: it holds variants of the reference's
    maths (answers), so a student kit leaves it out and still reads the rubric that names it.
    """

    name: str
    module: str
    function: str

    def load(self) -> Callable[..., List[str]]:
        return getattr(importlib.import_module(self.module), self.function)


FINDERS: Dict[str, Finder] = {}


def _claim(table: Dict[str, Any], what: str, name: str, value: Any) -> None:
    """Register ``value`` under ``name``; the same name twice for two different things is a bug."""
    if name in table and table[name] != value:
        raise ValueError("%s %r registered twice" % (what, name))
    table[name] = value


def input_generator(name: str) -> Callable[[Callable[..., List[Any]]], Callable[..., List[Any]]]:
    """Register ``fn(rng, spec) -> [positional arguments]`` as the input generator ``name``."""

    def deco(fn):
        _claim(GENERATORS, "input generator", name, fn)
        return fn

    return deco


def adapter(name: str) -> Callable[[type], type]:
    """Register a class as the adapter ``name`` (see :data:`ADAPTERS`)."""

    def deco(cls):
        _claim(ADAPTERS, "adapter", name, cls)
        return cls

    return deco


def mistake_finders(module: str, functions: Mapping[str, str]) -> None:
    """Register finders: rubric name -> function name in ``module`` (imported when first used)."""
    for name, function in functions.items():
        _claim(FINDERS, "mistake finder", name, Finder(name, module, function))


def withheld_files() -> List[Path]:
    """The source files of every registered finder module that can be found: what a kit leaves out."""
    out = []
    for module in sorted({f.module for f in FINDERS.values()}):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            out.append(Path(spec.origin).resolve())
    return out


def math_function(name: str, fn: Callable[[Any], Any]) -> None:
    """Let write-ups call ``name`` (as written: ``\\mathrm{ReLU}(x)`` is ``ReLU``), evaluated
    elementwise by ``fn`` on numpy arrays when an answer is checked."""
    from .written import evaluate, latex, mathtext
    _claim(evaluate.BUILTINS, "math function", name, fn)
    latex.FUNCTIONS.add(name)
    latex.CALLABLE.add(name)
    mathtext.MATHWORDS.add(name)
    latex.known_names_changed()


def is_path(name: str) -> bool:
    """A rubric's ``plugin:`` names a file or a folder (else a module)."""
    return name.endswith((".py", "/")) or "/" in name


def plugin_path(name: str, rubric_dir: Path) -> Path:
    """The file or folder a path-like ``plugin:`` names, resolved against the rubric's folder."""
    path = Path(name.rstrip("/") or ".").expanduser()
    return (path if path.is_absolute() else Path(rubric_dir) / path).resolve()


def load_plugin(name: str, rubric_dir: Path) -> ModuleType:
    """Import the plug-in a rubric names: a ``.py`` file or a package folder (relative to the
    rubric), or a module.

    Raises ImportError (with the reason) when it cannot be imported; the rubric reader turns it
    into an error at the ``plugin:`` line. A file or folder is imported once per path, under a
    name made from the path, so two rubrics naming it share its registrations.
    """
    if is_path(name):
        path = plugin_path(name, rubric_dir)
        folder = name.endswith("/")
        init = path / "__init__.py" if folder else path
        if not init.is_file():
            raise ImportError("plug-in %s not found: %s" % ("package" if folder else "file", init))
        key = "grader_plugin_%s" % hashlib.sha256(str(path).encode()).hexdigest()[:16]
        if key in sys.modules:
            return sys.modules[key]
        spec = importlib.util.spec_from_file_location(
            key, init, submodule_search_locations=[str(path)] if folder else None)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
        return module
    return importlib.import_module(name)


def known(names: Iterable[str]) -> str:
    """The registered names, for an error that says which ones exist."""
    return ", ".join(sorted(names)) or "none"
