"""Layers into real snapshots (overlay and native): unpack by chainID, whiteouts through the
stack, rollback of a half-applied snapshot, diff of a container's changes, export.

Snapshots are mounted through :mod:`dockyard.containerd.mount` on private directories of
the test's temporary directory; nothing stays mounted.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.support.layer_tars import E, apply_bytes, build, gz, sha256, view, zst

from dockyard.containerd import mount as mnt
from dockyard.containerd.archive.diff import write_diff
from dockyard.containerd.archive.layers import chain_id
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED
from dockyard.containerd.snapshots.local import LocalSnapshotter
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter
from dockyard.containerd.unpack import apply_to_snapshot, export_tree
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.root

BACKENDS = {"overlay": OverlaySnapshotter, "native": NativeSnapshotter}

BASE = [
    E("etc", "dir"),
    E("etc/passwd", data=b"root:x:0:0\n"),
    E("etc/old", data=b"old"),
    E("usr/lib", "dir"),
    E("usr/lib/a", data=b"a"),
    E("usr/lib/sub/deep", data=b"deep"),
    E("dev/null", "char", major=1, minor=3, mode=0o666),
    E("bin", "symlink", link="usr/bin"),
    E("usr/bin/sh", data=b"#!", mode=0o755),
    E("usr/bin/ash", "hardlink", link="usr/bin/sh", mode=0o755),
]
TOP = [
    E("etc/.wh.old"),
    E("usr/lib/.wh..wh..opq"),
    E("usr/lib", "dir"),
    E("usr/lib/b", data=b"b"),
    E("etc/passwd", data=b"root:x:0:0\nme:x:1000:1000\n"),
]


@pytest.fixture(params=sorted(BACKENDS))
def sn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalSnapshotter]:
    snapshotter: LocalSnapshotter = BACKENDS[request.param](str(tmp_path / "snapshots"))
    yield snapshotter
    snapshotter.close()


@contextmanager
def viewed(sn: LocalSnapshotter, name: str, tmp: Path) -> Iterator[Path]:
    key = f"view-{name[-8:]}"
    sn.view(key, name)
    try:
        with mnt.mounted(sn.mounts(key), parent_dir=str(tmp)) as path:
            yield Path(path)
    finally:
        sn.remove(key)


def unpack_image(sn: LocalSnapshotter, layers: list[bytes]) -> list[str]:
    parent = ""
    names = []
    for i, blob in enumerate(layers):
        result = apply_to_snapshot(sn, f"extract-{i}", parent, io.BytesIO(blob))
        assert result.applied
        parent = result.name
        names.append(parent)
    return names


def test_unpack_names_snapshots_by_chain_id_and_stacks_whiteouts(sn: LocalSnapshotter, tmp_path: Path) -> None:
    base, top = build(BASE), build(TOP)
    names = unpack_image(sn, [gz(base), zst(top)])
    assert names == [sha256(base), chain_id([sha256(base), sha256(top)])]
    assert sn.stat(names[1]).kind == KIND_COMMITTED and sn.stat(names[1]).parent == names[0]
    assert not [i for i in sn.walk() if i.kind == KIND_ACTIVE]
    with viewed(sn, names[1], tmp_path) as root:
        assert not (root / "etc/old").exists()
        assert (root / "etc/passwd").read_bytes().endswith(b"me:x:1000:1000\n")
        assert sorted(os.listdir(root / "usr/lib")) == ["b"]
        assert os.major((root / "dev/null").lstat().st_rdev) == 1
        assert (root / "usr/bin/ash").lstat().st_ino == (root / "usr/bin/sh").lstat().st_ino
    with viewed(sn, names[0], tmp_path) as root:  # the base layer is untouched
        assert (root / "etc/old").read_bytes() == b"old"
        assert sorted(os.listdir(root / "usr/lib")) == ["a", "sub"]


def test_an_existing_chain_is_not_read_again(sn: LocalSnapshotter) -> None:
    base = build(BASE)
    unpack_image(sn, [base])

    class Unread(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("the stream must not be read")

    again = apply_to_snapshot(sn, "extract-again", "", Unread(), expected_diff_id=sha256(base))
    assert not again.applied and again.name == sha256(base)
    with pytest.raises(Exception, match="extract-again"):
        sn.stat("extract-again")


def test_hostile_layer_removes_the_half_applied_snapshot(sn: LocalSnapshotter, tmp_path: Path) -> None:
    (parent,) = unpack_image(sn, [build(BASE)])
    evil = build([E("etc/fine", data=b"applied first"), E("../../escape", data=b"x")])
    with pytest.raises(InvalidArgument, match=re.escape('layer entry "../../escape": path escapes the root')):
        apply_to_snapshot(sn, "extract-evil", parent, io.BytesIO(evil))
    assert [i.name for i in sn.walk()] == [parent]
    with viewed(sn, parent, tmp_path) as root:
        assert not (root / "etc/fine").exists()


def test_diff_id_mismatch_removes_the_snapshot(sn: LocalSnapshotter) -> None:
    with pytest.raises(InvalidArgument, match="diffID mismatch"):
        apply_to_snapshot(sn, "extract-x", "", io.BytesIO(build(BASE)), expected_diff_id=sha256(b"other"))
    assert list(sn.walk()) == []


def test_truncated_download_removes_the_snapshot(sn: LocalSnapshotter) -> None:
    blob = gz(build(BASE))
    with pytest.raises(InvalidArgument, match=r"gzip|unexpected end"):
        apply_to_snapshot(sn, "extract-t", "", io.BytesIO(blob[: len(blob) // 2]))
    assert list(sn.walk()) == []


def test_container_changes_diff_and_reapply(sn: LocalSnapshotter, tmp_path: Path) -> None:
    """A container's changes (overlay: its upper dir; native: a tree comparison) as a layer
    that, unpacked on the same parent, shows the same tree."""
    (parent,) = unpack_image(sn, [build(BASE)])
    sn.prepare("container", parent)
    with mnt.mounted(sn.mounts("container"), parent_dir=str(tmp_path)) as path:
        root = Path(path)
        (root / "etc/old").unlink()
        (root / "etc/passwd").write_text("changed")
        shutil.rmtree(root / "usr/lib/sub")
        (root / "usr/lib/a").unlink()
        (root / "usr/lib/fresh").write_text("fresh")
        (root / "srv").mkdir()
        (root / "srv/data").write_text("data")
        expected = view(root)
    out = io.BytesIO()
    if isinstance(sn, OverlaySnapshotter):
        with viewed(sn, parent, tmp_path) as lower:
            result = write_diff(lower, sn.upper_dir("container"), out, overlay_upper=True, compression="gzip")
    else:
        with viewed(sn, parent, tmp_path) as lower:
            (m,) = sn.mounts("container")
            result = write_diff(lower, m.source, out, compression="gzip")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        names = tf.getnames()
    assert "etc/.wh.old" in names and "srv/data" in names
    again = apply_to_snapshot(sn, "extract-diff", parent, io.BytesIO(out.getvalue()))
    assert again.diff_id == result.diff_id
    with viewed(sn, again.name, tmp_path) as root:
        assert view(root) == expected
    sn.remove("container")


def test_export_of_a_mounted_snapshot(sn: LocalSnapshotter, tmp_path: Path) -> None:
    names = unpack_image(sn, [build(BASE), build(TOP)])
    out = io.BytesIO()
    with viewed(sn, names[-1], tmp_path) as root:
        result = export_tree(root, out)
        expected = view(root)
    tar = out.getvalue()
    assert result.diff_id == sha256(tar)
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        assert not any(".wh." in n for n in tf.getnames())
    flat = tmp_path / "flat"
    flat.mkdir()
    apply_bytes(tar, flat)
    assert view(flat) == expected
