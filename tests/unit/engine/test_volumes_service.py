"""The volume service without root: names, drivers and options, idempotent create, references,
remove (in use, force), list filters, prune (anonymous by default, ``all``, labels), events,
usage, persistence across a reopen, and the mount bookkeeping (file system calls faked)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine import volumes as volumes_mod
from dockyard.engine.events import EventHub
from dockyard.engine.filters import Filters
from dockyard.engine.volume_store import ANONYMOUS_LABEL, VolumeStore
from dockyard.engine.volumes import VolumeService, created_at, dir_size
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound


class Hub(EventHub):
    """Records what is published (no loop needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, str, dict[str, str]]] = []

    def publish(self, type: str, action: str, actor_id: str, attributes: Any = None, scope: str = "local") -> Any:
        self.seen.append((type, action, actor_id, dict(attributes or {})))
        return None


@pytest.fixture
def service(tmp_path: Path) -> VolumeService:
    return VolumeService(str(tmp_path), Hub())


def actions(service: VolumeService) -> list[tuple[str, str]]:
    hub = service.hub
    assert isinstance(hub, Hub)
    return [(action, actor) for _, action, actor, _ in hub.seen]


def test_create_named_and_anonymous(service: VolumeService, tmp_path: Path) -> None:
    v = service.create("data", labels={"a": "b"})
    assert v.path == str(tmp_path / "volumes" / "data" / "_data") and os.path.isdir(v.path)
    doc = service.inspect(v)
    assert doc == {"CreatedAt": created_at(v.created_ns), "Driver": "local", "Labels": {"a": "b"},
                   "Mountpoint": v.path, "Name": "data", "Options": None, "Scope": "local"}
    again = service.create("data", labels={"other": "x"})  # an existing name: the same volume
    assert again is v and again.labels == {"a": "b"}
    anon = service.create()
    assert len(anon.name) == 64 and int(anon.name, 16) >= 0 and anon.labels == {ANONYMOUS_LABEL: ""}
    assert anon.anonymous and not v.anonymous
    assert actions(service) == [("create", "data"), ("create", "data"), ("create", anon.name)]


@pytest.mark.parametrize("name", ["a", "-x", "a/b", "a b", ".x", "x:y"])
def test_invalid_names(service: VolumeService, name: str) -> None:
    with pytest.raises(InvalidArgument, match="includes invalid characters for a local volume name"):
        service.create(name)


