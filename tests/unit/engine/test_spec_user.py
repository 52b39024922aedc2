"""Config.User and HostConfig.GroupAdd against a fake /etc/passwd and /etc/group."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.unit.engine.spec_fakes import GROUP, PASSWD, spec_for

from dockyard.engine.spec_user import parse_group, parse_passwd, resolve_user, rootfs_reader
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("user", "uid", "gid", "groups"), [
    ("", 0, 0, [0, 10]),  # root, with wheel
    ("root", 0, 0, [0, 10]),
    ("0", 0, 0, [0, 10]),
    ("alice", 1000, 1000, [1000, 10, 50]),
    ("1000", 1000, 1000, [1000, 10, 50]),
    ("bob", 1001, 1001, [1001, 50, 29]),
    ("alice:staff", 1000, 50, [50]),  # an explicit group: no supplementary groups
    ("alice:29", 1000, 29, [29]),
    ("alice:4242", 1000, 4242, [4242]),  # a gid need not exist
    ("4242", 4242, 0, [0]),  # a uid need not exist
    ("4242:4343", 4242, 4343, [4343]),
    ("nobody", 65534, 65534, [65534]),
    ("daemon:", 1, 1, [1]),
])
def test_resolve_user(user: str, uid: int, gid: int, groups: list[int]) -> None:
    resolved = resolve_user(user, PASSWD, GROUP)
    assert (resolved.uid, resolved.gid, list(resolved.additional_gids)) == (uid, gid, groups)


def test_home() -> None:
    assert resolve_user("alice", PASSWD, GROUP).home == "/home/alice"
    assert resolve_user("4242", PASSWD, GROUP).home == "/"


@pytest.mark.parametrize(("user", "message"), [
    ("carol", "unable to find user carol: no matching entries in passwd file"),
    ("alice:nogroupnamed", "unable to find group nogroupnamed: no matching entries in group file"),
    ("-1", "uids and gids must be in range 0-2147483647"),
    ("1:2147483648", "uids and gids must be in range"),
])
def test_resolve_user_errors(user: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^Config.User: {message}"):
        resolve_user(user, PASSWD, GROUP)


def test_without_files() -> None:
    assert resolve_user("", None, None).additional_gids == (0,)
    assert resolve_user("1000:1000", None, None).uid == 1000
    with pytest.raises(InvalidArgument, match="no matching entries in passwd file"):
        resolve_user("alice", None, None)
    with pytest.raises(InvalidArgument, match="no matching entries in group file"):
        resolve_user("1000:staff", None, None)


def test_group_add() -> None:
    resolved = resolve_user("alice", PASSWD, GROUP, ["audio", "4000", "50", "audio"])
    assert list(resolved.additional_gids) == [1000, 10, 50, 29, 4000, 50]
    with pytest.raises(InvalidArgument, match=r"HostConfig.GroupAdd: Unable to find group video"):
        resolve_user("alice", PASSWD, GROUP, ["video"])


def test_first_entry_wins_and_odd_lines() -> None:
    passwd = "dup:x:5:5::/a:/bin/sh\ndup:x:6:6::/b:/bin/sh\nshort:x:7\n\n"
    assert resolve_user("dup", passwd, "").uid == 5
    assert (resolve_user("short", passwd, "").uid, resolve_user("short", passwd, "").gid) == (7, 0)
    assert [e.name for e in parse_passwd(PASSWD)] == ["root", "daemon", "alice", "bob", "nobody"]
    assert parse_group(GROUP)[1].members == ("root", "alice")


def test_build_spec_user_and_group_add() -> None:
    spec = spec_for({"User": "bob"}, {"GroupAdd": ["wheel"]})
    assert spec["process"]["user"] == {"uid": 1001, "gid": 1001, "additionalGids": [1001, 50, 29, 10]}
    image_user = spec_for({}, {}, {"Cmd": ["sh"], "User": "alice"})
    assert image_user["process"]["user"]["uid"] == 1000
    config_wins = spec_for({"User": "bob"}, {}, {"Cmd": ["sh"], "User": "alice"})
    assert config_wins["process"]["user"]["uid"] == 1001


def test_rootfs_reader_keeps_symlinks_inside(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.write_text("evil:x:0:0::/:/bin/sh\n")
    (root / "real").write_text(PASSWD)
    os.symlink("/real", root / "etc" / "passwd")  # absolute: inside the rootfs
    os.symlink("../../../secret", root / "etc" / "group")  # climbs no higher than /
    read = rootfs_reader(str(root))
    assert read("/etc/passwd") == PASSWD
    assert read("/etc/group") is None
    assert read("/etc/missing") is None
    spec = spec_for({"User": "alice"}, container_files=str(root))
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000]}


def test_rootfs_path_used_when_absolute(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("app:x:500:500::/app:/bin/sh\n")
    spec = spec_for({"User": "app"}, container_files=None, rootfs=str(tmp_path))
    assert spec["process"]["user"]["uid"] == 500
    with pytest.raises(InvalidArgument, match="unable to find user app"):
        spec_for({"User": "app"}, container_files=None, rootfs="rootfs")
