"""Validation of linux.seccomp into a Plan (no libseccomp, no kernel)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.runtime import seccomp
from dockyard.runtime.seccomp import Rule

EQ, NE, MASKED_EQ = 4, 1, 7


def test_actions_values() -> None:
    v = seccomp.action_value
    assert v("SCMP_ACT_ALLOW", None, "x") == 0x7FFF0000
    assert v("SCMP_ACT_ERRNO", None, "x") == 0x00050001  # EPERM by default
    assert v("SCMP_ACT_ERRNO", 38, "x") == 0x00050026
    assert v("SCMP_ACT_TRACE", 5, "x") == 0x7FF00005
    assert v("SCMP_ACT_TRACE", None, "x") == 0x7FF00001
    assert v("SCMP_ACT_KILL", None, "x") == 0
    assert v("SCMP_ACT_KILL_THREAD", None, "x") == 0
    assert v("SCMP_ACT_KILL_PROCESS", None, "x") == 0x80000000
    assert v("SCMP_ACT_TRAP", None, "x") == 0x00030000
    assert v("SCMP_ACT_LOG", None, "x") == 0x7FFC0000


def test_action_errors() -> None:
    with pytest.raises(InvalidArgument, match="x: unknown seccomp action 'SCMP_ACT_FOO'"):
        seccomp.action_value("SCMP_ACT_FOO", None, "x")
    with pytest.raises(InvalidArgument, match="errnoRet: must be an integer from 0 to 65535"):
        seccomp.action_value("SCMP_ACT_ERRNO", 70000, "x")
    with pytest.raises(NotImplementedYet, match="SCMP_ACT_NOTIFY is not supported"):
        seccomp.action_value("SCMP_ACT_NOTIFY", None, "x")


def test_parse_full() -> None:
    plan = seccomp.parse(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {
                    "names": ["personality"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_EQ"}],
                },
                {
                    "names": ["clone"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [
                        {"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"},
                        {"index": 1, "value": 0, "op": "SCMP_CMP_NE"},
                    ],
                },
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},  # = default
            ],
        }
    )
    assert plan is not None
    assert plan.default_action == 0x00050026
    assert plan.arches == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert plan.attrs == [seccomp.ATTR_CTL_LOG, seccomp.ATTR_CTL_SSB]
    allow = seccomp.ACT_ALLOW
    assert plan.rules == [
        Rule("read", allow, []),
        Rule("write", allow, []),
        Rule("personality", allow, [(0, EQ, 0xFFFFFFFF, 0)]),
        Rule("clone", allow, [(0, MASKED_EQ, 0x7E020000, 0), (1, NE, 0, 0)]),
    ]


def test_same_index_becomes_separate_rules() -> None:
    plan = seccomp.parse(
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {
                    "names": ["personality"],
                    "action": "SCMP_ACT_ERRNO",
                    "args": [
                        {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                        {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                    ],
                }
            ],
        }
    )
    errno = seccomp.ACT_ERRNO | 1
    assert plan.rules == [
        Rule("personality", errno, [(0, EQ, 1, 0)]),
        Rule("personality", errno, [(0, EQ, 2, 0)]),
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
         r"defaultAction: unknown seccomp action None"),
        ({"defaultAction": "", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]},
         r"defaultAction: unknown seccomp action ''"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]},
         r"architectures\[0\]: unknown architecture 'SCMP_ARCH_Z80'"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]},
         r"flags\[0\]: unknown seccomp flag"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "mkdir", "action": "SCMP_ACT_KILL"}]},
         r"syscalls\[0\].names: must be a list of syscall names"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_FOO"}]},
         r"syscalls\[0\].action: unknown seccomp action 'SCMP_ACT_FOO'"),
        ({"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["x"], "action": "SCMP_ACT_KILL", "args": [{"index": 0}]}]},
         r"args\[0\].op: unknown seccomp operator None"),
        ({"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["x"], "action": "SCMP_ACT_KILL",
                        "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]},
         r"syscalls\[0\].args\[0\].index: must be an integer from 0 to 5"),
        ({"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["x"], "action": "SCMP_ACT_KILL",
                        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_FOO"}]}]},
         r"args\[0\].op: unknown seccomp operator 'SCMP_CMP_FOO'"),
        ({"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["x"], "action": "SCMP_ACT_KILL",
                        "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]},
         r"args\[0\].value: must be an integer"),
        ("nope", "linux.seccomp: must be an object"),
    ],
)
def test_parse_errors(config: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        seccomp.parse(config)


def test_errno_ret_ignored_on_other_actions() -> None:
    """runc: errnoRet only counts for SCMP_ACT_ERRNO and SCMP_ACT_TRACE (KILL + 5 kills)."""
    v = seccomp.action_value
    assert v("SCMP_ACT_KILL", 5, "x") == seccomp.ACT_KILL_THREAD
    assert v("SCMP_ACT_ALLOW", 1, "x") == seccomp.ACT_ALLOW
    assert v("SCMP_ACT_LOG", 1, "x") == seccomp.ACT_LOG
    plan = seccomp.parse({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5,
                          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]})
    assert plan is not None
    assert plan.default_action == seccomp.ACT_ALLOW
    assert plan.rules == [Rule("mkdir", seccomp.ACT_KILL_THREAD, [])]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"defaultAction": "", "syscalls": []},
        {"defaultAction": None},
        # runc returns before looking at anything else
        {"defaultAction": "", "architectures": ["SCMP_ARCH_Z80"], "flags": ["BOGUS"],
         "listenerPath": "/run/agent.sock"},
    ],
)
def test_no_default_action_and_no_rules_is_no_filter(config: dict[str, object]) -> None:
    assert seccomp.parse(config) is None
    assert seccomp.compile_filter(config) is None  # libseccomp is not even loaded


def test_empty_names_and_missing_arg_fields() -> None:
    """runc: empty or missing names add no rule; a missing arg index or value is 0."""
    plan = seccomp.parse({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": [], "action": "SCMP_ACT_ERRNO"},
        {"action": "SCMP_ACT_ERRNO"},
        {"names": None, "action": "SCMP_ACT_ERRNO"},
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"op": "SCMP_CMP_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "args": [{"op": "SCMP_CMP_EQ", "index": 2, "value": None}]},
    ]})  # fmt: skip
    assert plan is not None
    errno = seccomp.ACT_ERRNO | 1
    assert plan.rules == [Rule("read", errno, [(0, EQ, 0, 0)]), Rule("write", errno, [(2, EQ, 0, 0)])]


def test_notify_is_not_implemented() -> None:
    with pytest.raises(NotImplementedYet, match="listenerPath"):
        seccomp.parse({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"})
    with pytest.raises(NotImplementedYet, match=r"syscalls\[0\].action: SCMP_ACT_NOTIFY"):
        seccomp.parse(
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
        )
    with pytest.raises(NotImplementedYet, match="WAIT_KILLABLE_RECV"):
        seccomp.parse(
            {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}
        )


def test_arch_names_map_to_libseccomp_names() -> None:
    assert seccomp.ARCHES["SCMP_ARCH_X86_64"] == "x86_64"
    assert seccomp.ARCHES["SCMP_ARCH_MIPSEL64N32"] == "mipsel64n32"
    assert seccomp.ARCHES["SCMP_ARCH_PPC64LE"] == "ppc64le"
