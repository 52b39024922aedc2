"""A container's volumes at create (without root): the spec translation's hook creating named
and anonymous volumes, ``--mount`` volume options, ``Config.Volumes`` of the image,
``--volumes-from`` with its modes, the mount points inspect shows, undo after a failed
create, and the references the volume service sees."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.unit.engine.spec_fakes import make_host, spec_for

from dockyard.engine import container_volumes as cv
from dockyard.engine.container_views import mount_points
from dockyard.engine.volumes import VolumeService
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound

CID = "c" * 64


class Containers:
    """What the binder asks of the container service: ``get(ref).container``."""

    def __init__(self, **containers: Any) -> None:
        self.containers = containers

    def get(self, ref: str) -> Any:
        if ref not in self.containers:
            raise NotFound(f"No such container: {ref}")
        return SimpleNamespace(container=self.containers[ref])


@pytest.fixture
def volumes(tmp_path: Path) -> VolumeService:
    return VolumeService(str(tmp_path))


def create(volumes: VolumeService, config: dict[str, Any], hc: dict[str, Any],
           containers: Containers | None = None) -> tuple[cv.VolumeBinder, dict[str, Any], list[dict[str, Any]]]:
    """What ContainerService._create does with the binder."""
    binder = cv.VolumeBinder(volumes, CID)
    host = dataclasses.replace(make_host(), volume_source=binder.source)
    extra = binder.extra_mounts(containers or Containers(), config, hc)  # type: ignore[arg-type]
    spec = spec_for(config, hc, host=host, extra_mounts=extra)
    return binder, spec, binder.finish(spec, hc)


def by_dest(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["destination"]: m for m in spec["mounts"]}


def test_binds_make_named_and_anonymous_volumes(volumes: VolumeService) -> None:
    binder, spec, points = create(volumes, {"Volumes": {"/anon": {}}},
                                  {"Binds": ["data:/data", "ro1:/ro:ro,nocopy"]})
    anon = next(p["Name"] for p in points if p["Destination"] == "/anon")
    assert sorted(volumes.volumes) == sorted(["data", "ro1", anon]) and volumes.get(anon).anonymous
    data = volumes.get("data").path
    assert by_dest(spec)["/data"] == {"destination": "/data", "type": "bind", "source": data,
                                      "options": ["rbind", "rprivate"]}
    assert by_dest(spec)["/ro"]["options"] == ["rbind", "ro", "rprivate"]
    assert by_dest(spec)["/anon"]["source"] == volumes.get(anon).path
    assert points == [
        cv.volume_point(anon, volumes.get(anon).path, "/anon"),
        {**cv.volume_point("data", data, "/data"), "Mode": "z"},
        {**cv.volume_point("ro1", volumes.get("ro1").path, "/ro", copy=False), "Mode": "ro,nocopy", "RW": False},
    ]
    assert cv.api_points(points)[1] == {"Type": "volume", "Name": "data", "Source": data, "Destination": "/data",
                                        "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
    assert volumes.references("data") == [CID]  # held while the create runs
    binder.release()
    assert volumes.references("data") == []


def test_an_image_volume_under_a_user_mount_is_not_made(volumes: VolumeService) -> None:
    _, spec, points = create(volumes, {"Volumes": {"/data": {}, "/tmp/x": {}}},
                                  {"Binds": ["named:/data"], "Tmpfs": {"/tmp/x": ""}})
    assert [p["Destination"] for p in points] == ["/data"]
    assert list(volumes.volumes) == ["named"]
    assert by_dest(spec)["/tmp/x"]["type"] == "tmpfs"


def test_mounts_of_type_volume(volumes: VolumeService) -> None:
    hc = {"Mounts": [
        {"Type": "volume", "Source": "m1", "Target": "/m1", "ReadOnly": True,
         "VolumeOptions": {"NoCopy": True, "Labels": {"l": "1"},
                           "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}},
        {"Type": "volume", "Target": "/anon"},
    ]}
    _, spec, points = create(volumes, {}, hc)
    m1 = volumes.get("m1")
    assert (m1.labels, m1.options) == ({"l": "1"}, {"type": "tmpfs", "device": "tmpfs"})
    assert by_dest(spec)["/m1"]["options"] == ["rbind", "ro", "rprivate"]
    assert points[1] == {**cv.volume_point("m1", m1.path, "/m1", copy=False), "RW": False, "Mode": "z"}
    assert points[0]["Mode"] == "z" and volumes.get(points[0]["Name"]).anonymous
    with pytest.raises(Exception, match='plugin "nfs" not found'):
        create(volumes, {}, {"Mounts": [{"Type": "volume", "Source": "x1", "Target": "/x",
                                         "VolumeOptions": {"DriverConfig": {"Name": "nfs"}}}]})


def test_a_subpath_of_a_volume(volumes: VolumeService) -> None:
    Path(volumes.create("sub").path, "inner").mkdir()
    mount = {"Type": "volume", "Source": "sub", "Target": "/s", "VolumeOptions": {"Subpath": "inner"}}
    _, spec, points = create(volumes, {}, {"Mounts": [mount]})
    assert by_dest(spec)["/s"]["source"] == volumes.get("sub").path + "/inner"
    assert points[0]["Source"] == volumes.get("sub").path + "/inner" and points[0][cv.COPY] is False
    for bad, message in (("../x", "relative path within the volume"), ("missing", "no such file")):
        with pytest.raises(InvalidArgument, match=message):
            create(volumes, {}, {"Mounts": [{**mount, "VolumeOptions": {"Subpath": bad}}]})


def test_volumes_from(volumes: VolumeService) -> None:
    shared = volumes.create("shared")
    source = SimpleNamespace(
        mount_points=[cv.volume_point("shared", shared.path, "/shared", mode="z")],
        host_config={"Binds": ["/host/dir:/hostdir:ro", "named:/ignored-not-a-bind"],
                     "Mounts": [{"Type": "bind", "Source": "/h2", "Target": "/h2"}]})
    containers = Containers(src=source)
    _, spec, points = create(volumes, {}, {"VolumesFrom": ["src:ro"], "Binds": ["/mine:/h2"]}, containers)
    mounts = by_dest(spec)
    assert mounts["/shared"] == {"destination": "/shared", "type": "bind", "source": shared.path,
                                 "options": ["rbind", "ro", "rprivate"]}
    assert mounts["/hostdir"]["source"] == "/host/dir"
    assert mounts["/h2"]["source"] == "/mine"  # the container's own mount wins
    assert [(p["Destination"], p["Type"], p["RW"]) for p in points] == [("/hostdir", "bind", False),
                                                                       ("/shared", "volume", False)]
    _, _, points = create(volumes, {}, {"VolumesFrom": ["src"]}, containers)
    assert [(p["Destination"], p["RW"], p["Mode"]) for p in points] == [("/h2", True, ""), ("/hostdir", False, "ro"),
                                                                       ("/shared", True, "z")]
    with pytest.raises(InvalidArgument, match="invalid mode: rx"):
        create(volumes, {}, {"VolumesFrom": ["src:rx"]}, containers)
    with pytest.raises(NotFound, match="No such container: nope"):
        create(volumes, {}, {"VolumesFrom": ["nope"]}, containers)


def test_undo_removes_only_what_the_create_made(volumes: VolumeService) -> None:
    volumes.create("existing")
    binder = cv.VolumeBinder(volumes, CID)
    binder.source("existing", "/e", {"nocopy": False})
    binder.source("fresh", "/f", {"nocopy": False})
    binder.source("", "/a", {"nocopy": False})
    binder.undo()
    assert sorted(volumes.volumes) == ["existing", "fresh"]  # a named volume stays, as with dockerd
    assert volumes.holds == {}


def test_references_come_from_the_containers(volumes: VolumeService) -> None:
    volumes.create("vv")
    point = cv.volume_point("vv", volumes.get("vv").path, "/v")
    live = {"a": SimpleNamespace(id="a", removed=False, container=SimpleNamespace(mount_points=[point])),
            "b": SimpleNamespace(id="b", removed=True, container=SimpleNamespace(mount_points=[point]))}
    service = SimpleNamespace(live=live)
    volumes.users = lambda: cv.users(service)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition, match=r"volume is in use - \[a\]"):
        volumes.remove("vv")


def test_inspect_shows_binds_tmpfs_and_volume_points() -> None:
    container = SimpleNamespace(
        host_config={"Binds": ["/h:/h:ro", "named:/n"], "Mounts": [{"Type": "tmpfs", "Target": "/t"},
                                                                   {"Type": "volume", "Target": "/m"}]},
        mount_points=[{**cv.volume_point("named", "/v/named/_data", "/n"), "Mode": "z"}])
    got = mount_points(container)  # type: ignore[arg-type]
    assert got == [
        {"Type": "bind", "Source": "/h", "Destination": "/h", "Mode": "ro", "RW": False, "Propagation": "rprivate"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True, "Propagation": ""},
        {"Type": "volume", "Name": "named", "Source": "/v/named/_data", "Destination": "/n", "Driver": "local",
         "Mode": "z", "RW": True, "Propagation": ""},
    ]
