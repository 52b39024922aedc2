"""The default seccomp profile's shape, its capability variants, and Docker-format profiles."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from dockyard.engine import defaults, seccomp_default, seccomp_profile
from dockyard.errors import InvalidArgument
from dockyard.runtime import seccomp

DEFAULT = list(defaults.DEFAULT_CAPABILITIES)
X86 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

# Blocked for a default container (Docker's documented list, ptrace & co. aside).
BLOCKED = [
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "clone3", "create_module",
    "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy", "init_module",
    "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
    "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
    "perf_event_open", "pivot_root", "query_module", "quotactl", "reboot", "request_key",
    "set_mempolicy", "setns", "settimeofday", "stime", "swapon", "swapoff", "sysfs",
    "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
    "vm86old", "io_uring_setup", "io_uring_enter", "io_uring_register", "syslog",
    "setdomainname", "sethostname", "vhangup", "fsopen", "open_tree", "move_mount",
]
# Syscalls newer than this host's libseccomp may be (Linux 6.3 and later).
NEWER_THAN_LIBSECCOMP = {
    "cachestat", "fchmodat2", "map_shadow_stack", "futex_wait", "futex_wake", "futex_requeue",
    "getxattrat", "setxattrat", "listxattrat", "removexattrat", "listmount", "statmount",
    "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mseal", "uretprobe",
    "riscv_hwprobe", "set_mempolicy_home_node",
}


def profile(caps: Collection[str] = DEFAULT, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("kernel", (6, 1))
    return seccomp_default.default_profile(caps, **kwargs)


def rules_for(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in section["syscalls"] if name in r["names"]]


def unconditionally_allowed(section: dict[str, Any]) -> set[str]:
    return {n for r in section["syscalls"]
            if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}


def test_shape() -> None:
    section = profile()
    assert section["defaultAction"] == "SCMP_ACT_ERRNO"
    assert section["defaultErrnoRet"] == 1
    assert section["architectures"] == X86
    assert {r["action"] for r in section["syscalls"]} == {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"}
    assert seccomp.parse(section) is not None  # the runtime accepts it
    for rule in section["syscalls"]:
        assert set(rule) <= {"names", "action", "errnoRet", "args"}
        assert rule["names"] and all(isinstance(n, str) for n in rule["names"])


def test_ordinary_syscalls_allowed() -> None:
    allowed = unconditionally_allowed(profile())
    for name in ("read", "write", "openat", "execve", "fork", "vfork", "pipe2",
                 "getrandom", "mmap", "futex", "epoll_wait", "chroot", "arch_prctl",
                 "modify_ldt", "ptrace", "process_vm_readv", "adjtimex", "seccomp"):
        assert name in allowed, name


def test_documented_blocks() -> None:
    section = profile()
    names = {n for r in section["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert not names & set(BLOCKED)
    assert rules_for(section, "clone3") == [
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    assert rules_for(section, "clone") == [{
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0}],
    }]


def test_cap_sys_admin_variant() -> None:
    section = profile([*DEFAULT, "CAP_SYS_ADMIN"])
    allowed = unconditionally_allowed(section)
    for name in ("mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname",
                 "name_to_handle_at", "bpf", "perf_event_open", "syslog", "fsopen"):
        assert name in allowed, name
    assert not [r for r in rules_for(section, "clone3") if r["action"] != "SCMP_ACT_ALLOW"]
    assert all(not r.get("args") for r in rules_for(section, "clone"))
    assert "reboot" not in allowed and "kexec_load" not in allowed


@pytest.mark.parametrize(("cap", "names"), [
    ("CAP_SYS_TIME", ["settimeofday", "clock_settime", "clock_adjtime"]),
    ("CAP_SYS_BOOT", ["reboot"]),
    ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
    ("CAP_SYS_PACCT", ["acct"]),
    ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
    ("CAP_SYS_NICE", ["mbind", "get_mempolicy", "set_mempolicy"]),
    ("CAP_SYSLOG", ["syslog"]),
    ("CAP_BPF", ["bpf"]),
    ("CAP_PERFMON", ["perf_event_open"]),
    ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
    ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
    ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]),
])
def test_capability_additions(cap: str, names: list[str]) -> None:
    before = unconditionally_allowed(profile())
    after = unconditionally_allowed(profile([*DEFAULT, cap]))
    assert set(names) <= after - before


def test_ptrace_depends_on_kernel_or_capability() -> None:
    old = unconditionally_allowed(profile(kernel=(4, 4)))
    assert not {"ptrace", "process_vm_readv", "process_vm_writev"} & old
    assert "ptrace" in unconditionally_allowed(profile([*DEFAULT, "CAP_SYS_PTRACE"], kernel=(4, 4)))
    assert "ptrace" in unconditionally_allowed(profile(kernel=(4, 8)))


def test_chroot_needs_sys_chroot() -> None:
    caps = [c for c in DEFAULT if c != "CAP_SYS_CHROOT"]
    assert "chroot" not in unconditionally_allowed(profile(caps))


def test_personality_and_socket_are_restricted() -> None:
    section = profile()
    personas = [r["args"][0]["value"] for r in rules_for(section, "personality")]
    assert personas == [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]
    sockets = rules_for(section, "socket")
    assert all(r["args"] for r in sockets)
    assert sockets[0]["args"] == [{"index": 0, "value": 12, "op": "SCMP_CMP_LT"}]
    allowed = {r["args"][0]["value"] for r in sockets[1:]}
    assert 16 in allowed and 17 in allowed  # netlink, packet
    assert not allowed & {12, 38, 40, 46}  # DECnet, ALG, VSOCK, past AF_MAX


def test_other_architecture() -> None:
    section = profile(arch="arm64")
    assert section["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    allowed = unconditionally_allowed(section)
    assert "set_tls" in allowed and "arch_prctl" not in allowed
    assert "architectures" not in profile(arch="sparc64")


def test_built_per_container() -> None:
    first = profile()
    first["syscalls"][0]["names"].clear()
    assert profile()["syscalls"][0]["names"]


@pytest.mark.skipif(not seccomp.available(), reason="libseccomp.so.2 not loadable")
def test_libseccomp_knows_every_name() -> None:
    """Every emitted name compiles; only syscalls newer than libseccomp may be skipped."""
    for caps in (DEFAULT, [*DEFAULT, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_NICE"]):
        plan = seccomp.parse(profile(caps))
        assert plan is not None
        with seccomp.build(plan) as built:
            assert set(built.skipped) <= NEWER_THAN_LIBSECCOMP, built.skipped


# -- Docker-format profiles -----------------------------------------------------------------


def resolve(doc: dict[str, Any], caps: Collection[str] = DEFAULT, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("arch", "amd64")
    kwargs.setdefault("kernel", (5, 10))
    return seccomp_profile.resolve(doc, capabilities=caps, **kwargs)


def test_conditions() -> None:
    doc = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"name": "read", "action": "SCMP_ACT_ALLOW", "comment": "legacy single name"},
            {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["b"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_KILL"]}},
            {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.11"}},
            {"names": ["d"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.4"}},
            {"names": ["e"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            {"names": ["f"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
        ],
    }
    section = resolve(doc)
    assert [r["names"] for r in section["syscalls"]] == [["read"], ["f"]]
    assert section["architectures"] == ["SCMP_ARCH_X86_64"]
    assert [r["names"] for r in resolve(doc, ["CAP_SYS_ADMIN"], kernel=(6, 0))["syscalls"]] == [
        ["read"], ["a"], ["b"], ["c"], ["f"]]


@pytest.mark.parametrize(("doc", "message"), [
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}, "both 'architectures' and 'archMap'"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}, "'name' and 'names'"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "x"}}]},
     "invalid kernel version"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "ALLOW"}]},
     "unknown seccomp action"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]}, "unknown architecture"),
    ([], "must be a JSON object"),
])
def test_profile_errors(doc: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve(doc)


def test_load_text() -> None:
    section = seccomp_profile.load('{"defaultAction": "SCMP_ACT_LOG"}', capabilities=[], arch="amd64",
                                   kernel=(6, 1))
    assert section == {"defaultAction": "SCMP_ACT_LOG", "syscalls": []}
    with pytest.raises(InvalidArgument, match="decoding seccomp profile failed"):
        seccomp_profile.load("{", capabilities=[], arch="amd64", kernel=(6, 1))
    assert seccomp_profile.parse_kernel("6.18.44-fc-v595") == (6, 18)
