"""One conformance suite for every snapshotter backend (overlay and native), on a real kernel.

Each test gets a fresh snapshotter root in a temporary directory, mounts snapshots through
:mod:`dockyard.containerd.mount` on private directories there, and must leave no mount behind
(checked after each test, on top of the integration suite's host-leak check).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dockyard.containerd import mount as mnt
from dockyard.containerd import newmount
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info, Mount
from dockyard.containerd.snapshots.fsutil import mounts_at_or_below
from dockyard.containerd.snapshots.local import LocalSnapshotter
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter
from dockyard.errors import (
    AlreadyExists,
    DockyardError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
)

pytestmark = pytest.mark.root

BACKENDS = {"overlay": OverlaySnapshotter, "native": NativeSnapshotter}
MIB = 1 << 20


class Lab:
    """A snapshotter under test and the helpers to fill and read its snapshots."""

    def __init__(self, backend: str, base: Path) -> None:
        self.backend = backend
        self.base = base
        self.root = base / "root"
        self.sn: LocalSnapshotter = BACKENDS[backend](str(self.root))

    @property
    def overlay(self) -> bool:
        return self.backend == "overlay"

    def reopen(self) -> None:
        self.sn.close()
        self.sn = BACKENDS[self.backend](str(self.root))

    @contextmanager
    def mounted(self, key: str) -> Iterator[Path]:
        with mnt.mounted(self.sn.mounts(key), parent_dir=str(self.base)) as path:
            yield Path(path)

    def layer(self, key: str, parent: str = "", *, files: dict[str, str] | None = None,
              dirs: tuple[str, ...] = (), remove: tuple[str, ...] = (), commit: str = "") -> str:  # fmt: skip
        """Prepare ``key`` on ``parent``, change it through its mount, commit it as ``commit``."""
        self.sn.prepare(key, parent)
        with self.mounted(key) as root:
            for rel in remove:
                target = root / rel
                if target.is_dir() and not target.is_symlink():
                    _rmtree(target)
                else:
                    target.unlink()
            for rel in dirs:
                (root / rel).mkdir(parents=True, exist_ok=True)
            for rel, text in (files or {}).items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text)
        if commit:
            self.sn.commit(commit, key)
        return commit or key

    def tree(self, key: str) -> dict[str, str]:
        """What a view of committed ``key`` (or the mount of an active key) shows: path -> kind."""
        info = self.sn.stat(key)
        view_key = key
        if info.kind == KIND_COMMITTED:
            view_key = f"view-of-{key}"
            self.sn.view(view_key, key)
        try:
            with self.mounted(view_key) as root:
                return _listing(root)
        finally:
            if view_key != key:
                self.sn.remove(view_key)

    def own_dir(self, key: str) -> Path:
        """The directory holding ``key``'s own layer (overlay: its upper dir)."""
        if isinstance(self.sn, OverlaySnapshotter):
            return Path(self.sn.upper_dir(key))
        (m,) = self.sn.mounts(key)
        return Path(m.source)


def _rmtree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            _rmtree(child)
        else:
            child.unlink()
    path.rmdir()


def _listing(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = full.lstat()
            rel = str(full.relative_to(root))
            if stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            elif stat.S_ISREG(st.st_mode):
                out[rel] = "file:" + full.read_text()
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(full)
            else:
                out[rel] = f"other:{stat.S_IFMT(st.st_mode):o}"
    return out


@pytest.fixture(params=sorted(BACKENDS))
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    if request.param == "overlay" and not _has_overlay():
        pytest.skip("overlayfs is not available")
    env = Lab(request.param, tmp_path)
    yield env
    env.sn.close()
    left = mounts_at_or_below(str(tmp_path))
    for point in reversed(left):
        mnt.unmount_all(point)
    assert not left, f"mounts left behind: {left}"


def _has_overlay() -> bool:
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == "overlay" for line in f if line.strip())