def test_drivers_and_options(service: VolumeService) -> None:
    with pytest.raises(NotFound, match='create v1: error looking up volume plugin nfs: plugin "nfs" not found'):
        service.create("v1", "nfs")
    with pytest.raises(InvalidArgument, match='invalid option key: "bogus"'):
        service.create("v1", options={"bogus": "1"})
    with pytest.raises(InvalidArgument, match="quota"):
        service.create("v1", options={"size": "1g"})
    v = service.create("v1", "local", options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert v.mount_options == ("tmpfs", "tmpfs", "size=1m")
    assert service.create("w1").mount_options is None
    assert service.volumes.keys() == {"v1", "w1"}


def test_remove_respects_references(service: VolumeService) -> None:
    service.create("used")
    service.users = lambda: {"used": ["c2", "c1"]}
    with pytest.raises(FailedPrecondition, match=r"^remove used: volume is in use - \[c1, c2\]$"):
        service.remove("used")
    with pytest.raises(FailedPrecondition):
        service.remove("used", force=True)
    service.users = volumes_mod.no_users
    service.hold("used", "creating")
    with pytest.raises(FailedPrecondition, match=r"in use - \[creating\]"):
        service.remove("used")
    service.release("used", "creating")
    path = service.get("used").path
    service.remove("used")
    assert not os.path.exists(os.path.dirname(path))
    with pytest.raises(NotFound, match=r"^get used: no such volume$"):
        service.remove("used")
    service.remove("used", force=True)  # force forgives a missing volume
    assert actions(service)[-1] == ("destroy", "used")


def test_list_filters(service: VolumeService) -> None:
    service.create("alpha", labels={"env": "prod", "tier": ""})
    service.create("beta", labels={"env": "dev"})
    anon = service.create().name
    service.users = lambda: {"beta": ["c1"]}

    def names(**filters: list[str]) -> list[str]:
        return [v.name for v in service.select(Filters.of(**filters))]

    assert names() == sorted(["alpha", "beta", anon])
    assert names(dangling=["true"]) == sorted(["alpha", anon])
    assert names(dangling=["0"]) == ["beta"]
    assert names(label=["env=prod"]) == ["alpha"]
    assert names(label=["env"]) == ["alpha", "beta"]
    assert names(label=["tier", "env=prod"]) == ["alpha"]
    assert names(name=["lph"]) == ["alpha"]
    assert names(driver=["local"]) == sorted(["alpha", "beta", anon])
    assert names(driver=["other"]) == []
    with pytest.raises(InvalidArgument, match="invalid filter 'nope'"):
        names(nope=["1"])
    with pytest.raises(InvalidArgument, match="invalid filter 'dangling=maybe'"):
        names(dangling=["maybe"])


def test_prune(service: VolumeService) -> None:
    service.create("named")
    service.create("kept", labels={"keep": "1"})
    anon = service.create().name
    busy = service.create().name
    service.users = lambda: {busy: ["c1"]}
    Path(service.get(anon).path, "f").write_bytes(b"x" * 100)
    assert service.prune(Filters()) == {"VolumesDeleted": [anon], "SpaceReclaimed": 100}
    assert service.prune(Filters.of(**{"label!": ["keep"]}), all_=True) == {"VolumesDeleted": ["named"],
                                                                           "SpaceReclaimed": 0}
    assert service.prune(Filters.of(label=["keep=2"], all=["true"])) == {"VolumesDeleted": None, "SpaceReclaimed": 0}
    assert service.prune(Filters.of(all=["1"]))["VolumesDeleted"] == ["kept"]
    assert sorted(service.volumes) == [busy]
    with pytest.raises(InvalidArgument, match="invalid filter 'dangling'"):
        service.prune(Filters.of(dangling=["true"]))
    hub = service.hub
    assert isinstance(hub, Hub)
    assert next(attrs for _, a, _, attrs in hub.seen if a == "prune") == {"reclaimed": "100"}


def test_remove_anonymous(service: VolumeService) -> None:
    named = service.create("named").name
    free = service.create().name
    shared = service.create().name
    service.users = lambda: {shared: ["other"]}
    service.remove_anonymous([named, free, shared, "missing"])
    assert sorted(service.volumes) == sorted([named, shared])


def test_usage_and_sizes(service: VolumeService, tmp_path: Path) -> None:
    v = service.create("sized")
    Path(v.path, "a").write_bytes(b"1" * 1000)
    os.link(Path(v.path, "a"), Path(v.path, "b"))  # one inode counted once
    os.mkdir(Path(v.path, "d"))
    Path(v.path, "d", "c").write_bytes(b"2" * 24)
    assert dir_size(v.path) == 1024
    service.users = lambda: {"sized": ["c1", "c2"]}
    [doc] = asyncio.run(service.disk_usage())
    assert doc["UsageData"] == {"RefCount": 2, "Size": 1024}
    assert list(doc["UsageData"]) == ["RefCount", "Size"]  # Go's field order


def test_volumes_persist(tmp_path: Path) -> None:
    first = VolumeService(str(tmp_path))
    v = first.create("keep", labels={"a": "b"}, options={"type": "tmpfs", "device": "tmpfs"})
    anon = first.create().name
    Path(v.path, "f").write_text("data")
    first.close()
    second = VolumeService(str(tmp_path))
    assert sorted(second.volumes) == sorted(["keep", anon])
    again = second.get("keep")
    assert (again.labels, again.options, again.created_ns) == ({"a": "b"}, {"type": "tmpfs", "device": "tmpfs"},
                                                               v.created_ns)
    assert Path(again.path, "f").read_text() == "data"
    assert second.get(anon).anonymous
    second.close()


def test_a_lost_data_directory_comes_back_empty(tmp_path: Path) -> None:
    service = VolumeService(str(tmp_path))
    path = service.create("v1").path
    os.rmdir(path)
    service.close()
    again = VolumeService(str(tmp_path))
    assert os.path.isdir(again.get("v1").path)
    again.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = VolumeStore(str(tmp_path))
    store.conn.execute("PRAGMA user_version=99")
    store.close()
    with pytest.raises(FailedPrecondition, match="schema version 99 is newer"):
        VolumeStore(str(tmp_path))


def test_mount_bookkeeping(service: VolumeService, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(VolumeService, "_mount_fs", lambda self, v: calls.append(("mount", v.name)))
    monkeypatch.setattr(VolumeService, "_unmount_fs", lambda self, v: calls.append(("unmount", v.name)))
    monkeypatch.setattr(volumes_mod, "_is_mountpoint", lambda path: False)
    service.create("fs", options={"type": "tmpfs", "device": "tmpfs"})
    service.create("plain")
    assert service.mount("fs", "c1", destination="/a") == service.get("fs").path
    service.mount("fs", "c2")
    service.mount("plain", "c1")
    assert calls == [("mount", "fs")]
    service.unmount("fs", "c1")
    service.unmount("fs", "c1")  # twice: nothing more
    assert calls == [("mount", "fs")]
    service.unmount("fs", "c2")
    service.unmount("plain", "c1")
    assert calls == [("mount", "fs"), ("unmount", "fs")]
    service.restored("fs", "c3")  # found running at start: no new mount, unmounted at its exit
    service.unmount("fs", "c3")
    assert calls[-1] == ("unmount", "fs")
    seen = [(a, n) for a, n in actions(service) if a in ("mount", "unmount")]
    assert seen == [("mount", "fs"), ("mount", "fs"), ("mount", "plain"), ("unmount", "fs"), ("unmount", "fs"),
                    ("unmount", "plain"), ("unmount", "fs")]
    hub = service.hub
    assert isinstance(hub, Hub)
    first = next(attrs for _, a, _, attrs in hub.seen if a == "mount")
    assert first == {"driver": "local", "container": "c1", "destination": "/a"}


def test_created_at_is_rfc3339_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    try:
        assert created_at(1_700_000_000_123_456_789) == "2023-11-14T22:13:20Z"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
