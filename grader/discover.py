"""Find the submissions of a class under one folder: folders, zips, LMS export shapes.

Shapes understood (student id from the folder or file name):

* ``ROOT/<student>/`` with the student's ``.py`` files, possibly wrapped in a
  single inner folder (``ROOT/<student>/homework/layers.py``);
* ``ROOT/<student>.zip`` holding the same (unpacked safely into a folder of the cache);
* flat LMS downloads, grouped by student (``<name>_<id>``): Canvas's
  ``<name>_[LATE_]<id>_<submission>_<file>`` and Moodle's ``<Full Name>_<id>_assignsubmission_file_<file>``;
  every file kept, whatever its extension; of a resubmitted file (``layers-1.py``) the newest;
  each zip unpacked into a folder of its own (``zip-1``); ``LATE`` read as lateness, never as part of the id;
* a Gradescope export (``submission_metadata.yml`` beside ``submission_<n>/`` folders): each submitter
  of a folder is a student ``<name>_<sid>`` (a group's members each), with Gradescope's submission time;
* anything else at the top (a stray file) is reported as unattributed, never dropped.

No name from an upload or the LMS (a student's id, a zip's name, a folder's) becomes part of a
path the grader writes to: every folder that uploads are copied or unpacked into is made and
named by the grader (:func:`new_folder`), and each file is created in it only after its final
folder, resolved, is found inside it, with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (never through a
link, never over a file already there). The names of the files themselves are kept: they are
what is graded (``layers.py``).

A zip is refused, with a message, if an entry is absolute, escapes with ``..``,
is a link, or if the archive is larger or holds more files than the limits (a
zip bomb). A refused or unreadable submission is reported, not fatal.

Names that are not UTF-8 (``unzip`` makes them from a cp437 archive) are shown with their bytes
escaped (``caf\\x82_1004``) in a student's id, notes and errors: the gradebook stores text.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import List, Optional, Tuple
from zlib import error as zlib_error

MAX_ZIP_BYTES = 50 * 1024 * 1024     # uncompressed total
MAX_ZIP_FILES = 2000
MAX_RATIO = 200                       # uncompressed / compressed, over the archive
MAX_FILES = 300                       # files of one submission sent to the sandbox
MAX_BYTES = 20 * 1024 * 1024          # bytes of one submission sent to the sandbox
MAX_DEPTH = 6                         # folder levels below the submission's own
SKIPPED_DIRS = ("__pycache__", "__MACOSX")
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# LMS downloads name each file after its student: Canvas <name>_[LATE_]<user id>_<submission id>_<file>,
# Moodle <Full Name>_<id>_assignsubmission_file_<file>. A name in any script; LATE is lateness, not identity.
_LMS = (re.compile(r"^(?P<name>[^_\s/]+)_(?P<late>LATE_)?(?P<uid>\d+)_\d+_(?P<file>.+)$"),
        re.compile(r"^(?P<name>[^/]+?)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.+)$"))
_RESUBMITTED = re.compile(r"-(\d+)(?=\.[^.]+$)")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)


def shown(name: str) -> str:
    """``name`` as text that can be stored and shown: bytes that are not UTF-8 escaped (``\\x82``)."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:      # a lone surrogate no file system gave
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class SubmissionFiles:
    """The files of one submission exactly as they are graded, and what was left out and why."""

    files: List[Tuple[str, bytes]] = field(default_factory=list)   # (posix relative path, content)
    skipped: List[str] = field(default_factory=list)                # one line each, for the feedback

    def digest(self) -> str:
        """sha256 over every graded file, each path and content length-prefixed (no two sets collide)."""
        digest = hashlib.sha256(b"a1grader-files-v2\0")
        for rel, data in self.files:
            name = rel.encode("utf-8", "surrogateescape")
            digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()


