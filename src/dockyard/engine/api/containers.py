"""Container routes: create, list, inspect, start, stop, restart, kill, wait, remove, pause,
unpause, rename, resize, update, prune — thin adapters over
:class:`dockyard.engine.containers.ContainerService` (``ctx.containers``).

Streams have modules of their own: :mod:`.containers_logs` (logs), :mod:`.containers_attach`
(attach), :mod:`.containers_stats` (stats, top). ``POST /containers/{id}/wait`` sends its
headers at once (as dockerd does, so a client knows the wait is in place before it starts
the container) and the ``{"StatusCode", "Error"}`` body when the condition is met.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.engine.api.httputil import (
    dumps,
    is_disconnected,
    json_body,
    json_response,
    query_bool,
    query_int,
    unless_disconnected,
)
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.container_images import find_image
from dockyard.engine.container_lifecycle import NotModified
from dockyard.engine.container_links import fill_inspect as fill_links
from dockyard.engine.container_links import link_names, remove_link
from dockyard.engine.container_model import Container
from dockyard.engine.container_views import inspect, select, summary
from dockyard.engine.containers import ContainerService
from dockyard.engine.context import EngineContext
from dockyard.engine.event_filters import time_range
from dockyard.engine.filters import Filters
from dockyard.engine.network_containers import fill_settings
from dockyard.engine.network_publish import summary_of
from dockyard.errors import DockyardError, InvalidArgument

UPDATABLE = ("BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems", "Memory",
             "MemorySwap", "MemoryReservation", "NanoCpus", "PidsLimit", "RestartPolicy", "CpuRealtimePeriod",
             "CpuRealtimeRuntime", "KernelMemory", "KernelMemoryTCP", "MemorySwappiness", "OomKillDisable",
             "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
             "BlkioDeviceWriteIOps", "Devices", "DeviceCgroupRules", "DeviceRequests", "Ulimits", "CgroupParent")


def service_of(ctx: EngineContext) -> ContainerService:
    service = getattr(ctx, "containers", None)
    if not isinstance(service, ContainerService):
        raise DockyardError("the container service is not running")
    return service


def _timeout(request: web.Request) -> int | None:
    for name in ("t", "timeout"):
        if request.query.get(name, "") != "":
            return query_int(request, name)
    return None


def not_modified() -> web.Response:
    return web.Response(status=304)


def routes(ctx: EngineContext) -> list[RouteDef]:
    def svc() -> ContainerService:
        return service_of(ctx)

    async def create(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        result = await svc().create(body, request.query.get("name", ""), request.query.get("platform", ""))
        return json_response(result, status=201)

    async def list_containers(request: web.Request) -> web.StreamResponse:
        service = svc()
        filters = Filters.parse(request.query.get("filters"))
        ancestors: set[str] | None = None
        if filters.values("ancestor"):
            ancestors = set(filters.values("ancestor"))
            for ref in list(ancestors):
                try:
                    ancestors.add((await find_image(service.sv, ref)).id)
                except DockyardError:
                    pass
        def ports_of(c: Container) -> list[dict[str, Any]]:
            return summary_of(ctx.networks, c.id, c.state.running, c.config.get("ExposedPorts"))

        def host_ports(c: Container) -> set[str]:
            return {f"{p['PublicPort']}/{p['Type']}" for p in ports_of(c) if "PublicPort" in p}

        chosen = select(service, filters, query_bool(request, "all"), query_int(request, "limit", -1), ancestors,
                        host_ports)
        with_size = query_bool(request, "size")
        out = []
        linked = link_names(service)
        for live in chosen:
            size = await service.sizes(live.container) if with_size else None
            doc = summary(live.container, size)
            if live.id in linked:
                doc["Names"] = sorted([*doc["Names"], *linked[live.id]])
            doc["Ports"] = ports_of(live.container)
            out.append(doc)
        return json_response(out)

    async def inspect_container(request: web.Request) -> web.StreamResponse:
        service = svc()
        live = service.get(request.match_info["id"])
        size = await service.sizes(live.container) if query_bool(request, "size") else None
        doc = inspect(live.container, service.execs.running_ids(live.id), size=size)
        fill_settings(doc, ctx)
        fill_links(doc, service, ctx.networks)
        return json_response(doc)

    async def start(request: web.Request) -> web.StreamResponse:
        service = svc()
        if request.query.get("checkpoint"):
            raise InvalidArgument("checkpoint: checkpoints are not supported")
        try:
            await service.lifecycle.start(service.get(request.match_info["id"]))
        except NotModified:
            return not_modified()
        return web.Response(status=204)

    async def stop(request: web.Request) -> web.StreamResponse:
        service = svc()
        try:
            await service.lifecycle.stop(service.get(request.match_info["id"]), _timeout(request),
                                         request.query.get("signal", ""))
        except NotModified:
            return not_modified()
        return web.Response(status=204)

    async def restart(request: web.Request) -> web.StreamResponse:
        service = svc()
        await service.lifecycle.restart(service.get(request.match_info["id"]), _timeout(request),
                                        request.query.get("signal", ""))
        return web.Response(status=204)

    async def kill(request: web.Request) -> web.StreamResponse:
        service = svc()
        await service.lifecycle.kill(service.get(request.match_info["id"]), request.query.get("signal", ""))
        return web.Response(status=204)

    async def wait(request: web.Request) -> web.StreamResponse:
        service = svc()
        live = service.get(request.match_info["id"])
        condition = request.query.get("condition", "")
        waiting = service.lifecycle.wait(live, condition)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            result = await unless_disconnected(request, waiting)
        except DockyardError as exc:
            result = {"StatusCode": -1, "Error": {"Message": exc.message}}
        if result is None or is_disconnected(request):
            return response
        await response.write((dumps(result) + "\n").encode())
        await response.write_eof()
        return response

    async def remove(request: web.Request) -> web.StreamResponse:
        if query_bool(request, "link"):  # docker rm --link /<parent>/<alias>
            remove_link(svc(), request.match_info["id"])
            return web.Response(status=204)
        await svc().remove(request.match_info["id"], query_bool(request, "force"), query_bool(request, "v"))
        return web.Response(status=204)

    async def pause(request: web.Request) -> web.StreamResponse:
        service = svc()
        await service.lifecycle.pause(service.get(request.match_info["id"]))
        return web.Response(status=204)

    async def unpause(request: web.Request) -> web.StreamResponse:
        service = svc()
        await service.lifecycle.unpause(service.get(request.match_info["id"]))
        return web.Response(status=204)

    async def rename(request: web.Request) -> web.StreamResponse:
        await svc().rename(request.match_info["id"], request.query.get("name", ""))
        return web.Response(status=204)

    async def resize(request: web.Request) -> web.StreamResponse:
        service = svc()
        await service.lifecycle.resize(service.get(request.match_info["id"]), query_int(request, "h"),
                                       query_int(request, "w"))
        return web.Response(status=200)

    async def update(request: web.Request) -> web.StreamResponse:
        from dockyard.engine.container_update import update_container

        service = svc()
        body = await json_body(request)
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: the body must be an object")
        unknown = sorted(k for k, v in body.items() if k not in UPDATABLE and v not in (None, 0, "", [], {}))
        if unknown:
            raise InvalidArgument(f"{', '.join(unknown)}: cannot be updated")
        warnings = await update_container(service, service.get(request.match_info["id"]), body)
        return json_response({"Warnings": warnings})

    async def prune(request: web.Request) -> web.StreamResponse:
        filters = Filters.parse(request.query.get("filters")).validate(("until", "label", "label!"))
        until = None
        if filters.values("until"):
            _, until = time_range(None, next(iter(filters.values("until"))))
        return json_response(await svc().prune(until, filters))

    return [
        RouteDef("POST", "/containers/create", create),
        RouteDef("GET", "/containers/json", list_containers),
        RouteDef("POST", "/containers/prune", prune),
        RouteDef("GET", "/containers/{id}/json", inspect_container),
        RouteDef("POST", "/containers/{id}/start", start),
        RouteDef("POST", "/containers/{id}/stop", stop),
        RouteDef("POST", "/containers/{id}/restart", restart),
        RouteDef("POST", "/containers/{id}/kill", kill),
        RouteDef("POST", "/containers/{id}/wait", wait),
        RouteDef("DELETE", "/containers/{id:.+}", remove),  # a link's name has a slash
        RouteDef("POST", "/containers/{id}/pause", pause),
        RouteDef("POST", "/containers/{id}/unpause", unpause),
        RouteDef("POST", "/containers/{id}/rename", rename),
        RouteDef("POST", "/containers/{id}/resize", resize),
        RouteDef("POST", "/containers/{id}/update", update),
    ]
