"""rlimit parsing, and the real prlimit/oom_score_adj paths in forked children."""

from __future__ import annotations

import os
import resource

import pytest
from tests.support.forking import in_child

from dockyard.errors import InvalidArgument
from dockyard.runtime import rlimits
from dockyard.runtime.syscalls import LinuxSyscalls

CAP_SYS_RESOURCE = 24


def drop_sys_resource() -> None:
    """Lower CAP_SYS_RESOURCE out of the effective set (so the EPERM path is certain)."""
    if os.geteuid() != 0:
        return
    sys = LinuxSyscalls()
    eff, perm, inh = sys.capget()
    sys.capset(eff & ~(1 << CAP_SYS_RESOURCE), perm, inh)


def test_table() -> None:
    assert len(rlimits.RLIMITS) == 16
    assert sorted(rlimits.RLIMITS.values()) == list(range(16))
    for name, number in rlimits.RLIMITS.items():
        assert getattr(resource, name, number) == number


def test_parse() -> None:
    inf = rlimits.RLIM_INFINITY
    got = rlimits.parse(
        [
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
            {"type": "RLIMIT_CORE", "soft": inf, "hard": inf},
        ]
    )
    assert got == [("RLIMIT_NOFILE", 7, 1024, 4096), ("RLIMIT_CORE", 4, inf, inf)]
    assert rlimits.parse(None) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "RLIMIT_FOO", "soft": 1, "hard": 1}, r"\[0\].type: unknown rlimit type 'RLIMIT_FOO'"),
        ({"type": "RLIMIT_CPU", "soft": -1, "hard": 1}, r"\[0\].soft: must be an integer"),
        ({"type": "RLIMIT_CPU", "soft": "1", "hard": 1}, r"\[0\].soft: must be an integer"),
        ({"type": "RLIMIT_CPU", "soft": 1}, "soft limit 1 is above the hard limit 0"),
        ({"type": "RLIMIT_CPU", "soft": 2, "hard": 1}, "soft limit 2 is above the hard limit 1"),
        ({"type": "RLIMIT_CPU", "soft": 1 << 64, "hard": 1 << 64}, "soft: must be"),
    ],
)
def test_parse_errors(entry: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        rlimits.parse([entry])


def test_parse_like_runc() -> None:
    """runc 1.1: a repeated type is applied again (in order, the last wins); a missing or
    null soft or hard limit is 0."""
    got = rlimits.parse(
        [
            {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1000},
            {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
            {"type": "RLIMIT_CORE", "hard": 5},
            {"type": "RLIMIT_CPU", "soft": None, "hard": None},
        ]
    )
    assert got == [
        ("RLIMIT_NOFILE", 7, 1000, 1000),
        ("RLIMIT_NOFILE", 7, 100, 200),
        ("RLIMIT_CORE", 4, 0, 5),
        ("RLIMIT_CPU", 0, 0, 0),
    ]


def test_apply_repeated_type_last_wins() -> None:
    def child() -> tuple[int, int]:
        rlimits.apply(
            [
                {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1000},
                {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
            ]
        )
        return rlimits.current(resource.RLIMIT_NOFILE)

    if rlimits.current(resource.RLIMIT_NOFILE)[1] < 1000:
        pytest.skip("RLIMIT_NOFILE hard limit is below 1000 here")
    assert in_child(child) == "ok (100, 200)"


def test_apply_lowers_limits_in_child() -> None:
    def child() -> str:
        rlimits.apply(
            [
                {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
                {"type": "RLIMIT_CORE", "soft": 0, "hard": rlimits.RLIM_INFINITY},
            ]
        )
        nofile = rlimits.current(resource.RLIMIT_NOFILE)
        core = rlimits.current(resource.RLIMIT_CORE)
        return f"{nofile} {core[0]} {core[1] == rlimits.RLIM_INFINITY}"

    cur_core_hard = rlimits.current(resource.RLIMIT_CORE)[1]
    if cur_core_hard != rlimits.RLIM_INFINITY:
        pytest.skip("RLIMIT_CORE hard limit is not unlimited here")
    assert in_child(child) == "ok (100, 200) 0 True"


def test_raising_hard_limit_without_cap_sys_resource_is_permission_denied() -> None:
    soft, hard = rlimits.current(resource.RLIMIT_NOFILE)
    if hard == rlimits.RLIM_INFINITY:
        pytest.skip("RLIMIT_NOFILE hard limit is unlimited")

    def child() -> None:
        drop_sys_resource()
        rlimits.apply([{"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard + 1}])

    out = in_child(child)
    assert out.startswith(
        f"PermissionDenied: setrlimit RLIMIT_NOFILE soft={soft} hard={hard + 1}: "
        "operation not permitted (the host denies raising a hard limit: CAP_SYS_RESOURCE missing"
    ), out


def test_nofile_above_nr_open() -> None:
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    out = in_child(
        lambda: rlimits.apply([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": nr_open + 1}])
    )
    assert out.startswith("PermissionDenied: setrlimit RLIMIT_NOFILE"), out
    assert "operation not permitted" in out


def test_oom_score_adj() -> None:
    def read() -> str:
        with open("/proc/self/oom_score_adj") as f:
            return f.read().strip()

    def raise_it() -> str:
        rlimits.apply_oom_score_adj(500)
        return read()

    def lower_it() -> None:
        drop_sys_resource()
        rlimits.apply_oom_score_adj(-500)

    assert in_child(raise_it) == "ok 500"
    out = in_child(lower_it)
    assert out == (
        "PermissionDenied: write /proc/self/oom_score_adj -500: permission denied "
        "(the host denies lowering oom_score_adj: CAP_SYS_RESOURCE missing)"
    ), out
    with pytest.raises(InvalidArgument, match="-1001"):
        rlimits.apply_oom_score_adj(-1001)
