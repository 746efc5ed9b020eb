"""Run the grader as a Python without Linux's calls would (macOS, Windows), on Linux.

    python tests/portable.py grader ARGS...        grader ARGS, with the Linux-only modules hidden
    python tests/portable.py child CHILD_PY CONFIG  one spawned worker, hidden the same way

What macOS or Windows lack is hidden before anything else is imported: the
modules (fcntl, resource, ...), the calls (os.fork, os.pidfd_open, os.killpg,
socket.send_fds, ...) and the flags (O_NOFOLLOW, ...). The grader then takes
its portable path (isolation.zygote_missing), and every worker it spawns runs
through this file too, so the child is held to the same.
"""
import os
import runpy
import socket
import sys

HIDDEN_MODULES = ("fcntl", "resource", "termios", "pwd", "grp", "posix_ipc")
HIDDEN_CALLS = ((os, "fork"), (os, "forkpty"), (os, "pidfd_open"), (os, "killpg"), (os, "setpgid"),
                (os, "setsid"), (os, "geteuid"), (os, "getuid"), (os, "setuid"), (os, "O_NOFOLLOW"),
                (os, "O_DIRECTORY"), (os, "O_NONBLOCK"), (socket, "send_fds"), (socket, "recv_fds"))


class _Hidden:
    """A finder that refuses the hidden modules, as an interpreter without them would."""

    def find_spec(self, name, path=None, target=None):
        if name in HIDDEN_MODULES:
            raise ModuleNotFoundError("No module named %r (hidden: portable path)" % name, name=name)
        return None


def hide() -> None:
    for name in HIDDEN_MODULES:
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, _Hidden())
    for owner, name in HIDDEN_CALLS:
        if hasattr(owner, name):
            delattr(owner, name)


def main() -> None:
    hide()
    role, args = sys.argv[1], sys.argv[2:]
    if role == "child":
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
        return
    from grader.sandbox import spawn
    here = os.path.abspath(__file__)
    spawn.child_command = lambda config: [sys.executable, "-I", here, "child", str(spawn.HERE / "zygote.py"),
                                          spawn.json.dumps(config)]
    sys.argv = ["grader"] + args
    from grader.cli import entry
    entry()


if __name__ == "__main__":
    main()
