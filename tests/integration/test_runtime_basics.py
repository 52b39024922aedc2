"""First differential tests: the same bundle under dockyard-runc and runc gives the same facts.

Each test either runs under the parametrized ``runtime`` fixture and checks facts known
from runc 1.1.5 on this kind of host, or uses ``same_facts`` to compare the two runtimes'
outputs exactly (and then checks runc's side too, so a test cannot pass by both being
wrong in the same way).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from tests.support.bundles import CGROUP_MOUNT, MASKED_PATHS, SESSION_ENV, BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

Probe = Callable[..., str]
SameFacts = Callable[..., Any]

CAP_BITS = {"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}


def cap_mask(names: Sequence[str]) -> str:
    """The /proc/self/status hex form of a capability set."""
    value = 0
    for name in names:
        value |= 1 << CAP_BITS[name]
    return f"{value:016x}"


def status_fields(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines())


# -- run, exit status ------------------------------------------------------------------


def test_run_echo_hello(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["echo", "hello"])
    proc = runtime.run(bundle.id, bundle)
    assert (proc.returncode, proc.stdout) == (0, "hello\n"), proc.stderr
    assert not (runtime.root / bundle.id).exists(), "run must delete the container at exit"


@pytest.mark.parametrize("status", [0, 1, 3, 255])
def test_exit_status_propagates(
    runtime: Runtime, make_bundle: BundleFactory, status: int
) -> None:
    bundle = make_bundle(["sh", "-c", f"exit {status}"])
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode == status, proc.stderr


def test_missing_executable_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["/no/such/program"])
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode != 0
    assert "/no/such/program" in proc.stderr


# -- identity: hostname, user ------------------------------------------------------------


@pytest.mark.parametrize("hostname", ["dockyard", "a-much-longer-host.name"])
def test_hostname(runtime: Runtime, probe: Probe, hostname: str) -> None:
    out = probe(runtime, {"hostname": hostname}, "hostname; cat /proc/sys/kernel/hostname")
    assert out == f"{hostname}\n{hostname}\n"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"uid": 0, "gid": 0}, "uid=0(root) gid=0(root)"),  # supplementary groups cleared
        ({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}, "uid=1000 gid=1000 groups=10,20"),
        ({"uid": 65534, "gid": 65534}, "uid=65534(nobody) gid=65534(nogroup)"),
        ({"uid": 0, "gid": 65534, "additionalGids": [0]}, "uid=0(root) gid=65534(nogroup) groups=0(root)"),
    ],
)
def test_uid_gid(runtime: Runtime, probe: Probe, user: dict[str, Any], expected: str) -> None:
    assert probe(runtime, {"process": {"user": user}}, "id") == expected + "\n"


# -- capabilities ------------------------------------------------------------------------

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
CAP_CASES = {
    # name: (process overrides, expected Inh, Prm, Eff, Bnd, Amb, NoNewPrivs)
    "default": ({}, [], DEFAULT_CAPS, DEFAULT_CAPS, DEFAULT_CAPS, [], "1"),
    "none": ({"capabilities": None}, [], [], [], [], [], "1"),
    # execve as a non-root user keeps no permitted/effective caps without ambient ones
    "uid1000": ({"user": {"uid": 1000, "gid": 1000}}, [], [], [], DEFAULT_CAPS, [], "1"),
    "ambient": (
        {
            "noNewPrivileges": False,
            "capabilities": {"inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
        },
        ["CAP_KILL"], DEFAULT_CAPS, DEFAULT_CAPS, DEFAULT_CAPS, ["CAP_KILL"], "0",
    ),
    # an ambient cap that is not inheritable cannot be raised: runc drops it silently
    "ambient-not-inheritable": (
        {"capabilities": {"ambient": ["CAP_KILL"]}},
        [], DEFAULT_CAPS, DEFAULT_CAPS, DEFAULT_CAPS, [], "1",
    ),
    "uid1000-ambient": (
        {
            "user": {"uid": 1000, "gid": 1000},
            "capabilities": {"inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
        },
        ["CAP_KILL"], ["CAP_KILL"], ["CAP_KILL"], DEFAULT_CAPS, ["CAP_KILL"], "1",
    ),
}


@pytest.mark.parametrize("case", list(CAP_CASES))
def test_capabilities(runtime: Runtime, probe: Probe, case: str) -> None:
    process, inh, prm, eff, bnd, amb, nnp = CAP_CASES[case]
    out = probe(runtime, {"process": process}, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status")
    assert status_fields(out) == {
        "CapInh": cap_mask(inh),
        "CapPrm": cap_mask(prm),
        "CapEff": cap_mask(eff),
        "CapBnd": cap_mask(bnd),
        "CapAmb": cap_mask(amb),
        "NoNewPrivs": nnp,
    }


@pytest.mark.runc
def test_capabilities_same_as_runc(same_facts: SameFacts) -> None:
    caps = {"process": {"capabilities": {"bounding": [*DEFAULT_CAPS, "CAP_SYS_ADMIN"]}}}
    facts = same_facts("grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status", caps)
    assert facts.dockyard == facts.runc
    assert status_fields(facts.runc)["CapBnd"] == cap_mask([*DEFAULT_CAPS, "CAP_SYS_ADMIN"])


# -- mounts ------------------------------------------------------------------------------


def mount_facts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(mount point, fs type, per-mount options, super options), sorted; no ids or roots."""
    facts = []
    for line in mountinfo.splitlines():
        fields = line.split()
        sep = fields.index("-")
        facts.append((fields[4], fields[sep + 1], fields[5], fields[sep + 3]))
    return sorted(facts)