def read_files(folder: Path) -> SubmissionFiles:
    """The regular files under ``folder`` that grading uses, never following a link.

    Hidden files, ``__pycache__`` and compiled ``.pyc`` files are not graded
    (Python would otherwise run bytecode that no one can read); links are left
    out with a note, whatever they point to; so are files past the limits on
    count, size and depth. The same list is hashed and sent to the sandbox, so
    what is graded is what is hashed. Raises OSError when ``folder`` itself
    cannot be read.
    """
    out = SubmissionFiles()
    total = 0
    stack: List[Tuple[Path, str, int]] = [(Path(folder), "", 0)]
    while stack:
        here, prefix, depth = stack.pop()
        with os.scandir(here) as entries:
            listing = sorted(entries, key=lambda e: e.name, reverse=True)
        for entry in listing:
            rel = prefix + entry.name
            if entry.name.startswith(".") or entry.name in SKIPPED_DIRS or entry.name.endswith(SKIPPED_SUFFIXES):
                continue
            if entry.is_symlink():
                out.skipped.append("%s is a link: not followed, not graded" % rel)
            elif entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH:
                    stack.append((Path(entry.path), rel + "/", depth + 1))
                else:
                    out.skipped.append("%s is nested too deep: not graded" % rel)
            elif not entry.is_file(follow_symlinks=False):
                continue
            elif len(out.files) >= MAX_FILES:
                out.skipped.append("%s: more than %d files, not graded" % (rel, MAX_FILES))
            else:
                data = _read_nofollow(Path(entry.path), MAX_BYTES - total)
                if data is None:
                    out.skipped.append("%s: the submission is over %d MB, not graded" % (rel, MAX_BYTES >> 20))
                    continue
                total += len(data)
                out.files.append((rel, data))
    out.files.sort()
    return out


def _read_nofollow(path: Path, room: int) -> Optional[bytes]:
    """The file's bytes if it is at most ``room`` bytes; refuses a link swapped in meanwhile."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return b""
        data = handle.read(room + 1)
    return data if len(data) <= room else None


@dataclass
class Submission:
    """One student's work: where it is, or why it cannot be graded."""

    student: str
    path: Optional[Path]
    source: Path
    error: Optional[str] = None
    notes: List[str] = field(default_factory=list)   # what discovery decided (which upload was graded)
    late: Optional[str] = None                       # where lateness was read from, when the LMS marks it
    # When it was handed in, from a source that records it (Gradescope's metadata): never its files' times,
    # which are when a TA copied or unzipped them, or whatever a student set. None: no source says.
    submitted: Optional[str] = None
    submitted_source: Optional[str] = None

    def facts(self) -> dict:
        """What is known of when it came in, for the result (lateness.show applies the policy to it)."""
        return {"at": self.submitted, "source": self.submitted_source, "marked_late": self.late}

    def content_hash(self) -> str:
        """The digest of the files that would be graded (:meth:`SubmissionFiles.digest`)."""
        if self.path is None:
            return hashlib.sha256(("error:" + (self.error or "")).encode()).hexdigest()
        try:
            return read_files(self.path).digest()
        except OSError as exc:
            return hashlib.sha256(("unreadable:%s" % exc).encode()).hexdigest()


def unwrap(folder: Path) -> Path:
    """Descend through single inner folders (never a link) that hold no .py file of their own."""
    while True:
        entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
        if len(dirs) == 1 and not any(p.suffix == ".py" for p in entries):
            folder = dirs[0]
            continue
        return folder


def check_zip(archive: zipfile.ZipFile) -> Optional[str]:
    """Why this zip must not be unpacked, or None when it is safe."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_FILES:
        return "the zip holds %d files (limit %d)" % (len(infos), MAX_ZIP_FILES)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_ZIP_BYTES:
        return "the zip unpacks to %d MB (limit %d MB)" % (total >> 20, MAX_ZIP_BYTES >> 20)
    if total > 1024 * 1024 and total / packed > MAX_RATIO:
        return "the zip's compression ratio is %d:1, like a zip bomb" % (total // packed)
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or info.filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", info.filename):
            return "the zip holds an absolute path: %s" % info.filename
        if ".." in name.parts:
            return "the zip holds a path that leaves its folder: %s" % info.filename
        if stat.S_ISLNK(info.external_attr >> 16):
            return "the zip holds a link: %s" % info.filename
    return None


def new_folder(parent: Path) -> Path:
    """A new, empty folder under ``parent`` that the grader made and named (``0700``); never an upload's name."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="s-", dir=parent))


def unpack(zip_path: Path, cache: Path) -> Path:
    """Unpack a student's zip into a new folder of the grader's under ``cache``; the folder to grade.

    ValueError says why not (nothing of the zip is left then).
    """
    folder = new_folder(cache)
    try:
        extract(zip_path, folder)
    except ValueError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return unwrap(folder)


