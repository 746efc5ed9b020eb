"""Bundles for the course's tools: the Gradescope autograder zip and the student kit.

* ``build_gradescope``: a zip with ``setup.sh`` (installs the grader on Gradescope's
  Ubuntu image and makes its files unreadable to the student's uid) and
  ``run_autograder`` (grades ``/autograder/submission`` into
  ``/autograder/results/results.json``); the grader's source, reference and
  rubric ride inside the zip, never in the submission's folder.
* ``build_kit``: the student-facing self-check: the grader's code without the
  reference, the public part of the rubric (no written part: those entries are
  answers), the expected values of the public cases recorded from the reference
  at build time, the course's environment as a ``requirements.txt`` and
  ``selfcheck.py``, which runs it from any folder, each time from a private copy
  of the kit's files checked against the sha256 recorded when it was built.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml

from . import NAME
from .errors import GraderError

PACKAGE = Path(__file__).resolve().parent
SKIP = {"__pycache__", "assets"}

SETUP_SH = """#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image. A1GRADER_AUTOGRADER_ROOT
# moves /autograder (for tests).
set -euo pipefail
ROOT="${A1GRADER_AUTOGRADER_ROOT:-/autograder}"
apt-get install -y python3 python3-venv python3-pip bubblewrap >/dev/null 2>&1 || true
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --quiet "$ROOT/source/a1grader"
# The reference and the rubric stay out of the student's reach: the student's
# code runs as an unprivileged uid (and, where bubblewrap works, cannot see them).
# pip put a copy of the grader, reference included, into the venv: that one too.
chmod -R go-rwx "$ROOT/source"
chmod -R go-rwx "$("$ROOT/venv/bin/python" -c 'import grader, os; print(os.path.dirname(grader.__file__))')"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs for every submission. A1GRADER_AUTOGRADER_ROOT moves /autograder (for tests);
# A1GRADER_PYTHON picks the interpreter (default: the venv setup.sh made).
ROOT="${A1GRADER_AUTOGRADER_ROOT:-/autograder}"
PY="${A1GRADER_PYTHON:-$ROOT/venv/bin/python}"
export PYTHONPATH="$ROOT/source/a1grader${PYTHONPATH:+:$PYTHONPATH}"
# The course secret made when this zip was built (setup.sh made the folder unreadable to the
# student's uid): without it every input would be predictable from the submission's files.
export A1GRADER_SECRET_FILE="$ROOT/source/secret"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
# Gradescope grades each submission in a container of its own, thrown away afterwards: where
# its kernel allows neither bubblewrap nor namespaces, a uid drop alone is acceptable there
# (and only there). The strongest mode that works is still chosen; results.json names it.
META=()
if [ -f "$ROOT/submission_metadata.json" ]; then META=(--gradescope-metadata "$ROOT/submission_metadata.json"); fi
if ! "$PY" -m grader.cli check "$ROOT/submission" --rubric "$ROOT/source/rubric.yaml" --i-know-it-is-unsafe \\
        --format gradescope --out "$ROOT/results/results.json" "${META[@]}" 2> "$ROOT/results/grader_error.txt"; then
    status=$?
    if [ "$status" -ne 1 ]; then
        "$PY" - "$ROOT/results" <<'PY'
import json, pathlib, sys
results = pathlib.Path(sys.argv[1])
error = (results / "grader_error.txt").read_text(errors="replace").strip()[-2000:]
json.dump({"score": 0.0, "output": "The autograder could not grade this submission: " + error,
           "stdout_visibility": "hidden", "tests": []}, open(results / "results.json", "w"))
PY
    fi
