"""Seccomp filters built with libseccomp and loaded in forked children (the test stays clean).

Each child sets no_new_privs first, so loading needs no CAP_SYS_ADMIN.
"""

from __future__ import annotations

import errno
import os
import tempfile

import pytest
from tests.support.forking import in_child

from dockyard.errors import InvalidArgument
from dockyard.runtime import linux, seccomp
from dockyard.runtime.syscalls import LinuxSyscalls

pytestmark = pytest.mark.skipif(not seccomp.available(), reason="libseccomp.so.2 not loadable")


def load(config: dict[str, object]) -> list[str]:
    filt = seccomp.compile_filter(config)
    LinuxSyscalls().prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    filt.load()
    filt.release()
    return filt.skipped


def try_call(fn: object, *args: object) -> str:
    assert callable(fn)
    try:
        fn(*args)
    except OSError as exc:
        return errno.errorcode[exc.errno or 0]
    return "ok"


def test_mkdir_denied_other_calls_work() -> None:
    base = tempfile.mkdtemp()
    try:
        def child() -> str:
            skipped = load(
                {
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                    "syscalls": [
                        {"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"},
                        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                    ],
                }
            )
            results = [
                try_call(os.mkdir, os.path.join(base, "d")),
                try_call(os.rmdir, base),
                try_call(os.stat, base),
                try_call(os.getpid),
            ]
            return f"{skipped} {results}"

        assert in_child(child) == "ok ['no_such_syscall'] ['EPERM', 'ENOSYS', 'ok', 'ok']"
        assert not os.path.exists(os.path.join(base, "d"))
    finally:
        os.rmdir(base)


def test_arg_filter_personality() -> None:
    def child() -> str:
        load(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {
                        "names": ["personality"],
                        "action": "SCMP_ACT_ERRNO",
                        "errnoRet": 13,
                        "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_NE"}],
                    }
                ],
            }
        )
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.personality.argtypes = [ctypes.c_ulong]
        query = libc.personality(0xFFFFFFFF)  # read the persona: allowed
        denied = libc.personality(0)
        return f"{query >= 0} {denied} {errno.errorcode[ctypes.get_errno()]}"

    assert in_child(child) == "ok True -1 EACCES"


def test_default_errno_with_allow_list() -> None:
    def child() -> str:
        allowed = [
            "read", "write", "close", "exit", "exit_group", "getpid", "rt_sigreturn",
            "rt_sigaction", "rt_sigprocmask", "brk", "mmap", "munmap", "futex", "fstat",
            "newfstatat", "lseek", "mprotect", "madvise",
        ]
        load(
            {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}],
            }
        )
        return f"{os.getpid() > 0} {try_call(os.uname)} {os.getppid()}"

    assert in_child(child) == "ok True EPERM -1"


def test_same_index_rules_or_together() -> None:
    def child() -> str:
        load(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {
                        "names": ["setpgid"],
                        "action": "SCMP_ACT_ERRNO",
                        "args": [
                            {"index": 0, "value": 11111, "op": "SCMP_CMP_EQ"},
                            {"index": 0, "value": 22222, "op": "SCMP_CMP_EQ"},
                        ],
                    }
                ],
            }
        )
        return " ".join(
            try_call(os.setpgid, pid, 0) for pid in (11111, 22222, 33333)
        )

    # the third reaches the kernel: no such process
    assert in_child(child) == "ok EPERM EPERM ESRCH"


def test_load_without_nnp_or_cap_sys_admin_is_permission_denied() -> None:
    with open("/proc/self/status") as f:
        if "NoNewPrivs:\t1" in f.read():
            pytest.skip("this process already has no_new_privs")

    def child() -> None:
        sys = LinuxSyscalls()
        eff, perm, inh = sys.capget()
        sys.capset(eff & ~(1 << 21), perm & ~(1 << 21), inh)  # drop CAP_SYS_ADMIN
        filt = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
        filt.load()

    out = in_child(child)
    assert out.startswith("PermissionDenied: seccomp_load: permission denied"), out


def test_export_bpf_and_release() -> None:
    filt = seccomp.compile_filter(
        {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    )
    with tempfile.TemporaryFile() as f:
        filt.export_bpf(f.fileno())
        f.seek(0)
        bpf = f.read()
    assert len(bpf) % 8 == 0 and len(bpf) >= 8 * 4
    filt.release()
    filt.release()  # twice is harmless
    with pytest.raises(Exception, match="released"):
        filt.load()


def test_features_of_library() -> None:
    assert seccomp.library_version().count(".") == 2
    arches = seccomp.supported_arches()
    assert "SCMP_ARCH_X86_64" in arches and "SCMP_ARCH_AARCH64" in arches


def test_unknown_arch_to_library_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(seccomp.ARCHES, "SCMP_ARCH_Z80", "z80")
    with pytest.raises(InvalidArgument, match="SCMP_ARCH_Z80 is unknown to libseccomp"):
        seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})
