"""Uploading one blob: skip it when the repository has it, mount it from another repository
of the same registry, else push its bytes monolithically or in chunks.

1. ``HEAD /v2/<name>/blobs/<digest>``: 200 means nothing to do (``exists``).
2. For each candidate source repository, ``POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>``:
   201 is a cross-repository mount (``mounted``); 202 means the registry would not mount and
   opened an upload session instead.
3. Otherwise ``POST /v2/<name>/blobs/uploads/`` opens a session (202 and a ``Location``).
4. A blob up to ``monolithic_limit`` bytes goes in one ``PUT <location>?digest=<digest>``;
   a larger one in ``PATCH`` requests of ``chunk_size`` bytes with ``Content-Range:
   <first>-<last>``, each answered with the next ``Location`` (relative or absolute: both
   are resolved) and ``Range: 0-<last>``; then ``PUT <location>?digest=<digest>`` closes it.

A chunk that fails mid-way is resumed from the offset the registry reports
(``GET <location>`` answers ``Range``); an upload that fails anyway starts over from a new
session, ``retries`` times. The body is read from the source with ``read_at`` piece by piece,
so no blob is held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from dockyard.containerd.registry.auth import repository_scope
from dockyard.containerd.registry.responses import Subject, resolve_location, upload_offset
from dockyard.containerd.registry.transport import Transport
from dockyard.errors import FailedPrecondition, InvalidArgument, Unavailable
from dockyard.oci.descriptor import Descriptor

EXISTS = "exists"
MOUNTED = "mounted"
PUSHED = "pushed"
MAX_MOUNT_SOURCES = 3
OCTET_STREAM = "application/octet-stream"
_BLOCK = 1 << 20


class ReadAt(Protocol):
    """Random access to a blob's bytes (a content store reader fits)."""

    def read_at(self, size: int, offset: int) -> bytes: ...