def extract(zip_path: Path, folder: Path) -> None:
    """Unpack a student's zip, after checking it, into ``folder``: a new, empty folder the grader made.

    Every file is created under ``folder`` and nowhere else: its folders are made one by one
    and must be real folders (never a link), its final folder, resolved, must lie inside
    ``folder``, and it is opened ``O_CREAT | O_EXCL | O_NOFOLLOW``. A name given twice in the
    zip keeps its last entry (as zipfile reads it). ValueError says why a zip is refused.
    """
    try:
        fd = os.open(zip_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValueError("not a regular file")
            with zipfile.ZipFile(handle) as archive:
                problem = check_zip(archive)
                if problem:
                    raise ValueError(problem)
                entries: dict = {}
                for info in archive.infolist():
                    parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
                    if parts:
                        entries.pop(parts, None)
                        entries[parts] = info
                room = MAX_ZIP_BYTES
                for parts, info in entries.items():
                    if info.is_dir():
                        _folders(folder, parts)
                        continue
                    with archive.open(info) as src:
                        room -= _create(folder, _folders(folder, parts[:-1]) / parts[-1], src, room)
                    if room < 0:
                        raise ValueError("the zip unpacks to more than %d MB" % (MAX_ZIP_BYTES >> 20))
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib_error) as exc:
        raise ValueError("the zip cannot be read (%s)" % shown(str(exc))) from None


def _folders(root: Path, parts) -> Path:
    """``root``/``parts``, each folder made if missing; every one must be a real folder, not a link or a file."""
    here = root
    for part in parts:
        if part in ("", ".", "..") or "\0" in part:
            raise ValueError("the zip holds a path that leaves its folder: %s" % shown("/".join(parts)))
        here = here / part
        try:
            os.mkdir(here, 0o700)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(here).st_mode):
            raise ValueError("%s is both a file and a folder" % shown("/".join(parts)))
    return here


def _create(root: Path, target: Path, src, room: int) -> int:
    """Create ``target`` (inside ``root``, new, not through a link) with at most ``room`` + 1 bytes of ``src``.

    The number of bytes written. ValueError when ``target`` would not be inside ``root``.
    """
    base = os.path.realpath(root)
    where = os.path.realpath(target.parent)
    if os.path.commonpath([base, where]) != base or target.name in ("", ".", ".."):
        raise ValueError("%s would be written outside the submission's folder" % shown(target.name))
    written = 0
    with os.fdopen(os.open(os.path.join(where, target.name), _CREATE, 0o600), "wb") as dst:
        while written <= room:
            chunk = src.read(min(1 << 20, room + 1 - written))
            if not chunk:
                break
            dst.write(chunk)
            written += len(chunk)
    return written


def discover(root: Path, cache: Path) -> List[Submission]:
    """Every submission under ``root``, sorted by student id; zips unpack into new folders under ``cache``.

    Each student's id is the name in the download (:func:`shown`: never a string the gradebook
    cannot store) and unique: a second submission of the same id gets ``~zip``, ``~dir``, ...
    """
    root = Path(root)
    found: List[Submission] = []
    flat: dict = {}
    gradescope = gradescope_export(root)
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "__")) or (gradescope is not None and entry.name == GRADESCOPE_METADATA):
            continue
        name = shown(entry.name)
        if gradescope and entry.name in gradescope and entry.is_dir() and not entry.is_symlink():
            found += [Submission(student, unwrap(entry), entry, notes=[note], submitted=when,
                                 submitted_source="Gradescope's submission time")
                      for student, note, when in gradescope[entry.name]]
            continue
        if entry.is_symlink():
            student = shown(entry.stem) if entry.suffix.lower() == ".zip" else name
            found.append(Submission(student, None, entry, "%s is a link: not followed" % name))
            continue
        if entry.is_dir():
            found.append(Submission(name, unwrap(entry), entry))
        elif _lms_name(entry.name):
            match = _lms_name(entry.name)
            student = "%s_%s" % (match.group("name"), match.group("uid"))     # as given: no two students merge
            flat.setdefault(student, []).append((entry, match.group("file"), bool(match.groupdict().get("late"))))
        elif entry.suffix.lower() == ".zip":
            student = shown(entry.stem)
            try:
                found.append(Submission(student, unpack(entry, cache), entry))
            except ValueError as exc:
                found.append(Submission(student, None, entry, "%s: %s" % (name, exc)))
        else:
            found.append(Submission("(unattributed) " + name, None, entry,
                                    "%s cannot be attributed to a student: not a folder, a zip, or an LMS download's "
                                    "file name (name_id_submission_file)" % name))
    for student, files in sorted(flat.items()):
        found.append(_lms_submission(shown(student), files, cache, root))
    seen = set()
    for sub in found:
        if sub.student in seen:
            tag = shown(sub.source.suffix.lstrip(".")) or "dir"
            name, n = "%s~%s" % (sub.student, tag), 1
            while name in seen:
                n += 1
                name = "%s~%s%d" % (sub.student, tag, n)
            sub.student = name
        seen.add(sub.student)
    return sorted(found, key=lambda s: s.student)


