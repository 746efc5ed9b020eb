"""The reference solution, loaded in the grading process (it is trusted code).

``reference/`` is laid out like a student's folder; its modules import each other
by plain name (``from layers import relu``). They are executed here as
fresh module objects, with siblings visible under those names only while loading,
so they never clash with anything else in ``sys.modules``. The child process
never receives this tree: only the sources of the modules the isolation rule
injects (see :meth:`Reference.sources`).
"""
from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from .errors import GraderError


class Reference:
    """The reference modules of one folder, by module name."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise GraderError("reference folder not found: %s" % self.folder)
        self.modules: Dict[str, types.ModuleType] = {}
        self._sources: Dict[str, str] = {}
        saved = dict(sys.modules)
        finder = _SiblingFinder(self)
        sys.meta_path.insert(0, finder)
        try:
            for path in sorted(self.folder.glob("*.py")):
                self._load(path.stem)
        finally:
            sys.meta_path.remove(finder)
            # Restore sys.modules exactly: the reference's plain names leave no trace.
            for name in list(sys.modules):
                if name not in saved:
                    del sys.modules[name]
            sys.modules.update(saved)

    def _load(self, name: str) -> types.ModuleType:
        if name in self.modules:
            return self.modules[name]
        path = self.folder / (name + ".py")
        source = path.read_text(encoding="utf-8")
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module
        self.modules[name] = module
        self._sources[name] = source
        exec(compile(source, str(path), "exec"), module.__dict__)
        return module

    def function(self, module: str, name: str) -> Optional[Callable[..., Any]]:
        fn = getattr(self.modules.get(module), name, None)
        return fn if callable(fn) else None

    def find(self, name: str) -> Optional[Callable[..., Any]]:
        """The first reference function of that name, in module-name order."""
        for module in sorted(self.modules):
            fn = self.function(module, name)
            if fn is not None:
                return fn
        return None

    def sources(self, names) -> Dict[str, str]:
        """Source text of the named modules, to inject into the child for isolation."""
        return {n: self._sources[n] for n in names if n in self._sources}


class _SiblingFinder:
    """While the reference loads, ``import layers`` means the reference's own file."""

    def __init__(self, reference: Reference):
        self.reference = reference

    def find_spec(self, name, path=None, target=None):
        import importlib.machinery
        if "." in name or not (self.reference.folder / (name + ".py")).is_file():
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        return self.reference._load(spec.name)

    def exec_module(self, module):
        pass


class RefFunction:
    """The reference function a check compares against, with access to its siblings."""

    def __init__(self, fn: Optional[Callable[..., Any]], reference: Reference):
        self.fn = fn
        self.reference = reference

    def __call__(self, *args: Any) -> Any:
        if self.fn is None:
            raise GraderError("the reference has no function for this part")
        return self.fn(*args)

    def sibling(self, name: str) -> Callable[..., Any]:
        fn = self.reference.find(name)
        if fn is None:
            raise GraderError("the reference has no function %r" % name)
        return fn


def call_key(name: str, args) -> str:
    """A stable key for one call of a reference function: its name and its exact arguments."""
    import hashlib
    import json
    from .sandbox import wire
    payload = json.dumps([name, [wire.encode(a) for a in args]], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


class Recorder:
    """Wraps a Reference; every value its functions return is recorded by call key.

    Used to build the student kit: the public checks are run once against the
    reference at build time, and the kit ships the recorded expected values
    instead of the reference's code.
    """

    def __init__(self, reference: Reference):
        self.inner = reference
        self.folder = reference.folder
        self.recorded: Dict[str, Dict[str, Any]] = {}

    def _wrap(self, name: str, fn: Optional[Callable[..., Any]]) -> Optional[Callable[..., Any]]:
        if fn is None:
            return None

        def recording(*args: Any) -> Any:
            from .sandbox import wire
            key = call_key(name, args)
            value = fn(*args)
            self.recorded.setdefault(name, {})[key] = wire.encode(value)
            return value

        return recording

    def function(self, module: str, name: str) -> Optional[Callable[..., Any]]:
        return self._wrap(name, self.inner.function(module, name))

    def find(self, name: str) -> Optional[Callable[..., Any]]:
        return self._wrap(name, self.inner.find(name))


class RecordedReference:
    """The reference as a student's kit has it: recorded values, no code.

    A call whose arguments were not recorded at build time raises GraderError
    (the kit only runs the public checks, whose inputs are fixed by the seed).
    """

    recorded_only = True

    def __init__(self, path: Path):
        import json
        self.folder = Path(path)
        try:
            self.recorded: Dict[str, Dict[str, Any]] = json.loads(self.folder.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GraderError("cannot read the recorded reference %s: %s" % (path, exc)) from None

    def _replay(self, name: str) -> Optional[Callable[..., Any]]:
        table = self.recorded.get(name)
        if table is None:
            return None

        def replay(*args: Any) -> Any:
            from .sandbox import wire
            key = call_key(name, args)
            if key not in table:
                raise GraderError("no recorded reference value for this call of %s" % name)
            return wire.decode(table[key])

        return replay

    def function(self, module: str, name: str) -> Optional[Callable[..., Any]]:
        return self._replay(name)

    def find(self, name: str) -> Optional[Callable[..., Any]]:
        return self._replay(name)