def test_basic_prepare_commit_view(lab: Lab) -> None:
    sn = lab.sn
    mounts = sn.prepare("a")
    assert mounts == sn.mounts("a")
    with lab.mounted("a") as root:
        assert stat.S_IMODE(root.stat().st_mode) == 0o755
        (root / "etc").mkdir()
        (root / "etc" / "hostname").write_text("box")
        (root / "bin").symlink_to("usr/bin")
    assert sn.stat("a").kind == KIND_ACTIVE
    sn.commit("A", "a")
    with pytest.raises(NotFound):
        sn.stat("a")
    info = sn.stat("A")
    assert (info.name, info.kind, info.parent) == ("A", KIND_COMMITTED, "")
    assert info.created > 0 and info.updated >= info.created

    sn.view("v", "A")
    assert sn.stat("v").kind == KIND_VIEW
    with lab.mounted("v") as root:
        assert (root / "etc" / "hostname").read_text() == "box"
        assert os.readlink(root / "bin") == "usr/bin"
        with pytest.raises(OSError) as exc:
            (root / "new").write_text("x")
        assert exc.value.errno == errno.EROFS
    sn.remove("v")

    lab.layer("b", "A", files={"etc/motd": "hello"}, commit="B")
    assert sn.stat("B").parent == "A"
    assert lab.tree("B") == {
        "etc": "dir", "etc/hostname": "file:box", "etc/motd": "file:hello", "bin": "link:usr/bin",
    }  # fmt: skip
    assert "etc/motd" not in lab.tree("A")


def test_file_deleted_in_child(lab: Lab) -> None:
    lab.layer("a", files={"f1": "one", "f2": "two"}, commit="A")
    lab.layer("b", "A", remove=("f1",), commit="B")
    assert lab.tree("B") == {"f2": "file:two"}
    assert lab.tree("A") == {"f1": "file:one", "f2": "file:two"}
    if lab.overlay:  # the kernel wrote a whiteout: a 0/0 character device
        st = (lab.own_dir("B") / "f1").lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


def _whiteout(lab: Lab, key: str, rel: str) -> None:
    """Delete ``rel`` in active ``key`` the way an applier writes it into the layer directory:
    overlay: a 0/0 character device in the upper dir; native: the copy loses the file."""
    path = lab.own_dir(key) / rel
    if lab.overlay:
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    elif path.is_dir():
        _rmtree(path)
    else:
        path.unlink()


def _opaque(lab: Lab, key: str, rel: str) -> None:
    """Make directory ``rel`` of active ``key`` opaque (its lower content hidden): overlay: the
    ``trusted.overlay.opaque`` xattr on the upper dir; native: the copy's directory emptied."""
    path = lab.own_dir(key) / rel
    if lab.overlay:
        path.mkdir(exist_ok=True)
        os.setxattr(path, "trusted.overlay.opaque", b"y")
    else:
        _rmtree(path)
        path.mkdir()


def test_whiteouts_and_opaque_directories(lab: Lab) -> None:
    lab.layer("a", files={"keep": "k", "gone": "g", "d/x": "x", "d/sub/y": "y", "e/z": "z"}, commit="A")
    lab.sn.prepare("b", "A")
    _whiteout(lab, "b", "gone")
    _whiteout(lab, "b", "e")
    _opaque(lab, "b", "d")
    (lab.own_dir("b") / "d" / "new").write_text("n")
    with lab.mounted("b") as root:  # the active snapshot already shows it
        assert _listing(root) == {"keep": "file:k", "d": "dir", "d/new": "file:n"}
    lab.sn.commit("B", "b")
    expected = {"keep": "file:k", "d": "dir", "d/new": "file:n"}
    assert lab.tree("B") == expected
    lab.layer("c", "B", files={"d/more": "m", "gone": "back"}, commit="C")  # a layer above still sees it
    assert lab.tree("C") == {**expected, "d/more": "file:m", "gone": "file:back"}
    assert lab.tree("A")["d/sub/y"] == "file:y"  # the lower layer is untouched