GRADESCOPE_METADATA = "submission_metadata.yml"


def gradescope_export(root: Path) -> Optional[dict]:
    """A Gradescope export's submitters by folder: {folder: [(student, note, submitted ISO or None)]}; None if
    ``root`` is no export. Names and ids are only ever ids in the gradebook, never parts of a path.

    ValueError-free: an unreadable metadata file gives {} (each folder then a student by its folder's name).
    """
    path = root / GRADESCOPE_METADATA
    if not path.is_file() or path.is_symlink():
        return None
    import yaml
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return {}
    out: dict = {}
    for folder, entry in (data.items() if isinstance(data, dict) else ()):
        entry = entry if isinstance(entry, dict) else {}
        people = [p for p in entry.get(":submitters") or [] if isinstance(p, dict)]
        when = _gradescope_time(entry.get(":created_at"))
        names = [" ".join(str(p.get(":name") or "").split()) for p in people]
        ids = [" ".join(str(p.get(":sid") or p.get(":email") or "").split()) for p in people]
        students = [shown("_".join(x for x in (n, i) if x) or str(folder)) for n, i in zip(names, ids)]
        note = "Gradescope's %s, submitted by %s" % (shown(str(folder)), ", ".join(
            "%s (%s)" % (n or "no name", i or "no id") for n, i in zip(names, ids)) or "no one named")
        out[str(folder)] = [(s, note, when) for s in students] or [(shown(str(folder)), note, when)]
    return out


