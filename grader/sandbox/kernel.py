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
MS_NOEXEC = 0x8
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


def tmpfs(target, size_bytes, mode="1777", readonly=False, inodes=64):
    """A fresh tmpfs at ``target`` (no devices, no setuid), limited in bytes and in files: a file
    of no bytes still costs the kernel an inode, which ``size`` alone does not count."""
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    mount("tmpfs", target, "tmpfs", flags, "size=%d,nr_inodes=%d,mode=%s" % (
        max(4096, int(size_bytes)), max(16, int(inodes)), mode))


# ---------------------------------------------------------------- seccomp
# System calls a worker is refused (EPERM), by architecture. memfd: memory no limit counts (it is
# neither the address space until mapped, nor the tmpfs quota); the keyring and POSIX message queues:
# places to leave a note that outlive a worker where IPC is shared; userfaultfd and io_uring: kernel
# surface no homework needs.
REFUSED = {
    "x86_64": {"memfd_create": 319, "memfd_secret": 447, "add_key": 248, "request_key": 249, "keyctl": 250,
               "mq_open": 240,
               "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427},
    "aarch64": {"memfd_create": 279, "memfd_secret": 447, "add_key": 217, "request_key": 218, "keyctl": 219,
                "mq_open": 180,
                "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427},
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def seccomp_program(machine):
    """The BPF program (a list of (code, jt, jf, k)) that refuses REFUSED[machine] and any other ABI."""
    numbers = sorted(REFUSED[machine].values())
    ld_arch, ld_nr = (0x20, 0, 0, 4), (0x20, 0, 0, 0)
    deny, allow = (0x06, 0, 0, _RET_EPERM), (0x06, 0, 0, _RET_ALLOW)
    body = [(0x15, len(numbers) - i, 0, nr) for i, nr in enumerate(numbers)]   # equal: jump to deny
    program = [ld_arch, (0x15, 1, 0, AUDIT_ARCH[machine]), deny, ld_nr]
    if machine == "x86_64":   # the x32 ABI numbers its calls from 0x40000000: another way in, refused
        program.append((0x35, len(body) + 1, 0, 0x40000000))
    return program + body + [allow, deny]


def refuse_syscalls():
    """Install the filter on this process and all it starts (needs no_new_privs). False where this
    architecture has no table here (the other layers still hold)."""
    machine = os.uname().machine
    if machine not in REFUSED:
        return False
    program = seccomp_program(machine)
    filters = (_Filter * len(program))(*[_Filter(*ins) for ins in program])
    prog = _Program(len(program), filters)
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                       ctypes.cast(ctypes.pointer(prog), ctypes.c_void_p), ctypes.c_ulong(0), ctypes.c_ulong(0)),
           "seccomp")
    return True


def _b(value):
    return None if value is None else os.fsencode(value)
