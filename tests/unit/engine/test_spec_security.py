"""Capabilities, privileged containers, SecurityOpt, masked and read-only paths."""

from __future__ import annotations

import json

import pytest
from tests.unit.engine.spec_fakes import HOST_DEVICES, make_host, spec_for

from dockyard.engine import defaults
from dockyard.engine.spec_security import all_capabilities, capabilities, parse_security_opts
from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci import runtime_spec

DEFAULT = list(defaults.DEFAULT_CAPABILITIES)


def caps(add: list[str] = [], drop: list[str] = [], privileged: bool = False) -> list[str]:  # noqa: B006
    return capabilities(add, drop, privileged, 40)


def test_default_set() -> None:
    assert caps() == DEFAULT


@pytest.mark.parametrize("name", ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_Net_Admin"])
def test_add_any_spelling(name: str) -> None:
    assert caps([name]) == [*DEFAULT, "CAP_NET_ADMIN"]


def test_drop_and_add() -> None:
    assert caps(["SYS_ADMIN"], ["chown", "CAP_KILL"]) == [
        c for c in DEFAULT if c not in ("CAP_CHOWN", "CAP_KILL")] + ["CAP_SYS_ADMIN"]
    assert caps(["CHOWN"]) == DEFAULT  # already there: no repeat


def test_all() -> None:
    everything = all_capabilities(40)
    assert len(everything) == 41 and everything[0] == "CAP_CHOWN"
    assert caps(["ALL"]) == everything
    assert caps(["all"], ["SYS_ADMIN"]) == [c for c in everything if c != "CAP_SYS_ADMIN"]
    assert caps(["NET_BIND_SERVICE", "chown"], ["ALL"]) == ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    assert caps([], ["ALL"]) == []
    assert all_capabilities(37)[-1] == "CAP_AUDIT_READ"


@pytest.mark.parametrize(("add", "drop", "field"), [
    (["CAP_FOO"], [], "CapAdd"),
    ([], ["bogus"], "CapDrop"),
])
def test_unknown_capability(add: list[str], drop: list[str], field: str) -> None:
    with pytest.raises(InvalidArgument, match=f"HostConfig.{field}: unknown capability: 'CAP_"):
        spec_for({}, {"CapAdd": add, "CapDrop": drop})


def test_capability_sets_in_spec() -> None:
    process = spec_for({}, {"CapAdd": ["SYS_PTRACE"]})["process"]
    want = [*DEFAULT, "CAP_SYS_PTRACE"]
    assert process["capabilities"] == {"bounding": want, "effective": want, "permitted": want}


def test_privileged() -> None:
    spec = spec_for({}, {"Privileged": True, "CapDrop": ["ALL"]})
    linux = spec["linux"]
    assert spec["process"]["capabilities"]["bounding"] == all_capabilities(40)
    assert "seccomp" not in linux
    assert linux["maskedPaths"] == [] and linux["readonlyPaths"] == []
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert linux["devices"] == [d.to_spec() for d in HOST_DEVICES]
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert "ro" not in mounts["/sys"]["options"]
    assert "ro" not in mounts["/sys/fs/cgroup"]["options"]
    assert runtime_spec.validate(spec) == []


def test_privileged_with_a_custom_profile_has_no_seccomp() -> None:
    profile = json.dumps({"defaultAction": "SCMP_ACT_ALLOW"})
    assert "seccomp" not in spec_for({}, {"Privileged": True, "SecurityOpt": [f"seccomp={profile}"]})["linux"]


def test_privileged_caps_follow_the_kernel() -> None:
    spec = spec_for({}, {"Privileged": True}, host=make_host(cap_last_cap=lambda: 37))
    assert spec["process"]["capabilities"]["bounding"][-1] == "CAP_AUDIT_READ"


def test_privileged_extra_devices() -> None:
    spec = spec_for({}, {"Privileged": True, "Devices": [
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/xvda", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda"},
    ]})
    paths = [d["path"] for d in spec["linux"]["devices"]]
    assert paths == ["/dev/null", "/dev/sda", "/dev/snd/timer", "/dev/xvda"]


