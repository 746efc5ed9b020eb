"""The few Linux calls the sandbox's zygote needs that Python does not wrap (3.10 to 3.13).

A plain module (standard library only): the child imports it by file name.
Each function raises OSError with the kernel's errno, like the os module does.
"""
import ctypes
import ctypes.util
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "%s: %s" % (what, os.strerror(errno)))


def unshare(flags):
    """Move this process into new namespaces (``CLONE_NEW*`` flags)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source, target, fstype, flags=0, data=None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
           "mount %s" % target)


def umount(target, flags=MNT_DETACH):
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), "umount %s" % target)


def prctl(option, value):
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0)), "prctl")


def tmpfs(target, size_bytes, mode="1777", readonly=False):
    """A fresh, size-limited tmpfs at ``target`` (no devices, no setuid)."""
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    mount("tmpfs", target, "tmpfs", flags, "size=%d,mode=%s" % (max(4096, int(size_bytes)), mode))


def _b(value):
    return None if value is None else os.fsencode(value)
