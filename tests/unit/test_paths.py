"""resolve_in_root: symlinks are followed as the container sees them, never out of root."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.paths import is_within, resolve_in_root


@pytest.fixture
def root(tmp_path: Path) -> str:
    r = tmp_path / "rootfs"
    for d in ("etc", "usr/lib", "proc", "dev", "var/run"):
        (r / d).mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\n")
    os.symlink("/etc", r / "abs")
    os.symlink("../../../../../../etc", r / "dotdot")
    os.symlink("/", r / "slash")
    os.symlink("lib", r / "usr/lib64")
    os.symlink("../proc", r / "usr/p")
    os.symlink("l2", r / "l1")
    os.symlink("l1", r / "l2")
    os.symlink("self", r / "self")
    os.symlink("/var/run", r / "run")
    os.symlink("../run", r / "var/lock")
    return str(r)


def test_plain_paths(root: str) -> None:
    assert resolve_in_root(root, "/etc/passwd") == root + "/etc/passwd"
    assert resolve_in_root(root, "etc//./passwd") == root + "/etc/passwd"
    assert resolve_in_root(root, "/") == root
    assert resolve_in_root(root, "") == root
    assert resolve_in_root(root + "/", "/etc") == root + "/etc"


def test_dotdot_never_climbs_above_root(root: str) -> None:
    assert resolve_in_root(root, "/../../../etc") == root + "/etc"
    assert resolve_in_root(root, "/etc/../../..") == root
    assert resolve_in_root(root, "../..") == root


def test_absolute_symlink_restarts_at_root(root: str) -> None:
    assert resolve_in_root(root, "/abs/passwd") == root + "/etc/passwd"
    assert resolve_in_root(root, "/slash/slash/slash/etc") == root + "/etc"
    assert resolve_in_root(root, "/slash/..") == root


def test_relative_symlink_escape_is_clamped(root: str) -> None:
    assert resolve_in_root(root, "/dotdot/passwd") == root + "/etc/passwd"
    assert resolve_in_root(root, "/usr/p/1") == root + "/proc/1"
    assert resolve_in_root(root, "/usr/lib64/x.so") == root + "/usr/lib/x.so"


def test_chained_symlinks(root: str) -> None:
    assert resolve_in_root(root, "/var/lock/x") == root + "/var/run/x"
    assert resolve_in_root(root, "/run/lock") == root + "/var/run/lock"


def test_final_symlink_is_followed(root: str) -> None:
    assert resolve_in_root(root, "/abs") == root + "/etc"
    assert resolve_in_root(root, "/usr/lib64") == root + "/usr/lib"


def test_missing_components_are_literal(root: str) -> None:
    assert resolve_in_root(root, "/new/dir/x") == root + "/new/dir/x"
    assert resolve_in_root(root, "/new/../etc") == root + "/etc"
    assert resolve_in_root(root, "/abs/new/../../x") == root + "/x"
    # a file in the middle: no escape, the caller's mkdir then fails with ENOTDIR
    assert resolve_in_root(root, "/etc/passwd/x") == root + "/etc/passwd/x"


def test_symlink_to_host_path_stays_inside(root: str, tmp_path: Path) -> None:
    host = tmp_path / "host-secret"
    host.mkdir()
    os.symlink(str(host), os.path.join(root, "evil"))
    assert resolve_in_root(root, "/evil/x") == root + str(host) + "/x"
    assert not os.path.exists(root + str(host))


@pytest.mark.parametrize("path", ["/l1", "/l2/x", "/self", "/abs/../l1/y"])
def test_loops_are_errors(root: str, path: str) -> None:
    with pytest.raises(InvalidArgument, match="too many levels of symbolic links"):
        resolve_in_root(root, path)


def test_nul_byte_is_refused(root: str) -> None:
    with pytest.raises(InvalidArgument, match="NUL"):
        resolve_in_root(root, "/etc\0/x")


def test_root_slash_resolves_like_the_kernel(tmp_path: Path) -> None:
    assert resolve_in_root("/", "/proc/self/../1/..") == "/proc"


def test_random_walks_never_escape(root: str) -> None:
    rng = random.Random(7)
    names = ["etc", "abs", "dotdot", "slash", "usr", "lib64", "p", "..", ".", "run", "var", "x"]
    for _ in range(2000):
        path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 8)))
        result = resolve_in_root(root, path)
        assert is_within(root, result), (path, result)
        real = os.path.realpath(result)
        # whatever exists of it is inside the root as the kernel sees it
        while not os.path.lexists(real):
            real = os.path.dirname(real)
        assert is_within(os.path.realpath(root), real), (path, result, real)


def test_is_within() -> None:
    assert is_within("/a/b", "/a/b")
    assert is_within("/a/b", "/a/b/c")
    assert not is_within("/a/b", "/a/bc")
    assert is_within("/", "/anything")
