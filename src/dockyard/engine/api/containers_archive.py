"""``HEAD/GET/PUT /containers/{id}/archive?path=`` (``docker cp``): the stat of a container
path (``X-Docker-Container-Path-Stat``), a tar of it, and a tar extracted into a directory
(see :mod:`dockyard.engine.container_archive`). The tar is spooled to an anonymous
temporary file, so the container's root is held only while it is read or written."""

from __future__ import annotations

import asyncio
import tempfile

from aiohttp import web

from dockyard.engine import container_archive as archive
from dockyard.engine.api.containers import service_of
from dockyard.engine.api.httputil import query_bool
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.errors import InvalidArgument, PermissionDenied

CHUNK = 64 * 1024
STAT_HEADER = "X-Docker-Container-Path-Stat"


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidArgument("path cannot be empty")
    return path


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def head(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        path = _path(request)
        async with archive.container_root(service, live) as root:
            _, doc = await asyncio.to_thread(archive.path_stat, root, path, live)
        return web.Response(status=200, headers={STAT_HEADER: archive.stat_header(doc),
                                                 "Content-Type": "application/json"})

    async def get(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        path = _path(request)
        with tempfile.TemporaryFile(dir=service.mount_dir) as spool:
            async with archive.container_root(service, live) as root:
                def build() -> dict[str, object]:
                    resolved, doc = archive.path_stat(root, path, live)
                    archive.write_tar(resolved, path, spool, root)
                    return doc
                doc = await asyncio.to_thread(build)
            spool.seek(0)
            response = web.StreamResponse(headers={STAT_HEADER: archive.stat_header(doc),
                                                   "Content-Type": "application/x-tar"})
            await response.prepare(request)
            try:
                while chunk := await asyncio.to_thread(spool.read, CHUNK):
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionResetError, BrokenPipeError):
                pass
            return response

    async def put(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        path = _path(request)
        if live.container.host_config.get("ReadonlyRootfs"):
            raise PermissionDenied("container rootfs is marked read-only")
        no_overwrite = query_bool(request, "noOverwriteDirNonDir")
        copy_uid_gid = query_bool(request, "copyUIDGID")
        with tempfile.TemporaryFile(dir=service.mount_dir) as spool:
            while chunk := await request.content.read(CHUNK):
                await asyncio.to_thread(spool.write, chunk)
            spool.seek(0)
            async with archive.container_root(service, live) as root:
                await asyncio.to_thread(archive.extract, root, path, live, spool, no_overwrite, copy_uid_gid)
        return web.Response(status=200)

    return [RouteDef("HEAD", "/containers/{id}/archive", head), RouteDef("GET", "/containers/{id}/archive", get),
            RouteDef("PUT", "/containers/{id}/archive", put)]
