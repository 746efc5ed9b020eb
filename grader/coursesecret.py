"""The course secret: what makes a submission's inputs unknowable from its files alone.

Every random input of a submission derives from the rubric's seed, the digest of
its files and this secret (runner.submission_seed). Without a secret the inputs
are a public function of the files: a student can grind a comment nonce offline
until the draws suit a lazy checker. So every installation has one:

* ``A1GRADER_SECRET`` in the environment, when set and not empty (a course that
  grades on several machines sets the same one everywhere);
* else the file ``A1GRADER_SECRET_FILE`` names (the Gradescope bundle ships one,
  made when it is built, in the folder setup.sh makes unreadable to the student);
* else the installation's own, generated once (32 random bytes) and kept in
  ``$XDG_CONFIG_HOME/a1grader/secret`` (default ``~/.config/a1grader/secret``),
  a ``0600`` file in a ``0700`` folder: the sandbox's view has no home folder,
  and its uid cannot enter one.

When none of these can be had (a home that cannot be written), grading goes on
without a secret, as before, and ``grader batch`` says so once. The same files
and the same secret always give the same inputs (and byte-identical results).
The student kit never reads a secret: its public cases use the rubric's seed.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional, Tuple

from . import NAME

SECRET_ENV = "A1GRADER_SECRET"
SECRET_FILE_ENV = "A1GRADER_SECRET_FILE"
MAX_BYTES = 4096


def secret_path() -> Optional[Path]:
    """Where this installation's secret is kept (None when there is no home to keep it in)."""
    explicit = os.environ.get(SECRET_FILE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME")
    if not base:
        home = os.environ.get("HOME") or os.path.expanduser("~")
        if not home or home == "~":
            return None
        base = os.path.join(home, ".config")
    return Path(base) / NAME / "secret"


def course_secret() -> Tuple[str, str]:
    """``(secret, where it came from)``; the secret is ``""`` when none could be had (``where`` says why)."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value, SECRET_ENV
    path = secret_path()
    if path is None:
        return "", "no home folder to keep one in"
    try:
        return _read_or_create(path, create=not os.environ.get(SECRET_FILE_ENV)), str(path)
    except (OSError, ValueError) as exc:
        return "", "%s: %s" % (path, getattr(exc, "strerror", None) or exc)


def _read(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        text = os.read(fd, MAX_BYTES).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    if not text:
        raise ValueError("the secret file is empty")
    return text


def _read_or_create(path: Path, create: bool = True) -> str:
    """The secret kept at ``path``; the first caller on this installation makes it (atomically:
    several graders of one batch may start at once, and all must read the same secret)."""
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(".%s-%d-%s" % (path.name, os.getpid(), secrets.token_hex(4)))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)   # fails if another grader made it first: then its secret is the one
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return _read(path)


def new_secret() -> str:
    """A fresh secret, for a bundle's own file (bundles.build_gradescope)."""
    return secrets.token_hex(32)