class BytesSource:
    """``read_at`` over bytes in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read_at(self, size: int, offset: int) -> bytes:
        return self._data[offset:offset + size]


ProgressCallback = Callable[[int], None]  # bytes of the blob sent so far


class _RangeBody:
    """``length`` bytes of ``source`` from ``offset`` as a request body with a known length."""

    def __init__(self, source: ReadAt, offset: int, length: int, sent: ProgressCallback | None) -> None:
        self._source = source
        self._position = offset
        self._end = offset + length
        self._length = length
        self._sent = sent

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(_BLOCK):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        remaining = self._end - self._position
        want = remaining if size is None or size < 0 else min(size, remaining)
        if want <= 0:
            return b""
        data = self._source.read_at(want, self._position)
        if not data:
            raise InvalidArgument(f"blob source ended at byte {self._position}, before {self._end}")
        self._position += len(data)
        if self._sent is not None:
            self._sent(self._position)
        return data


def exists_blob(transport: Transport, repo: str, digest: str, scopes: Sequence[str] | None = None) -> bool:
    """Whether repository ``repo`` has blob ``digest`` (HEAD)."""
    subject = Subject("blob", f"{transport.host}/{repo}@{digest}")
    response = transport.request("HEAD", f"/v2/{repo}/blobs/{digest}", subject,
                                 scopes=scopes or [repository_scope(repo, "pull")], ok=(200, 404))
    response.close()
    return bool(response.status_code == 200)


def push_blob(transport: Transport, repo: str, desc: Descriptor, source: ReadAt, *,
              mount_from: Sequence[str] = (), chunk_size: int, monolithic_limit: int,
              on_progress: ProgressCallback | None = None) -> tuple[str, str]:
    """Make ``repo`` have blob ``desc``; return (``exists``/``mounted``/``pushed``, the
    repository it was mounted from or "")."""
    subject = Subject("blob", f"{transport.host}/{repo}@{desc.digest}")
    push_scope = repository_scope(repo, "pull", "push")
    if exists_blob(transport, repo, desc.digest, [push_scope]):
        return EXISTS, ""
    location = None
    sources = [name for name in dict.fromkeys(mount_from) if name and name != repo][:MAX_MOUNT_SOURCES]
    for number, name in enumerate(sources):
        response = transport.request(
            "POST", f"/v2/{repo}/blobs/uploads/", subject, scopes=[push_scope, repository_scope(name, "pull")],
            params={"mount": desc.digest, "from": name}, ok=(201, 202))
        response.close()
        if response.status_code == 201:
            return MOUNTED, name
        if number < len(sources) - 1:
            _cancel(transport, resolve_location(response.headers.get("Location"), response.url, subject), subject,
                    push_scope)
        else:
            location = resolve_location(response.headers.get("Location"), response.url, subject)
    failures = 0
    while True:
        try:
            if location is None:
                location = _start_session(transport, repo, subject, push_scope)
            if desc.size <= monolithic_limit:
                body = _RangeBody(source, 0, desc.size, on_progress) if desc.size else None
                _put(transport, location, desc, subject, push_scope, body, retry=True)
            else:
                location = _patch_all(transport, location, desc, source, subject, push_scope, chunk_size,
                                      on_progress)
                _put(transport, location, desc, subject, push_scope, None, retry=True)
            return PUSHED, ""
        except Unavailable:
            failures += 1
            if failures > transport.retries:
                raise
            location = None  # start over with a new session
            transport.sleep(transport.delay(failures))


def _start_session(transport: Transport, repo: str, subject: Subject, scope: str) -> str:
    response = transport.request("POST", f"/v2/{repo}/blobs/uploads/", subject, scopes=[scope], ok=(202,))
    response.close()
    return resolve_location(response.headers.get("Location"), response.url, subject)


def _put(transport: Transport, location: str, desc: Descriptor, subject: Subject, scope: str,
         body: _RangeBody | None, *, retry: bool) -> None:
    headers = {"Content-Type": OCTET_STREAM}
    response = transport.request("PUT", location, subject, scopes=[scope], params={"digest": desc.digest},
                                 headers=headers, data=body if body is not None else b"", ok=(201,),
                                 retry=retry and body is None)
    response.close()
    answered = response.headers.get("Docker-Content-Digest")
    if answered and answered != desc.digest:
        raise InvalidArgument(f"{subject}: the registry stored it as {answered}")


def _patch_all(transport: Transport, location: str, desc: Descriptor, source: ReadAt, subject: Subject,
               scope: str, chunk_size: int, on_progress: ProgressCallback | None) -> str:
    """Send the blob in chunks; return the location to close the session with."""
    offset = 0
    stalls = 0
    while offset < desc.size:
        length = min(chunk_size, desc.size - offset)
        headers = {"Content-Type": OCTET_STREAM, "Content-Range": f"{offset}-{offset + length - 1}"}
        try:
            response = transport.request("PATCH", location, subject, scopes=[scope], headers=headers,
                                         data=_RangeBody(source, offset, length, on_progress), ok=(202,),
                                         retry=False)
        except (Unavailable, FailedPrecondition):
            stalls += 1
            if stalls > transport.retries:
                raise
            transport.sleep(transport.delay(stalls))
            location, offset = _status(transport, location, subject, scope)
            continue
        response.close()
        location = resolve_location(response.headers.get("Location") or location, response.url, subject)
        reported = upload_offset(response.headers.get("Range"))
        offset = reported if reported is not None else offset + length
    return location


def _status(transport: Transport, location: str, subject: Subject, scope: str) -> tuple[str, int]:
    """Where an upload session stands: (its location, the next byte it expects)."""
    response = transport.request("GET", location, subject, scopes=[scope], ok=(204,))
    response.close()
    offset = upload_offset(response.headers.get("Range"))
    return resolve_location(response.headers.get("Location") or location, response.url, subject), offset or 0


def _cancel(transport: Transport, location: str, subject: Subject, scope: str) -> None:
    """End an upload session we will not use (failures do not matter)."""
    try:
        response: Any = transport.request("DELETE", location, subject, scopes=[scope], ok=(204, 202, 200, 404),
                                          retry=False)
        response.close()
    except Exception:
        pass