def test_directory_removed_from_lower_layer(lab: Lab) -> None:
    lab.layer("a", files={"d/sub/x": "x", "d/y": "y", "f": "f"}, commit="A")
    lab.layer("b", "A", remove=("d",), commit="B")
    assert lab.tree("B") == {"f": "file:f"}
    lab.layer("c", "B", files={"d/z": "z"}, commit="C")  # recreated: none of the old content
    assert lab.tree("C") == {"f": "file:f", "d": "dir", "d/z": "file:z"}
    assert lab.tree("A")["d/sub/x"] == "file:x"


def _deep_chain(lab: Lab, depth: int) -> str:
    parent = ""
    for i in range(depth):
        parent = lab.layer(f"k{i}", parent, files={f"f{i:03d}": str(i)}, commit=f"L{i:03d}")
    return parent


def _check_deep_mount(lab: Lab, key: str, depth: int, *, active: bool) -> None:
    mounts = lab.sn.mounts(key)
    with lab.mounted(key) as root:
        names = sorted(os.listdir(root))
        assert names == [f"f{i:03d}" for i in range(depth)]
        assert (root / "f000").read_text() == "0" and (root / f"f{depth - 1:03d}").read_text() == str(depth - 1)
        top = mnt.top_mount(str(root))
        assert top is not None
        if lab.overlay:
            assert len(",".join(mounts[0].options)) > mnt.PAGE_SIZE  # past what mount(2) takes
            assert top.fstype == "overlay"
            assert mnt.overlay_layers(top.super_options) == depth
            assert ("upperdir=" in top.super_options) == active
        else:
            assert top.fstype != "overlay"
        if active:
            (root / "top").write_text("t")
            assert (root / "top").read_text() == "t"


def test_128_layers_deep(lab: Lab) -> None:
    top = _deep_chain(lab, 128)
    lab.sn.view("v", top)
    _check_deep_mount(lab, "v", 128, active=False)
    lab.sn.prepare("rw", top)
    _check_deep_mount(lab, "rw", 128, active=True)


