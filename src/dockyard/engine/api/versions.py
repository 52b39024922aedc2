"""The Engine API versions this daemon speaks, and the check of a request's version.

Requests come as ``/v1.NN/<path>`` or unversioned (``/<path>``: the current version). A
version below :data:`MIN_API_VERSION` or above :data:`API_VERSION` is refused with
dockerd's own messages (400), so clients that parse them (docker CLI, docker-py) react as
they do with dockerd.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

API_VERSION = "1.47"  # advertised in Api-Version and /version (docker 27.3's)
MIN_API_VERSION = "1.24"


def parse(version: str) -> tuple[int, ...]:
    """``"1.47"`` -> ``(1, 47)``; InvalidArgument for anything that is not dot-separated numbers."""
    try:
        parts = tuple(int(part) for part in version.split("."))
    except ValueError:
        raise InvalidArgument(f"invalid API version {version!r}") from None
    if not parts or any(part < 0 for part in parts):
        raise InvalidArgument(f"invalid API version {version!r}")
    return parts


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as, or newer than ``b`` (missing parts are 0,
    as Go's ``versions.compare`` has it: ``1.40`` == ``1.40.0``)."""
    pa, pb = parse(a), parse(b)
    width = max(len(pa), len(pb))
    pa, pb = pa + (0,) * (width - len(pa)), pb + (0,) * (width - len(pb))
    return (pa > pb) - (pa < pb)


def less_than(a: str, b: str) -> bool:
    return compare(a, b) < 0


def at_least(a: str, b: str) -> bool:
    return compare(a, b) >= 0


def negotiate(requested: str | None) -> str:
    """The version a request is served with: ``requested`` (from its path) if it is within
    [MIN_API_VERSION, API_VERSION], the current version when the path has none.

    Out of range: InvalidArgument with dockerd's message (docker's clients show it as is).
    """
    if not requested:
        return API_VERSION
    if compare(requested, MIN_API_VERSION) < 0:
        raise InvalidArgument(f"client version {requested} is too old. Minimum supported API version is "
                              f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    if compare(requested, API_VERSION) > 0:
        raise InvalidArgument(f"client version {requested} is too new. Maximum supported API version is "
                              f"{API_VERSION}")
    return requested