def _gradescope_time(value) -> Optional[str]:
    """Gradescope's ``:created_at:`` (YAML gives a datetime, or the text '2026-12-01 23:58:00.123456789 -08:00')."""
    from datetime import datetime
    if isinstance(value, datetime):
        return value.isoformat()
    match = re.match(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[-+]\d\d:?\d\d)?$", str(value or "").strip())
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    text = "%sT%s%s%s" % (day, clock, "." + fraction[:6].ljust(6, "0") if fraction else "", zone or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _lms_name(name: str):
    for pattern in _LMS:
        match = pattern.match(name)
        if match:
            return match
    return None


def _lms_submission(student: str, files, cache: Path, root: Path) -> Submission:
    """One student's files of a flat LMS download: the newest of each resubmitted file, zips unpacked.

    Into a new folder of the grader's under ``cache``: each file under its own name (the LMS's
    prefix removed), each zip into a folder the grader names (``zip-1``, ``zip-2``, ...).
    """
    folder = new_folder(cache)
    notes: List[str] = []
    newest: dict = {}
    for path, name, _ in files:
        match = _RESUBMITTED.search(name)
        base = _RESUBMITTED.sub("", name) if match else name
        rank = int(match.group(1)) if match else 0
        newest.setdefault(base, []).append((rank, path, name))
    problems = []
    zips = []
    for base, uploads in sorted(newest.items()):
        uploads.sort()
        rank, path, name = uploads[-1]
        if len(uploads) > 1:
            notes.append("%s was uploaded %d times (%s): the newest, %s, was graded" % (
                shown(base), len(uploads), ", ".join(shown(n) for _, _, n in uploads), shown(name)))
        if base.lower().endswith(".zip"):
            zips.append((path, name))
            continue
        try:
            _copy_upload(path, folder, base)
        except (OSError, ValueError) as exc:
            problems.append("%s: not graded (%s)" % (shown(name), shown(getattr(exc, "strerror", None) or str(exc))))
    for path, name in zips:       # after the files: a folder the grader names never takes a file's name
        into = _numbered(folder, "zip")
        try:
            extract(path, into)
            notes.append("%s was unpacked into %s/" % (shown(name), into.name))
        except ValueError as exc:
            shutil.rmtree(into, ignore_errors=True)
            problems.append("%s: %s" % (shown(name), exc))
    late = "the LMS marked it LATE" if any(is_late for _, _, is_late in files) else None
    if problems and not any(folder.iterdir()):
        return Submission(student, None, root, "; ".join(problems), notes, late)
    return Submission(student, folder, root, None, notes + problems, late)


def _copy_upload(path: Path, folder: Path, name: str) -> None:
    """Copy one uploaded file into ``folder`` as ``name`` (never through a link, never over a file).

    Only a regular file is copied, and only its first MAX_BYTES + 1 bytes: a larger file is
    never graded (read_files leaves it out, with a note), whatever its length.
    """
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise ValueError("%r is not a file name" % shown(name))
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise ValueError("not a regular file")
        _create(folder, folder / name, src, MAX_BYTES)


def _numbered(folder: Path, prefix: str) -> Path:
    """A new folder ``prefix-N`` in ``folder``, N the first number free there (the same uploads, the same names)."""
    n = 1
    while True:
        here = folder / ("%s-%d" % (prefix, n))
        try:
            os.mkdir(here, 0o700)
            return here
        except FileExistsError:
            n += 1


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) a student belongs to: stable across machines and runs."""
    return int(hashlib.sha256(student.encode("utf-8")).hexdigest()[:12], 16) % count + 1


# ---------------------------------------------------------------------------- one submission's layout

_RENAMED = re.compile(r"^(?:copy of |copy_of_)?(?P<stem>[A-Za-z_]\w*?)(?:\s*\(\d+\)|-\d+|_\d+| copy(?: \d+)?)?\.py$", re.I)
_IGNORED = (".DS_Store", "Thumbs.db", "desktop.ini")


def arrange(files: SubmissionFiles, modules) -> SubmissionFiles:
    """The files as the rubric expects them: the expected modules at the top, whatever the upload's shape.

    One rule for every entry point (check, batch, Gradescope, the kit):

    * the folder holding most of the expected modules (``modules``: the rubric's) is the code's
      root, however deep (an inner ``homework/``, ``code/`` beside ``written/``); its files move
      to the top, everything else keeps its path (a write-up is found anywhere);
    * a renamed copy (``layers (1).py``, ``layers-1.py``, ``Copy of layers.py``) stands for
      its module when the module itself is absent; when both are there, the exact name is graded;
    * ``__MACOSX``, ``.DS_Store`` and the like are left out.

    Every choice is said in ``skipped`` (the submission's notes).
    """
    wanted = {m + ".py" for m in modules}
    kept = [(rel, data) for rel, data in files.files
            if "__MACOSX" not in rel.split("/") and rel.rsplit("/", 1)[-1] not in _IGNORED]
    notes = list(files.skipped)
    folders: dict = {}
    for rel, _ in kept:
        folder, _, name = rel.rpartition("/")
        if name in wanted or _stem(name) + ".py" in wanted:
            folders.setdefault(folder, set()).add(_stem(name))
    if not folders:
        return SubmissionFiles(kept, notes)
    root = max(folders, key=lambda f: (len(folders[f]), -f.count("/"), -len(f)))
    others = sorted(f for f in folders if f != root)
    if root:
        notes.append("your code was graded from %s/ (the folder with most of the expected files)" % root)
    for other in others:
        notes.append("%s/ also holds expected files (%s): not graded, as %s/ has more" % (
            other or ".", ", ".join(sorted(m + ".py" for m in folders[other])), root or "the top folder"))
    prefix = root + "/" if root else ""
    out, names = [], {}
    for rel, data in kept:
        inside = rel[len(prefix):] if rel.startswith(prefix) else None
        if inside is not None and "/" not in inside:
            names[inside] = data
        elif inside is not None:
            out.append((inside, data))          # the code root's own subfolders come along
        else:
            out.append((rel, data))
    present = set(names)
    for name in sorted(names):
        stem = _stem(name)
        if name not in wanted and stem + ".py" in wanted:
            if stem + ".py" in present:
                notes.append("%s%s is a copy of %s.py's name: %s.py was graded" % (prefix, name, stem, stem))
                out.append((prefix + name, names[name]))
            else:
                chosen = sorted(n for n in present if _stem(n) == stem and n not in wanted)[-1]
                if name == chosen:
                    notes.append("%s%s was graded as %s.py (renamed when uploaded)" % (prefix, name, stem))
                    out.append((stem + ".py", names[name]))
                    present.add(stem + ".py")
                else:
                    notes.append("%s%s was not graded: %s%s, the latest copy, was" % (prefix, name, prefix, chosen))
                    out.append((prefix + name, names[name]))
            continue
        out.append((name, names[name]))
    placed = {}
    for rel, data in out:
        if rel in placed:
            notes.append("%s appears twice once the code is at the top: the code folder's copy was kept" % rel)
            continue
        placed[rel] = data
    return SubmissionFiles(sorted(placed.items()), notes)


def _stem(name: str) -> str:
    match = _RENAMED.match(name)
    return match.group("stem") if match else name.rsplit(".", 1)[0]


def locate(path: Path, cache: Path) -> Path:
    """The folder a single submission given as a folder or a zip is read from.

    A zip unpacks into a new folder the grader makes under ``cache``: never a folder named after the zip.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return unpack(path, Path(cache))
    return path
