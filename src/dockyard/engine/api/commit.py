"""``POST /commit`` (``docker commit``): a new image from a container's changes.

Query: ``container``, ``repo`` and ``tag`` (no repo: a dangling image), ``comment``,
``author``, ``pause`` (default true), ``changes`` (repeated Dockerfile instructions); the
body, optional, is a container ``Config`` for the image's run defaults. Answers dockerd's
``201 {"Id": "sha256:..."}``; the work is :class:`dockyard.engine.container_commit.Committer`'s.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine.api import containers, images
from dockyard.engine.api.httputil import json_body, json_response, query_bool
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.container_commit import Committer
from dockyard.engine.context import EngineContext


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def commit(request: web.Request) -> web.StreamResponse:
        query = request.query
        body = await json_body(request, allow_empty=True)
        committer = Committer(containers.service_of(ctx), images.service_of(ctx))
        image_id = await committer.commit(
            query.get("container", ""), repo=query.get("repo", ""), tag=query.get("tag", ""),
            author=query.get("author", ""), comment=query.get("comment", ""),
            pause=query_bool(request, "pause", True), changes=query.getall("changes", []), config=body)
        return json_response({"Id": image_id}, status=201)

    return [RouteDef("POST", "/commit", commit)]
