"""The local snapshotters' directories, mounts and crash recovery, without root (nothing is
mounted here; tests/integration/test_snapshotter_conformance.py mounts for real)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.containerd.snapshots import Mount
from dockyard.containerd.snapshots import copy as snapcopy
from dockyard.containerd.snapshots.fsutil import disk_usage
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[OverlaySnapshotter]:
    sn = OverlaySnapshotter(str(tmp_path / "ov"))
    yield sn
    sn.close()


@pytest.fixture
def native(tmp_path: Path) -> Iterator[NativeSnapshotter]:
    sn = NativeSnapshotter(str(tmp_path / "nat"))
    yield sn
    sn.close()


def _id(sn: OverlaySnapshotter | NativeSnapshotter, key: str) -> int:
    with sn.store.read() as tx:
        return tx.get(key).id


def test_overlay_layout_and_mounts(overlay: OverlaySnapshotter) -> None:
    sn, idx = overlay, overlay.base_options
    d = sn.snapshots_dir
    assert sn.prepare("a") == [Mount("bind", f"{d}/1/fs", ["rw", "rbind"])]
    assert sorted(os.listdir(f"{d}/1")) == ["fs", "work"]
    assert oct(os.stat(f"{d}/1/fs").st_mode & 0o777) == "0o755"
    assert oct(os.stat(sn.root).st_mode & 0o777) == "0o700"
    assert os.path.isfile(f"{sn.root}/metadata.db")
    sn.commit("A", "a")
    assert sn.prepare("b", "A") == [
        Mount("overlay", "overlay", [*idx, f"workdir={d}/2/work", f"upperdir={d}/2/fs", f"lowerdir={d}/1/fs"])
    ]
    assert sn.view("v1", "A") == [Mount("bind", f"{d}/1/fs", ["ro", "rbind"])]
    assert sorted(os.listdir(f"{d}/3")) == ["fs"]  # a view has no work dir
    sn.commit("B", "b")
    assert sn.view("v2", "B") == [Mount("overlay", "overlay", [*idx, f"lowerdir={d}/2/fs:{d}/1/fs"])]
    assert sn.view("v0") == [Mount("bind", f"{d}/5/fs", ["ro", "rbind"])]
    assert sn.mounts("v2") == sn.view("v3", "B")  # views of one parent share their mounts


def test_native_layout_copies_parent(native: NativeSnapshotter) -> None:
    sn, d = native, native.snapshots_dir
    assert sn.prepare("a") == [Mount("bind", f"{d}/1", ["rw", "rbind"])]
    Path(d, "1", "file").write_text("data")
    os.link(Path(d, "1", "file"), Path(d, "1", "link"))
    Path(d, "1", "sym").symlink_to("file")
    sn.commit("A", "a")
    assert sn.usage("A").inodes == 3
    assert sn.view("v", "A") == [Mount("bind", f"{d}/2", ["ro", "rbind"])]
    assert Path(d, "2", "file").read_text() == "data"
    assert os.stat(Path(d, "2", "link")).st_ino == os.stat(Path(d, "2", "file")).st_ino
    assert os.readlink(Path(d, "2", "sym")) == "file"


def test_failed_prepare_leaves_nothing(overlay: OverlaySnapshotter, monkeypatch: pytest.MonkeyPatch) -> None:
    before = os.listdir(overlay.snapshots_dir)
    monkeypatch.setattr(overlay, "_populate", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "io")))
    with pytest.raises(OSError):
        overlay.prepare("a")
    assert os.listdir(overlay.snapshots_dir) == before
    assert list(overlay.walk()) == []


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_cleanup_after_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "ov"
    sn = OverlaySnapshotter(str(root))
    sn.prepare("kept")
    sn.prepare("half-removed")
    half = _id(sn, "half-removed")
    sn.close()
    d = root / "snapshots"
    (d / f"new-{_dead_pid()}-abc" / "fs").mkdir(parents=True)  # a prepare that died
    (d / f"new-{os.getpid()}-live").mkdir()  # a prepare still running (this process)
    (d / "rm-77" / "fs").mkdir(parents=True)  # a removal that committed, then died
    (d / "99" / "fs").mkdir(parents=True)  # a directory no snapshot owns
    os.rename(d / str(half), d / f"rm-{half}")  # a removal that never committed
    sn = OverlaySnapshotter(str(root))
    try:
        assert sorted(os.listdir(d)) == sorted(["1", str(half), f"new-{os.getpid()}-live"])
        assert sorted(i.name for i in sn.walk()) == ["half-removed", "kept"]
        sn.remove("half-removed")
        assert sorted(os.listdir(d)) == sorted(["1", f"new-{os.getpid()}-live"])
    finally:
        sn.close()


def test_orphan_directory_under_a_fresh_id(overlay: OverlaySnapshotter) -> None:
    """A crash between the rename and the COMMIT leaves ``<id>`` with no row; SQLite may hand
    that id out again, and the new snapshot must not inherit the old content."""
    orphan = Path(overlay.snapshots_dir, "1", "fs")
    orphan.mkdir(parents=True)
    (orphan / "stale").write_text("x")
    overlay.prepare("a")
    assert os.listdir(overlay.upper_dir("a")) == []


def test_usage_counts_blocks_and_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 10000)
    os.link(tmp_path / "d" / "f", tmp_path / "d" / "g")
    (tmp_path / "d" / "s").symlink_to("/nonexistent")
    u = disk_usage(str(tmp_path / "d"))
    st = os.lstat(tmp_path / "d" / "f")
    assert u.inodes == 3
    blocks = os.lstat(tmp_path / "d").st_blocks + st.st_blocks + os.lstat(tmp_path / "d" / "s").st_blocks
    assert u.size == blocks * 512
    assert disk_usage(str(tmp_path / "missing")).size == 0


def test_copy_tree_keeps_metadata(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "dir").mkdir(parents=True)
    f = src / "dir" / "file"
    f.write_bytes(os.urandom(70000))
    os.chmod(f, 0o640)
    os.setxattr(f, "user.k", b"v")
    os.link(f, src / "hard")
    os.mkfifo(src / "fifo", 0o600)
    (src / "sym").symlink_to("dir/file")
    os.utime(f, ns=(5, 6_000_000_007))
    os.utime(src / "dir", ns=(8, 9_000_000_001))
    snapcopy.copy_tree(str(src), str(dst))
    g = dst / "dir" / "file"
    assert g.read_bytes() == f.read_bytes()
    assert oct(g.stat().st_mode & 0o7777) == "0o640"
    assert os.getxattr(g, "user.k") == b"v"
    assert (dst / "hard").stat().st_ino == g.stat().st_ino
    assert (dst / "fifo").is_fifo() and os.readlink(dst / "sym") == "dir/file"
    assert g.stat().st_mtime_ns == 6_000_000_007
    assert (dst / "dir").stat().st_mtime_ns == 9_000_000_001


def test_copy_falls_back_to_sendfile_across_file_systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def exdev(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    calls: list[str] = []
    real_sendfile = os.sendfile

    def sendfile(*args: int) -> int:
        calls.append("sendfile")
        return real_sendfile(*args)

    monkeypatch.setattr(snapcopy, "_clone", lambda s, d: False)
    monkeypatch.setattr(os, "copy_file_range", exdev)
    monkeypatch.setattr(os, "sendfile", sendfile)
    data = os.urandom(300000)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(data)
    snapcopy.copy_tree(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst" / "f").read_bytes() == data
    assert calls
