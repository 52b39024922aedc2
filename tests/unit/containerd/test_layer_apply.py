"""apply_layer: entry types, attributes, whiteouts, opaque dirs, replacements, compressions."""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from pathlib import Path

import pytest
from tests.support.layer_tars import E, apply_bytes, build, gz, jailed, sha256, view, zst

from dockyard.containerd.archive.apply import apply_layer
from dockyard.errors import InvalidArgument, NotFound, NotImplementedYet

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root (chown, mknod, trusted.* xattrs)")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


def lower(root: Path) -> None:
    """A lower layer in place: files, a directory tree, a symlink."""
    apply_bytes(
        build(
            [
                E("etc", "dir"),
                E("etc/passwd", data=b"root:x:0:0\n"),
                E("etc/old", data=b"old"),
                E("usr", "dir"),
                E("usr/lib", "dir"),
                E("usr/lib/libc.so", data=b"libc"),
                E("usr/lib/sub", "dir"),
                E("usr/lib/sub/deep", data=b"deep"),
                E("var", "dir"),
                E("var/run", "symlink", link="/run"),
                E("bin", "symlink", link="usr/bin"),
            ]
        ),
        root,
    )


def test_every_regular_kind_and_attribute(root: Path) -> None:
    data = build(
        [
            E("./", "dir", mode=0o700),  # the root entry: ignored, as containerd
            E("d", "dir", mode=0o1777, mtime=1_000_000_000),
            E("d/file", data=b"hello", mode=0o4755, mtime=1_500_000_000),
            E("d/empty", mode=0o600),
            E("d/setgid", data=b"x", mode=0o2711),
            E("d/link", "symlink", link="file"),
            E("d/dangling", "symlink", link="/nowhere/at/all"),
            E("d/hard", "hardlink", link="d/file", mode=0o4755, mtime=1_500_000_000),
            E("d/pipe", "fifo", mode=0o640),
        ]
    )
    result = apply_bytes(data, root)
    assert result.diff_id == sha256(data)
    assert result.size == len(data)
    assert result.compression == "none"
    d = root / "d"
    assert stat.S_IMODE(d.lstat().st_mode) == 0o1777
    assert d.lstat().st_mtime == 1_000_000_000  # fixed after its content was written
    f = d / "file"
    assert f.read_bytes() == b"hello"
    assert stat.S_IMODE(f.lstat().st_mode) == 0o4755
    assert f.lstat().st_mtime == 1_500_000_000
    assert stat.S_IMODE((d / "setgid").lstat().st_mode) == 0o2711
    assert (d / "empty").read_bytes() == b""
    assert os.readlink(d / "link") == "file"
    assert os.readlink(d / "dangling") == "/nowhere/at/all"
    assert (d / "hard").lstat().st_ino == f.lstat().st_ino
    assert stat.S_ISFIFO((d / "pipe").lstat().st_mode)
    assert stat.S_IMODE((d / "pipe").lstat().st_mode) == 0o640
    assert stat.S_IMODE(root.lstat().st_mode) != 0o700


def test_implicit_parents_are_created(root: Path) -> None:
    apply_bytes(build([E("a/b/c/file", data=b"x")]), root)
    assert (root / "a/b/c/file").read_bytes() == b"x"
    assert stat.S_IMODE((root / "a/b").lstat().st_mode) == 0o755


@needs_root
def test_owners_devices_and_big_ids(root: Path) -> None:
    data = build(
        [
            E("f", data=b"x", uid=1000, gid=2000, mode=0o4750),
            E("big", data=b"y", uid=3_000_000, gid=4_000_000),  # past ustar's 7 octal digits: PAX
            E("null", "char", major=1, minor=3, mode=0o666, uid=5, gid=6),
            E("loop", "block", major=7, minor=0, mode=0o660),
            E("sl", "symlink", link="f", uid=7, gid=8),
        ]
    )
    apply_bytes(data, root)
    st = (root / "f").lstat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 2000, 0o4750)  # setuid kept after chown
    st = (root / "big").lstat()
    assert (st.st_uid, st.st_gid) == (3_000_000, 4_000_000)
    st = (root / "null").lstat()
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (5, 6, 0o666)
    assert stat.S_ISBLK((root / "loop").lstat().st_mode)
    assert (root / "sl").lstat().st_uid == 7


