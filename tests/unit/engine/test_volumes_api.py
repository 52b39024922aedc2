"""The volume routes over a real VolumeService in a temporary data root: create (201, the same
name twice, bad bodies), list with filters and Warnings, inspect, remove (404, 409 in use,
force), and prune's ``all`` as the API version decides it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.engine.engine_fakes import make_context

from dockyard.engine.api import app as app_mod
from dockyard.engine.api import volumes as volumes_api
from dockyard.engine.volumes import VolumeService

Client = TestClient[web.Request, web.Application]


def run(tmp_path: Path, scenario: Callable[[Client, VolumeService], Awaitable[None]]) -> None:
    ctx = make_context()
    service = VolumeService(str(tmp_path))
    ctx.volumes = service

    async def main() -> None:
        async with TestClient(TestServer(app_mod.make_app(ctx, (volumes_api,)))) as client:
            await scenario(client, service)

    asyncio.run(main())
    service.close()


async def call(client: Client, method: str, path: str, status: int, body: Any = None) -> Any:
    resp = await client.request(method, path, data=None if body is None else json.dumps(body),
                                headers={"Content-Type": "application/json"} if body is not None else {})
    text = await resp.text()
    assert resp.status == status, text
    return json.loads(text) if text.strip() else None


def test_create_list_inspect(tmp_path: Path) -> None:
    async def scenario(client: Client, service: VolumeService) -> None:
        doc = await call(client, "POST", "/v1.47/volumes/create", 201,
                         {"Name": "web", "Driver": "local", "Labels": {"app": "web"}, "DriverOpts": {}})
        assert doc["Name"] == "web" and doc["Labels"] == {"app": "web"} and doc["Scope"] == "local"
        assert doc["Mountpoint"] == str(tmp_path / "volumes" / "web" / "_data")
        assert await call(client, "POST", "/volumes/create", 201, {"Name": "web"}) == doc
        anon = await call(client, "POST", "/volumes/create", 201, {})
        assert anon["Labels"] == {"com.docker.volume.anonymous": ""}
        listed = await call(client, "GET", "/volumes", 200)
        assert listed["Warnings"] is None
        assert sorted(v["Name"] for v in listed["Volumes"]) == sorted(["web", anon["Name"]])
        filters = json.dumps({"label": {"app=web": True}})
        assert [v["Name"] for v in (await call(client, "GET", f"/volumes?filters={filters}", 200))["Volumes"]] == \
            ["web"]
        assert await call(client, "GET", "/volumes/web", 200) == doc
        err = await call(client, "GET", "/volumes/nope", 404)
        assert err == {"message": "get nope: no such volume"}
        err = await call(client, "GET", "/volumes?filters=" + json.dumps({"bogus": ["1"]}), 400)
        assert err == {"message": "invalid filter 'bogus'"}
        err = await call(client, "POST", "/volumes/create", 400, {"Name": "bad name"})
        assert "includes invalid characters for a local volume name" in err["message"]
        err = await call(client, "POST", "/volumes/create", 404, {"Name": "n1", "Driver": "flocker"})
        assert err["message"] == 'create n1: error looking up volume plugin flocker: plugin "flocker" not found'
        await call(client, "POST", "/volumes/create", 400, {"Name": 5})
        await call(client, "POST", "/volumes/create", 501, {"ClusterVolumeSpec": {"Group": "g"}})
    run(tmp_path, scenario)


def test_remove_and_prune(tmp_path: Path) -> None:
    async def scenario(client: Client, service: VolumeService) -> None:
        for name in ("named", "busy"):
            await call(client, "POST", "/volumes/create", 201, {"Name": name})
        anon = (await call(client, "POST", "/volumes/create", 201, {}))["Name"]
        service.users = lambda: {"busy": ["c" * 64]}
        err = await call(client, "DELETE", "/volumes/busy?force=1", 409)
        assert err == {"message": f"remove busy: volume is in use - [{'c' * 64}]"}
        await call(client, "DELETE", "/volumes/nope", 404)
        await call(client, "DELETE", "/volumes/nope?force=true", 204)
        report = await call(client, "POST", "/v1.47/volumes/prune", 200)
        assert report == {"VolumesDeleted": [anon], "SpaceReclaimed": 0}
        report = await call(client, "POST", "/v1.41/volumes/prune", 200)  # older clients: every unused one
        assert report == {"VolumesDeleted": ["named"], "SpaceReclaimed": 0}
        service.users = lambda: {}
        report = await call(client, "POST", "/volumes/prune?filters=" + json.dumps({"all": ["true"]}), 200)
        assert report["VolumesDeleted"] == ["busy"]
        await call(client, "DELETE", "/volumes/busy", 404)
    run(tmp_path, scenario)
