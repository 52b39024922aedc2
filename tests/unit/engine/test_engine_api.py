"""The API app over a fake supervisor: versioned and unversioned paths, Docker's errors and
headers, /_ping, /version, /info, /system/df, /containers/json, /events, the route registry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.engine.engine_fakes import DATA_ROOT, FakeSupervisor, digest, make_context

from dockyard import errors
from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine.api import app as app_mod
from dockyard.engine.api import system
from dockyard.engine.api.httputil import api_version, json_body, json_response, query_bool
from dockyard.engine.api.routing import RouteDef, check_unique
from dockyard.engine.context import EngineContext

Scenario = Callable[[TestClient[web.Request, web.Application], EngineContext], Awaitable[None]]


def run(scenario: Scenario, ctx: EngineContext | None = None, extra: list[RouteDef] | None = None) -> None:
    ctx = ctx or make_context()

    class Extra:
        @staticmethod
        def routes(c: EngineContext) -> list[RouteDef]:
            return extra or []

    async def main() -> None:
        from dockyard.engine.api import registry

        application = app_mod.make_app(ctx, (*registry.ROUTE_MODULES, Extra))
        async with TestClient(TestServer(application)) as client:
            await scenario(client, ctx)

    asyncio.run(main())


def raising(exc: Exception) -> RouteDef:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise exc
    return RouteDef("GET", "/boom", handler)


def test_ping_get_and_head() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        for path in ("/_ping", "/v1.47/_ping", "/v1.24/_ping"):
            resp = await client.get(path)
            assert resp.status == 200 and await resp.text() == "OK"
            assert resp.headers["Api-Version"] == "1.47"
            assert resp.headers["Builder-Version"] == "1"
            assert "no-cache" in resp.headers["Cache-Control"] and resp.headers["Pragma"] == "no-cache"
            assert resp.headers["Ostype"] == "linux" and resp.headers["Docker-Experimental"] == "false"
            assert resp.headers["Server"].startswith("Dockyard/") and resp.headers["Server"].endswith("(linux)")
        head = await client.head("/_ping")
        assert head.status == 200 and await head.read() == b"" and head.headers["Api-Version"] == "1.47"

    run(scenario)


def test_versions_out_of_range_get_400_with_dockers_message() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        resp = await client.get("/v1.12/version")
        assert resp.status == 400
        assert await resp.json() == {"message": "client version 1.12 is too old. Minimum supported API version "
                                                "is 1.24, please upgrade your client to a newer version"}
        assert resp.headers["Api-Version"] == "1.47"
        resp = await client.get("/v1.48/_ping")
        assert resp.status == 400
        assert (await resp.json())["message"] == "client version 1.48 is too new. Maximum supported API version is 1.47"

    run(scenario)


def test_unknown_routes_and_methods_are_page_not_found() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        for method, path in (("GET", "/nope"), ("GET", "/v1.47/nope"), ("GET", "/v1.12/nope"),
                             ("POST", "/version"), ("GET", "/vx/_ping"), ("DELETE", "/_ping")):
            resp = await client.request(method, path)
            assert resp.status == 404, (method, path)
            assert await resp.json() == {"message": "page not found"}
            assert resp.headers["Api-Version"] == "1.47"

    run(scenario)


@pytest.mark.parametrize(("exc", "status"), [
    (errors.NotFound("No such container: x"), 404), (errors.AlreadyExists("name in use"), 409),
    (errors.InvalidArgument("bad"), 400), (errors.FailedPrecondition("not running"), 409),
    (errors.Unavailable("down"), 503), (errors.NotImplementedYet("later"), 501),
    (errors.Internal("oops"), 500), (errors.PermissionDenied("no"), 403),
    (errors.DockyardError("generic"), 500), (ValueError("unexpected"), 500),
])
def test_errors_become_json_with_their_http_status(exc: Exception, status: int) -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        resp = await client.get("/v1.40/boom")
        assert resp.status == status
        body = await resp.json()
        assert body["message"] == (str(exc) if not isinstance(exc, ValueError) else "ValueError: unexpected")
        assert resp.headers["Content-Type"].startswith("application/json")

    run(scenario, extra=[raising(exc)])


def test_handlers_see_the_negotiated_version_and_parse_input() -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        body = await json_body(request, allow_empty=True)
        return json_response({"v": api_version(request), "body": body, "all": query_bool(request, "all")})

    async def scenario(client: Any, ctx: EngineContext) -> None:
        resp = await client.post("/v1.30/echo?all=1", data=b'{"a": 1}', headers={"Content-Type": "application/json"})
        assert await resp.json() == {"v": "1.30", "body": {"a": 1}, "all": True}
        resp = await client.post("/echo?all=0")
        assert await resp.json() == {"v": "1.47", "body": None, "all": False}
        resp = await client.post("/echo", data=b"{oops", headers={"Content-Type": "application/json"})
        assert resp.status == 400 and (await resp.json())["message"].startswith("invalid JSON")
        resp = await client.post("/echo", data=b"{}", headers={"Content-Type": "text/plain"})
        assert resp.status == 400 and "must be 'application/json'" in (await resp.json())["message"]

    run(scenario, extra=[RouteDef("POST", "/echo", echo)])


def test_a_route_defined_twice_is_a_startup_error() -> None:
    ctx = make_context()
    with pytest.raises(errors.InvalidArgument, match="route GET /_ping is defined twice"):
        app_mod.make_app(ctx, (system, system))
    with pytest.raises(errors.InvalidArgument, match="unversioned"):
        RouteDef("GET", "/v{version}/x", system.ping)
    with pytest.raises(errors.InvalidArgument, match="method 'PATCH'"):
        RouteDef("PATCH", "/x", system.ping)
    assert len(check_unique([RouteDef("GET", "/a", system.ping), RouteDef("HEAD", "/a", system.ping)])) == 2


def test_containers_json_without_containers(tmp_path: Path) -> None:
    from dockyard.engine.containers import ContainerService

    ctx = make_context(data_root=str(tmp_path / "data"), exec_root=str(tmp_path / "exec"))
    ctx.containers = ContainerService(ctx)

    async def scenario(client: Any, ctx: EngineContext) -> None:
        resp = await client.get("/v1.47/containers/json?all=1")
        assert resp.status == 200 and await resp.json() == []
        assert resp.headers["Content-Type"] == "application/json"  # exactly: the docker CLI wants no charset
        resp = await client.get('/containers/json?filters={"colour":["red"]}')
        assert resp.status == 400 and await resp.json() == {"message": "invalid filter 'colour'"}
        resp = await client.get("/containers/nosuch/json")
        assert resp.status == 404 and await resp.json() == {"message": "No such container: nosuch"}
        assert resp.headers["Content-Type"] == "application/json"

    try:
        run(scenario, ctx)
    finally:
        ctx.containers.close()


def test_version_document() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        doc = await (await client.get("/v1.47/version")).json()
        assert doc["ApiVersion"] == "1.47" and doc["MinAPIVersion"] == "1.24" and doc["Os"] == "linux"
        assert doc["GoVersion"].startswith("python3.")
        engine = doc["Components"][0]
        assert engine["Name"] == "Engine" and engine["Version"] == doc["Version"]
        assert engine["Details"]["ApiVersion"] == "1.47" and engine["Details"]["MinAPIVersion"] == "1.24"
        assert {"Name": "containerd", "Version": "1.6.20+dockyard.test", "Details": {"GitCommit": "rev"}} in \
            doc["Components"]
        for key in ("Platform", "GitCommit", "Arch", "KernelVersion", "BuildTime"):
            assert key in doc

    run(scenario)


def test_info_document() -> None:
    sv = FakeSupervisor(containers=[SimpleNamespace(id="a"), SimpleNamespace(id="b"), SimpleNamespace(id="c")],
                        tasks=[SimpleNamespace(container_id="a", status=2), SimpleNamespace(container_id="b", status=4),
                               SimpleNamespace(container_id="zz", status=2)])
    sv.add_image(["docker.io/library/busybox:latest"], [b"layer"])
    ctx = make_context(sv, labels=["tier=test"], debug=True)

    async def scenario(client: Any, ctx: EngineContext) -> None:
        doc = await (await client.get("/info")).json()
        assert (doc["Containers"], doc["ContainersRunning"], doc["ContainersPaused"], doc["ContainersStopped"]) == \
            (3, 1, 1, 1)
        assert doc["Images"] == 1 and doc["ID"] == "0d1e2f"
        assert doc["Driver"] == "overlayfs" and doc["LoggingDriver"] == "json-file"
        assert doc["CgroupDriver"] == "cgroupfs" and doc["CgroupVersion"] in ("1", "2")
        assert doc["DefaultRuntime"] == "dockyard-runc"
        assert set(doc["Runtimes"]) == {"dockyard-runc", "runc"} and doc["Runtimes"]["runc"]["path"] == "/usr/sbin/runc"
        assert doc["Swarm"]["LocalNodeState"] == "inactive" and doc["LiveRestoreEnabled"] is True
        assert doc["SecurityOptions"] == ["name=seccomp,profile=builtin"] and doc["Isolation"] == ""
        assert doc["DockerRootDir"] == DATA_ROOT and doc["Labels"] == ["tier=test"] and doc["Debug"] is True
        assert doc["OSType"] == "linux" and doc["NCPU"] >= 1 and doc["MemTotal"] > 0
        assert doc["ContainerdCommit"] == {"ID": "rev"} and doc["NEventsListener"] == 0
        for key in ("MemoryLimit", "SwapLimit", "CpuCfsPeriod", "CpuCfsQuota", "CPUShares", "CPUSet", "PidsLimit",
                    "OomKillDisable", "IPv4Forwarding"):
            assert isinstance(doc[key], bool), key
        for key in ("NFd", "NGoroutines"):
            assert isinstance(doc[key], int) and doc[key] > 0
        for key in ("SystemTime", "KernelVersion", "OperatingSystem", "OSVersion", "Architecture",
                    "IndexServerAddress", "RegistryConfig", "Name", "ServerVersion", "InitBinary", "RuncCommit",
                    "InitCommit", "Warnings", "Plugins", "DriverStatus", "ExperimentalBuild"):
            assert key in doc, key

    run(scenario, ctx)


def test_system_df_from_containerd_images() -> None:
    sv = FakeSupervisor()
    busybox = sv.add_image(["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36",
                            "localhost:5000/busybox@sha256:" + "a" * 64], [b"base", b"top"], labels={"a": "b"})
    alpine = sv.add_image(["docker.io/library/alpine:3.19"], [b"base", b"apk"], index=True,
                          created="2024-03-04T05:06:07.123456789Z")
    sv.add_image(["third:1"], [b"x"])
    sv.images.append(SimpleNamespace(name="gone:1", target=SimpleNamespace(digest="sha256:" + "f" * 64,
                                                                           media_type="")))
    base_chain = chain_ids([digest(b"diffbase")])[0]
    sv.usage[base_chain] = 1000  # unpacked; the other layers count their compressed size

    async def scenario(client: Any, ctx: EngineContext) -> None:
        doc = await (await client.get("/v1.47/system/df")).json()
        assert doc["Containers"] == [] and doc["Volumes"] == [] and doc["BuildCache"] == []
        images = {i["Id"]: i for i in doc["Images"]}
        assert busybox in images and alpine in images and len(images) == 3  # gone:1 (no content) is left out
        bb = images[busybox]
        assert sorted(bb["RepoTags"]) == ["busybox:1.36", "busybox:latest"]
        assert "localhost:5000/busybox@sha256:" + "a" * 64 in bb["RepoDigests"]
        assert bb["Size"] == 1000 + len(b"top") and bb["SharedSize"] == 1000 and bb["Containers"] == 0
        assert bb["Labels"] == {"a": "b"} and bb["Created"] == 1704164645
        al = images[alpine]
        assert al["RepoTags"] == ["alpine:3.19"] and al["Created"] == 1709528767
        assert doc["LayersSize"] == 1000 + len(b"top") + len(b"apk") + len(b"x")
        only = await (await client.get("/system/df?type=image")).json()
        assert only["Containers"] is None and len(only["Images"]) == 3
        bad = await client.get("/system/df?type=disk")
        assert bad.status == 400 and await bad.json() == {"message": "invalid type: disk"}

    run(scenario, make_context(sv))


def test_events_past_live_filtered_and_until() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        hub = ctx.events
        hub.publish("container", "create", "c1", {"name": "one"})
        hub.publish("image", "pull", "busybox:latest", {"name": "busybox:latest"})
        now = time.time_ns() / 1e9
        resp = await client.get(f"/v1.47/events?since=0&until={now:.9f}")
        lines = [json.loads(line) for line in (await resp.text()).splitlines()]
        assert [(e["Type"], e["Action"]) for e in lines] == [("container", "create"), ("image", "pull")]
        assert lines[0]["id"] == "c1" and lines[0]["Actor"]["Attributes"] == {"name": "one"}

        resp = await client.get("/events", params={"since": "0", "until": f"{now:.9f}",
                                                   "filters": json.dumps({"type": ["image"]})})
        assert [json.loads(x)["Action"] for x in (await resp.text()).splitlines()] == ["pull"]

        resp = await client.get("/events?since=20&until=10")
        assert resp.status == 400 and "cannot be after `until` time" in (await resp.json())["message"]

        # live: a stream with a near until gets what is published meanwhile, then ends
        until = time.time_ns() / 1e9 + 1.0
        stream = asyncio.ensure_future(client.get(f"/events?until={until:.9f}&filters="
                                                  + json.dumps({"container": ["two"]})))
        await asyncio.sleep(0.3)
        assert hub.listeners == 1
        hub.publish("container", "start", "c2", {"name": "two"})
        hub.publish("container", "start", "c3", {"name": "three"})
        resp = await stream
        text = await resp.text()
        assert [json.loads(x)["id"] for x in text.splitlines()] == ["c2"]
        assert hub.listeners == 0

    run(scenario)


def test_events_stream_ends_when_the_client_leaves_or_the_hub_closes() -> None:
    async def scenario(client: Any, ctx: EngineContext) -> None:
        hub = ctx.events
        resp = await client.get("/events")
        hub.publish("container", "start", "c1")
        line = await resp.content.readline()
        assert json.loads(line)["id"] == "c1"
        resp.close()  # the client goes away
        for _ in range(40):
            if hub.listeners == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.listeners == 0
        resp = await client.get("/events")
        hub.close()
        assert await resp.read() == b""

    run(scenario)
