"""rootfs/devices/cgroupfs: the exact syscall sequence for small configs, without root."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import InvalidArgument, NotImplementedYet, PermissionDenied
from dockyard.runtime import cgroupfs, mountinfo, rootfs
from dockyard.runtime import linux as L
from dockyard.runtime.recording import RecordingSyscalls

NOSUID, NODEV, NOEXEC, RO = L.MS_NOSUID, L.MS_NODEV, L.MS_NOEXEC, L.MS_RDONLY
BIND, REC, REMOUNT = L.MS_BIND, L.MS_REC, L.MS_REMOUNT
KCORE = os.path.exists("/proc/kcore")

HOST_MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
OWN_CGROUPS = {
    frozenset({"cpu", "cpuacct"}): "/",
    frozenset({"memory"}): "/user",
    frozenset({"name=systemd"}): "/init.scope",
    frozenset(): "/",
}


class FailOn(RecordingSyscalls):
    """Fails the mount(2) call whose target ends with ``suffix`` (once, or always)."""

    def __init__(self, suffix: str, err: int, times: int = 99) -> None:
        super().__init__()
        self.suffix = suffix
        self.err = err
        self.times = times

    def mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        super().mount(source, target, fstype, flags, data)
        if target.endswith(self.suffix) and self.times > 0:
            self.times -= 1
            raise OSError(self.err, os.strerror(self.err))


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    r = tmp_path / "rootfs"
    for d in ("proc", "sys", "dev", "etc", "tmp"):
        (r / d).mkdir(parents=True)
    (r / "tmp").chmod(0o1777)
    monkeypatch.setattr(mountinfo, "read", lambda path="": mountinfo.parse(HOST_MOUNTINFO))
    monkeypatch.setattr(cgroupfs, "own_cgroups", lambda path="": OWN_CGROUPS)
    return str(r)


def mounts(sys: RecordingSyscalls) -> list[tuple[object, ...]]:
    return [c[1:] for c in sys.calls if c[0] == "mount"]


def prepare(sys: RecordingSyscalls, config: dict[str, Any], root: str, **kw: Any) -> None:
    args: dict[str, Any] = {"cgroup_paths": {}, "cgroup_ns": False, "user_ns": False}
    args.update(kw)
    rootfs.prepare_rootfs(sys, config, root, **args)


def dev_tail(root: str, bind: bool = False) -> list[tuple[object, ...]]:
    """The calls that set up /dev after the mounts (default devices, ptmx, links)."""
    calls: list[tuple[object, ...]] = []
    for name, major, minor in [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
        ("tty", 5, 0),
    ]:  # fmt: skip
        path = f"{root}/dev/{name}"
        calls.append(("mkdir_p", f"{root}/dev", 0o755))
        if bind:
            calls.append(("touch", path, 0o644))
            calls.append(("mount", f"/dev/{name}", path, None, BIND, None))
        else:
            calls.append(("mknod", path, 0o20666, os.makedev(major, minor)))
            calls.append(("chmod", path, 0o666))
            calls.append(("chown", path, 0, 0))
    calls.append(("symlink", "pts/ptmx", f"{root}/dev/ptmx"))
    for target, name in [
        ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ]:  # fmt: skip
        calls.append(("symlink", target, f"{root}/dev/{name}"))
    if KCORE:
        calls.append(("symlink", "/proc/kcore", f"{root}/dev/core"))
    return calls


def test_standard_config_sequence(root: str, tmp_path: Path) -> None:
    src_dir = tmp_path / "data"
    src_dir.mkdir()
    src_file = tmp_path / "hosts"
    src_file.write_text("127.0.0.1 localhost\n")
    config = {
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/data", "type": "bind", "source": str(src_dir),
             "options": ["rbind", "ro", "rprivate"]},
            {"destination": "/etc/hosts", "type": "none", "source": str(src_file),
             "options": ["bind"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
        ],
    }  # fmt: skip
    sys = RecordingSyscalls()
    prepare(sys, config, root)
    assert sys.calls == [
        ("mount", None, "/", None, L.MS_SLAVE | REC, None),
        ("mount", root, root, None, BIND | REC, None),
        ("mkdir_p", f"{root}/proc", 0o755),
        ("mount", "proc", f"{root}/proc", "proc", 0, None),
        # tmpfs: the image's mode first, ro deferred to finalize_rootfs
        ("mount", "tmpfs", f"{root}/dev", "tmpfs", NOSUID | L.MS_STRICTATIME,
         "mode=0755,mode=755,size=65536k"),
        ("mkdir_p", f"{root}/dev/pts", 0o755),
        ("mount", "devpts", f"{root}/dev/pts", "devpts", NOSUID | NOEXEC,
         "newinstance,ptmxmode=0666,mode=0620,gid=5"),
        ("mkdir_p", f"{root}/sys", 0o755),
        ("mount", "sysfs", f"{root}/sys", "sysfs", NOSUID | NOEXEC | NODEV | RO, None),
        # bind of a directory: target made as a directory, then ro remount, then propagation
        ("mkdir_p", f"{root}/data", 0o755),
        ("mount", str(src_dir), f"{root}/data", None, BIND | REC, None),
        ("mount", None, f"{root}/data", None, BIND | REMOUNT | RO, None),
        ("mount", None, f"{root}/data", None, L.MS_PRIVATE | REC, None),
        # bind of a file: target made as a file; no remount without extra flags
        ("mkdir_p", f"{root}/etc", 0o755),
        ("touch", f"{root}/etc/hosts", 0o755),
        ("mount", str(src_file), f"{root}/etc/hosts", None, BIND, None),
        ("mount", "tmpfs", f"{root}/tmp", "tmpfs", NOSUID, "mode=1777"),
        *dev_tail(root),
    ]  # fmt: skip


def test_root_propagation_from_config(root: str) -> None:
    sys = RecordingSyscalls()
    prepare(sys, {"linux": {"rootfsPropagation": "private"}}, root)
    assert mounts(sys)[0] == (None, "/", None, L.MS_PRIVATE, None)
    with pytest.raises(InvalidArgument, match="rootfsPropagation"):
        prepare(RecordingSyscalls(), {"linux": {"rootfsPropagation": "sideways"}}, root)


def test_rshared_root_makes_the_parent_mount_private(root: str) -> None:
    sys = RecordingSyscalls()
    prepare(sys, {"linux": {"rootfsPropagation": "rshared"}}, root)
    assert mounts(sys)[:3] == [
        (None, "/", None, L.MS_SHARED | REC, None),
        (None, "/", None, L.MS_PRIVATE, None),  # "/" holds the rootfs and was shared:1
        (root, root, None, BIND | REC, None),
    ]


def test_dev_bind_mount_skips_device_setup(root: str) -> None:
    sys = RecordingSyscalls()
    config = {"mounts": [{"destination": "/dev", "source": "/dev", "options": ["rbind"],
                          "type": "bind"}]}  # fmt: skip
    prepare(sys, config, root)
    assert sys.calls[-1] == ("mount", "/dev", f"{root}/dev", None, BIND | REC, None)
    assert "mknod" not in sys.names() and "symlink" not in sys.names()


def test_linux_devices(root: str) -> None:
    sys = RecordingSyscalls()
    config = {"linux": {"devices": [
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600},
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "uid": 1000, "gid": 7},
        {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o60640},
        {"path": "/dev/fifo", "type": "p"},
    ]}}  # fmt: skip
    prepare(sys, config, root)
    nodes = [c[1:] for c in sys.calls if c[0] == "mknod"]
    assert [n[0] for n in nodes] == [
        f"{root}/dev/{n}" for n in ("zero", "full", "random", "urandom", "tty", "null", "fuse",
                                    "sda", "fifo")
    ]  # fmt: skip
    assert nodes[5][1:] == (0o20600, os.makedev(1, 3))
    assert nodes[6][1:] == (0o20666, os.makedev(10, 229))
    assert nodes[7][1:] == (0o60640, os.makedev(8, 0))
    assert nodes[8][1:] == (0o10666, 0)
    assert ("chown", f"{root}/dev/fuse", 1000, 7) in sys.calls
    assert ("chmod", f"{root}/dev/sda", 0o640) in sys.calls


def test_linux_devices_as_runc(root: str) -> None:
    """runc 1.1: a relative path is under the rootfs' top, missing numbers are 0, an entry
    without a path makes no node, and only the exact path string replaces a default."""
    sys = RecordingSyscalls()
    config = {"linux": {"devices": [
        {"path": "dev/foo", "type": "c"},
        {"path": "bar", "type": "b", "major": 7},
        {"type": "c", "major": 1, "minor": 1},
        {"path": "", "type": "c", "major": 1, "minor": 1},
        {"path": "/dev//null", "type": "c", "major": 1, "minor": 5},
    ]}}  # fmt: skip
    prepare(sys, config, root)
    nodes = [c[1:] for c in sys.calls if c[0] == "mknod"]
    assert nodes[6:] == [
        (f"{root}/dev/foo", 0o20666, os.makedev(0, 0)),
        (f"{root}/bar", 0o60666, os.makedev(7, 0)),
        (f"{root}/dev/null", 0o20666, os.makedev(1, 5)),
    ]
    assert nodes[0] == (f"{root}/dev/null", 0o20666, os.makedev(1, 3))  # the default, first


def test_existing_device_node_is_left_alone(root: str) -> None:
    """The first entry for a path wins; a later one finds the node there (EEXIST)."""

    class Exists(RecordingSyscalls):
        def __init__(self) -> None:
            super().__init__()
            self.made: set[str] = set()

        def mknod(self, path: str, mode: int, device: int) -> None:
            super().mknod(path, mode, device)
            if path in self.made:
                raise FileExistsError(errno.EEXIST, "File exists")
            self.made.add(path)

    sys = Exists()
    config = {"linux": {"devices": [
        {"path": "/dev/zz", "type": "c", "major": 1, "minor": 5},
        {"path": "dev/zz", "type": "c", "major": 1, "minor": 3},
    ]}}  # fmt: skip
    prepare(sys, config, root)
    chmods = [c[1] for c in sys.calls if c[0] == "chmod"]
    assert chmods.count(f"{root}/dev/zz") == 1


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ({"path": 5, "type": "c", "major": 1, "minor": 1}, r"devices\[0\].path"),
        ({"path": "/dev/x", "type": "q", "major": 1, "minor": 1}, r"devices\[0\].type"),
        ({"path": "/dev/x", "type": "c", "major": -1, "minor": 1}, "non-negative"),
        ({"path": "/", "type": "c", "major": 1, "minor": 1}, "resolves to the root"),
    ],
)
def test_bad_devices(root: str, device: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        prepare(RecordingSyscalls(), {"linux": {"devices": [device]}}, root)


def test_user_namespace(root: str) -> None:
    """Devices are bind-mounted, sysfs without a net ns becomes an rbind of /sys, devpts
    retries without gid= on EINVAL."""
    config = {
        "mounts": [
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["newinstance", "gid=5", "mode=0620"]},
        ],
        "linux": {"namespaces": [{"type": "user"}, {"type": "mount"}]},
    }  # fmt: skip
    sys = FailOn("/dev/pts", errno.EINVAL, times=1)
    prepare(sys, config, root, user_ns=True)
    assert sys.calls[2:10] == [
        ("mount", "/sys", f"{root}/sys", None, BIND | REC, None),
        ("mount", None, f"{root}/sys", None, REMOUNT | BIND | NOSUID | NOEXEC | NODEV | RO, None),
        ("mkdir_p", f"{root}/dev/pts", 0o755),
        ("mount", "devpts", f"{root}/dev/pts", "devpts", 0, "newinstance,gid=5,mode=0620"),
        ("mount", "devpts", f"{root}/dev/pts", "devpts", 0, "newinstance,mode=0620"),
        *dev_tail(root, bind=True)[:3],
    ]
    assert sys.calls[-len(dev_tail(root, bind=True)) :] == dev_tail(root, bind=True)


def test_sysfs_with_net_ns_in_user_ns_is_real_sysfs(root: str) -> None:
    config = {
        "mounts": [{"destination": "/sys", "type": "sysfs", "source": "sysfs"}],
        "linux": {"namespaces": [{"type": "user"}, {"type": "network"}]},
    }
    sys = RecordingSyscalls()
    prepare(sys, config, root, user_ns=True)
    assert ("mount", "sysfs", f"{root}/sys", "sysfs", 0, None) in sys.calls


CGROUP_MOUNT = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}  # fmt: skip


def test_cgroup_v1_binds(root: str) -> None:
    sys = RecordingSyscalls()
    paths = {"memory": "/sys/fs/cgroup/memory/user/ctr", "cpu": "/ctr", "": "/ctr"}
    prepare(sys, {"mounts": [CGROUP_MOUNT]}, root, cgroup_paths=paths)
    cg = f"{root}/sys/fs/cgroup"
    flags = NOSUID | NOEXEC | NODEV | L.MS_RELATIME | RO | BIND | REMOUNT

    def bind(name: str, src: str) -> list[tuple[object, ...]]:
        return [
            ("mkdir_p", f"{cg}/{name}", 0o755),
            ("mount", src, f"{cg}/{name}", None, BIND | REC, None),
            ("mount", None, f"{cg}/{name}", None, flags, None),
        ]

    assert sys.calls[2 : -len(dev_tail(root))] == [
        ("mkdir_p", cg, 0o755),
        ("mount", "tmpfs", cg, "tmpfs", NOSUID | NODEV | NOEXEC, "mode=755"),
        *bind("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/ctr"),
        *bind("memory", "/sys/fs/cgroup/memory/user/ctr"),
        *bind("systemd", "/sys/fs/cgroup/systemd/init.scope"),  # from /proc/self/cgroup
        # no "unified": runc 1.1 leaves a hybrid host's cgroup2 mount out
        ("symlink", "cpu,cpuacct", f"{cg}/cpu"),
        ("symlink", "cpu,cpuacct", f"{cg}/cpuacct"),
    ]


def test_cgroup_v1_with_cgroup_namespace(root: str) -> None:
    sys = RecordingSyscalls()
    prepare(sys, {"mounts": [CGROUP_MOUNT]}, root, cgroup_ns=True)
    cg = f"{root}/sys/fs/cgroup"
    flags = NOSUID | NODEV | NOEXEC | RO
    assert [c for c in sys.calls if c[0] == "mount" and c[3] in ("cgroup", "cgroup2")] == [
        ("mount", "cgroup", f"{cg}/cpu,cpuacct", "cgroup", flags, "cpu,cpuacct"),
        ("mount", "cgroup", f"{cg}/memory", "cgroup", flags, "memory"),
        ("mount", "systemd", f"{cg}/systemd", "cgroup", flags, "name=systemd"),  # as runc
    ]  # no cgroup2 "unified": runc 1.1 leaves a hybrid host's cgroup2 mount out


def test_cgroup_v2(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
    monkeypatch.setattr(mountinfo, "read", lambda path="": mountinfo.parse(text))
    sys = RecordingSyscalls()
    prepare(sys, {"mounts": [CGROUP_MOUNT]}, root, cgroup_ns=True)
    flags = NOSUID | NOEXEC | NODEV | L.MS_RELATIME | RO
    assert sys.calls[2:4] == [
        ("mkdir_p", f"{root}/sys/fs/cgroup", 0o755),
        ("mount", "cgroup", f"{root}/sys/fs/cgroup", "cgroup2", flags, None),
    ]
    # without a cgroup namespace, EPERM falls back to a bind of the container's cgroup
    sys = FailOn("/sys/fs/cgroup", errno.EPERM, times=1)
    prepare(sys, {"mounts": [CGROUP_MOUNT]}, root, cgroup_paths={"": "/ctr"})
    assert sys.calls[4:6] == [
        ("mount", "/sys/fs/cgroup/ctr", f"{root}/sys/fs/cgroup", None, BIND | REC, None),
        ("mount", None, f"{root}/sys/fs/cgroup", None, flags | BIND | REMOUNT, None),
    ]


def test_destination_symlink_stays_in_rootfs(root: str, tmp_path: Path) -> None:
    os.symlink("/etc", os.path.join(root, "evil"))
    os.symlink("../../../../../../../../tmp", os.path.join(root, "etc", "up"))
    sys = RecordingSyscalls()
    config = {"mounts": [
        {"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/etc/up/y", "type": "tmpfs", "source": "tmpfs"},
    ]}  # fmt: skip
    prepare(sys, config, root)
    assert ("mount", "tmpfs", f"{root}/etc/x", "tmpfs", 0, None) in sys.calls
    assert ("mount", "tmpfs", f"{root}/tmp/y", "tmpfs", 0, None) in sys.calls


def test_mounts_inside_proc(root: str, tmp_path: Path) -> None:
    src = tmp_path / "meminfo"
    src.write_text("")
    ok = {"destination": "/proc/meminfo", "source": str(src), "options": ["bind"]}
    prepare(RecordingSyscalls(), {"mounts": [ok]}, root)
    bad = {"destination": "/proc/sys/kernel", "source": str(tmp_path), "options": ["rbind"]}
    with pytest.raises(InvalidArgument, match="inside /proc"):
        prepare(RecordingSyscalls(), {"mounts": [bad]}, root)


def test_error_names_the_mount(root: str) -> None:
    config = {"mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}]}
    with pytest.raises(InvalidArgument) as info:
        prepare(FailOn("/dev", errno.EINVAL), config, root)
    assert str(info.value) == 'mount "tmpfs" on "/dev": invalid argument'
    with pytest.raises(PermissionDenied, match='mount "tmpfs" on "/dev": operation not perm'):
        prepare(FailOn("/dev", errno.EPERM), config, root)


def test_bad_mount_entries(root: str, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"destination": "/x"}, InvalidArgument, "has no type"),
        ({"type": "tmpfs"}, InvalidArgument, r"mounts\[0\].destination: required"),
        ({"destination": "/x", "type": "bind"}, InvalidArgument, "has no source"),
        ({"destination": "/x", "source": str(tmp_path / "nope"), "options": ["bind"]},
         InvalidArgument, "source: no such file"),
        ({"destination": "/", "type": "tmpfs"}, InvalidArgument, "the root itself"),
        ({"destination": "/x", "type": "tmpfs", "options": ["idmap"]}, NotImplementedYet,
         "idmapped"),
        ({"destination": "/x", "type": "tmpfs", "options": "ro"}, InvalidArgument, "options"),
    ]  # fmt: skip
    for entry, cls, message in cases:
        with pytest.raises(cls, match=message):
            prepare(RecordingSyscalls(), {"mounts": [entry]}, root)


def test_relative_bind_source_uses_bundle(root: str, tmp_path: Path) -> None:
    (tmp_path / "vol").mkdir()
    sys = RecordingSyscalls()
    entry = {"destination": "/vol", "source": "vol", "options": ["rbind"]}
    prepare(sys, {"mounts": [entry]}, root, bundle=str(tmp_path))
    assert ("mount", f"{tmp_path}/vol", f"{root}/vol", None, BIND | REC, None) in sys.calls


def test_pivot_root_sequence(monkeypatch: pytest.MonkeyPatch) -> None:
    sys = RecordingSyscalls()
    monkeypatch.setattr(rootfs, "_open_dir", lambda path: os.open("/", os.O_RDONLY))
    monkeypatch.setattr(rootfs, "_fchdir", lambda fd: sys.calls.append(("fchdir", "old /")))
    rootfs.pivot_root(sys, "/run/x/rootfs")
    assert sys.calls == [
        ("chdir", "/run/x/rootfs"),
        ("pivot_root", ".", "."),
        ("fchdir", "old /"),
        ("mount", None, ".", None, L.MS_SLAVE | REC, None),
        ("umount2", ".", L.MNT_DETACH),
        ("chdir", "/"),
    ]
    failing = RecordingSyscalls(fail={"pivot_root": OSError(errno.EINVAL, "pivot_root")})
    with pytest.raises(InvalidArgument, match='pivot_root to "/r": invalid argument'):
        rootfs.pivot_root(failing, "/r")


def test_chroot_root_sequence(root: str) -> None:
    sys = RecordingSyscalls()
    rootfs.chroot_root(sys, root)
    assert sys.calls == [
        ("chdir", root),
        ("mount", None, "/proc", None, L.MS_SLAVE | REC, None),
        ("umount2", "/proc", L.MNT_DETACH),
        ("mount", None, "/sys", None, L.MS_SLAVE | REC, None),
        ("umount2", "/sys", L.MNT_DETACH),
        ("mount", root, "/", None, L.MS_MOVE, None),
        ("chroot", "."),
        ("chdir", "/"),
    ]


def test_finalize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = tmp_path / "r"
    for d in ("dev", "proc/sys", "proc/acpi", "sys/firmware", "tmp", "etc"):
        (r / d).mkdir(parents=True)
    for f in ("proc/kcore", "proc/sysrq-trigger", "dev/null"):
        (r / f).write_text("")
    monkeypatch.setattr(rootfs, "mount_flags_of", lambda path: NOSUID | NODEV)
    config = {
        "root": {"path": "rootfs", "readonly": True},
        "mounts": [
            {"destination": "/dev", "type": "tmpfs", "options": ["nosuid", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "options": ["nosuid"]},
            {"destination": "/etc/x", "type": "tmpfs", "options": ["ro", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "options": ["ro"]},
            {"destination": "/data", "source": "/x", "options": ["rbind", "ro"]},
        ],
        "linux": {
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/missing"],
            "maskedPaths": ["/proc/kcore", "/proc/acpi", "/sys/firmware", "/proc/nope"],
        },
    }
    sys = RecordingSyscalls()
    rootfs.finalize_rootfs(sys, config, root=str(r))
    keep = REMOUNT | BIND | RO
    assert sys.calls == [
        ("mount", None, f"{r}/dev", None, NOSUID | keep, None),
        ("mount", None, f"{r}/etc/x", None, NODEV | keep, None),
        ("mount", None, str(r), None, keep | NOSUID | NODEV, None),
        ("mount", f"{r}/proc/sys", f"{r}/proc/sys", None, BIND | REC, None),
        ("mount", None, f"{r}/proc/sys", None, keep | NOSUID | NODEV, None),
        ("mount", f"{r}/proc/sysrq-trigger", f"{r}/proc/sysrq-trigger", None, BIND | REC, None),
        ("mount", None, f"{r}/proc/sysrq-trigger", None, keep | NOSUID | NODEV, None),
        ("mount", f"{r}/dev/null", f"{r}/proc/kcore", None, BIND, None),
        ("mount", "tmpfs", f"{r}/proc/acpi", "tmpfs", RO, None),
        ("mount", "tmpfs", f"{r}/sys/firmware", "tmpfs", RO, None),
    ]


def test_finalize_retries_busy_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootfs.time, "sleep", lambda s: None)
    config = {"mounts": [{"destination": "/dev", "type": "tmpfs", "options": ["ro"]}]}
    sys = FailOn("/dev", errno.EBUSY, times=2)
    rootfs.finalize_rootfs(sys, config, root=str(tmp_path))
    assert len(sys.calls) == 3
    with pytest.raises(InvalidArgument, match=r'mount "tmpfs" on "/dev": remount read-only'):
        rootfs.finalize_rootfs(FailOn("/dev", errno.EINVAL), config, root=str(tmp_path))


def test_mountinfo_parse_unescapes() -> None:
    line = r"36 35 98:0 /mnt\040a /mnt/my\040dir rw,noatime master:1 shared:2 - ext3 /dev/r\134x rw"
    (e,) = mountinfo.parse(line + "\n")
    assert (e.root, e.mountpoint, e.source, e.fstype) == ("/mnt a", "/mnt/my dir", r"/dev/r\x", "ext3")
    assert e.optional == ["master:1", "shared:2"]
    assert e.super_options == "rw"
