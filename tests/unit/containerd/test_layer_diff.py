"""write_diff: diff then apply onto the lower reproduces the upper; bytes are deterministic."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard
from tests.support.layer_tars import apply_bytes, sha256, view

from dockyard.containerd.archive.diff import write_diff
from dockyard.containerd.archive.layers import chain_id, chain_ids, child_chain_id, diff_id_of, digest_of
from dockyard.containerd.unpack import export_tree
from dockyard.errors import InvalidArgument, NotFound

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root (chown, mknod, trusted.* xattrs)")


def make_lower(path: Path) -> None:
    (path / "etc/conf.d").mkdir(parents=True)
    (path / "etc/passwd").write_text("root:x:0:0\n")
    (path / "etc/conf.d/a.conf").write_text("a")
    (path / "etc/gone").write_text("gone")
    (path / "usr/lib/pkg/deep").mkdir(parents=True)
    (path / "usr/lib/pkg/deep/file").write_bytes(b"deep")
    (path / "usr/lib/keep").write_bytes(b"keep")
    (path / "usr/share").mkdir()
    (path / "usr/share/same").write_bytes(b"same")
    (path / "opt").mkdir()
    (path / "opt/x").write_bytes(b"x")
    os.symlink("usr/lib", path / "lib")
    os.link(path / "usr/lib/keep", path / "usr/lib/keep-link")


def cp_a(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def change(upper: Path) -> None:
    (upper / "etc/gone").unlink()
    shutil.rmtree(upper / "usr/lib/pkg")
    (upper / "etc/passwd").write_text("root:x:0:0\nuser:x:1000:1000\n")
    (upper / "etc/new").write_text("new")
    os.chmod(upper / "etc/conf.d/a.conf", 0o600)
    (upper / "srv/www").mkdir(parents=True)
    (upper / "srv/www/index.html").write_text("<html>")
    os.link(upper / "srv/www/index.html", upper / "srv/www/index.htm")
    os.link(upper / "usr/lib/keep", upper / "usr/lib/keep-third")
    os.remove(upper / "lib")
    os.symlink("/usr/lib", upper / "lib")
    shutil.rmtree(upper / "opt")
    (upper / "opt").write_text("a file where a dir was")
    os.mkfifo(upper / "srv/fifo")
    os.chmod(upper / "srv", 0o1777)


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    lower = tmp_path / "lower"
    lower.mkdir()
    make_lower(lower)
    upper = tmp_path / "upper"
    cp_a(lower, upper)
    change(upper)
    return lower, upper


def entries(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        return tf.getnames()


def test_diff_then_apply_onto_the_lower_gives_the_upper(tmp_path: Path, trees: tuple[Path, Path]) -> None:
    lower, upper = trees
    out = io.BytesIO()
    result = write_diff(lower, upper, out)
    tar = out.getvalue()
    assert result.diff_id == sha256(tar) == result.digest
    assert result.size == result.compressed_size == len(tar)
    target = tmp_path / "target"
    cp_a(lower, target)
    applied = apply_bytes(tar, target)
    assert applied.diff_id == result.diff_id
    assert view(target) == view(upper)


def test_what_the_layer_holds(trees: tuple[Path, Path]) -> None:
    lower, upper = trees
    out = io.BytesIO()
    write_diff(lower, upper, out)
    names = entries(out.getvalue())
    assert "etc/.wh.gone" in names
    assert "usr/lib/.wh.pkg" in names
    assert not any(n.startswith("usr/lib/pkg/") for n in names)  # one whiteout for a whole dir
    assert "usr/share/same" not in names and "usr/share" not in names  # unchanged
    assert "etc/passwd" in names and "etc/new" in names and "etc/conf.d/a.conf" in names
    assert "etc" in names  # the parent of changed entries comes first
    assert names.index("etc") < names.index("etc/.wh.gone") < names.index("etc/conf.d")
    # whiteouts first in their directory, then the entries in byte order
    assert names.index("usr/lib/.wh.pkg") < names.index("usr/lib/keep")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert members["srv/www/index.htm"].islnk() or members["srv/www/index.html"].islnk()
    assert members["opt"].isfile()
    assert members["etc/.wh.gone"].mtime == 0 and members["etc/.wh.gone"].size == 0
    # the unchanged first link of a newly linked inode is written as a link after it
    assert members["usr/lib/keep"].islnk() or members["usr/lib/keep-third"].islnk()
    assert members["srv"].mode == 0o1777
    assert all(m.uname == "" and m.gname == "" for m in members.values())


def test_bytes_are_deterministic(trees: tuple[Path, Path]) -> None:
    lower, upper = trees
    for codec in ("none", "gzip", "zstd"):
        first, second = io.BytesIO(), io.BytesIO()
        r1 = write_diff(lower, upper, first, compression=codec)
        r2 = write_diff(lower, upper, second, compression=codec)
        assert first.getvalue() == second.getvalue()
        assert r1 == r2


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_compressed_output(tmp_path: Path, trees: tuple[Path, Path], codec: str) -> None:
    lower, upper = trees
    plain, packed = io.BytesIO(), io.BytesIO()
    r_plain = write_diff(lower, upper, plain)
    r = write_diff(lower, upper, packed, compression=codec, level=1)
    blob = packed.getvalue()
    assert r.compression == codec
    assert r.diff_id == r_plain.diff_id
    assert r.digest == sha256(blob) and r.compressed_size == len(blob)
    unpacked = zstandard.ZstdDecompressor().decompressobj().decompress(blob) if codec == "zstd" else None
    if unpacked is not None:
        assert unpacked == plain.getvalue()
    assert diff_id_of(io.BytesIO(blob)) == (r.diff_id, r.size)
    assert digest_of(io.BytesIO(blob)) == (r.digest, len(blob))


def test_full_export_and_reimport(tmp_path: Path, trees: tuple[Path, Path]) -> None:
    _, upper = trees
    out = io.BytesIO()
    result = export_tree(upper, out)
    names = entries(out.getvalue())
    assert not any(".wh." in n for n in names)
    assert result.diff_id == sha256(out.getvalue())
    again = tmp_path / "again"
    again.mkdir()
    apply_bytes(out.getvalue(), again)
    assert view(again) == view(upper)


def test_same_second_same_size_is_compared_by_content(tmp_path: Path) -> None:
    lower, upper = tmp_path / "l", tmp_path / "u"
    lower.mkdir()
    upper.mkdir()
    (lower / "f").write_bytes(b"aaaa")
    (upper / "f").write_bytes(b"bbbb")
    (lower / "g").write_bytes(b"same")
    (upper / "g").write_bytes(b"same")
    for p in (lower / "f", upper / "f", lower / "g", upper / "g"):
        os.utime(p, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))  # whole seconds, as from a tar
    out = io.BytesIO()
    write_diff(lower, upper, out)
    assert entries(out.getvalue()) == ["f"]


def test_long_names_big_ids_and_xattrs_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    deep = src / ("d" * 120) / ("é" * 60)
    deep.mkdir(parents=True)
    (deep / ("f" * 200)).write_bytes(b"long")
    os.symlink("t" * 250, src / "long-link")
    try:
        os.setxattr(deep / ("f" * 200), "user.binary", b"\xff\x00\x01")
        xattrs = True
    except OSError:
        xattrs = False
    if ROOT:
        os.chown(deep / ("f" * 200), 3_000_000, 4_000_000)
    out = io.BytesIO()
    write_diff(None, src, out)
    dst = tmp_path / "dst"
    dst.mkdir()
    apply_bytes(out.getvalue(), dst)
    assert view(dst) == view(src)
    if xattrs:
        assert os.getxattr(dst / ("d" * 120) / ("é" * 60) / ("f" * 200), "user.binary") == b"\xff\x00\x01"


@needs_root
def test_overlay_upper_dir(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    make_lower(lower)
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    shutil.copystat(lower / "etc", upper / "etc")
    os.mknod(upper / "etc/gone", stat.S_IFCHR, 0)  # an overlay whiteout
    (upper / "etc/passwd").write_text("changed")
    (upper / "usr/lib").mkdir(parents=True)
    os.setxattr(upper / "usr/lib", "trusted.overlay.opaque", b"y")
    (upper / "usr/lib/only").write_text("only")
    (upper / "dev").mkdir()
    os.mknod(upper / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a real device stays one
    out = io.BytesIO()
    write_diff(lower, upper, out, overlay_upper=True)
    tar = out.getvalue()
    names = entries(tar)
    assert "etc/.wh.gone" in names and "etc/gone" not in names
    assert names.index("usr/lib") < names.index("usr/lib/.wh..wh..opq") < names.index("usr/lib/only")
    assert "dev/null" in names
    assert names.index("etc") < names.index("etc/.wh.gone")  # parents before their changes
    target = tmp_path / "target"
    cp_a(lower, target)
    apply_bytes(tar, target)
    assert not (target / "etc/gone").exists()
    assert (target / "etc/passwd").read_text() == "changed"
    assert os.listdir(target / "usr/lib") == ["only"]
    assert stat.S_ISCHR((target / "dev/null").lstat().st_mode)


@needs_root
def test_overlay_redirects_are_refused(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "moved").mkdir(parents=True)
    os.setxattr(upper / "moved", "trusted.overlay.redirect", b"/orig")
    with pytest.raises(Exception, match="redirect"):
        write_diff(None, upper, io.BytesIO(), overlay_upper=True)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        write_diff(None, tmp_path / "missing", io.BytesIO())
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument):
        write_diff(None, tmp_path / "file", io.BytesIO())
    with pytest.raises(InvalidArgument):
        write_diff(None, tmp_path, io.BytesIO(), compression="auto")


def test_chain_ids() -> None:
    a = sha256(b"a")
    b = sha256(b"b")
    c = sha256(b"c")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert chain_id([a]) == a
    assert chain_ids([a, b, c]) == [a, ab, abc]
    assert chain_id([a, b, c]) == abc
    assert child_chain_id("", a) == a
    assert child_chain_id(ab, c) == abc
    with pytest.raises(InvalidArgument):
        chain_id([])
    with pytest.raises(InvalidArgument):
        chain_id(["sha256:nothex"])
    with pytest.raises(InvalidArgument):
        child_chain_id("not-a-digest", a)

