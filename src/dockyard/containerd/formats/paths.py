"""Names inside an image archive: normalise them, and resolve links without leaving the archive.

Archives are untrusted. A name is a relative POSIX path; ``./`` prefixes and repeated
slashes are dropped, and an absolute name, a NUL byte or a ``..`` that climbs above the
archive's root is refused with an error naming the entry. Links between entries (old
``docker save`` archives link shared ``layer.tar`` files) are resolved component by
component inside the archive, never through the host's file system.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from dockyard.errors import InvalidArgument

MAX_LINK_HOPS = 40


def normalize(name: str, what: str = "archive") -> str:
    """``name`` as a clean relative path (``a/b``); InvalidArgument if it would escape."""
    if "\0" in name:
        raise InvalidArgument(f"{what}: entry {name!r}: NUL byte in name")
    if name.startswith("/"):
        raise InvalidArgument(f"{what}: entry {name!r}: absolute name")
    clean = posixpath.normpath(name) if name else "."
    if clean == ".." or clean.startswith("../"):
        raise InvalidArgument(f"{what}: entry {name!r}: path escapes the archive")
    return "" if clean == "." else clean


def blob_digest(name: str) -> str:
    """``sha256:<hex>`` for a name ``blobs/sha256/<hex>`` (any registered algorithm); else ""."""
    from dockyard.oci.digest import parse_digest

    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "blobs":
        return ""
    value = f"{parts[1]}:{parts[2]}"
    try:
        parse_digest(value)
    except InvalidArgument:
        return ""
    return value


def blob_name(digest: str) -> str:
    """``blobs/<alg>/<hex>`` of a digest."""
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def resolve(name: str, links: Mapping[str, tuple[str, str]], what: str = "archive") -> str:
    """The entry ``name`` designates once links are followed.

    ``links`` maps an entry name to ``("sym", target)`` (target relative to the link's
    directory, or absolute meaning the archive's root) or ``("hard", target)`` (a name
    from the root). Any component may be a symbolic link. InvalidArgument when a link
    leaves the archive or the chain is longer than MAX_LINK_HOPS.
    """
    pending = normalize(name, what).split("/")
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if not part:
            continue
        current = "/".join([*done, part])
        link = links.get(current)
        if link is None:
            done.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise InvalidArgument(f"{what}: {name}: too many levels of links")
        kind, target = link
        if kind == "hard" or target.startswith("/"):
            base = target.lstrip("/")
        else:
            base = posixpath.join(*done, target) if done else target
        try:
            fresh = normalize(base, what)
        except InvalidArgument:
            raise InvalidArgument(f"{what}: {name}: link {current} -> {target} leaves the archive") from None
        pending = [*(fresh.split("/") if fresh else []), *pending]
        done = []
    return "/".join(done)