# -- SecurityOpt ---------------------------------------------------------------------------


@pytest.mark.parametrize(("opt", "nnp"), [
    ("no-new-privileges", True),
    ("no-new-privileges:true", True),
    ("no-new-privileges=true", True),
    ("no-new-privileges=1", True),
    ("no-new-privileges=false", False),
    ("no-new-privileges:False", False),
])
def test_no_new_privileges(opt: str, nnp: bool) -> None:
    process = spec_for({}, {"SecurityOpt": [opt]})["process"]
    assert process.get("noNewPrivileges", False) is nnp


@pytest.mark.parametrize(("opt", "number"), [
    ("no-new-privileges=maybe", 2),
    ("bogus", 1),
    ("foo=bar", 2),
    ("seccomp", 1),
])
def test_invalid_security_opt(opt: str, number: int) -> None:
    with pytest.raises(InvalidArgument, match=f"HostConfig.SecurityOpt: invalid --security-opt {number}: '{opt}'"):
        spec_for({}, {"SecurityOpt": [opt]})


def test_seccomp_options() -> None:
    assert "seccomp" not in spec_for({}, {"SecurityOpt": ["seccomp=unconfined"]})["linux"]
    assert "seccomp" not in spec_for({}, {"SecurityOpt": ["seccomp:unconfined"]})["linux"]
    builtin = spec_for({}, {"SecurityOpt": ["seccomp=builtin"]})["linux"]["seccomp"]
    assert builtin == spec_for()["linux"]["seccomp"]
    custom = json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    section = spec_for({}, {"SecurityOpt": [f"seccomp={custom}"]})["linux"]["seccomp"]
    assert section == {"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}


def test_bad_custom_profile() -> None:
    with pytest.raises(InvalidArgument, match=r"^HostConfig\.SecurityOpt: seccomp profile: decoding"):
        spec_for({}, {"SecurityOpt": ["seccomp={not json"]})
    bad = json.dumps({"defaultAction": "SCMP_ACT_NOPE"})
    with pytest.raises(InvalidArgument, match=r"HostConfig.SecurityOpt: seccomp profile: .*unknown seccomp action"):
        spec_for({}, {"SecurityOpt": [f"seccomp={bad}"]})


def test_apparmor_and_labels() -> None:
    host = make_host()
    assert parse_security_opts(["apparmor=docker-default"], host).apparmor == "docker-default"
    assert parse_security_opts(["label=disable", "label:type:svirt_t", "disable"], host).apparmor == ""
    with pytest.raises(NotImplementedYet, match="AppArmor"):
        parse_security_opts(["apparmor=custom"], make_host(apparmor=lambda: True))
    assert parse_security_opts(["apparmor=unconfined"], make_host(apparmor=lambda: True)).apparmor == "unconfined"
    with pytest.raises(InvalidArgument, match="bad label option"):
        parse_security_opts(["label=nonsense"], host)
    spec = spec_for({}, {"SecurityOpt": ["apparmor=docker-default", "label=level:s0:c100"]})
    assert "apparmorProfile" not in spec["process"] and "selinuxLabel" not in spec["process"]


# -- masked and read-only paths -------------------------------------------------------------------


def test_system_paths() -> None:
    linux = spec_for()["linux"]
    assert linux["maskedPaths"] == list(defaults.MASKED_PATHS)
    assert "/proc/interrupts" in linux["maskedPaths"]
    assert linux["readonlyPaths"] == list(defaults.READONLY_PATHS)
    unconfined = spec_for({}, {"SecurityOpt": ["systempaths=unconfined"]})["linux"]
    assert unconfined["maskedPaths"] == [] and unconfined["readonlyPaths"] == []
    given = spec_for({}, {"MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": []})["linux"]
    assert given["maskedPaths"] == ["/proc/kcore"] and given["readonlyPaths"] == []
    with pytest.raises(InvalidArgument, match=r"HostConfig.MaskedPaths"):
        spec_for({}, {"MaskedPaths": "/proc"})
