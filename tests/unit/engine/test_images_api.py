"""The image routes over a fake supervisor: list (filters, shared size, old API fields),
inspect, history, tag, remove (Docker's answers and conflicts, containers from
``ctx.image_users``), prune, search, and the dangling records that keep a moved image."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.engine.engine_fakes import FakeSupervisor, make_context

from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine.api import app as app_mod
from dockyard.engine.api import images as images_api
from dockyard.engine.context import EngineContext, ImageUse
from dockyard.engine.image_refs import DANGLING_PREFIX
from dockyard.errors import AlreadyExists, NotFound
from dockyard.oci.image_config import ImageConfig, parse_image_config

Client = TestClient[web.Request, web.Application]
BUSYBOX = "docker.io/library/busybox:latest"


class ImagesStub:
    """The images service's Create/Update/Delete over the fake's record list."""

    def __init__(self, sv: FakeImageSupervisor) -> None:
        self.sv = sv

    def _find(self, name: str) -> Any:
        return next((r for r in self.sv.records if r.name == name), None)

    async def Create(self, request: Any) -> Any:
        if self._find(request.image.name) is not None:
            raise AlreadyExists(f"image {request.image.name!r}: already exists")
        self.sv.records.append(SimpleNamespace(name=request.image.name, target=request.image.target))
        return request

    async def Update(self, request: Any) -> Any:
        found = self._find(request.image.name)
        if found is None:
            raise NotFound(request.image.name)
        found.target = request.image.target
        return request

    async def Delete(self, request: Any) -> Any:
        found = self._find(request.name)
        if found is None:
            raise NotFound(request.name)
        self.sv.records.remove(found)
        self.sv.synced += request.sync
        return request


class FakeImageSupervisor(FakeSupervisor):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[Any] = []
        self.synced = 0

    async def list_images(self, filters: Any = ()) -> list[Any]:
        return list(self.records)

    async def unary(self, method: Callable[[Any], Awaitable[Any]], request: Any, timeout: float | None = None) -> Any:
        return await method(request)


def setup() -> tuple[FakeImageSupervisor, EngineContext]:
    sv = FakeImageSupervisor()
    ctx = make_context(sv)  # type: ignore[arg-type]
    sv.records = sv.images
    sv.images = ImagesStub(sv)  # type: ignore[assignment]
    return sv, ctx


def add(sv: FakeImageSupervisor, names: list[str], layers: list[bytes], **kw: Any) -> str:
    stub, sv.images = sv.images, sv.records  # type: ignore[assignment]
    try:
        image_id = sv.add_image(names, layers, **kw)
    finally:
        sv.records, sv.images = sv.images, stub
    for record in sv.records:
        record.target.size = len(sv.blobs[record.target.digest])
    return image_id


def run(scenario: Callable[[Client, FakeImageSupervisor, EngineContext], Awaitable[None]],
        users: Mapping[str, Sequence[ImageUse]] | None = None) -> None:
    sv, ctx = setup()

    async def image_users() -> Mapping[str, Sequence[ImageUse]]:
        return users or {}

    ctx.image_users = image_users

    async def main() -> None:
        application = app_mod.make_app(ctx, (images_api,))
        async with TestClient(TestServer(application)) as client:
            await scenario(client, sv, ctx)

    asyncio.run(main())


async def get_json(client: Client, path: str, status: int = 200) -> Any:
    resp = await client.get(path)
    assert resp.status == status, await resp.text()
    assert resp.headers["Content-Type"] == "application/json"
    return json.loads(await resp.text())


def test_list_inspect_history() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        image_id = add(sv, [BUSYBOX, "docker.io/me/app:1"], [b"layer-a", b"layer-bb"],
                       created="2024-05-06T07:08:09Z")
        shared_id = add(sv, ["localhost:5000/x:2"], [b"layer-a"], created="2023-01-01T00:00:00Z")
        listed = await get_json(client, "/images/json?shared-size=1")
        assert [i["Id"] for i in listed] == [image_id, shared_id]
        first = listed[0]
        assert sorted(first["RepoTags"]) == ["busybox:latest", "me/app:1"]
        assert first["Size"] == len(b"layer-a") + len(b"layer-bb") and first["SharedSize"] == len(b"layer-a")
        assert first["Created"] == 1714979289 and first["ParentId"] == "" and "VirtualSize" not in first
        old = await get_json(client, "/v1.41/images/json")
        assert old[0]["VirtualSize"] == first["Size"]

        only = await get_json(client, '/images/json?filters={"reference":["me/*"]}')
        assert [(i["Id"], i["RepoTags"]) for i in only] == [(image_id, ["me/app:1"])]
        assert await get_json(client, '/images/json?filter=localhost:5000/x') == \
            await get_json(client, '/images/json?filters={"reference":{"localhost:5000/x":true}}')
        since = await get_json(client, f'/images/json?filters={{"since":["{shared_id[7:19]}"]}}')
        assert [i["Id"] for i in since] == [image_id]
        before = await get_json(client, '/images/json?filters={"before":["busybox"]}')
        assert [i["Id"] for i in before] == [shared_id]
        bad = await get_json(client, '/images/json?filters={"nope":["x"]}', 400)
        assert bad == {"message": "invalid filter 'nope'"}

        doc = await get_json(client, "/images/busybox/json")
        config = parse_image_config(sv.blobs[image_id])
        assert doc["Id"] == image_id and doc["RootFS"]["Layers"] == config.diff_ids
        assert doc["Os"] == "linux" and doc["Architecture"] == "amd64" and doc["Created"] == "2024-05-06T07:08:09Z"
        assert doc["Config"]["Labels"] is None and doc["GraphDriver"] == {"Name": "overlayfs", "Data": None}
        assert (await get_json(client, f"/images/{image_id[7:19]}/json"))["Id"] == image_id
        assert (await get_json(client, f"/images/{image_id}/json"))["Id"] == image_id
        assert (await get_json(client, "/images/localhost:5000/x:2/json"))["Id"] == shared_id
        missing = await get_json(client, "/images/nope/json", 404)
        assert missing == {"message": "No such image: nope:latest"}

        history = await get_json(client, "/images/busybox/history")
        assert [h["Id"] for h in history] == [image_id, "<missing>"]
        assert [h["Size"] for h in history] == [len(b"layer-bb"), len(b"layer-a")]
        assert history[0]["Tags"] and history[1]["Tags"] is None

    run(scenario)


def test_history_with_empty_layers() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        image_id = add(sv, ["docker.io/library/h:1"], [b"layer-1", b"layer-22"])
        config = parse_image_config(sv.blobs[image_id])
        doc = config.to_dict()
        doc["history"] = [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD a"},
                          {"created": "2024-01-01T00:00:01Z", "created_by": "ENV x=1", "empty_layer": True},
                          {"created": "2024-01-01T00:00:02Z", "created_by": "ADD b", "comment": "c"}]
        sv.blobs[image_id] = ImageConfig.from_dict(doc).to_bytes()  # the fake serves it under the old digest
        rows = await get_json(client, "/images/h:1/history")
        assert [(r["CreatedBy"], r["Size"], r["Comment"]) for r in rows] == [
            ("ADD b", len(b"layer-22"), "c"), ("ENV x=1", 0, ""), ("ADD a", len(b"layer-1"), "")]
        assert rows[2]["Created"] == 1704067200

    run(scenario)


def test_tag_moves_names_and_keeps_the_old_image_dangling() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        old_id = add(sv, [BUSYBOX], [b"old"], created="2023-01-01T00:00:00Z")
        new_id = add(sv, ["docker.io/library/new:1"], [b"new"])
        resp = await client.post("/images/new:1/tag?repo=busybox&tag=latest")
        assert resp.status == 201
        listed = {i["Id"]: i for i in await get_json(client, "/images/json")}
        assert sorted(listed[new_id]["RepoTags"]) == ["busybox:latest", "new:1"]
        assert listed[old_id]["RepoTags"] == [] and listed[old_id]["RepoDigests"] == []
        dangling = await get_json(client, '/images/json?filters={"dangling":["true"]}')
        assert [i["Id"] for i in dangling] == [old_id]
        assert any(r.name.startswith(DANGLING_PREFIX) for r in sv.records)

        resp = await client.post(f"/images/{old_id}/tag?repo=back&tag=again")  # named again: no dangling record
        assert resp.status == 201
        assert not any(r.name.startswith(DANGLING_PREFIX) for r in sv.records)
        bad = await client.post("/images/new:1/tag?repo=Bad")
        assert bad.status == 400
        events = [(e.action, e.actor_id, e.attributes["name"]) for e in ctx.events.past(0, None)]
        assert events == [("tag", new_id, "busybox:latest"), ("tag", old_id, "back:again")]

    run(scenario)


def test_remove_untag_delete_and_conflicts() -> None:
    sv, ctx = setup()
    image_id = add(sv, [BUSYBOX, "docker.io/library/busybox:1"], [b"x"])

    async def image_users() -> Mapping[str, Sequence[ImageUse]]:
        return {image_id: [ImageUse("c" * 64)]}

    ctx.image_users = image_users

    async def main() -> None:
        async with TestClient(TestServer(app_mod.make_app(ctx, (images_api,)))) as client:
            await scenario_with_image(client, sv, ctx)

    async def scenario_with_image(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        resp = await client.delete("/images/busybox:1")
        assert json.loads(await resp.text()) == [{"Untagged": "busybox:1"}]
        resp = await client.delete("/images/busybox")
        assert resp.status == 409
        assert json.loads(await resp.text())["message"] == (
            'conflict: unable to remove repository reference "busybox" (must force) - container '
            f"{'c' * 12} is using its referenced image {image_id[7:19]}")
        resp = await client.delete("/images/busybox?force=1")
        assert json.loads(await resp.text()) == [{"Untagged": "busybox:latest"}]
        assert [r.name for r in sv.records][-1].startswith(DANGLING_PREFIX)
        resp = await client.delete(f"/images/{image_id[7:15]}")
        assert resp.status == 409 and "image is being used by stopped container" in await resp.text()
        resp = await client.delete(f"/images/{image_id}?force=1")
        assert json.loads(await resp.text()) == []  # still used: kept, nothing to untag

    asyncio.run(main())


def test_remove_last_name_deletes_with_gc() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        image_id = add(sv, [BUSYBOX], [b"x"])
        resp = await client.delete("/v1.47/images/busybox:latest")
        assert json.loads(await resp.text()) == [{"Untagged": "busybox:latest"}, {"Deleted": image_id}]
        assert sv.synced == 1
        actions = [(e.action, e.actor_id) for e in ctx.events.past(0, None)]
        assert actions == [("untag", image_id), ("delete", image_id)]

    run(scenario)


def test_prune_and_search() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        tagged = add(sv, [BUSYBOX], [b"shared"])
        loose = add(sv, [f"{DANGLING_PREFIX}sha256:{'5' * 64}"], [b"shared", b"own-layer"],
                    created="2020-01-01T00:00:00Z")
        resp = await client.post("/images/prune")
        assert json.loads(await resp.text()) == {"ImagesDeleted": [{"Deleted": loose}],
                                                 "SpaceReclaimed": len(b"own-layer")}
        resp = await client.post('/images/prune?filters={"dangling":["false"]}')
        body = json.loads(await resp.text())
        assert body["ImagesDeleted"] == [{"Untagged": "busybox:latest"}, {"Deleted": tagged}]
        assert sv.records == []
        resp = await client.get("/images/search?term=busybox")
        assert resp.status == 501
        assert json.loads(await resp.text()) == {"message": "search is not supported: no registry search endpoint"}

    run(scenario)


def test_layer_sizes_use_snapshot_usage() -> None:
    async def scenario(client: Client, sv: FakeImageSupervisor, ctx: EngineContext) -> None:
        image_id = add(sv, [BUSYBOX], [b"x"])
        sv.usage[chain_ids(parse_image_config(sv.blobs[image_id]).diff_ids)[0]] = 12345
        assert (await get_json(client, "/images/busybox/json"))["Size"] == 12345

    run(scenario)