def test_gnu_format_long_names_and_base256_numbers(root: Path) -> None:
    long_dir = "/".join(["d" * 60] * 5)
    entries = [E(long_dir, "dir"), E(long_dir + "/" + "f" * 200, data=b"long", uid=0, gid=0)]
    entries.append(E("ln", "symlink", link="x" * 300))
    data = build(entries, fmt=tarfile.GNU_FORMAT)
    apply_bytes(data, root, same_owner=False)
    assert (root / long_dir / ("f" * 200)).read_bytes() == b"long"
    assert os.readlink(root / "ln") == "x" * 300


def test_pax_long_names_non_ascii_and_fractional_mtime(root: Path) -> None:
    name = "dir/" + "é" * 100 + "/naïve-" + "n" * 150
    data = build([E(name, data=b"pax", pax={"mtime": "1600000000.75"})])
    apply_bytes(data, root)
    path = root / name
    assert path.read_bytes() == b"pax"
    assert path.lstat().st_mtime_ns == 1_600_000_000_750_000_000


def test_non_utf8_names_keep_their_bytes(root: Path) -> None:
    raw = b"caf\xe9"  # latin-1, not UTF-8
    name = raw.decode("utf-8", "surrogateescape")
    apply_bytes(build([E(name, data=b"x")], fmt=tarfile.GNU_FORMAT), root)
    assert os.listdir(os.fsencode(root)) == [raw]


def test_user_xattrs_are_set_and_trusted_ones_ignored(root: Path) -> None:
    probe = root / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
    except OSError:
        pytest.skip("this file system has no user xattrs")
    probe.unlink()
    pax = {"SCHILY.xattr.user.mime": "text/plain", "SCHILY.xattr.trusted.overlay.opaque": "y"}
    apply_bytes(build([E("d", "dir", pax=pax), E("d/f", data=b"x", pax=pax)]), root)
    for p in (root / "d", root / "d/f"):
        assert os.getxattr(p, "user.mime") == b"text/plain"
        assert "trusted.overlay.opaque" not in os.listxattr(p)


