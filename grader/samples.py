"""Sample submissions kept as differences: assemble a sample's folder from its manifest.

A folder of samples (a course's ``sample_submissions/``) is a *group*: a ``manifest.yaml`` maps each sample's
name to its entry, and each sample has a folder of its own beside it. A sample whose entry has a
``base`` holds only the files it changes; its folder is assembled from the base's (itself
assembled, to any depth), with its own files laid over them byte for byte and the files its entry
lists under ``remove`` taken away::

    relu_leaky:                  # samples/relu_leaky/ holds the one file it changes, relu.py
      base: correct
    without_helpers:
      base: correct
      remove: [helpers.py]

A sample without ``base`` is a full folder, copied as it is. A ``base`` is named as every sample
is, by its folder's path below the samples folder (``correct``, ``hostile/fork_bomb``), wherever
the entry is. A folder below a group is itself a group when it has a ``manifest.yaml`` of its own
or holds no file, only folders (``hostile/``, ``similarity/``); any other folder is a sample. An
entry of a group's manifest that names a base is a sample even without a folder (it changes
nothing, or only removes).

The assembled folder holds exactly the files (names, bytes, permission bits) that a full copy of
the sample would: the grader seeds a submission's inputs from a digest of its files, so the scores
depend on it. Nothing here knows an assignment: only the manifests say what a sample is.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Tuple

import yaml

from .errors import GraderError

MANIFEST = "manifest.yaml"
SKIPPED = ("__pycache__",)          # Python's byte-code caches, left by running a sample in place
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)


class SampleError(GraderError):
    """A sample that is unknown or cannot be assembled (its base missing, bases in a loop, ...)."""


# ---------------------------------------------------------------- what is there

def _manifest(group: Path) -> Dict[str, dict]:
    """The entries of ``group``'s manifest, by sample name (``{}`` without a manifest)."""
    path = group / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SampleError("%s: cannot be read (%s)" % (path, str(exc).splitlines()[0] if str(exc) else exc))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SampleError("%s: not a mapping of sample names to entries" % path)
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _holds_files(folder: Path) -> bool:
    return any(p.is_file() or p.is_symlink() for p in folder.iterdir())


@dataclass
class Catalog:
    """What a samples folder holds, read once: every sample's manifest entry, and the groups."""

    root: Path
    entries: Dict[str, dict] = field(default_factory=dict)     # sample name -> its entry ({} if unlisted)
    groups: List[str] = field(default_factory=list)

    @classmethod
    def read(cls, samples_dir: Path) -> "Catalog":
        catalog = cls(Path(samples_dir))
        catalog._walk("")
        catalog.entries = dict(sorted(catalog.entries.items()))
        catalog.groups.sort()
        return catalog

    def _walk(self, group: str) -> None:
        folder = self.root / group if group else self.root
        listed = _manifest(folder)
        prefix = group + "/" if group else ""
        found = {p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink()
                 and not p.name.startswith(".") and p.name not in SKIPPED}
        found |= {k for k, v in listed.items() if "base" in v}
        for name in sorted(found):
            sub = folder / name
            if name in listed or not sub.is_dir() or (not (sub / MANIFEST).is_file() and _holds_files(sub)):
                self.entries[prefix + name] = dict(listed.get(name, {}))
            else:
                self.groups.append(prefix + name)
                self._walk(prefix + name)

    @property
    def names(self) -> List[str]:
        return list(self.entries)

    def entry(self, name: str) -> dict:
        if name not in self.entries:
            raise SampleError("unknown sample %r in %s" % (name, self.root))
        return self.entries[name]

    def files(self, name: str) -> Dict[str, Path]:
        """Sample ``name``'s files as assembled (see :func:`files`)."""
        return _files(self, name)


def names(samples_dir: Path) -> List[str]:
    """Every sample below ``samples_dir``, by name (``correct``, ``hostile/fork_bomb``), sorted."""
    return Catalog.read(samples_dir).names


def groups(samples_dir: Path) -> List[str]:
    """Every group below ``samples_dir`` (``hostile``, ``written``), by name, sorted."""
    return Catalog.read(samples_dir).groups


def entry(samples_dir: Path, name: str) -> dict:
    """The manifest entry of sample ``name`` (``{}`` for a sample its group's manifest does not list)."""
    return dict(Catalog.read(samples_dir).entry(name))


def described(samples_dir: Path) -> List[Tuple[str, Optional[str]]]:
    """(name, the one-line ``mistake`` of its manifest entry or None) of every sample."""
    return [(name, " ".join(str(e["mistake"]).split()) if e.get("mistake") is not None else None)
            for name, e in Catalog.read(samples_dir).entries.items()]


# ---------------------------------------------------------------- a sample's files