def expected_masks() -> list[str]:
    """The default masked paths that exist on this host (absent ones are skipped)."""
    return [p for p in MASKED_PATHS if os.path.exists(p)]


@pytest.mark.runc
@pytest.mark.parametrize("readonly", [True, False])
def test_mountinfo_same_as_runc(same_facts: SameFacts, readonly: bool) -> None:
    facts = same_facts("cat /proc/self/mountinfo", {"root": {"readonly": readonly}})
    ours, theirs = mount_facts(facts.dockyard), mount_facts(facts.runc)
    assert ours == theirs
    by_point = {point: (fstype, opts) for point, fstype, opts, _ in theirs}
    assert by_point["/"][1].split(",")[0] == ("ro" if readonly else "rw")
    assert by_point["/proc"] == ("proc", "rw,relatime")
    assert by_point["/dev"] == ("tmpfs", "rw,nosuid")  # strictatime: no relatime
    assert by_point["/dev/pts"] == ("devpts", "rw,nosuid,noexec,relatime")
    assert by_point["/dev/shm"] == ("tmpfs", "rw,nosuid,nodev,noexec,relatime")
    assert by_point["/dev/mqueue"] == ("mqueue", "rw,nosuid,nodev,noexec,relatime")
    assert by_point["/sys"] == ("sysfs", "ro,nosuid,nodev,noexec,relatime")
    for path in ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"):
        assert by_point[path][1].startswith("ro,"), path
    for path in expected_masks():
        assert path in by_point, path


def test_readonly_root(runtime: Runtime, probe: Probe) -> None:
    out = probe(runtime, None, "touch /x 2>&1; echo rc=$?")
    assert out == "touch: /x: Read-only file system\nrc=1\n"


def test_writable_root(runtime: Runtime, probe: Probe) -> None:
    out = probe(runtime, {"root": {"readonly": False}}, "touch /x && ls /x; echo rc=$?")
    assert out == "/x\nrc=0\n"


def test_masked_paths(runtime: Runtime, probe: Probe) -> None:
    masks = expected_masks()
    assert masks, "no masked path exists on this host"
    script = "".join(
        f'if [ -d {p} ]; then echo "{p} dir $(ls -A {p} | wc -l)"; '
        f'else echo "{p} $(stat -c %F,%t:%T {p}) $(wc -c < {p})"; fi; '
        for p in masks
    )
    lines = probe(runtime, None, script).splitlines()
    for path, line in zip(masks, lines, strict=True):
        if os.path.isdir(path):
            assert line == f"{path} dir 0"
        else:  # a bind mount of /dev/null
            assert line == f"{path} character special file,1:3 0"


def test_readonly_paths(runtime: Runtime, probe: Probe) -> None:
    # kernel.hostname is per UTS namespace: harmless even if the mount were writable
    out = probe(runtime, None, "{ echo x > /proc/sys/kernel/hostname; } 2>&1; echo rc=$?; hostname")
    assert out.splitlines()[-2:] == ["rc=1", "dockyard"]
    assert "Read-only file system" in out


# -- process: env, cwd, rlimits -----------------------------------------------------------


def env_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.startswith(SESSION_ENV + "=")]


PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        # runc adds HOME from /etc/passwd when the config has none
        ({"cwd": "/tmp", "env": [PATH, "FOO=bar baz"]},
         ["FOO=bar baz", "HOME=/root", PATH, "PWD=/tmp", "SHLVL=1", "/tmp"]),
        ({"user": {"uid": 65534, "gid": 65534}},
         ["HOME=/nonexistent", PATH, "PWD=/", "SHLVL=1", "/"]),
        ({"env": [PATH, "HOME=/x"], "cwd": "/dev/shm"},
         ["HOME=/x", PATH, "PWD=/dev/shm", "SHLVL=1", "/dev/shm"]),
    ],
)
def test_env_and_cwd(
    runtime: Runtime, probe: Probe, process: dict[str, Any], expected: list[str]
) -> None:
    out = probe(runtime, {"process": process}, "env | sort; pwd")
    assert env_lines(out) == expected


def test_cwd_is_created(runtime: Runtime, probe: Probe) -> None:
    out = probe(runtime, {"process": {"cwd": "/new/dir"}}, "pwd", writable=True)
    assert out == "/new/dir\n"


def test_path_from_config_env(runtime: Runtime, make_bundle: BundleFactory) -> None:
    # without PATH in process.env the runtime does not fall back to a default PATH
    bundle = make_bundle(["sh", "-c", "true"], {"process": {"env": ["A=b"]}})
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode != 0
    assert "sh" in proc.stderr


def test_rlimits(runtime: Runtime, probe: Probe) -> None:
    _soft, host_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = min(host_hard, 4096)
    rlimits = [
        {"type": "RLIMIT_NOFILE", "hard": hard, "soft": 512},
        {"type": "RLIMIT_NPROC", "hard": 100, "soft": 50},
    ]
    out = probe(runtime, {"process": {"rlimits": rlimits}}, "ulimit -n; ulimit -Hn; ulimit -u")
    assert out == f"512\n{hard}\n50\n"


def test_rlimit_default_nofile(runtime: Runtime, probe: Probe) -> None:
    assert probe(runtime, None, "ulimit -n; ulimit -Hn") == "1024\n1024\n"


# -- linux: sysctl, cgroups, seccomp --------------------------------------------------------


def test_sysctl_in_network_namespace(runtime: Runtime, probe: Probe) -> None:
    def host_values() -> tuple[str, str]:
        with open("/proc/sys/net/ipv4/ip_forward") as a, open("/proc/sys/net/core/somaxconn") as b:
            return a.read(), b.read()

    before = host_values()
    sysctl = {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "1000"}
    script = "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/core/somaxconn"
    assert probe(runtime, {"linux": {"sysctl": sysctl}}, script) == "1\n1000\n"
    assert host_values() == before, "the sysctls must be set in the container's netns only"


def test_cgroup_limits_visible_inside(runtime: Runtime, probe: Probe) -> None:
    resources = {"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 10}}
    script = (
        "grep -E ':(memory|pids):' /proc/self/cgroup | cut -d: -f2-; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"
    )
    out = probe(
        runtime, {"linux": {"resources": resources}}, script, extra_mounts=[CGROUP_MOUNT]
    )
    assert sorted(out.splitlines()[:2]) == [
        "memory:/dockyard-test/<ID>",
        "pids:/dockyard-test/<ID>",
    ]
    assert out.splitlines()[2:] == [str(64 * 1024 * 1024), "10"]


MKDIR_FAILED = "mkdir: can't create directory '/dev/shm/d'"


def _seccomp(errno_ret: int | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [rule]}


@pytest.mark.parametrize(
    ("seccomp", "expected"),
    [
        pytest.param(None, "rc=0", id="no-seccomp"),
        pytest.param(_seccomp(None), f"{MKDIR_FAILED}: Operation not permitted", id="default-errno"),
        pytest.param(_seccomp(1), f"{MKDIR_FAILED}: Operation not permitted", id="EPERM"),
        pytest.param(_seccomp(28), f"{MKDIR_FAILED}: No space left on device", id="ENOSPC"),
    ],
)
def test_seccomp_blocks_mkdir(
    runtime: Runtime, probe: Probe, seccomp: dict[str, Any] | None, expected: str
) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the rules name x86_64 syscalls")
    overrides = {"linux": {"seccomp": seccomp}} if seccomp else None
    out = probe(runtime, overrides, "mkdir /dev/shm/d 2>&1; echo rc=$?; grep Seccomp: /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == expected
    assert lines[-1] == ("Seccomp:\t2" if seccomp else "Seccomp:\t0")
