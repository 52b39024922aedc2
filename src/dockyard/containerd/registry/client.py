"""The distribution API v2 client of one registry (:class:`RegistryClient`).

One client per registry host: it owns a pooled HTTP session (:mod:`.transport`) and the
authorization state (tokens are cached per scope), and may be shared by threads. Methods
take the repository path within the registry (``library/busybox``) or, for
:meth:`RegistryClient.resolve`, a full reference.

- :meth:`resolve`: ``HEAD /v2/<name>/manifests/<tag|digest>`` with the Accept header of the
  four manifest types (OCI index and manifest, Docker manifest list and schema 2); when the
  answer lacks a digest, type or length, ``GET`` and compute the digest, which must equal
  ``Docker-Content-Digest``. By digest, the digest is the reference's own.
- :meth:`fetch_manifest`: ``GET`` by digest, at most ``max_manifest_size`` bytes, checked
  against the descriptor's digest and size.
- :meth:`fetch_blob`, :meth:`exists_blob`, :meth:`push_blob`: see :mod:`.fetch` and :mod:`.upload`.
- :meth:`push_manifest`: ``PUT /v2/<name>/manifests/<tag|digest>`` with its media type.
- :meth:`list_tags`: every page, following ``Link: <...>; rel="next"``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from dockyard.containerd.registry import upload
from dockyard.containerd.registry.auth import repository_scope
from dockyard.containerd.registry.credentials import Credentials, DockerConfig
from dockyard.containerd.registry.fetch import BlobWriter, DataCallback, fetch_blob
from dockyard.containerd.registry.responses import Subject, next_link
from dockyard.containerd.registry.transport import TRANSIENT_ERRORS, Transport, reason
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import digest_bytes, parse_digest
from dockyard.oci.reference import Reference, parse_canonical, parse_reference, registry_host

MANIFEST_ACCEPT = ", ".join((
    mediatypes.OCI_INDEX,
    mediatypes.OCI_MANIFEST,
    mediatypes.DOCKER_MANIFEST_LIST,
    mediatypes.DOCKER_MANIFEST,
))
MAX_MANIFEST_SIZE = 4 << 20
DEFAULT_CHUNK_SIZE = 16 << 20
DEFAULT_MONOLITHIC_LIMIT = 16 << 20


class CredentialSource(Protocol):
    """Where credentials come from (a :class:`DockerConfig` fits)."""

    def lookup(self, host: str) -> Credentials | None: ...


class RegistryClient:
    """The client of registry ``host`` (``host[:port]``; Docker Hub is ``registry-1.docker.io``).

    ``insecure``: plain HTTP allowed (always so for loopback hosts); ``credentials``: a
    :class:`Credentials` or a source such as :class:`DockerConfig` (None: anonymous);
    ``timeout``: seconds for connecting and for each wait for data; ``retries``: extra tries
    after a transient failure; ``chunk_size`` / ``monolithic_limit``: how blobs are pushed.
    """

    def __init__(self, host: str, *, insecure: bool = False,
                 credentials: Credentials | CredentialSource | None = None, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, monolithic_limit: int = DEFAULT_MONOLITHIC_LIMIT,
                 max_manifest_size: int = MAX_MANIFEST_SIZE, pool_size: int = 10) -> None:
        if chunk_size <= 0:
            raise InvalidArgument(f"registry {host}: chunk size must be positive, not {chunk_size}")
        if credentials is not None and not isinstance(credentials, Credentials):
            credentials = credentials.lookup(host)
        self.host = host
        self.transport = Transport(host, insecure=insecure, credentials=credentials, timeout=timeout,
                                   retries=retries, backoff=backoff, max_backoff=max_backoff, pool_size=pool_size)
        self.chunk_size = chunk_size
        self.monolithic_limit = monolithic_limit
        self.max_manifest_size = max_manifest_size
        self._fetched: dict[str, bytes] = {}  # manifests a GET in resolve brought, by digest
        self._fetched_lock = threading.Lock()

    @classmethod
    def for_reference(cls, ref: Reference | str, *, insecure_registries: Sequence[str] = (),
                      config: CredentialSource | None = None, **options: Any) -> RegistryClient:
        """A client for ``ref``'s registry, credentials from ``config`` (default: docker's
        config.json), insecure if its domain is listed in ``insecure_registries``."""
        reference = parse_reference(ref) if isinstance(ref, str) else ref
        source = config if config is not None else DockerConfig.load()
        insecure = reference.domain in insecure_registries or reference.registry_host in insecure_registries
        return cls(reference.registry_host, insecure=insecure, credentials=source, **options)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks and helpers ----------------------------------------------------------

    def _reference(self, ref: Reference | str) -> Reference:
        reference = parse_reference(ref) if isinstance(ref, str) else ref
        if reference.registry_host != self.host:
            raise InvalidArgument(f"reference {reference} is not on registry {self.host}")
        return reference

    def _name(self, repo: str) -> str:
        return f"{self.host}/{repo}"

    def ping(self) -> None:
        """``GET /v2/``: the registry speaks the API (and learn its challenge early)."""
        response = self.transport.request("GET", "/v2/", Subject("registry", self.host), ok=(200,))
        response.close()

    # -- manifests -------------------------------------------------------------------

    def resolve(self, ref: Reference | str) -> Descriptor:
        """The descriptor (media type, digest, size) that ``ref`` names on the registry."""
        reference = self._reference(ref)
        repo = _check_repo(reference.path)
        subject = Subject("manifest", str(reference))
        path = f"/v2/{repo}/manifests/{reference.api_reference}"
        scopes = [repository_scope(repo, "pull")]
        headers = {"Accept": MANIFEST_ACCEPT}
        response = self.transport.request("HEAD", path, subject, scopes=scopes, headers=headers, ok=(200, 405))
        response.close()
        if response.status_code == 200:
            media_type = mediatypes.base(response.headers.get("Content-Type", ""))
            digest = response.headers.get("Docker-Content-Digest", "")
            length = response.headers.get("Content-Length", "")
            if reference.digest:
                if digest and digest != reference.digest:
                    raise InvalidArgument(f"{subject}: the registry answered with digest {digest}")
                digest = reference.digest
            if _known_type(media_type) and digest and length.isdigit():
                parse_digest(digest)
                return Descriptor(media_type, digest, int(length))
        data, media_type, answered = self._get_manifest(path, subject, scopes)
        expected = reference.digest or answered
        actual = digest_bytes(data, parse_digest(expected)[0] if expected else "sha256")
        if expected and actual != expected:
            raise InvalidArgument(f"{subject}: digest mismatch: the registry says {expected}, the content is {actual}")
        mediatypes.reject_schema1(media_type)
        if not _known_type(media_type):
            media_type = _sniff_type(data, subject)
        with self._fetched_lock:
            if len(self._fetched) >= 16:
                self._fetched.clear()
            self._fetched[actual] = data
        return Descriptor(media_type, actual, len(data))

    def fetch_manifest(self, repo: str, desc: Descriptor) -> bytes:
        """The bytes of manifest or index ``desc`` of ``repo``, verified against it."""
        repo = _check_repo(repo)
        with self._fetched_lock:
            data = self._fetched.pop(desc.digest, None)
        subject = Subject("manifest", f"{self._name(repo)}@{desc.digest}")
        if data is None:
            path = f"/v2/{repo}/manifests/{desc.digest}"
            data, _, _ = self._get_manifest(path, subject, [repository_scope(repo, "pull")])
        actual = digest_bytes(data, parse_digest(desc.digest)[0])
        if actual != desc.digest:
            raise InvalidArgument(f"{subject}: digest mismatch: the content is {actual}")
        if len(data) != desc.size:
            raise InvalidArgument(f"{subject}: size mismatch: {len(data)} bytes, the descriptor says {desc.size}")
        return data

    def _get_manifest(self, path: str, subject: Subject, scopes: list[str]) -> tuple[bytes, str, str]:
        """GET a manifest: (bytes, media type, Docker-Content-Digest)."""
        attempts = 0
        while True:
            attempts += 1
            response = self.transport.request("GET", path, subject, scopes=scopes,
                                              headers={"Accept": MANIFEST_ACCEPT}, stream=True)
            try:
                data = _read_limited(response.raw, self.max_manifest_size, subject)
            except TRANSIENT_ERRORS as exc:
                if attempts <= self.transport.retries:
                    self.transport.sleep(self.transport.delay(attempts))
                    continue
                raise Unavailable(f"{subject}: reading it from {self.host} failed: {reason(exc)}") from None
            finally:
                response.close()
            media_type = mediatypes.base(response.headers.get("Content-Type", ""))
            return data, media_type, response.headers.get("Docker-Content-Digest", "")

    def push_manifest(self, repo: str, reference: str, media_type: str, data: bytes) -> str:
        """Store manifest ``data`` in ``repo`` under ``reference`` (a tag or a digest); return
        its digest (checked against the registry's answer)."""
        repo = _check_repo(repo)
        separator = "@" if ":" in reference else ":"
        subject = Subject("manifest", f"{self._name(repo)}{separator}{reference}")
        digest = digest_bytes(data, parse_digest(reference)[0] if ":" in reference else "sha256")
        if ":" in reference and digest != reference:
            raise InvalidArgument(f"{subject}: the content's digest is {digest}")
        response = self.transport.request(
            "PUT", f"/v2/{repo}/manifests/{reference}", subject, scopes=[repository_scope(repo, "pull", "push")],
            headers={"Content-Type": mediatypes.base(media_type)}, data=data, ok=(201, 200, 202))
        response.close()
        answered = response.headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise InvalidArgument(f"{subject}: the registry stored it as {answered}, not {digest}")
        return digest

    # -- blobs -----------------------------------------------------------------------

    def fetch_blob(self, repo: str, desc: Descriptor, writer: BlobWriter, *, on_data: DataCallback | None = None,
                   cancelled: Callable[[], bool] | None = None) -> None:
        """Stream blob ``desc`` into ``writer`` (resuming what it holds); verified, not committed."""
        fetch_blob(self.transport, _check_repo(repo), desc, writer, on_data=on_data, cancelled=cancelled)

    def exists_blob(self, repo: str, digest: str) -> bool:
        parse_digest(digest)
        return upload.exists_blob(self.transport, _check_repo(repo), digest)

    def push_blob(self, repo: str, desc: Descriptor, source: upload.ReadAt | bytes, *,
                  mount_from: Sequence[str] = (), on_progress: upload.ProgressCallback | None = None
                  ) -> tuple[str, str]:
        """Make ``repo`` have blob ``desc``: (``exists``/``mounted``/``pushed``, mounted-from repo)."""
        parse_digest(desc.digest)
        reader = upload.BytesSource(source) if isinstance(source, bytes) else source
        return upload.push_blob(self.transport, _check_repo(repo), desc, reader,
                                mount_from=[_check_repo(name) for name in mount_from], chunk_size=self.chunk_size,
                                monolithic_limit=self.monolithic_limit, on_progress=on_progress)

    # -- tags ------------------------------------------------------------------------

    def list_tags(self, repo: str, page_size: int | None = None) -> list[str]:
        """Every tag of ``repo``, following the registry's pages."""
        repo = _check_repo(repo)
        subject = Subject("repository", self._name(repo))
        url: str | None = f"/v2/{repo}/tags/list"
        params = {"n": str(page_size)} if page_size else None
        tags: list[str] = []
        while url is not None:
            response = self.transport.request("GET", url, subject, scopes=[repository_scope(repo, "pull")],
                                              params=params)
            try:
                doc = json.loads(response.content)
            except ValueError:
                raise InvalidArgument(f"{subject}: the tag list is not JSON") from None
            finally:
                response.close()
            page = doc.get("tags") if isinstance(doc, dict) else None
            if page is not None and not (isinstance(page, list) and all(isinstance(t, str) for t in page)):
                raise InvalidArgument(f"{subject}: the tag list has no list of tags")
            tags.extend(page or ())
            url = next_link(response.headers.get("Link"), response.url)
            params = None  # the link carries them
        return tags


def _check_repo(repo: str) -> str:
    """``repo`` if it is a repository path (``library/busybox``), else InvalidArgument."""
    try:
        parsed = parse_canonical(repo)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid repository name {repo!r}: {exc}") from None
    if parsed.tag or parsed.digest:
        raise InvalidArgument(f"invalid repository name {repo!r}: no tag or digest allowed")
    return repo


def _read_limited(raw: Any, limit: int, subject: Subject) -> bytes:
    """The whole (decoded) body, InvalidArgument past ``limit`` bytes."""
    pieces: list[bytes] = []
    size = 0
    while piece := raw.read(min(1 << 16, limit + 1 - size), decode_content=True):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            raise InvalidArgument(f"{subject}: larger than {limit} bytes")
    return b"".join(pieces)


def _known_type(media_type: str) -> bool:
    return mediatypes.is_manifest(media_type) or mediatypes.is_index(media_type)


def _sniff_type(data: bytes, subject: Subject) -> str:
    """The media type of a manifest served without a usable Content-Type."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise InvalidArgument(f"{subject}: the manifest is not JSON") from None
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if isinstance(declared, str) and declared:
        mediatypes.reject_schema1(declared)
        return declared
    if isinstance(doc, dict) and "manifests" in doc:
        return mediatypes.OCI_INDEX
    if isinstance(doc, dict) and doc.get("schemaVersion") == 1:
        mediatypes.reject_schema1(mediatypes.DOCKER_SCHEMA1_MANIFEST)
    return mediatypes.OCI_MANIFEST


__all__ = ["CredentialSource", "RegistryClient", "registry_host"]
