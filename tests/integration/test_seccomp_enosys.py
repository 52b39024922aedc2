"""Syscalls newer than a seccomp profile get ENOSYS, older unlisted ones the default action:
runc 1.1's behaviour, checked side by side with a small static C program (built here with
gcc, skipped without it) that calls syscalls by number and prints the errno."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the probe"),
]

PROBE_C = r"""
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    long nrs[] = {140 /* getpriority */, 435 /* clone3 */, 439 /* faccessat2 */, 450};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        long r = syscall(nrs[i], 0, 0, 0);
        printf("%ld %s\n", nrs[i], r < 0 ? (errno == ENOSYS ? "ENOSYS" : errno == EPERM ? "EPERM" : "other") : "ok");
    }
    return 0;
}
"""

# what a static binary and both runtimes' inits need once the filter is in place; the
# highest is close_range (436), getpriority (140) is left out on purpose
ALLOWED = [
    "access", "arch_prctl", "brk", "capget", "capset", "chdir", "clone", "close", "close_range",
    "dup", "dup2", "dup3", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "execve",
    "exit", "exit_group", "fchdir", "fchmod", "fchown", "fcntl", "fstat", "fstatfs", "futex",
    "getcwd", "getdents64", "getegid", "geteuid", "getgid", "getpid", "getppid", "getrandom",
    "gettid", "getuid", "ioctl", "keyctl", "lseek", "madvise", "mmap", "mprotect", "munmap",
    "nanosleep", "newfstatat", "openat", "pipe", "pipe2", "prctl", "prlimit64", "read",
    "readlink", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
    "sched_yield", "set_robust_list", "set_tid_address", "setgid", "setgroups", "setresgid",
    "setresuid", "setsid", "setuid", "sigaltstack", "stat", "statfs", "statx", "tgkill",
    "umask", "uname", "write", "clock_gettime", "kill", "wait4", "waitid",
]


@pytest.fixture(scope="module")
def probe_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("enosys")
    (directory / "probe.c").write_text(PROBE_C)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(directory / "probe"), str(directory / "probe.c")],
                   check=True, capture_output=True)
    return directory / "probe"


@pytest.mark.parametrize("default", ["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"])
def test_new_syscalls_look_unimplemented(
    runtime: Runtime, make_bundle: BundleFactory, probe_binary: Path, default: str
) -> None:
    rules = [{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}] if default == "SCMP_ACT_ERRNO" else [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}
    ]
    seccomp = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64"], "syscalls": rules}
    bundle = make_bundle(["/probe"], {"linux": {"seccomp": seccomp}}, writable=True)
    shutil.copy(probe_binary, bundle.rootfs / "probe")
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode == 0, proc.stderr
    results = dict(line.split() for line in proc.stdout.splitlines())
    if default == "SCMP_ACT_ERRNO":
        # listed below the profile's highest (436): the default action; above it: ENOSYS
        assert results == {"140": "EPERM", "435": "EPERM", "439": "ENOSYS", "450": "ENOSYS"}
    else:  # nothing is refused by default, so no stub: the kernel answers (bad arguments)
        assert results == {"140": "ok", "435": "other", "439": "other", "450": "other"}
