"""dockyard.oci.runtime_spec: one validation pass, load_bundle, and runc's default spec."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import jsonio
from dockyard.oci.default_spec import default_spec
from dockyard.oci.runtime_spec import (
    load_bundle,
    load_bundle_with_warnings,
    validate,
)

RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)


def spec(**linux: Any) -> dict[str, Any]:
    config = default_spec()
    config["linux"].update(linux)
    return config


def _userns(config: dict[str, Any]) -> None:
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]


def _set(path: str, value: Any) -> Any:
    """A mutator setting ``path`` (dots; numbers index lists) to ``value``; ``...`` deletes."""

    def mutate(config: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        obj: Any = config
        for key in parents:
            obj = obj[int(key)] if isinstance(obj, list) else obj.setdefault(key, {})
        if value is ...:
            del obj[last]
        elif isinstance(obj, list):
            obj[int(last)] = value
        else:
            obj[last] = value

    return mutate


SECCOMP_OK = {"defaultAction": "SCMP_ACT_ALLOW"}


def _seccomp_rule(**rule: Any) -> dict[str, Any]:
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW", **rule}],
    }


# (mutator, the field path the message must name, a word of the problem)
BAD: list[tuple[str, Any, str, str]] = [
    ("not-object", lambda c: c.clear() or c.update(x=1), "root", "required"),
    ("ociVersion type", _set("ociVersion", 1), "ociVersion", "string"),
    ("root missing", _set("root", ...), "root", "required"),
    ("root type", _set("root", "rootfs"), "root", "object"),
    ("root.path type", _set("root.path", 3), "root.path", "string"),
    ("root.readonly", _set("root.readonly", "yes"), "root.readonly", "boolean"),
    ("process missing", _set("process", ...), "process", "required"),
    ("process type", _set("process", []), "process", "object"),
    ("terminal", _set("process.terminal", 1), "process.terminal", "boolean"),
    ("consoleSize", _set("process.consoleSize", {"height": -1}), "process.consoleSize.height",
     "in ["),
    ("uid negative", _set("process.user.uid", -1), "process.user.uid", "in ["),
    ("uid bool", _set("process.user.uid", True), "process.user.uid", "integer"),
    ("gid float", _set("process.user.gid", 1.0), "process.user.gid", "integer"),
    ("umask", _set("process.user.umask", "022"), "process.user.umask", "integer"),
    ("additionalGids type", _set("process.user.additionalGids", 5),
     "process.user.additionalGids", "list"),
    ("additionalGids item", _set("process.user.additionalGids", [1, -2]),
     "process.user.additionalGids[1]", "in ["),
    ("args missing", _set("process.args", ...), "process.args", "non-empty list"),
    ("args empty", _set("process.args", []), "process.args", "non-empty list"),
    ("args item", _set("process.args", ["sh", 1]), "process.args", "non-empty list"),
    ("env type", _set("process.env", "A=b"), "process.env", "list"),
    ("env item type", _set("process.env", [1]), "process.env[0]", "string"),
    ("env no =", _set("process.env", ["A=1", "FOO"]), "process.env[1]", "KEY=VALUE"),
    ("env empty key", _set("process.env", ["=x"]), "process.env[0]", "KEY=VALUE"),
    ("cwd missing", _set("process.cwd", ...), "process.cwd", "required"),
    ("cwd relative", _set("process.cwd", "tmp"), "process.cwd", "absolute"),
    ("cwd type", _set("process.cwd", 1), "process.cwd", "string"),
    ("caps type", _set("process.capabilities", []), "process.capabilities", "object"),
    ("caps set type", _set("process.capabilities.bounding", "CAP_KILL"),
     "process.capabilities.bounding", "list"),
    ("caps name type", _set("process.capabilities.bounding", ["CAP_KILL", None]),
     "process.capabilities.bounding[1]", "string"),
    ("caps ambient item", _set("process.capabilities.ambient", [7]),
     "process.capabilities.ambient[0]", "string"),
    ("rlimits type", _set("process.rlimits", {}), "process.rlimits", "list"),
    ("rlimit item", _set("process.rlimits", ["x"]), "process.rlimits[0]", "object"),
    ("rlimit unknown", _set("process.rlimits.0.type", "RLIMIT_FOO"), "process.rlimits[0].type",
     "unknown rlimit"),
    ("rlimit type missing", _set("process.rlimits.0.type", ...), "process.rlimits[0].type",
     "required"),
    ("rlimit soft", _set("process.rlimits.0.soft", -1), "process.rlimits[0].soft", "in ["),
    ("rlimit hard type", _set("process.rlimits.0.hard", "1"), "process.rlimits[0].hard",
     "integer"),
    ("noNewPrivileges", _set("process.noNewPrivileges", "true"), "process.noNewPrivileges",
     "boolean"),
    ("oomScoreAdj high", _set("process.oomScoreAdj", 1001), "process.oomScoreAdj", "in ["),
    ("oomScoreAdj low", _set("process.oomScoreAdj", -1001), "process.oomScoreAdj", "in ["),
    ("apparmorProfile", _set("process.apparmorProfile", 1), "process.apparmorProfile", "string"),
    ("selinuxLabel", _set("process.selinuxLabel", []), "process.selinuxLabel", "string"),
    ("hostname type", _set("hostname", 1), "hostname", "string"),
    ("domainname type", _set("domainname", 1), "domainname", "string"),
    ("hostname without uts", _set("linux.namespaces", [{"type": "mount"}]), "hostname",
     "requires a private UTS namespace"),
    ("mounts type", _set("mounts", {}), "mounts", "list"),
    ("mount item", _set("mounts", [1]), "mounts[0]", "object"),
    ("mount destination missing", _set("mounts.2.destination", ...), "mounts[2].destination",
     "required"),
    ("mount destination empty", _set("mounts.2.destination", ""), "mounts[2].destination",
     "empty"),
    ("mount destination type", _set("mounts.2.destination", 1), "mounts[2].destination",
     "string"),
    ("mount type", _set("mounts.0.type", 1), "mounts[0].type", "string"),
    ("mount source", _set("mounts.0.source", 1), "mounts[0].source", "string"),
    ("mount options", _set("mounts.1.options", "ro"), "mounts[1].options", "list"),
    ("mount option item", _set("mounts.1.options", ["ro", 1]), "mounts[1].options[1]", "string"),
    ("hooks type", _set("hooks", []), "hooks", "object"),
    ("hook phase type", _set("hooks.prestart", {}), "hooks.prestart", "list"),
    ("hook path missing", _set("hooks.poststop", [{"args": []}]), "hooks.poststop[0].path",
     "required"),
    ("hook args", _set("hooks.poststart", [{"path": "/bin/true", "args": "x"}]),
     "hooks.poststart[0].args", "list"),
    ("hook env", _set("hooks.startContainer", [{"path": "/bin/true", "env": [1]}]),
     "hooks.startContainer[0].env[0]", "string"),
    ("hook path empty", _set("hooks.prestart", [{"path": ""}]), "hooks.prestart[0].path",
     "empty"),
    ("hook timeout float", _set("hooks.prestart", [{"path": "/bin/true", "timeout": 0.5}]),
     "hooks.prestart[0].timeout", "integer"),
    ("hook timeout type", _set("hooks.prestart", [{"path": "/bin/true", "timeout": "5"}]),
     "hooks.prestart[0].timeout", "integer"),
    ("annotations type", _set("annotations", []), "annotations", "object"),
    ("annotation value", _set("annotations", {"a": 1}), "annotations.a", "string"),
    ("linux type", _set("linux", []), "linux", "object"),
    ("namespaces type", _set("linux.namespaces", {}), "linux.namespaces", "list"),
    ("namespace unknown", lambda c: c["linux"]["namespaces"].append({"type": "foo"}),
     "linux.namespaces[5].type", 'unknown namespace type "foo"'),
    ("namespace type missing", lambda c: c["linux"]["namespaces"].append({}),
     "linux.namespaces[5].type", "required"),
    ("namespace duplicate", lambda c: c["linux"]["namespaces"].append({"type": "pid"}),
     "linux.namespaces[5].type", "duplicate"),
    ("namespace path", _set("linux.namespaces.0.path", 1), "linux.namespaces[0].path", "string"),
    ("userns without uid mappings", lambda c: c["linux"]["namespaces"].append({"type": "user"}),
     "linux.uidMappings", "no uid mappings"),
    ("userns without gid mappings", lambda c: _userns(c) or c["linux"].pop("gidMappings"),
     "linux.gidMappings", "no gid mappings"),
    ("mapping size 0", lambda c: _userns(c) or c["linux"]["uidMappings"][0].update(size=0),
     "linux.uidMappings[0].size", "greater than 0"),
    ("mapping hostID", lambda c: _userns(c) or c["linux"]["gidMappings"][0].update(hostID=-1),
     "linux.gidMappings[0].hostID", "in ["),
    ("mapping containerID missing",
     lambda c: _userns(c) or c["linux"]["uidMappings"][0].pop("containerID"),
     "linux.uidMappings[0].containerID", "required"),
    ("mount mapping", _set("mounts.0.uidMappings", [{"containerID": 0, "hostID": 0}]),
     "mounts[0].uidMappings[0].size", "required"),
    ("devices type", _set("linux.devices", {}), "linux.devices", "list"),
    ("device type", _set("linux.devices", [{"path": "/dev/x", "type": "x", "major": 1,
                                            "minor": 3}]), "linux.devices[0].type",
     "unknown device type"),
    ("device minor type", _set("linux.devices", [{"path": "/dev/x", "type": "b", "major": 8,
                                                  "minor": "0"}]), "linux.devices[0].minor",
     "integer"),
    ("device fileMode", _set("linux.devices", [{"path": "/dev/f", "type": "p",
                                                "fileMode": -1}]), "linux.devices[0].fileMode",
     "in ["),
    ("device uid", _set("linux.devices", [{"path": "/dev/f", "type": "p", "uid": "0"}]),
     "linux.devices[0].uid", "integer"),
    ("resources type", _set("linux.resources", []), "linux.resources", "object"),
    ("device rule allow type", _set("linux.resources.devices.0.allow", "no"),
     "linux.resources.devices[0].allow", "boolean"),
    ("device rule type", _set("linux.resources.devices.0.type", "p"),
     "linux.resources.devices[0].type", "unknown device type"),
    ("device rule access", _set("linux.resources.devices.0.access", "rwx"),
     "linux.resources.devices[0].access", "r, w and m"),
    ("device rule major", _set("linux.resources.devices.0.major", "1"),
     "linux.resources.devices[0].major", "integer"),
    ("memory limit", _set("linux.resources.memory", {"limit": "1g"}),
     "linux.resources.memory.limit", "integer"),
    ("memory reservation", _set("linux.resources.memory", {"reservation": 1.5}),
     "linux.resources.memory.reservation", "integer"),
    ("memory swap", _set("linux.resources.memory", {"swap": 2**63}),
     "linux.resources.memory.swap", "in ["),
    ("memory kernel", _set("linux.resources.memory", {"kernel": True}),
     "linux.resources.memory.kernel", "integer"),
    ("memory swappiness", _set("linux.resources.memory", {"swappiness": 101}),
     "linux.resources.memory.swappiness", "in ["),
    ("memory disableOOMKiller", _set("linux.resources.memory", {"disableOOMKiller": 1}),
     "linux.resources.memory.disableOOMKiller", "boolean"),
    ("cpu shares", _set("linux.resources.cpu", {"shares": -2}),
     "linux.resources.cpu.shares", "in ["),
    ("cpu quota", _set("linux.resources.cpu", {"quota": "max"}),
     "linux.resources.cpu.quota", "integer"),
    ("cpu period", _set("linux.resources.cpu", {"period": -1}),
     "linux.resources.cpu.period", "in ["),
    ("cpu cpus", _set("linux.resources.cpu", {"cpus": [0, 1]}),
     "linux.resources.cpu.cpus", "string"),
    ("cpu mems", _set("linux.resources.cpu", {"mems": 0}), "linux.resources.cpu.mems", "string"),
    ("pids limit type", _set("linux.resources.pids", {"limit": "10"}),
     "linux.resources.pids.limit", "integer"),
    ("blkio throttle", _set("linux.resources.blockIO", {"throttleReadBpsDevice": [
        {"major": 8, "minor": 0}]}),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate", "required"),
    ("blkio weight negative", _set("linux.resources.blockIO", {"weight": -1}),
     "linux.resources.blockIO.weight", "in [0, 65535]"),
    ("blkio weight uint16", _set("linux.resources.blockIO", {"leafWeight": 65536}),
     "linux.resources.blockIO.leafWeight", "in [0, 65535]"),
    ("blkio weightDevice", _set("linux.resources.blockIO", {"weightDevice": [
        {"major": 8, "minor": 0, "weight": 70000}]}),
     "linux.resources.blockIO.weightDevice[0].weight", "in [0, 65535]"),
    ("hugepage pageSize", _set("linux.resources.hugepageLimits", [{"limit": 1}]),
     "linux.resources.hugepageLimits[0].pageSize", "required"),
    ("hugepage limit", _set("linux.resources.hugepageLimits", [{"pageSize": "2MB",
                                                                "limit": -1}]),
     "linux.resources.hugepageLimits[0].limit", "in ["),
    ("unified", _set("linux.resources.unified", {"memory.max": 1}),
     "linux.resources.unified.memory.max", "string"),
    ("cgroupsPath", _set("linux.cgroupsPath", 1), "linux.cgroupsPath", "string"),
    ("sysctl type", _set("linux.sysctl", ["a=b"]), "linux.sysctl", "object"),
    ("sysctl value", _set("linux.sysctl", {"net.ipv4.ip_forward": 1}),
     "linux.sysctl.net.ipv4.ip_forward", "string"),
    ("seccomp type", _set("linux.seccomp", "default"), "linux.seccomp", "object"),
    ("seccomp defaultAction missing with rules", _set("linux.seccomp", {"syscalls": [
        {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}),
     "linux.seccomp.defaultAction", "required"),
    ("seccomp defaultAction empty with rules", _set("linux.seccomp", {
        "defaultAction": "", "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}),
     "linux.seccomp.defaultAction", 'unknown seccomp action ""'),
    ("seccomp defaultAction type", _set("linux.seccomp", {"defaultAction": 0}),
     "linux.seccomp.defaultAction", "string"),
    ("seccomp arches type without action", _set("linux.seccomp", {"architectures": "x86"}),
     "linux.seccomp.architectures", "list"),
    ("seccomp action missing", _set("linux.seccomp", {**SECCOMP_OK, "syscalls": [
        {"names": ["getcwd"]}]}), "linux.seccomp.syscalls[0].action", "required"),
    ("seccomp names type", _set("linux.seccomp", _seccomp_rule(names="read")),
     "linux.seccomp.syscalls[0].names", "list"),
    ("seccomp defaultAction", _set("linux.seccomp", {"defaultAction": "SCMP_ACT_FOO"}),
     "linux.seccomp.defaultAction", 'unknown seccomp action "SCMP_ACT_FOO"'),
    ("seccomp arch", _set("linux.seccomp", {**SECCOMP_OK, "architectures": ["SCMP_ARCH_FOO"]}),
     "linux.seccomp.architectures[0]", "unknown seccomp architecture"),
    ("seccomp flags", _set("linux.seccomp", {**SECCOMP_OK, "flags": "x"}),
     "linux.seccomp.flags", "list"),
    ("seccomp syscalls type", _set("linux.seccomp", {**SECCOMP_OK, "syscalls": {}}),
     "linux.seccomp.syscalls", "list"),
    ("seccomp names item", _set("linux.seccomp", _seccomp_rule(names=["read", 0])),
     "linux.seccomp.syscalls[0].names[1]", "string"),
    ("seccomp action", _set("linux.seccomp", _seccomp_rule(action="ALLOW")),
     "linux.seccomp.syscalls[0].action", "unknown seccomp action"),
    ("seccomp errnoRet", _set("linux.seccomp", _seccomp_rule(errnoRet=-1)),
     "linux.seccomp.syscalls[0].errnoRet", "in ["),
    ("seccomp arg index", _set("linux.seccomp", _seccomp_rule(args=[
        {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].index", "in [0, 5]"),
    ("seccomp arg op missing", _set("linux.seccomp", _seccomp_rule(args=[
        {"index": 0, "value": 1}])), "linux.seccomp.syscalls[0].args[0].op", "required"),
    ("seccomp arg value", _set("linux.seccomp", _seccomp_rule(args=[
        {"index": 0, "value": "1", "op": "SCMP_CMP_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].value", "integer"),
    ("seccomp arg valueTwo", _set("linux.seccomp", _seccomp_rule(args=[
        {"index": 0, "value": 1, "valueTwo": -1, "op": "SCMP_CMP_MASKED_EQ"}])),
     "linux.seccomp.syscalls[0].args[0].valueTwo", "in ["),
    ("seccomp arg op", _set("linux.seccomp", _seccomp_rule(args=[
        {"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}])),
     "linux.seccomp.syscalls[0].args[0].op", "unknown seccomp operator"),
    ("maskedPaths type", _set("linux.maskedPaths", "/proc/kcore"), "linux.maskedPaths", "list"),
    ("maskedPaths item", _set("linux.maskedPaths", ["/proc/acpi", 1]), "linux.maskedPaths[1]",
     "string"),
    ("readonlyPaths item", _set("linux.readonlyPaths", [None]), "linux.readonlyPaths[0]",
     "string"),
    ("rootfsPropagation", _set("linux.rootfsPropagation", "foo"), "linux.rootfsPropagation",
     "unknown propagation"),
    ("mountLabel", _set("linux.mountLabel", 0), "linux.mountLabel", "string"),
]


@pytest.mark.parametrize(("mutate", "field", "problem"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_field_is_named(mutate: Any, field: str, problem: str) -> None:
    config = default_spec()
    mutate(config)
    with pytest.raises(InvalidArgument) as exc:
        validate(config)
    message = str(exc.value)
    assert message.startswith(f"config.json: {field}: "), message
    assert problem in message
    assert "\n" not in message


def test_not_an_object() -> None:
    with pytest.raises(InvalidArgument, match=r"^config\.json: must be a JSON object$"):
        validate([])


GOOD: list[tuple[str, Any]] = [
    ("default", lambda c: None),
    ("rootless", lambda c: c.clear() or c.update(default_spec(rootless=True))),
    ("unknown keys ignored", lambda c: c.update(vm={"x": 1}, windows=None)
     or c["process"].update(future=True)),
    ("nulls are absent", lambda c: c["process"].update(capabilities=None, rlimits=None)
     or c.update(hooks=None, mounts=None)),
    ("oci 1.1.0", _set("ociVersion", "1.1.0")),
    ("no linux and no hostname", lambda c: (c.pop("linux"), c.pop("hostname"))),
    ("empty hostname without uts", lambda c: c.update(hostname="")
     or c["linux"].update(namespaces=[])),
    ("uts joined by path", _set("linux.namespaces", [{"type": "uts", "path": "/proc/1/ns/uts"}])),
    ("all namespaces", lambda c: _userns(c) or c["linux"]["namespaces"].extend(
        [{"type": "cgroup"}, {"type": "time"}])),
    ("mappings without userns", _set("linux.uidMappings",
                                     [{"containerID": 0, "hostID": 0, "size": 1}])),
    ("all caps", lambda c: c["process"]["capabilities"].update(
        inheritable=["CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_PERFMON", "CAP_CHOWN"])),
    ("oomScoreAdj bounds", _set("process.oomScoreAdj", -1000)),
    ("env value with =", _set("process.env", ["A=b=c", "EMPTY="])),
    ("hooks", _set("hooks", {p: [{"path": "/bin/true", "args": ["true"], "env": ["A=1"],
                                  "timeout": 5}]
                             for p in ("prestart", "createRuntime", "createContainer",
                                       "startContainer", "poststart", "poststop")})),
    ("fifo device without numbers", _set("linux.devices", [{"path": "/dev/f", "type": "p"}])),
    ("device", _set("linux.devices", [{"path": "/dev/fuse", "type": "c", "major": 10,
                                       "minor": 229, "fileMode": 0o666, "uid": 0, "gid": 0}])),
    ("resources", _set("linux.resources", {
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": None, "access": "rw"}],
        "memory": {"limit": -1, "reservation": 1 << 20, "swap": -1, "kernel": 0,
                   "swappiness": 60, "disableOOMKiller": False},
        "cpu": {"shares": 1024, "quota": -1, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 10, "leafWeight": 1000},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "unified": {"memory.high": "max"},
    })),
    ("seccomp", _set("linux.seccomp", {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 5, "value": 2**64 - 1, "op": "SCMP_CMP_MASKED_EQ",
                                "valueTwo": 0}]}],
    })),
    ("propagation empty", _set("linux.rootfsPropagation", "")),
    ("propagation rslave", _set("linux.rootfsPropagation", "rslave")),
    ("sysctl", _set("linux.sysctl", {"net.ipv4.ip_forward": "1"})),
    ("intelRdt ignored", _set("linux.intelRdt", {"closID": 7})),
]


@pytest.mark.parametrize("mutate", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_valid_configs_pass(mutate: Any) -> None:
    config = default_spec()
    mutate(config)
    assert validate(config) == []


_CAP_WARNING = "ignoring unknown or unavailable capabilities: [{}]"
_DEST_WARNING = (
    "mount destination {} is not absolute. Support for non-absolute mount destinations will "
    "be removed in a future release."
)
_NO_UTS = [{"type": t} for t in ("pid", "network", "ipc", "mount")]

# What runc 1.1.5 runs although an earlier dockyard refused it, with runc's warnings
# (each checked against /usr/sbin/runc; tests/integration/test_runc_leniency.py runs some).
LENIENT: list[tuple[str, Any, list[str]]] = [
    # a device without a path only feeds the device cgroup (runc makes no node for it)
    ("device path empty", _set("linux.devices", [{"path": "", "type": "c"}]), []),
    ("device path missing", _set("linux.devices", [{"type": "c"}]), []),
    ("ociVersion missing", _set("ociVersion", ...), []),
    ("ociVersion 2.0.0", _set("ociVersion", "2.0.0"), []),
    ("ociVersion not a version", _set("ociVersion", "foo"), []),
    ("ociVersion empty", _set("ociVersion", ""), []),
    ("root.path missing: the bundle", _set("root.path", ...), []),
    ("root.path empty: the bundle", _set("root.path", ""), []),
    ("caps unknown", _set("process.capabilities.effective", ["CAP_KILL", "CAP_FOO"]),
     [_CAP_WARNING.format("CAP_FOO")]),
    ("caps unknown in several sets, one sorted warning", lambda c: c["process"][
        "capabilities"].update(bounding=["CAP_FOO", "kill"], ambient=["CAP_BAR", "CAP_FOO"]),
     [_CAP_WARNING.format("CAP_BAR CAP_FOO kill")]),
    ("rlimit duplicate: applied in order", _set("process.rlimits", [
        {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
        {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}]), []),
    ("rlimit limits missing: 0", _set("process.rlimits", [{"type": "RLIMIT_CORE"}]), []),
    ("domainname without uts: ignored", lambda c: c.update(hostname="", domainname="x")
     or c["linux"].update(namespaces=_NO_UTS), []),
    ("mount destination relative", _set("mounts.2.destination", "dev/pts"),
     [_DEST_WARNING.format("dev/pts")]),
    ("two relative destinations", lambda c: c["mounts"].extend([
        {"destination": "mnt/a", "type": "tmpfs"}, {"destination": "./b", "type": "tmpfs"}]),
     [_DEST_WARNING.format("mnt/a"), _DEST_WARNING.format("./b")]),
    ("maskedPaths relative", _set("linux.maskedPaths", ["/proc/acpi", "proc/kcore"]), []),
    ("readonlyPaths relative", _set("linux.readonlyPaths", ["proc/sys"]), []),
    ("hook path relative: from the bundle", _set("hooks.createRuntime", [{"path": "hook"}]),
     []),
    ("hook timeout 0", _set("hooks.createContainer", [{"path": "/bin/true", "timeout": 0}]),
     []),
    ("hook timeout negative", _set("hooks.poststop", [{"path": "/bin/true", "timeout": -1}]),
     []),
    ("device path relative", _set("linux.devices", [
        {"path": "dev/foo", "type": "c", "major": 1, "minor": 3}]), []),
    ("device numbers missing: 0", _set("linux.devices", [{"path": "/dev/x", "type": "c"}]), []),
    ("device rule allow missing: deny", _set("linux.resources.devices", [{"access": "rwm"}]),
     []),
    ("pids limit missing", _set("linux.resources.pids", {}), []),
    ("blkio weights outside 10..1000", _set("linux.resources.blockIO", {
        "weight": 5, "leafWeight": 1001,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 65535}]}), []),
    ("seccomp empty: disabled", _set("linux.seccomp", {}), []),
    ("seccomp without action or rules: disabled", _set("linux.seccomp", {
        "defaultAction": "", "architectures": ["SCMP_ARCH_FOO"], "syscalls": []}), []),
    ("seccomp names empty", _set("linux.seccomp", _seccomp_rule(names=[])), []),
    ("seccomp names missing", _set("linux.seccomp", {**SECCOMP_OK, "syscalls": [
        {"action": "SCMP_ACT_ERRNO"}]}), []),
    ("seccomp arg index and value missing: 0", _set("linux.seccomp", _seccomp_rule(args=[
        {"op": "SCMP_CMP_EQ"}])), []),
    ("everything at once", lambda c: (
        _set("ociVersion", "2.0.0")(c),
        _set("process.capabilities.bounding", ["CAP_FOO"])(c),
        _set("mounts.2.destination", "dev/pts")(c)),
     [_CAP_WARNING.format("CAP_FOO"), _DEST_WARNING.format("dev/pts")]),
]


@pytest.mark.parametrize(("mutate", "warnings"), [g[1:] for g in LENIENT],
                         ids=[g[0] for g in LENIENT])
def test_what_runc_runs_passes(mutate: Any, warnings: list[str]) -> None:
    config = default_spec()
    mutate(config)
    assert validate(config) == warnings


def test_load_bundle_with_warnings(tmp_path: Any) -> None:
    config = default_spec()
    config["mounts"][2]["destination"] = "dev/pts"
    (tmp_path / "config.json").write_text(jsonio.dumps(config))
    assert load_bundle_with_warnings(str(tmp_path)) == (config, [_DEST_WARNING.format("dev/pts")])
    assert load_bundle(str(tmp_path)) == config


def test_load_bundle(tmp_path: Any) -> None:
    (tmp_path / "config.json").write_text(jsonio.dumps(default_spec(), indent="\t"))
    assert load_bundle(str(tmp_path)) == default_spec()


def test_load_bundle_missing(tmp_path: Any) -> None:
    with pytest.raises(NotFound, match=r"^JSON specification file config.json not found$"):
        load_bundle(str(tmp_path))


def test_load_bundle_malformed(tmp_path: Any) -> None:
    (tmp_path / "config.json").write_text('{"ociVersion": "1.0.2",\n  "root": }')
    with pytest.raises(InvalidArgument, match=r"^config.json: invalid JSON.*offset \d+"):
        load_bundle(str(tmp_path))


def test_load_bundle_validates(tmp_path: Any) -> None:
    config = default_spec()
    config["process"]["args"] = []
    (tmp_path / "config.json").write_text(jsonio.dumps(config))
    with pytest.raises(InvalidArgument, match=r"^config.json: process.args: "):
        load_bundle(str(tmp_path))


def test_load_bundle_is_a_directory(tmp_path: Any) -> None:
    (tmp_path / "config.json").mkdir()
    with pytest.raises(InvalidArgument, match=r"^config\.json: "):
        load_bundle(str(tmp_path))


def test_rootless_maps_given_ids() -> None:
    linux = default_spec(rootless=True, uid=1000, gid=100)["linux"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": 1000, "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": 100, "size": 1}]
    assert {"type": "user"} in linux["namespaces"]
    assert {"type": "network"} not in linux["namespaces"]
    assert "resources" not in linux


def test_default_spec_is_fresh() -> None:
    a = default_spec()
    a["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    assert default_spec()["process"]["capabilities"]["effective"] == [
        "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    assert "CAP_SYS_ADMIN" not in default_spec()["process"]["capabilities"]["bounding"]


@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
@pytest.mark.parametrize("rootless", [False, True])
def test_default_spec_matches_runc(tmp_path: Any, rootless: bool) -> None:
    assert RUNC is not None
    subprocess.run([RUNC, "spec", *(["--rootless"] if rootless else [])], cwd=tmp_path,
                   check=True)
    runc_bytes = (tmp_path / "config.json").read_bytes()
    ours = jsonio.dumps(default_spec(rootless=rootless), indent="\t").encode()
    assert ours == runc_bytes
    assert jsonio.loads(runc_bytes) == default_spec(rootless=rootless)