@needs_root
def test_security_capability_survives_the_chown(root: Path) -> None:
    # a v2 capability blob: cap_net_bind_service (bit 10) permitted + effective
    cap = bytes([0, 0, 0, 2, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    # tarfile writes str PAX values as UTF-8: pass the raw bytes through surrogates
    pax = {"SCHILY.xattr.security.capability": cap.decode("utf-8", "surrogateescape")}
    apply_bytes(build([E("ping", data=b"\x7fELF", mode=0o755, uid=0, pax=pax)]), root)
    assert os.getxattr(root / "ping", "security.capability") == cap


def test_whiteouts_delete_lower_entries(root: Path) -> None:
    lower(root)
    apply_bytes(build([E("etc/.wh.old"), E("usr/.wh.lib"), E(".wh.bin"), E(".wh.absent")]), root)
    assert not (root / "etc/old").exists()
    assert (root / "etc/passwd").exists()
    assert not (root / "usr/lib").exists()
    assert not os.path.lexists(root / "bin")  # the symlink itself, not its target


def test_whiteout_spares_entries_of_its_own_layer(root: Path) -> None:
    lower(root)
    apply_bytes(build([E("etc/new", data=b"n"), E("etc/.wh.new"), E("etc/.wh.old")]), root)
    assert (root / "etc/new").read_bytes() == b"n"
    assert not (root / "etc/old").exists()


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_directory_keeps_this_layers_entries(root: Path, marker_first: bool) -> None:
    lower(root)
    marker = [E("usr/lib/.wh..wh..opq")]
    own = [E("usr/lib", "dir"), E("usr/lib/sub", "dir"), E("usr/lib/sub/mine", data=b"m"), E("usr/lib/new", data=b"n")]
    apply_bytes(build(marker + own if marker_first else own + marker), root)
    assert sorted(os.listdir(root / "usr/lib")) == ["new", "sub"]
    assert os.listdir(root / "usr/lib/sub") == ["mine"]  # the lower "deep" is hidden too


def test_opaque_keeps_entries_under_implicit_parents(root: Path) -> None:
    lower(root)
    apply_bytes(build([E("usr/lib/sub/mine", data=b"m"), E("usr/lib/.wh..wh..opq")]), root)
    assert os.listdir(root / "usr/lib") == ["sub"]
    assert os.listdir(root / "usr/lib/sub") == ["mine"]


def test_aufs_metadata_whiteouts_are_ignored(root: Path) -> None:
    lower(root)
    apply_bytes(build([E(".wh..wh.plnk", "dir"), E(".wh..wh.aufs")]), root)
    assert (root / "etc/passwd").exists()
    assert not any(n.startswith(".wh.") for n in os.listdir(root))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (E("x", "dir"), E("x", data=b"file now")),
        (E("x", data=b"file"), E("x", "dir")),
        (E("x", data=b"file"), E("x", "symlink", link="target")),
        (E("x", "symlink", link="/"), E("x", "dir")),
        (E("x", "fifo"), E("x", data=b"file now")),
        (E("x", data=b"a"), E("x", "hardlink", link="other")),
    ],
    ids=["dir-to-file", "file-to-dir", "file-to-symlink", "symlink-to-dir", "fifo-to-file", "file-to-hardlink"],
)
def test_an_entry_replaces_another_type(root: Path, first: E, second: E) -> None:
    setup = [E("other", data=b"other")]
    if first.kind == "dir":
        setup.append(E("x/inside", data=b"gone with the dir"))
    apply_bytes(build([*setup[:1], first, *setup[1:]]), root)
    apply_bytes(build([second]), root)
    st = (root / "x").lstat()
    expected = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK, "hardlink": stat.S_ISREG}
    assert expected[second.kind](st.st_mode)
    if second.kind == "dir":
        assert os.listdir(root / "x") == []
    if second.kind == "hardlink":
        assert st.st_ino == (root / "other").lstat().st_ino


def test_directories_merge_and_take_the_entrys_attributes(root: Path) -> None:
    lower(root)
    apply_bytes(build([E("etc", "dir", mode=0o750, mtime=1_234_567_890), E("etc/new", data=b"n")]), root)
    assert sorted(os.listdir(root / "etc")) == ["new", "old", "passwd"]
    st = (root / "etc").lstat()
    assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_mtime == 1_234_567_890


def test_hardlink_to_a_lower_entry(root: Path) -> None:
    lower(root)
    apply_bytes(build([E("etc/passwd-", "hardlink", link="etc/passwd")]), root)
    assert (root / "etc/passwd-").lstat().st_ino == (root / "etc/passwd").lstat().st_ino


def test_hardlink_to_a_symlink_links_the_symlink(root: Path) -> None:
    apply_bytes(build([E("s", "symlink", link="/etc/shadow"), E("h", "hardlink", link="s")]), root)
    assert os.readlink(root / "h") == "/etc/shadow"
    assert (root / "h").lstat().st_ino == (root / "s").lstat().st_ino


def test_writes_go_through_symlinks_inside_the_root(root: Path) -> None:
    lower(root)  # var/run -> /run, bin -> usr/bin
    data = build([E("var/run/pid", data=b"1"), E("bin/sh", data=b"#!")])
    # jailed in the test's directory: a containment bug must not reach the host's /run
    jailed(root.parent, lambda: apply_bytes(data, "/root"))
    assert (root / "run/pid").read_bytes() == b"1"
    assert (root / "usr/bin/sh").read_bytes() == b"#!"
    assert os.path.islink(root / "var/run") and os.path.islink(root / "bin")


def _sample() -> bytes:
    return build([E("a", "dir"), E("a/big", data=os.urandom(3 << 20)), E("a/small", data=b"s" * 1000)])


