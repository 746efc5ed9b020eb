"""Rebuild the real write-ups the manifests here name, from fetched mirrors, into a folder of one write-up each.

The write-ups are other people's work: they are never committed. Each ``*.yaml`` in this folder
lists entries (repository, commit, files, a TA's verdict per part); this script copies exactly
those files at exactly that commit out of a git mirror of the repository, into ``OUT/<key>/``.

    python benchmarks/real_written/rebuild.py --mirrors /work/.mirror --out /tmp/real_written

A mirror is a git directory at ``MIRRORS/<owner>+<name>/repo`` (or anywhere below
``MIRRORS/<owner>+<name>``): what the project's search tool's ``fetch github:<owner>/<name>``
leaves. Entries whose mirror is absent are listed, with what to fetch.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml

HERE = Path(__file__).resolve().parent


def entries() -> Dict[str, dict]:
    """Every manifest entry of this folder, by key (keys are unique across the files)."""
    out: Dict[str, dict] = {}
    for path in sorted(HERE.glob("*.yaml")):
        for key, entry in (yaml.safe_load(path.read_text()) or {}).get("writeups", {}).items():
            if key in out:
                raise SystemExit("%s: key %s is also in another manifest" % (path.name, key))
            out[key] = dict(entry, manifest=path.name)
    return out


def git_dir(mirrors: Path, repo: str) -> Optional[Path]:
    base = mirrors / repo.replace("/", "+")
    if (base / "repo" / "HEAD").is_file():
        return base / "repo"
    found = sorted(p.parent for p in base.glob("**/HEAD") if (p.parent / "objects").is_dir()) if base.is_dir() else []
    return found[0] if found else None


def _safe(name: str) -> str:
    """A file name of our own choosing for a path from the manifest (no folders, no odd characters)."""
    base = name.rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem if dot else base).strip("._") or "file"
    return stem + ("." + re.sub(r"[^A-Za-z0-9]+", "", suffix).lower() if dot else "")


def rebuild(out: Path, mirrors: Path, only: Optional[List[str]] = None) -> Dict[str, Path]:
    """Write every entry's files under ``out``; returns {key: folder} of the entries rebuilt."""
    done: Dict[str, Path] = {}
    missing = []
    for key, entry in entries().items():
        if only and key not in only:
            continue
        gdir = git_dir(mirrors, entry["repo"])
        if gdir is None:
            missing.append(entry["repo"])
            continue
        folder = out / key
        folder.mkdir(parents=True, exist_ok=True)
        used = set()
        for k, path in enumerate(entry["files"]):
            data = subprocess.run(["git", "--git-dir", str(gdir), "show", "%s:%s" % (entry["commit"], path)],
                                  capture_output=True, check=False)
            if data.returncode != 0:
                print("%s: %s not at %s in %s" % (key, path, entry["commit"][:10], entry["repo"]), file=sys.stderr)
                continue
            name = _safe(path)
            if name in used:
                name = "%d_%s" % (k, name)
            used.add(name)
            (folder / name).write_bytes(data.stdout)
        done[key] = folder
    for repo in sorted(set(missing)):
        print("no mirror of %s: fetch github:%s first" % (repo, repo), file=sys.stderr)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", default="/work/.mirror", type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    done = rebuild(args.out, args.mirrors)
    print("%d write-ups rebuilt in %s" % (len(done), args.out))


if __name__ == "__main__":
    main()