@pytest.mark.parametrize("lab", ["overlay"], indirect=True)  # overlay only: native is one bind
def test_128_layers_without_the_new_mount_api(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback for kernels before 6.8: paths relative to the layers' common directory."""
    monkeypatch.setattr(newmount, "supports", lambda fstype, key: False)
    children: list[str] = []
    real_mount_in = mnt._mount_in

    def spy(directory: str, *args: object) -> None:
        children.append(directory)
        real_mount_in(directory, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(mnt, "_mount_in", spy)
    top = _deep_chain(lab, 128)
    children.clear()
    lab.sn.view("v", top)
    _check_deep_mount(lab, "v", 128, active=False)
    lab.sn.prepare("rw", top)
    _check_deep_mount(lab, "rw", 128, active=True)
    assert children == [lab.sn.snapshots_dir] * 2  # both mounted by a child in snapshots/
    assert os.getcwd() != lab.sn.snapshots_dir


@pytest.mark.parametrize("lab", ["overlay"], indirect=True)  # overlay only: native is one bind
def test_cut_overlay_options_are_caught(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trap itself: one mount(2) call with more than a page of options. The kernel cuts
    them silently; the mount helper must notice (mountinfo) and leave nothing mounted."""
    top = _deep_chain(lab, 100)
    lab.sn.view("v", top)
    monkeypatch.setattr(newmount, "supports", lambda fstype, key: False)
    monkeypatch.setattr(mnt, "PAGE_SIZE", 1 << 20)  # pretend the page is large: no compaction
    target = lab.base / "cut"
    target.mkdir()
    with pytest.raises(DockyardError):
        mnt.mount_all(lab.sn.mounts("v"), str(target))
    assert mounts_at_or_below(str(target)) == []


def test_layers_dropped_by_the_kernel_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Options cut right after a whole path mount fine with fewer layers: only mountinfo tells."""
    if not _has_overlay():
        pytest.skip("overlayfs is not available")
    base = tmp_path / "layers"
    base.mkdir()
    names = [f"{i:04d}" for i in range(200)]
    head = len("lowerdir=") + len(str(base)) + 1
    used = head + len(names[0])
    kept = 1
    while used + 1 + len(str(base)) + 1 + len(names[kept]) <= mnt.PAGE_SIZE - 1:
        used += 1 + len(str(base)) + 1 + len(names[kept])
        kept += 1
    names[0] = names[0] + "x" * (mnt.PAGE_SIZE - 1 - used)  # the cut falls just after layer `kept`
    lowers = [str(base / n) for n in names]
    for path in lowers:
        os.mkdir(path)
    data = "lowerdir=" + ":".join(lowers)
    assert data[mnt.PAGE_SIZE - 1] == ":" and kept < len(lowers)
    monkeypatch.setattr(newmount, "supports", lambda fstype, key: False)
    monkeypatch.setattr(mnt, "PAGE_SIZE", 1 << 20)  # no compaction: one long mount(2) call
    target = tmp_path / "cut"
    target.mkdir()
    with pytest.raises(Internal, match=f"shows {kept} lower layers, not {len(lowers)}"):
        mnt.mount_all([Mount("overlay", "overlay", [data])], str(target))
    assert mounts_at_or_below(str(target)) == []
    monkeypatch.undo()
    mnt.mount_all([Mount("overlay", "overlay", [data])], str(target))  # the new API: all of them
    try:
        top = mnt.top_mount(str(target))
        assert top is not None and mnt.overlay_layers(top.super_options) == len(lowers)
    finally:
        mnt.unmount_all(str(target))


def test_usage_accounting(lab: Lab) -> None:
    sn = lab.sn
    lab.layer("base", files={"small": "s"}, commit="BASE")
    base = sn.usage("BASE")
    assert base.inodes >= 2 and 0 < base.size < MIB
    sn.prepare("big", "BASE")
    with lab.mounted("big") as root:
        (root / "blob").write_bytes(os.urandom(MIB))
        os.link(root / "blob", root / "blob-link")  # hard links count once
    live = sn.usage("big")
    assert MIB <= live.size < 2 * MIB
    sn.commit("BIG", "big")
    big = sn.usage("BIG")
    assert MIB <= big.size < 2 * MIB
    assert big.inodes == (2 if lab.overlay else base.inodes + 1)  # root and blob (native: a full copy)
    assert sn.usage("BASE") == base  # the parent's layer did not grow
    lab.layer("tiny", "BIG", files={"t": "t"}, commit="TINY")
    tiny = sn.usage("TINY")
    if lab.overlay:
        assert tiny.size < MIB  # the 1 MiB stays in its own layer
    else:
        assert tiny.size >= MIB  # native layers are copies
    sn.view("v", "TINY")
    assert sn.usage("v").size == 0  # views have no layer of their own


def test_remove_with_children_refused_and_keys_reused(lab: Lab) -> None:
    sn = lab.sn
    lab.layer("a", files={"old": "1"}, commit="A")
    sn.prepare("child", "A")
    sn.view("peek", "A")
    with pytest.raises(FailedPrecondition):
        sn.remove("A")
    sn.remove("child")
    with pytest.raises(FailedPrecondition):
        sn.remove("A")
    sn.remove("peek")
    sn.remove("A")
    with pytest.raises(NotFound):
        sn.remove("A")
    assert list(sn.walk()) == []
    assert sorted(os.listdir(sn.snapshots_dir)) == []

    lab.layer("a", files={"new": "2"}, commit="A")  # both names free again, fresh content
    assert lab.tree("A") == {"new": "file:2"}
    lab.layer("child", "A", commit="")
    with lab.mounted("child") as root:
        assert sorted(os.listdir(root)) == ["new"]


def test_stat_update_walk_with_filters(lab: Lab) -> None:
    sn = lab.sn
    sn.prepare("a", labels={"stage": "base", "com.example/x": "1"})
    assert sn.stat("a").labels == {"stage": "base", "com.example/x": "1"}
    sn.commit("A", "a", labels={"stage": "committed"})
    assert sn.stat("A").labels == {"stage": "committed"}  # commit's labels, as containerd
    sn.prepare("b", "A", labels={"role": "rootfs"})
    sn.view("v", "A")

    before = sn.stat("A")
    after = sn.update(Info("A", KIND_COMMITTED, labels={"extra": "yes"}), ["labels.extra"])
    assert after.labels == {"stage": "committed", "extra": "yes"}
    assert after.updated >= before.updated and after.created == before.created
    assert sn.update(Info("A", KIND_COMMITTED, labels={}), ["labels.extra"]).labels == {"stage": "committed"}
    assert sn.update(Info("A", KIND_COMMITTED, labels={"only": "me"})).labels == {"only": "me"}
    assert sn.update(Info("A", KIND_COMMITTED, labels={"x": "1"}), ["labels"]).labels == {"x": "1"}
    assert sn.stat("A").labels == {"x": "1"}
    with pytest.raises(InvalidArgument):
        sn.update(Info("A", KIND_ACTIVE), ["kind"])
    with pytest.raises(InvalidArgument):
        sn.update(Info("A", KIND_COMMITTED, labels={"k": "v" * 5000}))
    with pytest.raises(NotFound):
        sn.update(Info("nope", KIND_COMMITTED, labels={}))

    def names(*filters: str) -> list[str]:
        return sorted(i.name for i in sn.walk(*filters))

    assert names() == ["A", "b", "v"]
    assert names("kind==committed") == ["A"]
    assert names("kind==Active") == ["b"]
    assert names("parent==A") == ["b", "v"]
    assert names("parent==A,kind==view") == ["v"]
    assert names("kind==view", "kind==active") == ["b", "v"]
    assert names('labels."role"==rootfs') == ["b"]
    assert names("labels.x") == ["A"]
    assert names("name~=^[a-z]$") == ["b", "v"]
    assert names("parent!=A") == ["A"]
    with pytest.raises(InvalidArgument):
        names("kind==")


def test_kinds_enforced(lab: Lab) -> None:
    sn = lab.sn
    sn.prepare("a")
    with pytest.raises(AlreadyExists):
        sn.prepare("a")
    with pytest.raises(FailedPrecondition):
        sn.prepare("b", "a")  # an active parent
    with pytest.raises(FailedPrecondition):
        sn.view("v", "a")
    with pytest.raises(NotFound):
        sn.prepare("c", "missing")
    sn.commit("A", "a")
    with pytest.raises(NotFound):
        sn.commit("A2", "a")  # the key is gone
    sn.view("v", "A")
    with pytest.raises(FailedPrecondition):
        sn.commit("V", "v")  # a view never commits
    with pytest.raises(FailedPrecondition):
        sn.prepare("b", "v")  # nor is it a parent
    with pytest.raises(FailedPrecondition):
        sn.mounts("A")  # committed snapshots are not mounted
    sn.prepare("b", "A")
    with pytest.raises(AlreadyExists):
        sn.commit("A", "b")
    with pytest.raises(AlreadyExists):
        sn.commit("b", "b")
    with pytest.raises(InvalidArgument):
        sn.prepare("")
    assert [i.name for i in sn.walk()] == ["A", "v", "b"]


def test_failed_prepare_leaves_nothing(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    sn = lab.sn
    lab.layer("a", files={"f": "1"}, commit="A")
    entries = sorted(os.listdir(sn.snapshots_dir))

    def half_populate(path: str, kind: str, parent_ids: list[int]) -> None:
        Path(path, "partial").write_text("half")
        raise OSError(errno.ENOSPC, "no space left (simulated)")

    with monkeypatch.context() as m:
        m.setattr(sn, "_populate", half_populate)
        with pytest.raises(OSError):
            sn.prepare("b", "A")
    with monkeypatch.context() as m:  # a failure after the directory got its final name
        m.setattr(sn, "_mounts", lambda rec, ids: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            sn.prepare("b", "A")
    with pytest.raises(NotFound):
        sn.stat("b")
    assert sorted(os.listdir(sn.snapshots_dir)) == entries
    sn.prepare("b", "A")  # and the key works afterwards
    assert lab.tree("b") == {"f": "file:1"}


def test_child_sees_parent_metadata(lab: Lab) -> None:
    """Owners, modes, xattrs, hard links, devices, fifos, symlinks and times reach the child
    (native copies them; overlay shares the lower layer)."""
    sn = lab.sn
    sn.prepare("a")
    with lab.mounted("a") as root:
        f = root / "suid"
        f.write_bytes(b"#!/bin/sh\n")
        os.chown(f, 1234, 5678)
        os.chmod(f, 0o4755)
        os.setxattr(f, "user.note", b"hello")
        os.setxattr(f, "trusted.mark", b"t")
        os.link(f, root / "suid-link")
        os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.chmod(root / "null", 0o666)  # past the umask
        os.mkfifo(root / "fifo", 0o640)
        (root / "link").symlink_to("suid")
        os.lchown(root / "link", 42, 43)
        (root / "dir").mkdir(mode=0o700)
        os.chmod(root / "dir", 0o1730)
        os.utime(f, ns=(1_000_000_123, 2_000_000_456))
        os.utime(root / "dir", ns=(3_000_000_000, 4_000_000_789))
    sn.commit("A", "a")
    sn.prepare("b", "A")
    with lab.mounted("b") as root:
        st = (root / "suid").lstat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o4755)
        assert st.st_mtime_ns == 2_000_000_456 and st.st_nlink == 2
        assert (root / "suid-link").lstat().st_ino == st.st_ino
        assert os.getxattr(root / "suid", "user.note") == b"hello"
        assert os.getxattr(root / "suid", "trusted.mark") == b"t"
        dev = (root / "null").lstat()
        assert stat.S_ISCHR(dev.st_mode) and dev.st_rdev == os.makedev(1, 3) and stat.S_IMODE(dev.st_mode) == 0o666
        assert stat.S_ISFIFO((root / "fifo").lstat().st_mode)
        link = (root / "link").lstat()
        assert os.readlink(root / "link") == "suid" and (link.st_uid, link.st_gid) == (42, 43)
        d = (root / "dir").lstat()
        assert stat.S_IMODE(d.st_mode) == 0o1730 and d.st_mtime_ns == 4_000_000_789


def test_reopen_keeps_snapshots(lab: Lab) -> None:
    lab.layer("a", files={"f": "1"}, commit="A")
    lab.sn.prepare("b", "A", labels={"l": "v"})
    lab.reopen()
    assert lab.sn.stat("b") == Info("b", KIND_ACTIVE, "A", {"l": "v"}, lab.sn.stat("b").created,
                                    lab.sn.stat("b").updated)  # fmt: skip
    assert lab.tree("b") == {"f": "file:1"}


def test_remove_refused_while_something_is_mounted_inside(lab: Lab) -> None:
    sn = lab.sn
    sn.prepare("a")
    inside = Path(sn.snapshot_dir(_id(sn, "a")))
    target = inside / ("fs" if lab.overlay else "") / "sub"
    target.mkdir()
    mnt.mount_all([Mount("tmpfs", "tmpfs", ["size=1m"])], str(target))
    try:
        with pytest.raises(FailedPrecondition):
            sn.remove("a")
        assert sn.stat("a").kind == KIND_ACTIVE
    finally:
        mnt.unmount_all(str(target))
    sn.remove("a")


def _id(sn: LocalSnapshotter, key: str) -> int:
    with sn.store.read() as tx:
        return tx.get(key).id


def test_paths_longer_than_fsconfig_takes(lab: Lab) -> None:
    """fsconfig copies at most 255 bytes of a string: longer layer paths go as descriptors."""
    lab.sn.close()
    lab.root = lab.base / "/".join(["d" * 60] * 5)
    lab.sn = BACKENDS[lab.backend](str(lab.root))
    top = _deep_chain(lab, 3)
    assert len(lab.sn.snapshot_dir(1)) > newmount.MAX_STRING
    lab.sn.prepare("rw", top)
    with lab.mounted("rw") as root:
        assert sorted(os.listdir(root)) == ["f000", "f001", "f002"]
