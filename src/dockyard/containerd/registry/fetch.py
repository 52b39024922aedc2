"""Downloading one blob into a content writer: streamed, resumed, verified.

:func:`fetch_blob` appends to a writer (a content store ingest) from where it stands, so an
ingest left by an interrupted pull resumes: with bytes already there it asks for
``Range: bytes=<offset>-``. A 206 answer continues the ingest; a 200 (the registry ignores
ranges) or a 206 from another offset starts it over. When the connection breaks or stalls
mid-body, the next attempt resumes the same way after a backoff; only attempts that brought
no new byte count against ``retries``.

The content is checked on the way: never more bytes than the descriptor's size, a body the
registry itself declares shorter (``Content-Length``) or that ends early with nothing more
to resume is a truncated blob, and the running digest must equal the descriptor's at the
end. Those faults are InvalidArgument (the registry's data is bad: trying again will not
help); a connection that keeps failing is Unavailable. The caller commits the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from dockyard.containerd.registry.auth import repository_scope
from dockyard.containerd.registry.responses import Subject, content_range_start
from dockyard.containerd.registry.transport import TRANSIENT_ERRORS, Transport, reason
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import parse_digest

CHUNK = 1 << 20
MAX_ATTEMPTS_WITH_PROGRESS = 50  # a connection that keeps breaking but moves on


class BlobWriter(Protocol):
    """The part of a content store writer a download uses."""

    def write(self, data: bytes | bytearray | memoryview) -> int: ...

    def digest(self) -> str: ...

    def truncate(self, size: int = 0) -> None: ...

    def status(self) -> Any: ...  # .offset: bytes already in the ingest


class Cancelled(Unavailable):
    """The download was stopped by its caller (another part of a pull failed)."""


# on_data(offset, piece): ``piece`` was written at ``offset`` of the blob.
DataCallback = Callable[[int, bytes], None]


def fetch_blob(transport: Transport, repo: str, desc: Descriptor, writer: BlobWriter, *,
               on_data: DataCallback | None = None, cancelled: Callable[[], bool] | None = None,
               chunk: int = CHUNK) -> None:
    """Fill ``writer`` with blob ``desc`` of repository ``repo`` and check its digest."""
    subject = Subject("blob", f"{transport.host}/{repo}@{desc.digest}")
    path = f"/v2/{repo}/blobs/{desc.digest}"
    scopes = [repository_scope(repo, "pull")]
    size = desc.size
    offset = writer.status().offset
    if offset > size:
        writer.truncate(0)
        offset = 0
    idle_failures = failures = 0
    while offset < size:
        if cancelled is not None and cancelled():
            raise Cancelled(f"{subject}: download cancelled")
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = transport.request("GET", path, subject, scopes=scopes, headers=headers, stream=True,
                                     ok=(200, 206, 416))
        received = 0
        try:
            offset = _start(response, writer, offset, size, subject)
            for piece in _pieces(response, chunk):
                if cancelled is not None and cancelled():
                    raise Cancelled(f"{subject}: download cancelled")
                if offset + len(piece) > size:
                    raise InvalidArgument(f"{subject}: the registry sent more than the {size} bytes of the blob")
                writer.write(piece)
                if on_data is not None:
                    on_data(offset, piece)
                offset += len(piece)
                received += len(piece)
        except TRANSIENT_ERRORS as exc:
            failures += 1
            idle_failures += 0 if received else 1
            if idle_failures > transport.retries or failures > MAX_ATTEMPTS_WITH_PROGRESS:
                raise Unavailable(f"{subject}: download interrupted at byte {offset} of {size}: "
                                  f"{reason(exc)} ({failures} attempts)") from None
            transport.sleep(transport.delay(idle_failures or 1))
            continue
        finally:
            response.close()
        if offset < size and not received:
            raise InvalidArgument(f"{subject}: truncated: the registry sent {offset} of {size} bytes")
    _verify(writer, desc, subject)


def _start(response: Any, writer: BlobWriter, offset: int, size: int, subject: Subject) -> int:
    """Check the answer's status and length; return the offset its body starts at."""
    status = response.status_code
    if status == 416:
        raise InvalidArgument(f"{subject}: truncated: the registry has no bytes past {offset} of {size}")
    if status == 206:
        start = content_range_start(response.headers.get("Content-Range"))
        if start != offset and start != 0:
            raise InvalidArgument(f"{subject}: the registry answered a range request with another range")
        status = 200 if start == 0 else 206
    if status == 200 and offset:
        writer.truncate(0)  # the whole blob again: start over
        offset = 0
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and response.headers.get("Content-Encoding", "identity") \
            in ("identity", ""):
        end = offset + int(declared)
        if end < size:
            raise InvalidArgument(f"{subject}: truncated: the registry has {end} of {size} bytes")
        if end > size:
            raise InvalidArgument(f"{subject}: the registry's blob is {end} bytes, not {size}")
    return offset


def _pieces(response: Any, chunk: int) -> Any:
    """The raw body (no content decoding) in pieces of at most ``chunk`` bytes."""
    raw = response.raw
    while True:
        piece = raw.read(chunk, decode_content=False)
        if not piece:
            return
        yield piece


def _verify(writer: BlobWriter, desc: Descriptor, subject: Subject) -> None:
    """The running digest must be the descriptor's (when both use the same algorithm;
    otherwise the commit checks it)."""
    actual = writer.digest()
    if not actual or ":" not in actual:
        return
    if parse_digest(actual)[0] == parse_digest(desc.digest)[0] and actual != desc.digest:
        raise InvalidArgument(f"{subject}: digest mismatch: the registry sent content with digest {actual}")
