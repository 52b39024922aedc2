"""``GET /containers/{id}/changes`` (``docker diff``) and ``GET /containers/{id}/export``
(``docker export``: a tar of the container's root filesystem, streamed by GNU tar from a
read-only mount of it, with numeric owners)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from aiohttp import web

from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.api.containers import service_of
from dockyard.engine.api.httputil import json_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.container_fs import changes, mount_root, overlay_dirs, unmount_root
from dockyard.engine.context import EngineContext

log = logging.getLogger("dockyard.engine.containers")

CHUNK = 64 * 1024


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def diff(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        c = live.container
        mounts = await rootfs.mounts(service.sv, c.snapshot_key or c.id)
        upper, lowers = overlay_dirs(mounts)
        found = await asyncio.to_thread(changes, upper, lowers)
        return json_response(found or None)

    async def export(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        c = live.container
        mounts = await rootfs.mounts(service.sv, c.snapshot_key or c.id)
        root = await asyncio.to_thread(mount_root, mounts, service.mount_dir)
        proc = None
        try:
            entries = sorted(os.listdir(root))
            proc = await asyncio.create_subprocess_exec(
                "tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", "-", "--", *entries,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert proc.stdout is not None and proc.stderr is not None
            response = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
            await response.prepare(request)
            while True:
                chunk = await proc.stdout.read(CHUNK)
                if not chunk:
                    break
                await response.write(chunk)
            status = await proc.wait()
            if status != 0:  # the headers are gone: the client sees a short tar
                log.error("export of %s: tar exited %d: %s", c.id, status, (await proc.stderr.read()).decode())
            await response.write_eof()
            return response
        except (ConnectionResetError, BrokenPipeError):
            return web.StreamResponse()
        finally:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            await asyncio.to_thread(unmount_root, root)

    return [RouteDef("GET", "/containers/{id}/changes", diff), RouteDef("GET", "/containers/{id}/export", export)]
