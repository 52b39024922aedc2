"""``POST /build`` (the classic builder, ``DOCKER_BUILDKIT=0 docker build``, docker-py's
``images.build``) and ``POST /build/prune`` (``docker builder prune``).

The body is the build context, a tar (plain or compressed); with ``remote`` the engine
fetches it instead: a git URL (docker-py's ``images.build(path="<git URL>")``) is cloned
(:mod:`~dockyard.engine.build.gitcontext`, ``#ref:subdir`` as dockerd takes it) under the
build's directory and its context directory archived, then removed; an http(s) URL gives a
tar (or a bare Dockerfile). A bad ref or repository is a 500 with git's message, as
dockerd's; a bad fragment a 400. The context is spooled and extracted
(:func:`~dockyard.engine.build.context.extract_context`) into a private directory under
``<data-root>/builder/tmp``, removed when the build ends. The Dockerfile is read and
planned before any output, so its errors are HTTP errors; the rest is dockerd's JSON
message stream (:mod:`dockyard.engine.build.executor`). A client that goes away cancels
the build: the stream's writer stops the executor (and a git clone in progress), and a RUN
in progress notices the closed connection within half a second and kills its container.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import IO

import aiohttp
from aiohttp import web

from dockyard.engine.api import containers, images
from dockyard.engine.api.httputil import json_response
from dockyard.engine.api.images_transfer import stream_messages
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.build import gitcontext
from dockyard.engine.build.buildrequest import BuildRequest, parse_query
from dockyard.engine.build.context import extract_context, read_dockerfile, remove_build_files
from dockyard.engine.build.dockerignore import Patterns
from dockyard.engine.build.executor import Builder
from dockyard.engine.build.sendcontext import context_chunks
from dockyard.engine.context import EngineContext
from dockyard.errors import InvalidArgument, Unavailable

CHUNK = 1 << 20
GIT_TIMEOUT = 600.0  # seconds, per git command of a remote git context


async def _spool_body(request: web.Request, spool: IO[bytes]) -> None:
    async for chunk in request.content.iter_chunked(CHUNK):
        await asyncio.to_thread(spool.write, chunk)


def _clone_into(url: str, spool: IO[bytes], parent: str, cancelled: Callable[[], bool]) -> None:
    """Clone the repository of ``url`` under ``parent`` and spool its context directory as
    a tar (all of it: dockerd applies no .dockerignore here but its removal rule); the
    clone is gone when this returns."""
    checkout = gitcontext.clone(url, parent=parent, timeout=GIT_TIMEOUT, isolated=True, cancelled=cancelled)
    try:
        for chunk in context_chunks(checkout.context_dir, patterns=Patterns()):
            spool.write(chunk)
    finally:
        checkout.remove()


async def _spool_git(url: str, spool: IO[bytes], parent: str) -> None:
    """:func:`_clone_into` in a thread; a cancelled build stops git and waits for the thread
    (so that nothing writes under ``parent`` once the build's directory is removed)."""
    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(_clone_into, url, spool, parent, stop.is_set))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([task])
        raise


async def _spool_remote(url: str, spool: IO[bytes], parent: str) -> None:
    """The context at ``url``: a git repository (dockerd's rule comes first), else an http(s)
    URL of a tar or a Dockerfile."""
    if gitcontext.is_git_url(url):
        await _spool_git(url, spool, parent)
        return
    if not gitcontext.is_url(url):
        raise InvalidArgument(f"remoteURL ({url}) could not be recognized as URL")
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            if answer.status != 200:
                raise InvalidArgument(f"error downloading remote context {url}: {answer.status} {answer.reason}")
            async for chunk in answer.content.iter_chunked(CHUNK):
                await asyncio.to_thread(spool.write, chunk)
    except aiohttp.ClientError as exc:
        raise Unavailable(f"error downloading remote context {url}: {exc}") from None


def _extract(spool: IO[bytes], context_dir: str, build: BuildRequest) -> bytes:
    """Unpack the context (a bare Dockerfile becomes one, as dockerd takes it); the
    Dockerfile's content. The ignored Dockerfile and .dockerignore are removed after."""
    spool.flush()
    spool.seek(0)
    head = spool.read(512)
    spool.seek(0)
    try:
        extract_context(spool, context_dir)
    except InvalidArgument:
        if not head or b"\0" in head:
            raise
        spool.seek(0)
        with open(os.path.join(context_dir, build.dockerfile or "Dockerfile"), "wb") as out:
            shutil.copyfileobj(spool, out)
    name, content = read_dockerfile(context_dir, build.dockerfile)
    remove_build_files(context_dir, name)
    return content


def routes(ctx: EngineContext) -> list[RouteDef]:
    def tmp_root() -> str:
        path = os.path.join(ctx.config.data_root, "builder", "tmp")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    async def build(request: web.Request) -> web.StreamResponse:
        query = parse_query(request.query)
        service = images.service_of(ctx)
        work = tempfile.mkdtemp(prefix="build-", dir=tmp_root())
        try:
            context_dir = os.path.join(work, "context")
            os.mkdir(context_dir, 0o755)
            with tempfile.TemporaryFile(dir=work) as spool:
                if query.remote:
                    await _spool_remote(query.remote, spool, work)
                else:
                    await _spool_body(request, spool)
                dockerfile = await asyncio.to_thread(_extract, spool, context_dir, query)

            def disconnected() -> bool:
                transport = request.transport
                return transport is None or transport.is_closing()

            builder = Builder(containers.service_of(ctx), service, service.build_cache, query, context_dir,
                              disconnected)
            return await stream_messages(request, builder.build(dockerfile))
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def prune(request: web.Request) -> web.StreamResponse:
        return json_response(await service.prune_build_cache())

    service = images.service_of(ctx)
    return [RouteDef("POST", "/build", build), RouteDef("POST", "/build/prune", prune)]

