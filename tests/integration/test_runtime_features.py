"""Config features beyond the basics, each checked against runc 1.1.5 first.

cgroup namespace and the cgroup mount, linux.devices and the device cgroup, bind mounts and
their propagation, tmpfs options, rootfsPropagation, umask, oomScoreAdj, noNewPrivileges,
annotations, domainname and the cgroup resource files. Expected outputs are what runc 1.1.5
printed on this kind of host (cgroup v1, hybrid); where dockyard deliberately differs the
test says why.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.bundles import CGROUP_MOUNT, TMPFS_MOUNT, BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

Probe = Any
SameFacts = Callable[..., Any]

NAMESPACES = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
CGROUP_NS = {"linux": {"namespaces": [*NAMESPACES, {"type": "cgroup"}]}}


def _pending(request: pytest.FixtureRequest, runtime: Runtime, reason: str) -> None:
    """Expect dockyard (only) to fail until ``reason`` is fixed."""
    if runtime.name == "dockyard":
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def without_ids(mountinfo: str) -> list[str]:
    """mountinfo lines without mount ids, with peer group numbers dropped
    (``shared:12`` -> ``shared``) and anonymous device numbers (``0:41``: proc, tmpfs, ...,
    numbered in mount order host-wide, so other sessions' mounts shift them) made ``0:N``,
    so two containers' tables compare."""
    lines = []
    for line in mountinfo.splitlines():
        fields = line.split()[2:]
        if fields and fields[0].startswith("0:"):
            fields[0] = "0:N"
        lines.append(re.sub(r"\b(shared|master|propagate_from):\d+", r"\1", " ".join(fields)))
    return lines


def host_v1_hierarchies() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        fields = [line.split() for line in f]
    return sorted(
        os.path.basename(f[4]) for f in fields if f[f.index("-") + 1] == "cgroup"
    )


# -- cgroup namespace ----------------------------------------------------------------------


def test_cgroup_namespace_shows_root_paths(runtime: Runtime, probe: Probe) -> None:
    lines = probe(runtime, CGROUP_NS, "cat /proc/self/cgroup").splitlines()
    with open("/proc/self/cgroup") as f:
        assert len(lines) == len(f.readlines())
    assert all(line.endswith(":/") for line in lines), lines


@pytest.mark.parametrize("cgroup_ns", [False, True], ids=["host-ns", "cgroup-ns"])
def test_cgroup_mount_shows_own_limits(runtime: Runtime, probe: Probe, cgroup_ns: bool) -> None:
    resources = {"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 10}}
    overrides = {"linux": {"resources": resources}}
    if cgroup_ns:
        overrides["linux"].update(CGROUP_NS["linux"])
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; "
        "ls /sys/fs/cgroup"
    )
    out = probe(runtime, overrides, script, extra_mounts=[CGROUP_MOUNT]).splitlines()
    assert out[:2] == [str(64 * 1024 * 1024), "10"]
    # runc 1.1 mounts the v1 hierarchies only: no "unified" on a hybrid host
    assert out[2:] == host_v1_hierarchies()


@pytest.mark.runc
@pytest.mark.parametrize("cgroup_ns", [False, True], ids=["host-ns", "cgroup-ns"])
def test_cgroup_mountinfo_same_as_runc(same_facts: SameFacts, cgroup_ns: bool) -> None:
    facts = same_facts(
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo",
        CGROUP_NS if cgroup_ns else None,
        extra_mounts=[CGROUP_MOUNT],
    )
    assert without_ids(facts.dockyard) == without_ids(facts.runc)
    roots = {line.split()[1] for line in without_ids(facts.runc)[1:]}
    assert roots == {"/" if cgroup_ns else "/dockyard-test/<ID>"}


# -- linux.devices and the device cgroup -----------------------------------------------------

MYNULL = {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
          "fileMode": 0o640, "uid": 0, "gid": 0}  # fmt: skip
MYZERO = {"path": "/dev/myzero", "type": "c", "major": 1, "minor": 5,
          "fileMode": 0o600, "uid": 1000, "gid": 5}  # fmt: skip
DENY_ALL = {"allow": False, "access": "rwm"}


def test_device_nodes(runtime: Runtime, probe: Probe) -> None:
    script = (
        "stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/myzero; "
        "echo x > /dev/mynull; echo rc=$?; head -c 3 /dev/myzero 2>&1; true"
    )
    out = probe(runtime, {"linux": {"devices": [MYNULL, MYZERO]}}, script)
    assert out == (
        "/dev/mynull character special file 1:3 640 0:0\n"
        "/dev/myzero character special file 1:5 600 1000:5\n"
        "rc=0\nhead: /dev/myzero: Permission denied\n"  # root without CAP_DAC_OVERRIDE
    )


def test_deny_rule_for_a_default_device_does_not_stick(runtime: Runtime, probe: Probe) -> None:
    """runc appends its default allow rules (c 1:3 among them) after the config's rules."""
    rules = [DENY_ALL, {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    overrides = {"linux": {"devices": [MYNULL], "resources": {"devices": rules}}}
    out = probe(runtime, overrides, "echo x > /dev/mynull; echo rc=$?; echo x > /dev/null; echo rc=$?")
    assert out == "rc=0\nrc=0\n"


def test_listing_a_default_device_drops_its_allow_rule(
    runtime: Runtime, make_bundle: BundleFactory, request: pytest.FixtureRequest
) -> None:
    """runc drops a default device, and its allow rule, whose path linux.devices lists: with
    "deny all" /dev/null is then out of reach. runc's init itself opens /dev/null, so runc
    refuses to start ("error reopening /dev/null inside container: open /dev/null: operation
    not permitted"); a runtime that does start must show the write denied."""
    null = {**MYNULL, "path": "/dev/null", "fileMode": 0o666}
    bundle = make_bundle(
        ["sh", "-c", "{ echo x > /dev/null; } 2>&1; echo rc=$?"],
        {"linux": {"devices": [null], "resources": {"devices": [DENY_ALL]}}},
    )
    proc = runtime.run(bundle.id, bundle, input="")
    if proc.returncode == 0:
        assert proc.stdout == "sh: can't create /dev/null: Operation not permitted\nrc=1\n"
    else:
        assert "open /dev/null: operation not permitted" in proc.stderr.lower(), proc.stderr


# -- bind mounts -----------------------------------------------------------------------------


def test_bind_mounts_rw_and_ro(runtime: Runtime, probe: Probe, tmp_path: Path) -> None:
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f").write_text("hi\n")
    mounts = [
        {"destination": "/root", "type": "bind", "source": str(rw), "options": ["bind"]},
        {"destination": "/var", "type": "bind", "source": str(ro), "options": ["bind", "ro"]},
    ]
    script = (
        "echo x > /root/new; echo rc=$?; cat /var/f; { echo y > /var/g; } 2>&1; echo rc=$?; "
        "grep -E ' /(root|var) ' /proc/self/mountinfo | cut -d' ' -f4-6"
    )
    out = probe(runtime, None, script, extra_mounts=mounts)
    assert out == (
        "rc=0\nhi\nsh: can't create /var/g: Read-only file system\nrc=1\n"
        f"{rw} /root rw,relatime\n{ro} /var ro,relatime\n"
    )
    assert (rw / "new").read_text() == "x\n"
    assert sorted(os.listdir(ro)) == ["f"]


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A host directory that is a shared mount (so slaves have a master to follow)."""
    src = tmp_path / "shared"
    src.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(src)], check=True)
        yield src
    finally:
        subprocess.run(["umount", "-R", "-l", str(src)], check=False)


# option -> (optional fields of the container's /root, does a later host mount show up)
PROPAGATION = {
    "rprivate": ("", False),
    "private": ("", False),
    "rslave": ("master", True),
    "slave": ("master", True),
    "rshared": ("shared master", True),
    "shared": ("shared master", True),
}


@pytest.mark.parametrize("option", list(PROPAGATION))
def test_bind_propagation(
    runtime: Runtime, make_bundle: BundleFactory, shared_dir: Path, option: str
) -> None:
    fields, propagates = PROPAGATION[option]
    bind = {"destination": "/root", "type": "bind", "source": str(shared_dir),
            "options": ["rbind", option]}  # fmt: skip
    script = (
        "grep ' /root ' /proc/self/mountinfo | cut -d' ' -f7- | sed 's/ *- .*//'; "
        "while [ ! -e /root/go ]; do sleep 0.05; done; "
        "grep -c ' /root/sub ' /proc/self/mountinfo"
    )
    bundle = make_bundle(["sh", "-c", script], extra_mounts=[bind])
    proc = runtime.run(bundle.id, bundle, detach=True)
    assert proc.returncode == 0, proc.stderr
    sub = shared_dir / "sub"
    sub.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(sub)], check=True)
    (shared_dir / "go").touch()
    deadline = time.monotonic() + 10
    while runtime.state_json(bundle.id)["status"] != "stopped":
        assert time.monotonic() < deadline, "the container did not finish"
        time.sleep(0.05)
    out = (bundle.io_dir / f"{bundle.id}.out").read_text()
    optional = re.sub(r":\d+", "", out.splitlines()[0]).strip()
    assert (optional, out.splitlines()[1]) == (fields, "1" if propagates else "0")


# -- tmpfs, mqueue -----------------------------------------------------------------------------


def test_tmpfs_size_mode_uid(runtime: Runtime, probe: Probe) -> None:
    """On a directory the runtime creates, both runtimes honour size, mode and uid."""
    tmpfs = {"destination": "/newdir", "type": "tmpfs", "source": "tmpfs",
             "options": ["size=2m", "mode=710", "uid=65534"]}  # fmt: skip
    script = "df -k /newdir | tail -1 | tr -s ' ' | cut -d' ' -f2; stat -c '%a %u' /newdir"
    assert probe(runtime, None, script, writable=True, extra_mounts=[tmpfs]) == "2048\n710 65534\n"


def test_tmpfs_mode_on_an_existing_directory(runtime: Runtime, probe: Probe) -> None:
    """runc 1.1.5 chmods the mount point back to the directory's old mode (755 for /run)
    even when the options say mode=; runc 1.1.8 fixed that (runc#3911, #3916) and dockyard
    does as the fix: mode= wins, and without it the directory's mode is kept."""
    mounts = [
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["mode=710"]},
        {"destination": "/var", "type": "tmpfs", "source": "tmpfs", "options": ["size=4k"]},
    ]
    out = probe(runtime, None, "stat -c %a /run /var; grep -o ' /run .*mode=710' /proc/self/mountinfo | wc -l",
                extra_mounts=mounts)
    assert out == ("710\n755\n1\n" if runtime.name == "dockyard" else "755\n755\n1\n")


def test_mqueue_is_the_containers_own(runtime: Runtime, probe: Probe) -> None:
    out = probe(runtime, None, "grep ' /dev/mqueue ' /proc/self/mountinfo | cut -d' ' -f5-; ls -A /dev/mqueue")
    assert out == "/dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw\n"


# -- rootfsPropagation ---------------------------------------------------------------------------


@pytest.mark.runc
@pytest.mark.parametrize("propagation", ["shared", "slave", "private", "rshared", "rslave", "rprivate"])
def test_rootfs_propagation_same_as_runc(same_facts: SameFacts, propagation: str) -> None:
    """runc 1.1 applies rootfsPropagation to the host's / in the new namespace, then makes
    the rootfs's parent private before binding it: on a host whose / is private the
    container's mounts carry no propagation fields whatever the value."""
    facts = same_facts("cat /proc/self/mountinfo", {"linux": {"rootfsPropagation": propagation}})
    assert without_ids(facts.dockyard) == without_ids(facts.runc)
    root = next(line for line in without_ids(facts.runc) if line.split()[2] == "/")
    assert root.split()[4] == "-", root


# -- process: umask, oomScoreAdj, noNewPrivileges ------------------------------------------------


def test_umask(runtime: Runtime, probe: Probe) -> None:
    user = {"uid": 0, "gid": 0, "umask": 0o077}
    out = probe(runtime, {"process": {"user": user}},
                "umask; touch /tmp/f; mkdir /tmp/d; stat -c '%n %a' /tmp/f /tmp/d",
                extra_mounts=[TMPFS_MOUNT])
    assert out == "0077\n/tmp/f 600\n/tmp/d 700\n"


def test_oom_score_adj_raised(runtime: Runtime, probe: Probe) -> None:
    assert probe(runtime, {"process": {"oomScoreAdj": 500}}, "cat /proc/self/oom_score_adj") == "500\n"


def test_oom_score_adj_lowered_without_cap_sys_resource(
    runtime: Runtime, make_bundle: BundleFactory
) -> None:
    """Lowering needs CAP_SYS_RESOURCE, which this host's root may lack. runc fails with
    "nsexec[PID]: failed to update /proc/self/oom_score_adj: Permission denied" and then
    "can't get final child's PID from pipe: EOF"; dockyard with one line."""
    with open("/proc/self/status") as f:
        cap_eff = int(next(x for x in f if x.startswith("CapEff:")).split()[1], 16)
    with open("/proc/self/oom_score_adj") as f:
        current = int(f.read())
    if cap_eff & (1 << 24) or current <= -1000:
        pytest.skip("this host lets us lower oom_score_adj")
    bundle = make_bundle(["true"], {"process": {"oomScoreAdj": current - 1}})
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode != 0
    assert "oom_score_adj" in proc.stderr
    if runtime.name == "dockyard":
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "permission denied" in lines[0], lines
    assert bundle.id not in runtime.list("json").stdout


@pytest.mark.parametrize(("nnp", "expected"), [(True, "1"), (False, "0"), (None, "0")])
def test_no_new_privileges(runtime: Runtime, probe: Probe, nnp: bool | None, expected: str) -> None:
    out = probe(runtime, {"process": {"noNewPrivileges": nnp}}, "grep NoNewPrivs /proc/self/status")
    assert out == f"NoNewPrivs:\t{expected}\n"


# -- annotations, hostname, domainname ------------------------------------------------------------

ANNOTATIONS = {"org.example.a": "1", "b": "two words", "empty": ""}


@pytest.mark.runc
def test_annotations_in_state(
    dockyard_runc: Runtime, runc: Runtime, make_bundle: BundleFactory
) -> None:
    states = {}
    for rt in (runc, dockyard_runc):
        bundle = make_bundle(["sleep", "30"], annotations=ANNOTATIONS)
        proc = rt.create(bundle.id, bundle)
        assert proc.returncode == 0, proc.stderr
        try:
            states[rt.name] = rt.state_json(bundle.id)
        finally:
            rt.delete(bundle.id, force=True)
    assert states["runc"]["annotations"] == ANNOTATIONS
    assert states["dockyard"]["annotations"] == states["runc"]["annotations"]


def test_hostname_and_domainname(runtime: Runtime, probe: Probe) -> None:
    """runc 1.1.5 ignores domainname (support came with runc 1.2); dockyard sets it, as the
    runtime spec asks, in the container's UTS namespace."""
    out = probe(runtime, {"hostname": "h1", "domainname": "example.org"},
                "hostname; uname -n; cat /proc/sys/kernel/domainname")
    domain = "example.org" if runtime.name == "dockyard" else "(none)"
    assert out == f"h1\nh1\n{domain}\n"
    with open("/proc/sys/kernel/domainname") as f:
        assert f.read() != "example.org\n", "the host's domainname must not change"


# -- linux.resources in the cgroup files ----------------------------------------------------------

RESOURCES = {
    "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    "memory": {"limit": 128 * 1024 * 1024, "reservation": 64 * 1024 * 1024},
    "blockIO": {"weight": 300},
    "pids": {"limit": 42},
}
RESOURCE_FILES = {
    "cpu/cpu.shares": "512",
    "cpu/cpu.cfs_quota_us": "50000",
    "cpu/cpu.cfs_period_us": "100000",
    "memory/memory.limit_in_bytes": str(128 * 1024 * 1024),
    "memory/memory.soft_limit_in_bytes": str(64 * 1024 * 1024),
    "pids/pids.max": "42",
}


def _weight_file() -> str:
    for name in ("blkio.weight", "blkio.bfq.weight"):
        parent = Path("/sys/fs/cgroup/blkio")
        if any((d / name).exists() for d in parent.iterdir() if d.is_dir()):
            return f"blkio/{name}"
    pytest.skip("no blkio weight file on this host")


def test_resources_inside(runtime: Runtime, probe: Probe) -> None:
    files = {**RESOURCE_FILES, _weight_file(): "300"}
    script = "cd /sys/fs/cgroup && for f in " + " ".join(files) + "; do echo $f $(cat $f); done"
    out = probe(runtime, {"linux": {"resources": RESOURCES}}, script, extra_mounts=[CGROUP_MOUNT])
    got = dict(line.split(" ", 1) for line in out.splitlines())
    assert {k: v.split()[-1] for k, v in got.items()} == files


def test_resources_on_the_host(runtime: Runtime, make_bundle: BundleFactory) -> None:
    files = {**RESOURCE_FILES, _weight_file(): "300"}
    bundle = make_bundle(["sleep", "30"], {"linux": {"resources": RESOURCES}})
    proc = runtime.run(bundle.id, bundle, detach=True)
    assert proc.returncode == 0, proc.stderr
    try:
        pid = runtime.state_json(bundle.id)["pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            paths = {}
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(","):
                    paths[c] = path
        got = {}
        for name in files:
            controller, filename = name.split("/")
            with open(f"/sys/fs/cgroup/{controller}{paths[controller]}/{filename}") as f:
                got[name] = f.read().split()[-1]
        assert got == files
    finally:
        runtime.delete(bundle.id, force=True)
