"""dockyard's default seccomp profile, with the intent of Docker's documented default.

An allow-list: the default action refuses with EPERM (``SCMP_ACT_ERRNO``, errno 1) and the
ordinary syscalls of a program are allowed. What stays refused is what Docker's
documentation lists as blocked by default: kernel keyrings (``add_key``, ``keyctl``,
``request_key``), modules and kexec, clock and time setting, accounting, swap, the NUMA
policy calls, obsolete calls (``uselib``, ``ustat``, ``sysfs``, ``_sysctl``, ``vm86``...),
``userfaultfd``, ``pivot_root``, io_uring, and the calls that change the mount or
namespace view (``mount``, ``umount2``, ``unshare``, ``setns``, ``clone`` with namespace
flags, ``clone3``), unless the container holds the capability that the kernel would check
anyway:

* CAP_SYS_ADMIN adds mount/umount/unshare/setns, the new mount API, ``clone``/``clone3``
  without restriction, ``bpf``, ``perf_event_open``, ``quotactl``, ``syslog``...;
* CAP_SYS_PTRACE adds ``ptrace``, ``process_vm_readv``/``writev``, ``kcmp``,
  ``pidfd_getfd``, ``process_madvise``;
* CAP_SYS_TIME, CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_PACCT, CAP_SYS_RAWIO, CAP_SYS_NICE,
  CAP_SYS_TTY_CONFIG, CAP_SYSLOG, CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH and
  CAP_SYS_CHROOT each add the calls they gate.

As in Docker since 19.03, ``ptrace`` and ``process_vm_readv``/``writev`` are allowed
without CAP_SYS_PTRACE on kernels 4.8 and newer (where ptrace can no longer bypass
seccomp); ``clone3`` without CAP_SYS_ADMIN fails with ENOSYS so that libc falls back to
``clone``, whose namespace flags are then refused; ``personality`` accepts only the
harmless personas; ``socket`` refuses a few obsolete or host-reaching address families
(AF_VSOCK, AF_ALG, AF_DECnet...).

The profile is written in Docker's format (conditions per rule) by
:func:`default_docker_profile` and resolved per container by :func:`default_profile`
(through :mod:`dockyard.engine.seccomp_profile`), from the container's capabilities.
Syscall names the host's libseccomp does not know are skipped by the runtime, as runc does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

from dockyard.engine import seccomp_profile

EPERM = 1
ENOSYS = 38

# Allowed for every container, by topic.
_ALLOWED: dict[str, tuple[str, ...]] = {
    "paths": (
        "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod",
        "fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown",
        "lchown32", "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat", "unlink",
        "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "mknod",
        "mknodat", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64",
        "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "utime", "utimes",
        "utimensat", "utimensat_time64", "futimesat", "umask", "truncate", "truncate64",
        "getdents", "getdents64", "creat", "open", "openat", "openat2", "listmount", "statmount",
    ),
    "file descriptors": (
        "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync",
        "fdatasync", "sync", "syncfs", "sync_file_range", "fallocate", "ftruncate",
        "ftruncate64", "fadvise64", "fadvise64_64", "readahead", "lseek", "_llseek", "read",
        "write", "readv", "writev", "pread64", "pwrite64", "preadv", "preadv2", "pwritev",
        "pwritev2", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
        "ioctl", "cachestat", "pipe", "pipe2",
    ),
    "extended attributes": (
        "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr", "lsetxattr",
        "fsetxattr", "setxattrat", "listxattr", "llistxattr", "flistxattr", "listxattrat",
        "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    ),
    "events": (
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll",
        "ppoll_time64", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_wait", "epoll_wait_old", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
        "signalfd", "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_settime64",
        "timerfd_gettime", "timerfd_gettime64", "inotify_init", "inotify_init1",
        "inotify_add_watch", "inotify_rm_watch", "fanotify_mark", "io_setup", "io_destroy",
        "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    ),
    "processes": (
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid",
        "waitpid", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid",
        "setsid", "getpriority", "setpriority", "getrlimit", "setrlimit", "ugetrlimit",
        "prlimit64", "getrusage", "prctl", "capget", "capset", "seccomp", "set_tid_address",
        "set_robust_list", "get_robust_list", "set_thread_area", "get_thread_area", "rseq",
        "restart_syscall", "pidfd_open", "pidfd_send_signal", "process_mrelease", "getcpu",
        "membarrier", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        "times", "sysinfo", "uname", "ioprio_get", "ioprio_set", "uretprobe", "getrandom",
    ),
    "credentials": (
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid",
        "getegid32", "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups",
        "getgroups32", "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32",
        "setregid", "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
        "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32",
    ),
    "scheduling": (
        "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr",
        "sched_setattr", "sched_getparam", "sched_setparam", "sched_getscheduler",
        "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
        "sched_rr_get_interval", "sched_rr_get_interval_time64",
    ),
    "memory": (
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
        "mlock", "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages",
        "memfd_create", "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect",
        "map_shadow_stack", "mseal",
    ),
    "futexes": ("futex", "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue"),
    "signals": (
        "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigpending",
        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "sigaltstack", "sigprocmask", "sigreturn",
        "pause", "alarm",
    ),
    "clocks and timers (reading)": (
        "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
        "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep",
        "adjtimex", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_settime",
        "timer_settime64", "timer_gettime", "timer_gettime64", "timer_getoverrun",
    ),
    "sockets": (
        "accept", "accept4", "bind", "connect", "listen", "getpeername", "getsockname",
        "getsockopt", "setsockopt", "recv", "recvfrom", "recvmsg", "recvmmsg",
        "recvmmsg_time64", "send", "sendto", "sendmsg", "sendmmsg", "shutdown", "socketpair",
        "socketcall",
    ),
    "System V and POSIX IPC": (
        "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open",
        "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    ),
}

# Allowed when the container holds the capability (the kernel checks it too).
_BY_CAPABILITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CAP_SYS_ADMIN", (
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
        "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
        "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
        "syslog", "umount", "umount2", "unshare",
    )),
    ("CAP_SYS_PTRACE", (
        "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
        "ptrace",
    )),
    ("CAP_SYS_TIME", (
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
        "clock_adjtime64",
    )),
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_CHROOT", ("chroot",)),
    ("CAP_SYS_MODULE", ("init_module", "finit_module", "delete_module")),
    ("CAP_SYS_PACCT", ("acct",)),
    ("CAP_SYS_RAWIO", ("iopl", "ioperm")),
    ("CAP_SYS_TTY_CONFIG", ("vhangup",)),
    ("CAP_SYS_NICE", ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
    ("CAP_SYSLOG", ("syslog",)),
    ("CAP_BPF", ("bpf",)),
    ("CAP_PERFMON", ("perf_event_open",)),
    ("CAP_DAC_READ_SEARCH", ("open_by_handle_at",)),
)

# Allowed on kernels where ptrace cannot bypass seccomp any more.
_SAFE_PTRACE = ("ptrace", "process_vm_readv", "process_vm_writev")
_SAFE_PTRACE_KERNEL = "4.8"

# Allowed on some architectures only (Go architecture names).
_BY_ARCH: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("amd64", "x32"), ("arch_prctl",)),
    (("amd64", "x32", "386"), ("modify_ldt",)),
    (("arm", "arm64"), (
        "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
        "cacheflush", "set_tls",
    )),
    (("ppc64le",), ("sync_file_range2", "swapcontext")),
    (("s390x",), ("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr")),
    (("riscv64",), ("riscv_flush_icache", "riscv_hwprobe")),
)

# clone(2) flags that make namespaces: refused without CAP_SYS_ADMIN.
CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

# personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query.
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

# socket(2) address families refused (obsolete, or reaching past the container): the rest
# below AF_MAX is allowed.
BLOCKED_SOCKET_FAMILIES: dict[int, str] = {
    12: "AF_DECnet",
    19: "AF_ECONET",
    20: "AF_ATMSVC",
    23: "AF_IRDA",
    25: "AF_WANPIPE",
    34: "AF_ISDN",
    37: "AF_CAIF",
    38: "AF_ALG",
    40: "AF_VSOCK",
}
AF_MAX = 46

# The architectures filtered, per native architecture.
_ARCH_MAP = (
    ("SCMP_ARCH_X86_64", ("SCMP_ARCH_X86", "SCMP_ARCH_X32")),
    ("SCMP_ARCH_AARCH64", ("SCMP_ARCH_ARM",)),
    ("SCMP_ARCH_PPC64LE", ()),
    ("SCMP_ARCH_S390X", ("SCMP_ARCH_S390",)),
    ("SCMP_ARCH_RISCV64", ()),
)


def _allow(names: list[str] | tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {"names": list(names), "action": "SCMP_ACT_ALLOW", **extra}


def _arg(index: int, value: int, op: str) -> dict[str, Any]:
    return {"index": index, "value": value, "op": op}


def _socket_rules() -> list[dict[str, Any]]:
    """One rule per allowed family; the first contiguous run from 0 as one ``<`` rule."""
    allowed = [f for f in range(AF_MAX) if f not in BLOCKED_SOCKET_FAMILIES]
    first_blocked = min(BLOCKED_SOCKET_FAMILIES)
    rules = [_allow(["socket"], args=[_arg(0, first_blocked, "SCMP_CMP_LT")])]
    rules += [_allow(["socket"], args=[_arg(0, f, "SCMP_CMP_EQ")])
              for f in allowed if f > first_blocked]
    return rules


def default_docker_profile() -> dict[str, Any]:
    """The default profile in Docker's format (conditions still unresolved), built afresh."""
    syscalls: list[dict[str, Any]] = [
        _allow(sorted({n for names in _ALLOWED.values() for n in names})),
        _allow(_SAFE_PTRACE, includes={"minKernel": _SAFE_PTRACE_KERNEL}),
    ]
    syscalls += [_allow(["personality"], args=[_arg(0, p, "SCMP_CMP_EQ")]) for p in PERSONALITIES]
    syscalls += _socket_rules()
    syscalls += [_allow(names, includes={"arches": list(arches)}) for arches, names in _BY_ARCH]
    syscalls += [_allow(names, includes={"caps": [cap]}) for cap, names in _BY_CAPABILITY]
    syscalls += [
        # (flags & CLONE_NAMESPACE_FLAGS) == 0; s390 passes the flags second
        _allow(["clone"], args=[{**_arg(0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"), "valueTwo": 0}],
               excludes={"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}),
        _allow(["clone"], args=[{**_arg(1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"), "valueTwo": 0}],
               includes={"arches": ["s390", "s390x"]}, excludes={"caps": ["CAP_SYS_ADMIN"]}),
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    ]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": arch, "subArchitectures": list(subs)} for arch, subs in _ARCH_MAP
        ],
        "syscalls": syscalls,
    }


def default_profile(
    capabilities: Collection[str],
    *,
    arch: str = "amd64",
    kernel: tuple[int, int] = (5, 0),
) -> dict[str, Any]:
    """The OCI ``linux.seccomp`` section for a container with these (bounding) capabilities.

    ``arch`` is the Go name of the host architecture, ``kernel`` its (major, minor) version.
    Resolved (and checked) once per set of inputs; each call gets a fresh copy.
    """
    section: dict[str, Any] = json.loads(_resolved_default(frozenset(capabilities), arch, kernel))
    return section


@functools.lru_cache(maxsize=32)
def _resolved_default(capabilities: frozenset[str], arch: str, kernel: tuple[int, int]) -> str:
    return json.dumps(seccomp_profile.resolve(
        default_docker_profile(), capabilities=capabilities, arch=arch, kernel=kernel,
        what="default seccomp profile",
    ))