@pytest.mark.parametrize("codec", ["none", "gzip", "zstd"])
def test_same_diff_id_whatever_the_compression(tmp_path: Path, codec: str) -> None:
    tar = _sample()
    blob = {"none": tar, "gzip": gz(tar), "zstd": zst(tar)}[codec]
    for i, option in enumerate(["auto", codec]):
        root = tmp_path / f"r{i}"
        root.mkdir()
        result = apply_bytes(blob, root, compression=option)
        assert result.diff_id == sha256(tar)
        assert result.size == len(tar)
        assert result.compression == codec
        assert (root / "a/small").read_bytes() == b"s" * 1000


def test_multi_member_gzip_and_trailing_data_count_for_the_diff_id(root: Path) -> None:
    tar = build([E("f", data=b"x" * 5000)]) + b"trailing bytes after the archive"
    half = len(tar) // 2
    blob = gzip.compress(tar[:half]) + gzip.compress(tar[half:]) + bytes(64)
    result = apply_bytes(blob, root)
    assert result.diff_id == sha256(tar)
    assert (root / "f").read_bytes() == b"x" * 5000


def test_global_pax_header_is_ignored(root: Path) -> None:
    tar = build([E("f", data=b"x")])
    glob = tarfile.TarInfo("pax_global_header")
    glob.type = tarfile.XGLTYPE
    records = b"52 comment=0123456789abcdef0123456789abcdef01234567\n"
    glob.size = len(records)
    header = glob.tobuf(tarfile.USTAR_FORMAT)
    data = header + records + bytes(-len(records) % 512) + tar
    apply_bytes(data, root)
    assert os.listdir(root) == ["f"]


def test_an_empty_stream_is_an_empty_layer(root: Path) -> None:
    result = apply_bytes(b"", root)
    assert result.size == 0 and os.listdir(root) == []


def test_bad_roots_and_options(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        apply_bytes(build([]), tmp_path / "missing")
    with pytest.raises(InvalidArgument, match="refusing to apply a layer into /"):
        apply_bytes(build([]), "/")
    with pytest.raises(InvalidArgument, match="unsupported layer compression"):
        apply_bytes(build([]), tmp_path, compression="lz4")
    with pytest.raises(NotImplementedYet, match="xz"):
        apply_bytes(b"\xfd7zXZ\x00" + bytes(100), tmp_path)
    with pytest.raises(NotImplementedYet, match="bzip2"):
        apply_bytes(b"BZh91AY&SY" + bytes(100), tmp_path)


@needs_root
def test_overlay_whiteouts_are_devices_and_xattrs(tmp_path: Path) -> None:
    lowerdir = tmp_path / "lower"
    upper = tmp_path / "upper"
    for d in (lowerdir, upper):
        d.mkdir()
    lower(lowerdir)
    os.chmod(lowerdir / "usr", 0o750)
    os.chown(lowerdir / "usr", 11, 12)
    data = build([E("etc/.wh.old", uid=3, gid=4), E("usr/lib/.wh..wh..opq"), E("usr/lib/new", data=b"n")])
    apply_bytes(data, upper, overlay_whiteouts=True, parents=[str(lowerdir)])
    wh = (upper / "etc/old").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0 and (wh.st_uid, wh.st_gid) == (3, 4)
    assert os.getxattr(upper / "usr/lib", "trusted.overlay.opaque") == b"y"
    assert (upper / "usr/lib/new").read_bytes() == b"n"
    usr = (upper / "usr").lstat()  # created implicitly: attributes copied from the lower dir
    assert (stat.S_IMODE(usr.st_mode), usr.st_uid, usr.st_gid) == (0o750, 11, 12)
    assert (lowerdir / "etc/old").exists()  # lower layers are never touched


def test_file_objects_with_short_reads(root: Path) -> None:
    tar = _sample()

    class Trickle:
        def __init__(self, data: bytes) -> None:
            self.data, self.pos = data, 0

        def read(self, n: int = -1) -> bytes:
            piece = self.data[self.pos : self.pos + min(n, 7777)]
            self.pos += len(piece)
            return piece

    result = apply_layer(Trickle(gz(tar)), root)
    assert result.diff_id == sha256(tar)
    assert view(root)["a/small"][5] is not None
