"""What the grader carries with it: the bundled rubrics and reference, found without importing the
rest of the grader (the command's help lists the rubrics, and every command starts fast)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def bundled_rubrics_dir() -> Path:
    """The bundled rubrics: ``grader/assets/rubrics`` if installed with assets, else ``<repo>/rubrics``."""
    bundled = Path(__file__).parent / "assets" / "rubrics"
    return bundled if bundled.is_dir() else _repo_root() / "rubrics"


_DEFAULT_LINE = re.compile(rb"^default[ \t]*:[ \t]*true[ \t]*(#.*)?$", re.MULTILINE)


def default_rubric_path() -> Path:
    """The bundled rubric marked ``default: true`` (the first by name if several are; else the
    first bundled rubric by name); a path that does not exist when none is bundled."""
    found = sorted(bundled_rubrics_dir().glob("*.yaml"))
    marked = [p for p in found if _DEFAULT_LINE.search(p.read_bytes())]
    return (marked or found or [bundled_rubrics_dir() / "rubric.yaml"])[0]


def default_reference_dir() -> Path:
    """The bundled reference: ``grader/assets/reference`` if installed with assets, else ``<repo>/reference``."""
    bundled = Path(__file__).parent / "assets" / "reference"
    return bundled if bundled.exists() else _repo_root() / "reference"


def named_rubric(name: str) -> Optional[Path]:
    """A bundled rubric by its name (its file's stem), or None if there is none by that name."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return None
    path = bundled_rubrics_dir() / (name + ".yaml")
    return path if path.is_file() else None
