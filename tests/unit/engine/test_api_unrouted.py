"""Paths no route takes: a container reference with a slash is "No such container", as the
handler of dockerd's ``{name:.*}`` routes says; anything else is "page not found"."""

from __future__ import annotations

import pytest

from dockyard.engine.api.middleware import PAGE_NOT_FOUND, unrouted_message


@pytest.mark.parametrize(("path", "message"), [
    ("/v1.47/containers/host:5000/img:tag/json", "No such container: host:5000/img:tag"),
    ("/containers/a/b/attach/ws", "No such container: a/b"),
    ("/v1.47/containers/a/b/nope", PAGE_NOT_FOUND),
    ("/v1.47/nothing", PAGE_NOT_FOUND),
])
def test_unrouted_message(path: str, message: str) -> None:
    assert unrouted_message(path) == message
