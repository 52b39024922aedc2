"""Capability names, masks and the exact prctl/capset sequence (recording fake, no root)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.runtime import capabilities as caps
from dockyard.runtime import linux
from dockyard.runtime.recording import RecordingSyscalls

CHOWN, KILL, NET_BIND, SYS_ADMIN = 0, 5, 10, 21


def test_table_is_complete_and_dense() -> None:
    assert len(caps.CAPABILITIES) == 41
    assert sorted(caps.CAPABILITIES.values()) == list(range(41))
    assert caps.CAPABILITIES["CAP_CHECKPOINT_RESTORE"] == 40
    assert caps.CAPABILITIES["CAP_SYS_RESOURCE"] == 24
    assert caps.NAMES[39] == "CAP_BPF"


def test_mask_and_names() -> None:
    m = caps.mask(["CAP_CHOWN", "CAP_KILL", "CAP_BPF"])
    assert m == 1 << CHOWN | 1 << KILL | 1 << 39
    assert caps.names_of(m) == ["CAP_CHOWN", "CAP_KILL", "CAP_BPF"]
    assert caps.mask([]) == 0
    assert caps.mask(["CAP_BPF", "CAP_KILL"], last=38) == 1 << KILL


def test_mask_unknown_name() -> None:
    with pytest.raises(InvalidArgument, match="CAP_FOO"):
        caps.mask(["CAP_CHOWN", "CAP_FOO"])


def test_last_cap(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    p = tmp_path / "cap_last_cap"
    p.write_text("37\n")
    assert caps.last_cap(str(p)) == 37
    assert caps.last_cap(str(tmp_path / "missing")) == caps.MAX_KNOWN
    assert 0 < caps.last_cap() <= 63


def test_from_config_ignores_caps_unknown_to_kernel() -> None:
    sets = caps.from_config(
        {
            "bounding": ["CAP_CHOWN", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"],
            "effective": ["CAP_CHOWN", "CAP_BPF"],
            "ambient": [],
        },
        last=37,
    )
    assert sets.bounding == 1 << CHOWN
    assert sets.effective == 1 << CHOWN
    assert sets.permitted == sets.inheritable == sets.ambient == 0
    assert sets.ignored == ["CAP_BPF", "CAP_CHECKPOINT_RESTORE", "CAP_PERFMON"]
    assert caps.ignored_warning(sets) == (
        "ignoring unknown or unavailable capabilities: [CAP_BPF CAP_CHECKPOINT_RESTORE CAP_PERFMON]"
    )


def test_from_config_ignores_unknown_names_like_runc() -> None:
    sets = caps.from_config(
        {
            "bounding": ["CAP_KILL", "CAP_FOO", "kill"],
            "permitted": ["CAP_X", "CAP_KILL", "CAP_BPF"],
            "effective": ["CAP_FOO"],
        },
        last=38,
    )
    assert sets.bounding == sets.permitted == 1 << KILL
    assert sets.effective == sets.inheritable == sets.ambient == 0
    # one list over every set, sorted by name, as runc prints it
    assert sets.ignored == ["CAP_BPF", "CAP_FOO", "CAP_X", "kill"]
    assert caps.ignored_warning(sets) == (
        "ignoring unknown or unavailable capabilities: [CAP_BPF CAP_FOO CAP_X kill]"
    )
    assert caps.ignored_warning(caps.from_config({"bounding": ["CAP_KILL"]}, last=40)) is None


def test_from_config_errors() -> None:
    with pytest.raises(InvalidArgument, match="must be a list"):
        caps.from_config({"permitted": ["CAP_CHOWN", 7]}, last=40)
    with pytest.raises(InvalidArgument, match="must be an object"):
        caps.from_config(["CAP_CHOWN"], last=40)
    with pytest.raises(InvalidArgument, match="must be a list"):
        caps.from_config({"bounding": "CAP_CHOWN"}, last=40)
    assert caps.from_config(None, last=40).bounding == 0


def test_apply_bounding_drops_everything_else() -> None:
    sys = RecordingSyscalls()
    caps.apply_bounding(sys, 1 << CHOWN | 1 << KILL, last=6)
    assert sys.calls == [
        ("prctl", linux.PR_CAPBSET_DROP, cap, 0, 0, 0) for cap in (1, 2, 3, 4, 6)
    ]


def test_apply_bounding_eperm_names_the_cap() -> None:
    sys = RecordingSyscalls(fail={"prctl": OSError(1, "Operation not permitted")})
    with pytest.raises(PermissionDenied, match="PR_CAPBSET_DROP, CAP_CHOWN"):
        caps.apply_bounding(sys, 0, last=3)


def test_apply_sets_and_ambient() -> None:
    sys = RecordingSyscalls()
    caps.apply_sets(sys, 1, 3, 2)
    caps.apply_ambient(sys, 1 << NET_BIND | 1 << CHOWN, last=40)
    assert sys.calls == [
        ("capset", 1, 3, 2),
        ("prctl", linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
        ("prctl", linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_RAISE, CHOWN, 0, 0),
        ("prctl", linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_RAISE, NET_BIND, 0, 0),
    ]


def test_capset_failure() -> None:
    sys = RecordingSyscalls(fail={"capset": OSError(1, "Operation not permitted")})
    with pytest.raises(PermissionDenied, match="capset effective=0x1"):
        caps.apply_sets(sys, 1, 1, 0)


def test_apply_all_order_around_user_change() -> None:
    sys = RecordingSyscalls()
    sets = caps.from_config(
        {
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"],
        },
        last=5,
    )

    def change_user() -> None:
        sys.calls.append(("setuid", 1000))

    caps.apply_all(sys, sets, change_user)
    k = 1 << KILL
    assert sys.calls == [
        ("prctl", linux.PR_CAPBSET_DROP, 1, 0, 0, 0),
        ("prctl", linux.PR_CAPBSET_DROP, 2, 0, 0, 0),
        ("prctl", linux.PR_CAPBSET_DROP, 3, 0, 0, 0),
        ("prctl", linux.PR_CAPBSET_DROP, 4, 0, 0, 0),
        ("prctl", linux.PR_SET_KEEPCAPS, 1, 0, 0, 0),
        ("setuid", 1000),
        ("prctl", linux.PR_SET_KEEPCAPS, 0, 0, 0, 0),
        ("capset", k, k | 1, k),
        ("prctl", linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
        ("prctl", linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_RAISE, KILL, 0, 0),
    ]


def test_apply_all_without_user_change_skips_keepcaps() -> None:
    sys = RecordingSyscalls()
    caps.apply_all(sys, caps.CapSets(bounding=1, effective=1, permitted=1, last=0))
    assert sys.names() == ["capset", "prctl"]  # nothing to drop below cap 0; ambient clear
