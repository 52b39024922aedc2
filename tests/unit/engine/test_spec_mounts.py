"""Binds, Mounts, Tmpfs, /dev/shm and the order of mounts."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.engine.spec_fakes import Recorder, make_host, spec_for

from dockyard.engine.spec_host import Host
from dockyard.engine.spec_mounts import merge_tmpfs_options, size_option
from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci import runtime_spec

DEFAULT_DESTS = ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
VOLUMES = "/var/lib/dockyard/volumes"


def mounts(hc: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    spec = spec_for({}, hc, **kwargs)
    assert runtime_spec.validate(spec) == []
    result: list[dict[str, Any]] = spec["mounts"]
    return result


def user_part(hc: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return [m for m in mounts(hc, **kwargs) if m["destination"] not in DEFAULT_DESTS]


def by_dest(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["destination"]: m for m in items}


# -- Binds --------------------------------------------------------------------------------


def test_binds() -> None:
    host = make_host()
    got = user_part({"Binds": ["/srv/data:/data", "/etc/app:/etc/app:ro", "/s:/shared:rshared,rw",
                               "/x:/x:Z,ro"]}, host=host)
    assert got == [
        {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rprivate"]},
        {"destination": "/shared", "type": "bind", "source": "/s", "options": ["rbind", "rshared"]},
        {"destination": "/x", "type": "bind", "source": "/x", "options": ["rbind", "ro", "rprivate"]},
        {"destination": "/etc/app", "type": "bind", "source": "/etc/app", "options": ["rbind", "ro", "rprivate"]},
    ]
    assert isinstance(host.prepare_bind, Recorder)
    assert host.prepare_bind.calls == [("/srv/data", True), ("/etc/app", True), ("/s", True), ("/x", True)]


def test_shared_and_slave_binds_set_rootfs_propagation() -> None:
    assert spec_for({}, {"Binds": ["/s:/s:shared"]})["linux"]["rootfsPropagation"] == "shared"
    assert spec_for({}, {"Binds": ["/s:/s:rslave"]})["linux"]["rootfsPropagation"] == "rslave"
    assert "rootfsPropagation" not in spec_for({}, {"Binds": ["/s:/s"]})["linux"]


def test_named_and_anonymous_volumes() -> None:
    got = by_dest(user_part({"Binds": ["cache:/cache:ro,nocopy", "/anon"]}))
    assert got["/cache"] == {"destination": "/cache", "type": "bind", "source": f"{VOLUMES}/cache/_data",
                             "options": ["rbind", "ro", "rprivate"]}
    assert got["/anon"]["source"] == f"{VOLUMES}/anon/_data"


def test_volumes_without_a_volume_service() -> None:
    with pytest.raises(NotImplementedYet, match=r"HostConfig.Binds\[0\]: volume 'cache' at /cache: volumes need"):
        spec_for({}, {"Binds": ["cache:/cache"]}, host=make_host(volume_source=Host().volume_source))


@pytest.mark.parametrize(("bind", "message"), [
    ("/a:/b:rw,ro", "invalid mode: rw,ro"),
    ("/a:/b:shared,slave", "invalid mode: shared,slave"),
    ("/a:/b:exec", "invalid mode: exec"),
    ("/a:/b:nocopy", "invalid mode: nocopy"),
    ("/a:b", "invalid mount path: 'b' mount path must be absolute"),
    ("/a:/", "destination can't be '/'"),
    ("/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"),
    (":/b", "invalid volume specification"),
    ("./rel:/b", "includes invalid characters for a local volume name"),
])
def test_bind_errors(bind: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=r"HostConfig.Binds\[0\]: .*" + message.replace("(", r"\(")):
        spec_for({}, {"Binds": [bind]})


# -- Mounts --------------------------------------------------------------------------------


def test_mounts_api() -> None:
    host = make_host()
    got = by_dest(user_part({"Mounts": [
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True,
         "BindOptions": {"Propagation": "rslave", "NonRecursive": True}},
        {"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1777,
                                                             "Options": [["exec"], ["uid", "1000"]]}},
        {"Type": "volume", "Source": "db", "Target": "/var/lib/db", "VolumeOptions": {"NoCopy": True}},
        {"Type": "bind", "Source": "/missing/dir", "Target": "/m", "BindOptions": {"CreateMountpoint": True}},
    ]}, host=host))
    assert got["/srv"]["options"] == ["bind", "ro", "rslave"]
    assert got["/run"] == {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "rprivate", "mode=1777", "size=64m", "exec", "uid=1000"]}
    assert got["/var/lib/db"]["source"] == f"{VOLUMES}/db/_data"
    assert isinstance(host.prepare_bind, Recorder)
    assert host.prepare_bind.calls == [("/srv", False), ("/missing/dir", True)]


@pytest.mark.parametrize(("mount", "message"), [
    ({"Type": "bind", "Target": "/x"}, 'invalid mount config for type "bind": field Source must not be empty'),
    ({"Type": "bind", "Source": "rel", "Target": "/x"}, "invalid mount path: 'rel' mount path must be absolute"),
    ({"Type": "bind", "Source": "/missing/x", "Target": "/x"}, "bind source path does not exist: /missing/x"),
    ({"Type": "bind", "Source": "/a", "Target": ""}, "field Target must not be empty"),
    ({"Type": "bind", "Source": "/a", "Target": "x"}, "mount path must be absolute"),
    ({"Type": "tmpfs", "Source": "/a", "Target": "/x"}, "field Source must not be specified"),
    ({"Type": "tmpfs", "Target": "/x", "BindOptions": {}}, "field BindOptions must not be specified"),
    ({"Type": "bind", "Source": "/a", "Target": "/x", "BindOptions": {"Propagation": "weird"}},
     "invalid propagation mode: weird"),
    ({"Type": "npipe", "Source": "a", "Target": "/x"}, "npipe mounts are Windows-only"),
    ({"Type": "magic", "Target": "/x"}, "mount type unknown"),
])
def test_mount_errors(mount: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=r"HostConfig.Mounts\[0\].*" + message):
        spec_for({}, {"Mounts": [mount]})


def test_unsupported_mount_features() -> None:
    with pytest.raises(NotImplementedYet, match="cluster"):
        spec_for({}, {"Mounts": [{"Type": "cluster", "Source": "c", "Target": "/x"}]})
    with pytest.raises(NotImplementedYet, match="ReadOnlyForceRecursive"):
        spec_for({}, {"Mounts": [{"Type": "bind", "Source": "/a", "Target": "/x",
                                  "BindOptions": {"ReadOnlyForceRecursive": True}}]})


# -- Tmpfs ----------------------------------------------------------------------------------


def test_tmpfs() -> None:
    got = user_part({"Tmpfs": {"/run": "", "/tmp": "size=64m,mode=1777,exec", "/ro": "ro,size=1k,size=2k"}})
    assert by_dest(got)["/run"]["options"] == ["noexec", "nosuid", "nodev", "rprivate"]
    assert by_dest(got)["/tmp"]["options"] == ["nosuid", "nodev", "rprivate", "size=64m", "mode=1777", "exec"]
    assert by_dest(got)["/ro"]["options"] == ["noexec", "nosuid", "nodev", "rprivate", "ro", "size=2k"]
    with pytest.raises(InvalidArgument, match=r"HostConfig.Tmpfs\[/t\]: invalid tmpfs option 'bogus'"):
        spec_for({}, {"Tmpfs": {"/t": "bogus"}})
    with pytest.raises(InvalidArgument, match=r"HostConfig.Tmpfs\[t\]: invalid mount path"):
        spec_for({}, {"Tmpfs": {"t": ""}})


def test_tmpfs_helpers() -> None:
    assert merge_tmpfs_options(["noexec", "rprivate", "shared", "defaults", "exec", "mode=1", "mode=2"], "x") == [
        "shared", "exec", "mode=2"]
    assert [size_option(n) for n in (1 << 30, 3 << 20, 5 << 10, 1000)] == [
        "size=1g", "size=3m", "size=5k", "size=1000"]


# -- duplicates, ordering, defaults ---------------------------------------------------------------


def test_duplicate_mount_point() -> None:
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /data"):
        spec_for({}, {"Binds": ["/a:/data"], "Tmpfs": {"/data/": ""}})


def test_user_mounts_sorted_parents_first() -> None:
    got = user_part({"Binds": ["/a:/a/b/c", "/b:/a"], "Tmpfs": {"/a/b": ""}})
    assert [m["destination"] for m in got] == ["/a", "/a/b", "/a/b/c"]


def test_user_mount_replaces_a_default() -> None:
    got = mounts({"Binds": ["/host/proc:/proc"]})
    assert [m["destination"] for m in got].count("/proc") == 1
    assert by_dest(got)["/proc"]["type"] == "bind"
    dev = [m["destination"] for m in mounts({"Binds": ["/hostdev:/dev"]})]
    assert not [d for d in dev if d.startswith("/dev/")]


def test_extra_mounts_from_the_engine() -> None:
    resolv = {"destination": "/etc/resolv.conf", "type": "bind", "source": "/run/c/resolv.conf",
              "options": ["rbind", "rprivate"]}
    hosts = {"destination": "/etc/hosts", "type": "bind", "source": "/run/c/hosts", "options": ["rbind", "rprivate"]}
    got = by_dest(user_part({"Binds": ["/mine:/etc/hosts:ro"]}, extra_mounts=[resolv, hosts]))
    assert got["/etc/resolv.conf"] == resolv
    assert got["/etc/hosts"]["source"] == "/mine"


def test_shm_size_and_ipc_modes() -> None:
    shm = by_dest(mounts({"ShmSize": 128 << 20}))["/dev/shm"]
    assert shm["type"] == "tmpfs" and f"size={128 << 20}" in shm["options"]
    assert "/dev/shm" not in by_dest(mounts({"IpcMode": "none"}))
    assert by_dest(mounts({"IpcMode": "host"}))["/dev/shm"]["source"] == "/dev/shm"
    assert by_dest(mounts({"IpcMode": "container:db"}))["/dev/shm"]["source"] == (
        "/var/lib/dockyard/containers/db/mounts/shm")
    assert by_dest(mounts({"IpcMode": "shareable"}, shm_source="/run/x/shm"))["/dev/shm"]["type"] == "bind"
    assert by_dest(mounts({"IpcMode": "shareable"}))["/dev/shm"]["type"] == "tmpfs"
    user = by_dest(mounts({"IpcMode": "host", "Tmpfs": {"/dev/shm": "size=1m"}}))["/dev/shm"]
    assert user["type"] == "tmpfs" and "size=1m" in user["options"]
    with pytest.raises(InvalidArgument, match=r"HostConfig.ShmSize: SHM size can not be less than 0"):
        spec_for({}, {"ShmSize": -1})
