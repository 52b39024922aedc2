"""Configs runc 1.1.5 runs although dockyard's validator once refused them.

Each case runs under both runtimes (the ``runtime`` fixture) and must succeed with the same
output; the expected output is what runc 1.1.5 printed on this kind of host. Cases whose
runtime side (not the validator) still refuses the config are marked ``xfail(strict=True)``
for dockyard only, naming the module to change; remove the mark once it is wired up.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.bundles import DEFAULT_CAPS, BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

NO_UTS = [{"type": t} for t in ("pid", "network", "ipc", "mount")]
CAPS_KILL = "0000000000000020"  # CAP_KILL alone; the default set is KILL|NET_BIND|AUDIT_WRITE
DEFAULT_CAP_HEX = "0000000020000420"


def _pending(request: pytest.FixtureRequest, runtime: Runtime, reason: str) -> None:
    """Expect dockyard (only) to fail until ``reason`` is fixed."""
    if runtime.name == "dockyard":
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


# (id, overrides for make_bundle, script, runc's stdout)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("ociVersion 2.0.0", {"ociVersion": "2.0.0"}, "echo ok", "ok\n"),
    ("ociVersion empty", {"ociVersion": ""}, "echo ok", "ok\n"),
    (
        "unknown capabilities ignored",
        {"process": {"capabilities": {
            "bounding": ["CAP_KILL", "CAP_FOO"],
            "effective": ["CAP_BAR", "CAP_KILL"],
            "permitted": ["CAP_KILL", "kill"],
        }}},
        "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status",
        f"CapPrm:\t{CAPS_KILL}\nCapEff:\t{CAPS_KILL}\nCapBnd:\t{CAPS_KILL}\n",
    ),
    (
        "relative masked and read-only paths",
        {"linux": {"maskedPaths": ["proc/kcore", "proc/cpuinfo"],
                   "readonlyPaths": ["proc/bus"]}},
        "wc -c < /proc/cpuinfo; grep ' /proc/bus ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
        "0\nro\n",
    ),
    (
        "empty seccomp object is off",
        {"linux": {"seccomp": {}}},
        "grep ^Seccomp: /proc/self/status",
        "Seccomp:\t0\n",
    ),
    (
        "domainname without a UTS namespace is ignored",
        {"hostname": None, "domainname": "example.org", "linux": {"namespaces": NO_UTS}},
        "cat /proc/sys/kernel/domainname",
        "(none)\n",
    ),
    (
        "duplicate rlimits: applied in order",
        {"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1000},
                                 {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]}},
        "ulimit -Sn; ulimit -Hn",
        "100\n200\n",
    ),
    (
        "missing soft limit is 0",
        {"process": {"rlimits": [{"type": "RLIMIT_CORE", "hard": 0}]}},
        "ulimit -Sc",
        "0\n",
    ),
    (
        "empty seccomp names",
        {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}}},
        "echo ok",
        "ok\n",
    ),
    (
        "seccomp without a default action or rules is off",
        {"linux": {"seccomp": {"defaultAction": "", "syscalls": []}}},
        "grep ^Seccomp: /proc/self/status",
        "Seccomp:\t0\n",
    ),
    (
        "seccomp arg without index or value compares arg 0 with 0",
        {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"op": "SCMP_CMP_EQ"}]}]}}},
        "echo hi | cat; echo rc=$?",  # cat's read(0, ...) fails with EPERM
        "rc=1\n",
    ),
    (
        "errnoRet on SCMP_ACT_KILL is ignored",
        {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]}}},
        "mkdir /dev/x; echo rc=$?",
        "rc=159\n",  # 128 + SIGSYS
    ),
    (
        "relative device path, numbers missing",
        {"linux": {"devices": [{"path": "dev/foo", "type": "c"}]}},
        "ls -l /dev/foo | tr -s ' ' | cut -d' ' -f1,5,6",
        "crw-rw-rw- 0, 0\n",
    ),
]


@pytest.mark.parametrize(("overrides", "script", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_runs_like_runc(
    runtime: Runtime, probe: Any, overrides: dict[str, Any], script: str, expected: str
) -> None:
    if "domainname" in overrides:
        with open("/proc/sys/kernel/domainname") as f:
            expected = f.read()  # the host's, since there is no private UTS namespace
    assert probe(runtime, overrides, script) == expected


def test_unknown_capabilities_keep_the_known_ones(runtime: Runtime, probe: Any) -> None:
    caps = {name: [*DEFAULT_CAPS, "CAP_NOT_A_CAP"] for name in ("bounding", "permitted")}
    out = probe(runtime, {"process": {"capabilities": caps}}, "grep ^CapBnd /proc/self/status")
    assert out == f"CapBnd:\t{DEFAULT_CAP_HEX}\n"


def test_relative_mount_destination(runtime: Runtime, probe: Any) -> None:
    """runc warns that relative destinations are deprecated, and mounts under the rootfs."""
    tmpfs = {"destination": "tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=4k"]}
    out = probe(runtime, None, "grep ' /tmp ' /proc/mounts | cut -d' ' -f1-3",
                extra_mounts=[tmpfs])
    assert out == "tmpfs /tmp tmpfs\n"


def test_blkio_weight_outside_10_to_1000(runtime: Runtime, probe: Any) -> None:
    # bfq takes 1..1000: runc 1.1.5 passes 5 through and the kernel accepts it
    out = probe(runtime, {"linux": {"resources": {"blockIO": {"weight": 5}}}}, "echo ok")
    assert out == "ok\n"


def test_relative_hook_path_is_under_the_bundle(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["true"])
    hook = bundle.path / "hook.sh"
    hook.write_text("#!/bin/sh\necho ran > hook-ran\n")  # runc runs it in the bundle
    hook.chmod(0o755)
    bundle.update(hooks={"createRuntime": [{"path": "hook.sh"}]})
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode == 0, proc.stderr
    assert (bundle.path / "hook-ran").read_text() == "ran\n"


def test_hook_timeout_0_fails_at_run_time(runtime: Runtime, make_bundle: BundleFactory) -> None:
    """runc: "error running hook #0: hook ran past specified timeout of 0.0s"."""
    bundle = make_bundle(["true"], hooks={"createRuntime": [{"path": "/bin/true", "timeout": 0}]})
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode != 0
    assert "hook ran past specified timeout of 0.0s" in proc.stderr
