"""The engine's side of a build context: tar extraction (hostile ones too), the Dockerfile.

Hostile tars are extracted in a forked child chrooted into the test's temp dir
(``tests.support.layer_tars.jailed``): a symlink to ``/etc`` then means ``<tmp>/etc``, where
bait files sit, so a broken extractor could only ever touch the jail.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
from pathlib import Path

import pytest
from tests.support.layer_tars import E, build, jailed, state

from dockyard.engine.build.context import (
    ExtractResult,
    context_path,
    extract_context,
    find_dockerfile,
    read_dockerfile,
    remove_build_files,
)
from dockyard.errors import DockyardError, InvalidArgument, NotFound


def _extract(data: bytes, dest: Path) -> ExtractResult:
    return extract_context(io.BytesIO(data), str(dest))


SAMPLE = [
    E("Dockerfile", data=b"FROM scratch\n", mode=0o644),
    E("src", "dir", mode=0o755),
    E("src/app.py", data=b"print(1)\n", mode=0o755),
    E("src/link", "symlink", link="/etc/passwd"),
    E("src/hard", "hardlink", link="src/app.py"),
    E("ro", "dir", mode=0o555),
    E("ro/inside", data=b"x", mode=0o400),
    E("implicit/parent/file", data=b"y"),
]


@pytest.mark.parametrize("compress", [
    lambda d: d, gzip.compress, bz2.compress, lzma.compress,
], ids=["plain", "gzip", "bzip2", "xz"])
def test_extract_formats(tmp_path: Path, compress: object) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    result = _extract(compress(build(SAMPLE)), dest)  # type: ignore[operator]
    assert result.entries == len(SAMPLE)
    assert (dest / "Dockerfile").read_bytes() == b"FROM scratch\n"
    assert stat.S_IMODE((dest / "src/app.py").stat().st_mode) == 0o755
    assert os.readlink(dest / "src/link") == "/etc/passwd"
    assert (dest / "src/hard").stat().st_ino == (dest / "src/app.py").stat().st_ino
    assert stat.S_IMODE((dest / "ro").stat().st_mode) == 0o555
    assert (dest / "ro/inside").read_bytes() == b"x"
    assert (dest / "implicit/parent/file").read_bytes() == b"y"
    assert (dest / "Dockerfile").stat().st_mtime == 1_600_000_000


def test_ownership_ignored(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    _extract(build([E("f", uid=1234, gid=4321, data=b"z")]), dest)
    st = (dest / "f").stat()
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())


def test_devices_and_fifos_skipped(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    result = _extract(build([E("null", "char", major=1, minor=3), E("fifo", "fifo"), E("ok", data=b"1")]), dest)
    assert result.skipped == 2 and result.entries == 1
    assert sorted(os.listdir(dest)) == ["ok"]


def test_later_entry_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    _extract(build([E("a", data=b"1"), E("a", "dir"), E("a/x", data=b"2"), E("b", "dir"), E("b", data=b"3")]), dest)
    assert (dest / "a/x").read_bytes() == b"2"
    assert (dest / "b").read_bytes() == b"3"


def test_not_a_tar(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="build context: not a valid tar archive"):
        _extract(b"this is not a tar archive at all" * 40, tmp_path)
    with pytest.raises(InvalidArgument, match="build context: not a valid tar archive"):
        _extract(gzip.compress(b"x" * 1000)[:50], tmp_path)


# -- hostile tars, extracted in a jail -------------------------------------------------------


@pytest.fixture
def jail(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (tmp_path / "bait").write_text("bait\n")
    (tmp_path / "ctx").mkdir()
    return tmp_path


def _hostile(jail: Path, entries: list[E]) -> DockyardError | ExtractResult:
    before = state(jail, jail / "ctx")
    data = build(entries)

    def run() -> DockyardError | ExtractResult:
        try:
            return extract_context(io.BytesIO(data), "/ctx")
        except DockyardError as exc:
            return exc

    outcome: DockyardError | ExtractResult = jailed(jail, run)
    assert state(jail, jail / "ctx") == before, "something outside the context changed"
    return outcome


@pytest.mark.parametrize(("entries", "named", "problem"), [
    ([E("/etc/passwd", data=b"pwned")], "/etc/passwd", "absolute path"),
    ([E("../bait", data=b"pwned")], "../bait", "'..'"),
    ([E("a/../../bait", data=b"pwned")], "a/../../bait", "'..'"),
    ([E("evil", "symlink", link="/etc"), E("evil/passwd", data=b"pwned")], "evil/passwd", "not a directory"),
    ([E("up", "symlink", link="../.."), E("up/bait", data=b"pwned")], "up/bait", "not a directory"),
    ([E("evil", "symlink", link="/etc"), E("evil/sub", "dir")], "evil/sub", "not a directory"),
    ([E("h", "hardlink", link="/etc/passwd")], "/etc/passwd", "absolute path"),
    ([E("h", "hardlink", link="../bait")], "../bait", "'..'"),
    ([E("evil", "symlink", link="/etc"), E("h", "hardlink", link="evil/passwd")], "h", "not a directory"),
    ([E("s", "symlink", link="/etc/passwd"), E("h", "hardlink", link="s")], "h", "not a regular file"),
    ([E("h", "hardlink", link="missing")], "h", "does not exist"),
    ([E("d", "dir"), E("h", "hardlink", link="d")], "h", "not a regular file"),
])
def test_hostile_entries_refused(jail: Path, entries: list[E], named: str, problem: str) -> None:
    outcome = _hostile(jail, entries)
    assert isinstance(outcome, InvalidArgument), outcome
    assert repr(named) in str(outcome) and problem in str(outcome)
    assert "\n" not in str(outcome)


def test_symlink_then_file_replaces_the_link(jail: Path) -> None:
    outcome = _hostile(jail, [E("x", "symlink", link="/etc/passwd"), E("x", data=b"mine")])
    assert isinstance(outcome, ExtractResult)
    assert (jail / "ctx/x").read_bytes() == b"mine"


def test_symlink_then_dir_replaces_the_link(jail: Path) -> None:
    outcome = _hostile(jail, [E("etc", "symlink", link="/etc"), E("etc", "dir"), E("etc/passwd", data=b"mine")])
    assert isinstance(outcome, ExtractResult)
    assert (jail / "ctx/etc/passwd").read_bytes() == b"mine"


def test_symlinks_may_point_anywhere(jail: Path) -> None:
    outcome = _hostile(jail, [E("abs", "symlink", link="/etc/passwd"), E("rel", "symlink", link="../../bait")])
    assert isinstance(outcome, ExtractResult) and outcome.entries == 2
    assert os.readlink(jail / "ctx/abs") == "/etc/passwd"


# -- the Dockerfile ---------------------------------------------------------------------------


def test_find_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/Dockerfile.dev").write_text("FROM b\n")
    assert find_dockerfile(str(tmp_path)) == ("Dockerfile", str(tmp_path / "Dockerfile"))
    assert read_dockerfile(str(tmp_path), "sub/Dockerfile.dev") == ("sub/Dockerfile.dev", b"FROM b\n")


def test_lowercase_fallback_only_for_the_default(tmp_path: Path) -> None:
    (tmp_path / "dockerfile").write_text("FROM a\n")
    assert find_dockerfile(str(tmp_path))[0] == "dockerfile"
    (tmp_path / "custom").write_text("FROM a\n")
    with pytest.raises(NotFound, match=r"^Cannot locate specified Dockerfile: Custom$"):
        find_dockerfile(str(tmp_path), "Custom")


def test_missing_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"^Cannot locate specified Dockerfile: Dockerfile$"):
        find_dockerfile(str(tmp_path))
    (tmp_path / "Dockerfile").mkdir()
    with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: Dockerfile"):
        find_dockerfile(str(tmp_path))


def test_dockerfile_symlink_followed_in_scope(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (tmp_path / "outside").write_text("FROM host\n")
    (ctx / "real").write_text("FROM inside\n")
    (ctx / "Dockerfile").symlink_to("/real")
    assert read_dockerfile(str(ctx)) == ("Dockerfile", b"FROM inside\n")
    (ctx / "escape").symlink_to("../outside")
    with pytest.raises(NotFound):
        find_dockerfile(str(ctx), "escape")
    with pytest.raises(InvalidArgument, match=r"^forbidden path outside the build context: \.\./outside \(\)$"):
        context_path(str(ctx), "../outside")


def test_remove_build_files(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    assert remove_build_files(str(tmp_path), "Dockerfile") == [".dockerignore", "Dockerfile"]
    assert os.listdir(tmp_path) == []


def test_remove_build_files_keeps_what_is_not_excluded(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    (tmp_path / ".dockerignore").write_text("*.log\n")
    assert remove_build_files(str(tmp_path), "Dockerfile") == []
    assert sorted(os.listdir(tmp_path)) == [".dockerignore", "Dockerfile"]
    (tmp_path / ".dockerignore").unlink()
    assert remove_build_files(str(tmp_path), "Dockerfile") == []
