"""rootfs.py on the real kernel: a forked child unshares its mount namespace, builds the
container tree over a busybox rootfs, pivots into it and reports what it sees; the host's
mount table must be the same afterwards."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.bundles import CGROUP_MOUNT, ROOTFS_SCRIPT, TMPFS_MOUNT, default_config

from dockyard.runtime import linux as L
from dockyard.runtime import mountinfo, rootfs
from dockyard.runtime.mountinfo import parse
from dockyard.runtime.syscalls import LinuxSyscalls

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def busybox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("/bin/busybox missing (apt-get install busybox-static)")
    dest = tmp_path_factory.mktemp("rootfs-host") / "rootfs"
    subprocess.run([str(ROOTFS_SCRIPT), str(dest)], check=True, capture_output=True)
    return dest


def host_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(line.split()[1:]) for line in f)  # mount ids may be reused


def in_container(
    body: Callable[[], dict[str, Any]], prepare: Callable[[LinuxSyscalls], None]
) -> dict[str, Any]:
    """Fork; the child unshares CLONE_NEWNS, makes / private, runs ``prepare`` and then
    ``body``, and sends back body's result (or its traceback) as JSON through a pipe."""
    before = host_mounts()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        try:
            sys = LinuxSyscalls()
            sys.unshare(L.CLONE_NEWNS)
            sys.mount(None, "/", None, L.MS_PRIVATE | L.MS_REC, None)
            prepare(sys)
            out: dict[str, Any] = {"ok": body()}
        except BaseException:
            out = {"error": traceback.format_exc()}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result = json.loads(b"".join(chunks) or b"{}")
    assert "error" not in result, result.get("error")
    assert host_mounts() == before, "the host's mount table changed"
    return result["ok"]  # type: ignore[no-any-return]


def facts() -> dict[str, Any]:
    """What the container sees, collected inside it after pivot_root."""
    with open("/proc/self/mountinfo") as f:
        mi = f.read()
    devs = {}
    for name in sorted(os.listdir("/dev")):
        st = os.lstat("/dev/" + name)
        devs[name] = [
            stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), os.major(st.st_rdev),
            os.minor(st.st_rdev),
            os.readlink("/dev/" + name) if stat.S_ISLNK(st.st_mode) else None,
        ]  # fmt: skip
    writable = {}
    for path in ("/proc/sys/kernel/hostname", "/etc/passwd", "/tmp/x", "/dev/x"):
        try:
            with open(path, "a"):
                pass
            writable[path] = True
        except OSError as exc:
            writable[path] = exc.strerror
    return {
        "mountinfo": mi,
        "devs": devs,
        "writable": writable,
        "kcore": os.stat("/proc/kcore").st_size if os.path.exists("/proc/kcore") else None,
        "acpi": os.listdir("/proc/acpi") if os.path.isdir("/proc/acpi") else None,
        "cgroups": sorted(os.listdir("/sys/fs/cgroup")),
        "cwd": os.getcwd(),
        "root_ls": sorted(os.listdir("/")),
    }


def by_point(mountinfo: str) -> dict[str, Any]:
    return {e.mountpoint: e for e in parse(mountinfo)}


