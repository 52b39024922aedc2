"""Route definitions: what a route module hands to the app.

Every module of the API (``system``, ``events``, later ``containers``, ``images``,
``exec``...) has one function::

    def routes(ctx: EngineContext) -> list[RouteDef]:
        service = ...built from ctx...
        return [RouteDef("GET", "/containers/json", partial(list_containers, service)), ...]

and is listed once in :data:`dockyard.engine.api.registry.ROUTE_MODULES`. A path is
written unversioned; the app serves it at ``/<path>`` and at ``/v{version}/<path>``, and
the handler finds the negotiated version with :func:`dockyard.engine.api.httputil.api_version`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.context import EngineContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})


@dataclass(frozen=True)
class RouteDef:
    """One method on one path (``/containers/{name}/json``: aiohttp's ``{var}`` syntax;
    ``{name:.*}`` for values with slashes, as image names have)."""

    method: str
    path: str
    handler: Handler

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidArgument(f"route {self.path}: method {self.method!r} is not one of {sorted(METHODS)}")
        if not self.path.startswith("/") or self.path.startswith("/v{"):
            raise InvalidArgument(f"route {self.path!r}: must be an unversioned absolute path")


class RouteModule(Protocol):
    """A module of the API: its routes, given the engine's context."""

    def routes(self, ctx: EngineContext) -> list[RouteDef]: ...


def check_unique(defs: Iterable[RouteDef]) -> list[RouteDef]:
    """``defs`` as a list; InvalidArgument naming the first method+path defined twice (two
    modules claiming one route is a wiring mistake: say so at start-up, not at request time)."""
    seen: set[tuple[str, str]] = set()
    out: list[RouteDef] = []
    for d in defs:
        key = (d.method, d.path)
        if key in seen:
            raise InvalidArgument(f"route {d.method} {d.path} is defined twice")
        seen.add(key)
        out.append(d)
    return out
