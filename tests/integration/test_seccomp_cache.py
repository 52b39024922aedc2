"""The cache of compiled seccomp programs (``<root>/seccomp@cache``): the program it keeps
is the one libseccomp builds, a cached one filters like a built one, a malformed entry is
built again, and dockyard-runc fills and uses it for Docker's default profile."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from tests.support.forking import in_child

from dockyard.engine.seccomp_default import default_profile
from dockyard.runtime import linux, seccomp, seccomp_cache
from dockyard.runtime.syscalls import LinuxSyscalls

pytestmark = pytest.mark.skipif(not seccomp.available(), reason="libseccomp.so.2 not loadable")

DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def profile() -> dict[str, object]:
    return default_profile(DEFAULT_CAPS, kernel=(6, 1))


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.bpf")) if directory.is_dir() else []


def test_cached_program_is_the_built_one_and_filters(tmp_path: Path) -> None:
    cache = tmp_path / "seccomp@cache"
    first = seccomp.compile_filter(profile(), str(cache))
    assert isinstance(first, seccomp.Program)
    [entry] = entries(cache)
    assert entry.stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    second = seccomp.compile_filter(profile(), str(cache))
    assert isinstance(second, seccomp.Program) and second.code == first.code and second.flags == first.flags
    plan = seccomp.parse(profile())
    assert plan is not None
    with seccomp.build(plan) as built:
        assert built.program().code == first.code

    def child() -> str:
        LinuxSyscalls().prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        program = seccomp.compile_filter(profile(), str(cache))
        assert program is not None
        program.load()
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.syscall(250, 0, 0, 0, 0, 0)  # keyctl: not in Docker's profile
        with open("/proc/self/status") as f:
            mode = [line.split()[1] for line in f if line.startswith("Seccomp:")]
        return f"{rc} {errno.errorcode[ctypes.get_errno()]} {mode}"

    assert in_child(child) == "ok -1 EPERM ['2']"


def test_malformed_entry_is_built_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = seccomp.compile_filter(profile(), str(cache))
    assert isinstance(good, seccomp.Program)
    [entry] = entries(cache)
    entry.write_bytes(b"\0\0\0\0" + b"x" * 13)  # not whole instructions
    again = seccomp.compile_filter(profile(), str(cache))
    assert isinstance(again, seccomp.Program) and again.code == good.code
    assert entry.read_bytes()[4:] == good.code


def test_key_follows_the_profile_and_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    other = profile()
    other["defaultErrnoRet"] = 38
    assert seccomp_cache.cache_key(profile()) != seccomp_cache.cache_key(other)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    program = seccomp.compile_filter(profile(), str(blocked / "cache"))
    assert isinstance(program, seccomp.Program)
    allow_default = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    filt = seccomp.compile_filter(allow_default, str(tmp_path / "c2"))
    assert isinstance(filt, seccomp.Filter)  # no -ENOSYS stub: built, not cached
    filt.release()
    assert not (tmp_path / "c2").exists()