def test_standard_mounts_pivot_and_finalize(busybox: Path, tmp_path: Path) -> None:
    config = default_config()
    config["mounts"] += [CGROUP_MOUNT, TMPFS_MOUNT]
    secret = tmp_path / "host-dir"
    secret.mkdir()
    os.symlink(str(secret), busybox / "evil")  # an image symlink pointing at a host path
    config["mounts"].append({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"})
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    config["mounts"].append(
        {"destination": "/etc/hosts", "type": "bind", "source": str(hosts),
         "options": ["rbind", "ro", "rprivate"]}
    )  # fmt: skip
    try:

        def prepare(sys: LinuxSyscalls) -> None:
            rootfs.prepare_rootfs(
                sys, config, str(busybox), cgroup_paths={}, cgroup_ns=False, user_ns=False
            )
            rootfs.pivot_root(sys, str(busybox))
            rootfs.finalize_rootfs(sys, config)

        got = in_container(facts, prepare)
    finally:
        os.unlink(busybox / "evil")
    assert not os.listdir(secret), "a mount or directory escaped the rootfs"
    assert not (busybox / "etc/hosts").read_text()  # created empty, content never copied
    mounts = by_point(got["mountinfo"])
    # nothing of the host is left: every mount point is inside the new root
    assert "/" in mounts and mounts["/"].root == str(busybox)
    assert not any(p.startswith(str(busybox)) for p in mounts)
    assert mounts["/"].options.split(",")[0] == "ro"  # root.readonly
    assert mounts["/proc"].fstype == "proc"
    dev = mounts["/dev"]
    assert (dev.fstype, dev.options) == ("tmpfs", "rw,nosuid")
    assert "mode=755" in dev.super_options and "size=65536k" in dev.super_options
    assert mounts["/dev/pts"].fstype == "devpts"
    assert "gid=5,mode=620,ptmxmode=666" in mounts["/dev/pts"].super_options
    assert mounts["/dev/shm"].options == "rw,nosuid,nodev,noexec,relatime"
    assert mounts["/dev/mqueue"].fstype == "mqueue"
    assert mounts["/sys"].options.startswith("ro,nosuid,nodev,noexec")
    assert mounts["/tmp"].options == "rw,nosuid,nodev,relatime"
    assert mounts["/etc/hosts"].options.startswith("ro,")
    assert mounts["/etc/hosts"].optional == []  # rprivate
    # /evil -> <host path>: followed inside the rootfs (into the container's /tmp tmpfs)
    assert mounts[f"{secret}/x"].fstype == "tmpfs"
    # cgroup v1: a tmpfs with read-only binds of our own cgroups (v1 ones only, as runc 1.1)
    cg = mounts["/sys/fs/cgroup"]
    assert (cg.fstype, cg.options) == ("tmpfs", "rw,nosuid,nodev,noexec,relatime")
    host_cg = {
        e.mountpoint.rsplit("/", 1)[1]
        for e in mountinfo.read()
        if e.fstype == "cgroup" and e.mountpoint.startswith("/sys/fs/cgroup/")
    }
    assert host_cg <= set(got["cgroups"])
    for name in host_cg:
        sub = mounts[f"/sys/fs/cgroup/{name}"]
        assert sub.fstype in ("cgroup", "cgroup2")
        assert sub.options.startswith("ro,nosuid,nodev,noexec")
    # readonly and masked paths
    for path in ("/proc/sys", "/proc/bus", "/proc/sysrq-trigger", "/proc/irq", "/proc/fs"):
        if path in mounts:
            assert mounts[path].options.startswith("ro,"), path
    assert "/proc/sys" in mounts
    assert got["writable"]["/proc/sys/kernel/hostname"] == "Read-only file system"
    assert got["writable"]["/etc/passwd"] == "Read-only file system"
    assert got["writable"]["/tmp/x"] is True and got["writable"]["/dev/x"] is True
    assert mounts["/proc/keys"].root == "/null"
    assert mounts["/sys/firmware"].fstype == "tmpfs"
    assert mounts["/sys/firmware"].options.startswith("ro")
    if got["acpi"] is not None:
        assert got["acpi"] == []
    # /dev: nodes, ptmx and the /proc/self/fd links
    chr_ = stat.S_IFCHR
    devs = got["devs"]
    for name, major, minor in [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                               ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]:  # fmt: skip
        assert devs[name] == [chr_, 0o666, major, minor, None], name
    assert devs["ptmx"][4] == "pts/ptmx"
    assert devs["fd"][4] == "/proc/self/fd"
    assert [devs[n][4] for n in ("stdin", "stdout", "stderr")] == [
        "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2"
    ]  # fmt: skip
    assert got["cwd"] == "/"
    assert "bin" in got["root_ls"] and "evil" in got["root_ls"]


def test_no_pivot_moves_the_root(busybox: Path) -> None:
    config = default_config()
    config["root"]["readonly"] = False

    def prepare(sys: LinuxSyscalls) -> None:
        rootfs.prepare_rootfs(
            sys, config, str(busybox), cgroup_paths={}, cgroup_ns=False, user_ns=False
        )
        rootfs.chroot_root(sys, str(busybox))
        rootfs.finalize_rootfs(sys, config)

    got = in_container(facts, prepare)
    mounts = by_point(got["mountinfo"])
    assert mounts["/proc"].fstype == "proc"
    assert mounts["/proc/sys"].options.startswith("ro,")
    assert got["writable"]["/etc/passwd"] is True
    assert "bin" in got["root_ls"]
    # the host's own proc and sysfs were detached: only the container's remain
    procs = [e for e in parse(got["mountinfo"]) if e.fstype in ("proc", "sysfs")]
    assert all(e.mountpoint.startswith(str(busybox)) or e.mountpoint.startswith(("/proc", "/sys"))
               for e in procs)  # fmt: skip


def test_rshared_root_keeps_container_mounts_shared(busybox: Path, tmp_path: Path) -> None:
    """rootfsPropagation=rshared: pivot_root works (the rootfs's parent mount is made
    private) and the rslave + detach after it touch only the old root."""
    data = tmp_path / "data"
    data.mkdir()
    config = default_config()
    config["root"]["readonly"] = False
    config["linux"]["rootfsPropagation"] = "rshared"
    config["mounts"].append(
        {"destination": "/data", "type": "bind", "source": str(data),
         "options": ["rbind", "rshared"]}
    )  # fmt: skip

    def prepare(sys: LinuxSyscalls) -> None:
        rootfs.prepare_rootfs(
            sys, config, str(busybox), cgroup_paths={}, cgroup_ns=False, user_ns=False
        )
        rootfs.pivot_root(sys, str(busybox))
        rootfs.finalize_rootfs(sys, config)

    got = in_container(facts, prepare)
    mounts = by_point(got["mountinfo"])
    assert [f for f in mounts["/data"].optional if f.startswith("shared:")], mounts["/data"]
    assert not any(f.startswith("master:") for f in mounts["/data"].optional)


def test_user_namespace_binds_devices(busybox: Path) -> None:
    """In a user namespace: device nodes are host nodes bound over empty files, sysfs
    without a network namespace is an rbind of /sys, devpts retries without gid=5."""
    config = default_config()
    config["mounts"] = [
        {"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]},
        *[m for m in config["mounts"] if m["type"] not in ("proc", "mqueue")],
        CGROUP_MOUNT,
    ]
    config["linux"]["namespaces"] = [{"type": "user"}, {"type": "mount"}]

    def prepare(sys: LinuxSyscalls) -> None:
        sys.unshare(L.CLONE_NEWUSER)
        for name, text in (("uid_map", "0 0 1"), ("setgroups", "deny"), ("gid_map", "0 0 1")):
            sys.write_file(f"/proc/self/{name}", text)
        sys.unshare(L.CLONE_NEWNS)  # a mount namespace owned by the user namespace
        sys.mount(None, "/", None, L.MS_PRIVATE | L.MS_REC, None)
        rootfs.prepare_rootfs(
            sys, config, str(busybox), cgroup_paths={}, cgroup_ns=False, user_ns=True
        )
        rootfs.pivot_root(sys, str(busybox))
        rootfs.finalize_rootfs(sys, config)

    got = in_container(facts, prepare)
    mounts = by_point(got["mountinfo"])
    assert mounts["/"].options.startswith("ro,")
    assert mounts["/sys"].fstype == "sysfs" and mounts["/sys"].options.startswith("ro,")
    assert mounts["/dev/null"].root == "/null" and mounts["/dev/null"].fstype == "devtmpfs"
    assert "gid=5" not in mounts["/dev/pts"].super_options
    assert got["devs"]["null"][:1] == [stat.S_IFCHR]
    assert mounts["/proc/sys"].options.startswith("ro,")
    assert mounts["/sys/fs/cgroup/memory"].options.startswith("ro,")
