"""Copy-up into a volume: contents, modes, times, symlinks, hard links, fifos, the target's own
owner and mode; owners (and device nodes) where the tests run as root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.engine.volume_copy import copy_tree, is_empty

ROOT = os.geteuid() == 0
TIME = 1_600_000_000_123_456_789


def make_source(src: Path) -> None:
    (src / "dir" / "deep").mkdir(parents=True)
    (src / "dir" / "deep" / "f").write_bytes(b"x" * 5000)
    (src / "file").write_text("hello\n")
    os.chmod(src / "file", 0o4751)
    os.symlink("file", src / "link")
    os.symlink("/etc/passwd", src / "abs-link")  # copied as a link, never followed
    os.link(src / "file", src / "hard")
    os.mkfifo(src / "fifo", 0o640)
    os.chmod(src / "dir", 0o1750)
    if ROOT:
        os.chown(src / "dir" / "deep" / "f", 65534, 65534)
        os.lchown(src / "link", 1, 2)
        os.chown(src, 65534, 65534)
        os.mknod(src / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    for path in (src / "file", src / "dir" / "deep", src / "dir"):
        os.utime(path, ns=(TIME, TIME))
    os.utime(src / "link", ns=(TIME, TIME), follow_symlinks=False)
    os.chmod(src, 0o750)
    os.utime(src, ns=(TIME, TIME))


def test_copy_tree(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    make_source(src)
    assert not is_empty(str(src)) and is_empty(str(dst)) and is_empty(str(tmp_path / "missing"))
    copied = copy_tree(str(src), str(dst))
    assert copied == 5000 + 6  # the hard link is linked, not copied again
    assert sorted(os.listdir(dst)) == sorted(os.listdir(src))
    assert (dst / "dir" / "deep" / "f").read_bytes() == b"x" * 5000
    assert stat.S_IMODE(os.stat(dst / "file").st_mode) == 0o4751
    assert stat.S_IMODE(os.stat(dst / "dir").st_mode) == 0o1750
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o750  # the target takes the source's mode
    assert os.readlink(dst / "link") == "file" and os.readlink(dst / "abs-link") == "/etc/passwd"
    assert os.stat(dst / "hard").st_ino == os.stat(dst / "file").st_ino
    assert stat.S_ISFIFO(os.lstat(dst / "fifo").st_mode)
    for rel in ("file", "dir", "dir/deep", ""):
        assert os.stat(dst / rel).st_mtime_ns == TIME, rel
    assert os.lstat(dst / "link").st_mtime_ns == TIME
    if ROOT:
        assert os.stat(dst / "dir" / "deep" / "f").st_uid == 65534
        assert (os.lstat(dst / "link").st_uid, os.lstat(dst / "link").st_gid) == (1, 2)
        assert os.stat(dst).st_uid == 65534
        assert os.stat(dst / "null").st_rdev == os.makedev(1, 3)


@pytest.mark.skipif(not ROOT, reason="chown needs root")
def test_setuid_survives_the_owner_change(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "suid").write_text("")
    os.chown(src / "suid", 1000, 1000)
    os.chmod(src / "suid", 0o6755)
    copy_tree(str(src), str(dst))
    st = os.stat(dst / "suid")
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (1000, 0o6755)