def _own_files(folder: Path, name: str) -> Dict[str, Path]:
    """The regular files of a sample's own folder, by POSIX path relative to it."""
    out: Dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for item in sorted(dirs) + sorted(files):
            path = Path(here) / item
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise SampleError("sample %r: %s is a link; a sample holds regular files only" % (name, rel))
            if item in files:
                if not path.is_file():
                    raise SampleError("sample %r: %s is not a regular file" % (name, rel))
                out[rel] = path
    return out


def _removal(name: str, rel) -> str:
    if not isinstance(rel, str) or not rel:
        raise SampleError("sample %r: remove: %r is not a file name" % (name, rel))
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel:
        raise SampleError("sample %r: remove: %r is not a path inside the sample" % (name, rel))
    return pure.as_posix()


def files(samples_dir: Path, name: str) -> Dict[str, Path]:
    """The files of sample ``name`` as assembled: relative POSIX path -> the file holding its bytes.

    Raises SampleError for an unknown sample, a base that is no sample, bases in a loop, a removal
    of a file the base does not have, or a link in a sample's folder.
    """
    return _files(Catalog.read(samples_dir), name)


def _files(catalog: Catalog, name: str) -> Dict[str, Path]:
    chain: List[str] = []
    while True:                                       # the base chain, checked before anything is read
        chain.append(name)
        base = catalog.entry(name).get("base")
        if base is None:
            break
        if not isinstance(base, str) or base not in catalog.entries:
            raise SampleError("sample %r: its base %r is not a sample in %s" % (name, base, catalog.root))
        if base in chain:
            raise SampleError("sample %r: its bases loop: %s" % (chain[0], " -> ".join(chain + [base])))
        name = base
    out: Dict[str, Path] = {}
    for name in reversed(chain):                      # the full sample first, then each change on it
        own = _own_files(catalog.root / name, name)
        for rel in catalog.entry(name).get("remove", None) or []:
            rel = _removal(name, rel)
            if rel not in out:
                raise SampleError("sample %r: remove: its base has no file %s" % (name, rel))
            if rel in own:
                raise SampleError("sample %r: %s is both removed and held" % (name, rel))
            del out[rel]
        out.update(own)
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- assembling

def _ready(dest: Path) -> None:
    """``dest`` made, or checked to be an empty folder (never a link)."""
    if dest.is_symlink():
        raise SampleError("%s is a link: give a folder that does not exist yet, or an empty one" % dest)
    if dest.exists():
        if not dest.is_dir():
            raise SampleError("%s is not a folder" % dest)
        if any(dest.iterdir()):
            raise SampleError("%s is not empty: give a folder that does not exist yet, or an empty one" % dest)
    else:
        dest.mkdir(parents=True)


def _write(source: Path, target: Path) -> None:
    """``source``'s bytes and permission bits into a new file ``target`` (never over a file, never
    through a link)."""
    data = source.read_bytes()
    fd = os.open(target, _CREATE, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            os.fchmod(handle.fileno(), stat.S_IMODE(source.stat().st_mode))
    finally:
        if fd != -1:
            os.close(fd)


def _lay_out(layout: Dict[str, Path], dest: Path) -> None:
    root = dest.resolve()
    for rel, source in layout.items():
        target = dest.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if root not in target.parent.resolve().parents and target.parent.resolve() != root:
            raise SampleError("%s would be written outside %s" % (rel, dest))
        _write(source, target)


def assemble(samples_dir: Path, name: str, dest: Path) -> Path:
    """Make ``dest`` the folder of sample ``name`` (or, for a group, of every sample in it, each in
    the folder of its name below ``dest``); returns ``dest``.

    ``dest`` must not exist, or be an empty folder; nothing is written outside it. Every sample is
    resolved before anything is written, so a bad manifest writes nothing.
    """
    catalog, dest = Catalog.read(samples_dir), Path(dest)
    if name in catalog.groups:
        layout = {}
        for member in (n for n in catalog.names if n.startswith(name + "/")):
            below = member[len(name) + 1:]
            layout.update({below + "/" + rel: path for rel, path in _files(catalog, member).items()})
    else:
        layout = _files(catalog, name)
    _ready(dest)
    _lay_out(layout, dest)
    return dest


def problems(samples_dir: Path) -> List[str]:
    """What is wrong with the samples, one line each: a sample that cannot be assembled, or a file a
    sample holds that is the same as its base's (a copy the sample should leave out)."""
    catalog = Catalog.read(samples_dir)
    out: List[str] = []
    for name in catalog.names:
        try:
            _files(catalog, name)
        except SampleError as exc:
            out.append(str(exc))
            continue
        base = catalog.entry(name).get("base")
        if base is None:
            continue
        below = _files(catalog, base)
        for rel, path in _own_files(catalog.root / name, name).items():
            if rel in below and below[rel].read_bytes() == path.read_bytes() and \
                    stat.S_IMODE(below[rel].stat().st_mode) == stat.S_IMODE(path.stat().st_mode):
                out.append("sample %r: %s is the same as its base %r's: leave it out" % (name, rel, base))
    return out