fi
"""


def _copy_tree(src: Path, dst: Path, skip: Iterable[str] = SKIP, leave_out: Iterable[Path] = ()) -> None:
    """Copy ``src`` to ``dst`` but for names matching ``skip`` and the files ``leave_out``."""
    names = shutil.ignore_patterns(*skip, "*.pyc")
    left = {Path(p).resolve() for p in leave_out}

    def ignore(folder: str, entries: List[str]) -> set:
        return set(names(folder, entries)) | {e for e in entries if (Path(folder) / e).resolve() in left}

    shutil.copytree(src, dst, ignore=ignore)


def packages_of(package: Path = PACKAGE) -> List[str]:
    """The dotted names of ``package`` and every sub-package in it (folders with an __init__.py)."""
    found = [package] + sorted(p.parent for p in package.rglob("__init__.py") if "__pycache__" not in p.parts
                               and "assets" not in p.relative_to(package).parts and p.parent != package)
    return [".".join((package.name,) + p.relative_to(package).parts) for p in found]


def carry_plugin(rubric, data: dict, folder: Path, withhold: bool = False) -> None:
    """A rubric's plug-in file or package folder rides beside the rubric written into ``folder``
    (a module rides in the grader's package). ``withhold``: leave out its mistake finders' modules
    (a student kit: they hold variants of the reference's maths)."""
    from .plugins import is_path, plugin_path, withheld_files
    if not rubric.plugin or not is_path(rubric.plugin):
        return
    source = plugin_path(rubric.plugin, Path(rubric.path).parent)
    if source.is_dir():
        _copy_tree(source, folder / "plugin", skip={"__pycache__"}, leave_out=withheld_files() if withhold else ())
        data["plugin"] = "plugin/"
    else:
        shutil.copy(source, folder / "plugin.py")
        data["plugin"] = "plugin.py"


def _source_root() -> Path:
    """The repository (or the installed package) the grader runs from."""
    repo = PACKAGE.parent
    return repo if (repo / "pyproject.toml").is_file() else PACKAGE


def project_metadata() -> Dict[str, object]:
    """The grader's ``dependencies`` (list of requirement strings) and ``requires-python``.

    pyproject.toml is the one place they are written. Read from it when the
    grader runs from its repository (the file the Gradescope zip ships), else
    from the installed distribution's metadata, which pip wrote from it.
    Raises GraderError when neither can be read.
    """
    pyproject = PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file():
        try:
            import tomllib
        except ImportError:   # Python 3.10: the installed metadata says the same
            tomllib = None
        if tomllib is not None:
            try:
                project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
                return {"dependencies": list(project["dependencies"]),
                        "requires-python": project.get("requires-python", "")}
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
                raise GraderError("cannot read the grader's dependencies from %s: %s" % (pyproject, exc)) from None
    from importlib import metadata
    try:
        dist = metadata.distribution(NAME)
    except metadata.PackageNotFoundError:
        raise GraderError("cannot tell the grader's dependencies: no pyproject.toml beside it and the "
                          "a1grader distribution is not installed (pip install it)") from None
    return {"dependencies": [r for r in (dist.requires or []) if "extra ==" not in r],
            "requires-python": dist.metadata.get("Requires-Python") or ""}


def installed_pyproject() -> str:
    """A pyproject.toml for the installed grader's version and dependencies (its metadata says them)."""
    from . import __version__
    project = project_metadata()
    deps = "".join("    %s,\n" % json.dumps(r) for r in project["dependencies"])
    python = "requires-python = %s\n" % json.dumps(project["requires-python"]) if project["requires-python"] else ""
    packages = json.dumps(packages_of() + ["grader.assets.reference", "grader.assets.rubrics"])
    return PYPROJECT % {"version": __version__, "deps": deps, "python": python, "packages": packages}


PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "a1grader"
version = "%(version)s"
%(python)sdependencies = [
%(deps)s]

[project.scripts]
grader = "grader.cli:entry"

[tool.setuptools]
packages = %(packages)s

[tool.setuptools.package-dir]
"grader.assets.reference" = "reference"
"grader.assets.rubrics" = "rubrics"

[tool.setuptools.package-data]
"grader.assets.rubrics" = ["*.yaml"]
"""


def _rubric_with_reference(rubric, reference: Optional[str], folder: Path) -> str:
    """The rubric's text with its `reference:` set (or removed, to use the bundled one), for a
    copy written into ``folder`` (its plug-in file copied there: :func:`carry_plugin`)."""
    data = yaml.safe_load(Path(rubric.path).read_text(encoding="utf-8"))
    if reference is None:
        data.pop("reference", None)
    else:
        data["reference"] = reference
    carry_plugin(rubric, data, folder)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def build_gradescope(rubric_path: Path, out: Path) -> Path:
    """Write the Gradescope autograder zip to ``out``; return its path."""
    from .rubric import load_rubric
    rubric = load_rubric(rubric_path)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = _source_root()
        pkg = root / "a1grader"
        pkg.mkdir()
        for name in ("pyproject.toml", "README.md"):
            if (source / name).is_file():
                shutil.copy(source / name, pkg / name)
        if not (pkg / "pyproject.toml").is_file():
            # Built from an installed grader: setup.sh must install this very version all the same.
            (pkg / "pyproject.toml").write_text(installed_pyproject())
        _copy_tree(PACKAGE, pkg / "grader")
        _copy_tree(rubric.reference, pkg / "reference", skip={"__pycache__"})
        (pkg / "rubrics").mkdir()   # the rubric graded with is the one at the zip's root, with its plug-in
        shutil.copy(rubric_path, pkg / "rubrics" / Path(rubric_path).name)
        # The rubric graded with: its reference is the copy inside the zip.
        (root / "rubric.yaml").write_text(_rubric_with_reference(rubric, "a1grader/reference", root))
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            (root / name).write_text(text)
            os.chmod(root / name, 0o755)
        from .coursesecret import new_secret
        (root / "secret").write_text(new_secret() + "\n")   # this autograder's course secret (coursesecret.py)
        os.chmod(root / "secret", 0o600)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(root)))
                    info.external_attr = (stat.S_IMODE(path.stat().st_mode) | stat.S_IFREG) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return out


KIT_README = """# {name}: self-check

Checks your code before you submit it, with the public part of the course's
rubric. It contains no solution: the expected values of the public cases were
recorded from the course's reference when this kit was made. Checks marked
"graded after submission" are graded only on the course's side.

The score it gives is advice, not your grade: your code runs on your own
machine (or your repository's CI), where it could change what scores it. Your
grade comes from the course's own grading, after you submit.

Once, install the packages your code is graded with (numpy, scipy, matplotlib
and the rest of the course's environment, listed in requirements.txt; the
self-check runs on them too) into the Python you run your code with{python}:

    pip install -r /path/to/{kit}/requirements.txt

Then check your assignment folder, from any folder you are in:

    python /path/to/{kit}/selfcheck.py /path/to/your/folder

`/path/to/{kit}` is where this folder is. Without a folder, the one you are
in is checked. `--help` lists the options (`--format`, `--out`, `--min-score`;
`--also FORMAT=FILE` writes another report of the same run).

Every run first checks this kit's files against the digests recorded when it
was made, and grades from a private copy of them: if something has changed
them (a program you ran, or code that was being checked), the self-check says
which file and stops. Get a fresh copy of the kit then.

{layout}"""

KIT_README_WRITTEN = ("The written answers ({parts}: {points:g} points) are not checked here: this kit holds "
                      "none of their answers. It says whether each part could be found and read in your "
                      "write-up, and how it was read (\"your answer was read as ...\"), with no verdict. "
                      "They are graded after you submit.")

SELFCHECK = r'''"""Self-check: python /path/to/this/kit/selfcheck.py [FOLDER] [OPTIONS]

Grades FOLDER (default: the current folder) with this kit's grader and rubric,
whatever folder it is run from. OPTIONS and exit codes are those of grader
check; --also FORMAT=FILE (repeatable; FILE - is standard output) writes one
more report of the same run. Packages of the course's environment
(requirements.txt) missing here are named on stderr first; grading goes on.

Each run starts from the kit as it was built: every file it grades with is
checked against MANIFEST (their sha256, recorded when the kit was built), and
the grader runs from a private copy of exactly the bytes checked, removed
afterwards. Nothing a submission writes into this folder, or into that copy,
reaches a later run: a changed kit is refused (exit 2). Its score is advice,
not a grade.
"""
import atexit
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile

KIT = os.path.dirname(os.path.realpath(__file__))
REQUIREMENTS = os.path.join(KIT, "requirements.txt")
MIN_PYTHON = %(min_python)r
MANIFEST = %(manifest)s


def fail(message):
    print("selfcheck: error: " + message, file=sys.stderr)
    sys.exit(2)


def verified():
    """The kit's files as built, {path: bytes}, each checked against MANIFEST; a changed kit ends here."""
    files, changed = {}, []
    for name, digest in sorted(MANIFEST.items()):
        try:
            with open(os.path.join(KIT, *name.split("/")), "rb") as handle:
                data = handle.read()
        except OSError:
            changed.append(name + " is missing")
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            changed.append(name)
        files[name] = data
    if changed:
        fail("this kit has changed since it was built (%%s%%s), so its score would mean nothing: get a fresh "
             "copy of the kit (%%s)" %% (", ".join(changed[:3]), ", ..." if len(changed) > 3 else "", KIT))
    return files


def remove(root):
    """The private copy, gone (its read-only folders and files made writable first)."""
    def writable(function, path, _):
        os.chmod(path, stat.S_IRWXU)
        function(path)
    for top, folders, _ in os.walk(root):
        for name in folders:
            try:
                os.chmod(os.path.join(top, name), stat.S_IRWXU)
            except OSError:
                pass
    try:
        os.chmod(root, stat.S_IRWXU)
    except OSError:
        pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=writable)
    else:
        shutil.rmtree(root, onerror=writable)


def private_copy(files):
    """The checked bytes in a new folder only this user may enter, read-only; removed at exit."""
    root = tempfile.mkdtemp(prefix="a1grader-selfcheck-")
    atexit.register(remove, root)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for name, data in files.items():
        path = os.path.join(root, *name.split("/"))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
            handle.write(data)
        os.chmod(path, stat.S_IRUSR)
    for top, folders, _ in os.walk(root, topdown=False):
        for name in folders:
            os.chmod(os.path.join(top, name), stat.S_IRUSR | stat.S_IXUSR)
    os.chmod(root, stat.S_IRUSR | stat.S_IXUSR)
    return root


def applies(marker):
    """Whether a requirement's environment marker holds here (unknown: assume it does not)."""
    try:
        from packaging.markers import Marker
        return Marker(marker).evaluate()
    except Exception:  # no packaging here, or a marker it cannot read
        return False


def missing_packages():
    """Names of the requirements in requirements.txt that are not installed here, in order."""
    from importlib import metadata
    missing = []
    with open(REQUIREMENTS, encoding="utf-8") as lines:
        for line in lines:
            requirement, _, marker = line.split("#", 1)[0].strip().partition(";")
            name = re.match(r"[A-Za-z0-9._-]*", requirement.strip()).group(0)
            if not name or (marker.strip() and not applies(marker)):
                continue
            try:
                metadata.distribution(name)
            except metadata.PackageNotFoundError:
                missing.append(name)
    return missing


def reports(args):
    """``args`` without the --also options, and those options' (format, file) pairs."""
    from grader.report import FORMATS
    rest, extra, args = [], [], list(args)
    while args:
        arg = args.pop(0)
        if arg != "--also" and not arg.startswith("--also="):
            rest.append(arg)
            continue
        if arg == "--also" and not args:
            fail("--also needs FORMAT=FILE")
        value = args.pop(0) if arg == "--also" else arg[len("--also="):]
        fmt, sep, path = value.partition("=")
        if not sep or not path or fmt not in FORMATS:
            fail("--also %%s: expected FORMAT=FILE, FORMAT one of %%s" %% (value, ", ".join(FORMATS)))
        extra.append((fmt, path))
    return rest, extra


def also_write(extra):
    """grader check writes these reports of its one result too, before its own."""
    from grader import cli
    from grader.report import render
    emit = cli._emit

    def emit_all(result, fmt, out_path, folder):
        for other, path in extra:
            cli._write(render(result, other, folder=folder), None if path == "-" else path)
        emit(result, fmt, out_path, folder)
    cli._emit = emit_all


def arguments(args, check, root):
    """grader check's arguments: this kit's rubric and the current folder unless others are given."""
    import click
    try:
        given = check.make_context("selfcheck.py", list(args), resilient_parsing=True).params
    except click.ClickException:
        return list(args)   # grader check says what is wrong with them
    extra = []
    if not any(given.get(p.name) for p in check.params if isinstance(p, click.Argument)):
        extra.append(".")
    if not any(given.get(p.name) for p in check.params if "--rubric" in getattr(p, "opts", ())):
        extra += ["--rubric", os.path.join(root, "rubric.yaml")]
    return extra + list(args)


def main():
    if MIN_PYTHON and sys.version_info[:2] < tuple(MIN_PYTHON):
        fail("this kit needs Python %%d.%%d or newer; this is %%s" %% (MIN_PYTHON[0], MIN_PYTHON[1], sys.version.split()[0]))
    root = private_copy(verified())
    # The copy's grader, never this folder's (Python put it first) nor another one installed here.
    kit = os.path.normcase(KIT)
    sys.path[:] = [root] + [p for p in sys.path if p and os.path.normcase(os.path.realpath(p)) != kit
                            and not os.path.normcase(os.path.realpath(p)).startswith(kit + os.sep)]
    sys.dont_write_bytecode = True
    try:
        import grader
        from grader.cli import check, entry
    except ImportError as exc:
        fail("%%s: install the course's packages first: pip install -r %%s" %% (exc, REQUIREMENTS))
    if not os.path.realpath(grader.__file__).startswith(os.path.realpath(root) + os.sep):
        fail("another grader was loaded before this kit's (%%s)" %% grader.__file__)
    missing = missing_packages()
    if missing:
        print("selfcheck: note: not installed in this Python: %%s. Your code is graded where they are, so "
              "code that imports them fails only here: pip install -r %%s" %% (", ".join(missing), REQUIREMENTS),
              file=sys.stderr)
    args, extra = reports(sys.argv[1:])
    if extra:
        also_write(extra)
    sys.argv[1:] = ["check"] + arguments(args, check, root)
    entry()


if __name__ == "__main__":
    main()
'''


def _min_python(spec: str) -> Optional[List[int]]:
    """The oldest Python a ``requires-python`` such as ``>=3.10`` allows, or None when it says no lower bound."""
    import re
    match = re.search(r">=\s*(\d+)\.(\d+)", spec)
    return [int(match.group(1)), int(match.group(2))] if match else None


def public_rubric(rubric_path: Path) -> dict:
    """The rubric a student may see: hidden checks keep their id, kind and points only.

    Written parts keep how they are read (label, cues, the question's own formulas) and lose
    every check: a written check is decided against its expected result and its catalogue of
    mistakes (2c's result is also the network's backward pass), and a kit holds no answer. In
    their place one ``written_read`` check, worth nothing, says how each part was read. Each
    question keeps the points of what is checked; :func:`written_left_out` names what is not.
    """
    data = yaml.safe_load(rubric_path.read_text(encoding="utf-8"))
    # Before the deadline a kit names a mistake, not its fix: unless the course chose formula hints for the
    # kit too, the rubric's hints (2c's is the backward pass) stay out of it.
    policy = data.setdefault("policy", {})
    policy.setdefault("hints", "mistake")
    questions = []
    for question in data.get("questions", []):
        parts = question.get("parts", [])
        for part in parts:
            if "written" in part:
                # read, not decided: the kit says how each part was read ("your 2c was read as …")
                part["checks"] = [{"id": "read", "kind": "written_read", "points": 0}]
                part.pop("hints", None)
        for part in parts:
            # The kit names no mistake: its finder compares with the reference's maths, which it has not.
            part.pop("diagnose", None)
            part.pop("mistakes", None)
            for i, check in enumerate(part.get("checks", [])):
                if policy["hints"] != "formula":
                    check.pop("hint", None)
                if check.get("visibility", "visible") != "visible":
                    part["checks"][i] = {k: check[k] for k in ("id", "kind", "points", "visibility", "title")
                                         if k in check}
        question["points"] = round(sum(float(c.get("points", 0)) for p in parts for c in p.get("checks", [])), 4)
        question["parts"] = parts
        questions.append(question)
    data["questions"] = questions
    data["reference"] = "expected.json"
    return data


def written_left_out(rubric) -> str:
    """The written parts a kit leaves out, for its README ("" when none)."""
    import textwrap
    parts = rubric.written_parts()
    if not parts:
        return ""
    labels = [part.written.label for part in parts]
    named = ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else labels[0]
    return "\n" + textwrap.fill(KIT_README_WRITTEN.format(parts=named, points=sum(p.points for p in parts)), 78) + "\n"


def kit_layout(rubric) -> str:
    """The README's paragraph on the files the kit looks in, and what stands in for what, from the rubric."""
    import textwrap
    modules = sorted({c.module + ".py" for _, part in rubric.parts() for c in part.find if not c.adapter})
    if not modules:
        return ""
    text = "The self-check looks for your code in %s." % _listed(modules)
    shared = sorted(name for name in rubric.isolate if name not in rubric.stubs)
    if shared:
        text += (" In it your functions call your own %s; the real grading has correct ones stand in for "
                 "them, so that one mistake costs points once." % _listed(shared))
    return "\n" + textwrap.fill(text, 78) + "\n"


def _listed(names: List[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def kit_rubric_path(rubric_path) -> Path:
    """The rubric a kit is built from: a file, or a bundled rubric's name (its file's stem)."""
    from .rubric import named_rubric
    path = Path(rubric_path)
    if not path.exists() and named_rubric(str(rubric_path)):
        return named_rubric(str(rubric_path))
    return path


def kit_manifest(out: Path) -> Dict[str, str]:
    """The sha256 of every file a kit grades with (its grader, rubric and recorded values), by path.

    selfcheck.py holds it and checks every run against it; README.md and
    requirements.txt only tell a person what to install, and are not in it.
    """
    import hashlib
    files = [p for p in (out / "grader").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [p for p in (out / "plugin").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [p for p in (out / "rubric.yaml", out / "expected.json", out / "plugin.py") if p.is_file()]
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def build_kit(rubric_path: Path, out: Path) -> Path:
    """Write the student kit into the folder ``out`` (created; must not exist or be empty).

    ``rubric_path``: a rubric file or a bundled rubric's name. The kit's rubric is
    :func:`public_rubric`; its expected values are recorded from the reference by
    grading the reference with exactly that rubric, as the kit will.
    """
    import json
    from .plugins import is_path, plugin_path
    from .reference import Recorder
    from .rubric import load_rubric
    from .runner import Grader, load_reference
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise GraderError("kit folder is not empty: %s" % out)
    rubric_path = kit_rubric_path(rubric_path)
    full = load_rubric(rubric_path)
    public = public_rubric(rubric_path)
    recorded = dict(public, reference=str(full.reference))
    if full.plugin and is_path(full.plugin):   # the same file or folder, so its registrations are shared
        recorded["plugin"] = str(plugin_path(full.plugin, Path(full.path).parent)) + \
            ("/" if full.plugin.endswith("/") else "")
    with tempfile.TemporaryDirectory(prefix=NAME + "-kit-") as tmp:
        recording = Path(tmp) / "rubric.yaml"
        recording.write_text(yaml.safe_dump(recorded, sort_keys=False, allow_unicode=True), encoding="utf-8")
        rubric = load_rubric(recording)
        recorder = Recorder(load_reference(rubric.reference))
        recorder.recorded_only = True   # run like the kit will: no proxies, hidden checks not run
        with Grader(rubric) as grader:
            grader.reference = recorder
            result = grader.grade(rubric.reference)
    if result.score < sum(c.points for _, p in rubric.parts() for c in p.checks if c.visibility == "visible"):
        raise GraderError("the reference does not pass the public checks; kit not built")
    out.mkdir(parents=True, exist_ok=True)
    # A mistake finder names mistakes by comparing with variants of the reference's maths: an answer.
    from .plugins import withheld_files
    _copy_tree(PACKAGE, out / "grader", leave_out=withheld_files())
    (out / "expected.json").write_text(json.dumps(recorder.recorded, sort_keys=True))
    carry_plugin(full, public, out, withhold=True)
    (out / "rubric.yaml").write_text(yaml.safe_dump(public, sort_keys=False, allow_unicode=True), encoding="utf-8")
    # Student code runs with whatever the grader's Python has installed: the kit installs the same list.
    project = project_metadata()
    (out / "requirements.txt").write_text("".join(r + "\n" for r in project["dependencies"]))
    min_python = _min_python(project["requires-python"])
    manifest = json.dumps(kit_manifest(out), sort_keys=True, indent=0)
    (out / "selfcheck.py").write_text(SELFCHECK % {"min_python": min_python, "manifest": manifest})
    python = " (%d.%d or newer)" % tuple(min_python) if min_python else ""
    (out / "README.md").write_text(KIT_README.format(kit=out.name, python=python, name=full.name,
                                                     layout=kit_layout(full)) + written_left_out(full))
    return out
