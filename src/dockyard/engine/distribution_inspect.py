"""What a registry says about an image, as ``GET /distribution/{name}/json`` answers it.

dockerd's answer is the descriptor the reference resolves to and the platforms it holds::

    {"Descriptor": {"mediaType": "...index.v1+json", "digest": "sha256:...", "size": 743},
     "Platforms": [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]}

- :func:`distribution_reference`: the name of the route as a reference (``latest`` when it
  has neither tag nor digest); a bare image ID is refused, as dockerd refuses it.
- :func:`inspect_remote` (blocking: run it in a thread): resolve the reference (``HEAD``,
  or ``GET`` when the registry's answer lacks something, with the Accept types of indexes,
  lists and manifests), fetch the document by digest, and for a single manifest its config
  blob. The registry client decides HTTP or HTTPS as the pull path does (loopback
  registries speak plain HTTP) and answers challenges with the ``X-Registry-Auth`` credentials.
- :func:`describe_image`: the same over a client the caller owns.
- :func:`inspect_body` and the two platform readers build the answer (pure).

Platforms as dockerd lists them: for an index or manifest list, every entry's platform in
order (an entry without one is ``{"architecture": "", "os": ""}``; attestation entries
included); for a single manifest, the platform fields of its config, or none when the
config is missing, is not an image config or names neither os nor architecture.

Errors are the registry client's: an unknown repository or tag is NotFound
(``manifest unknown: 127.0.0.1:5000/busybox:nope not found``, the pull path's words),
refused credentials PermissionDenied, a registry out of reach Unavailable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.registry.pull import MAX_CONFIG_SIZE, MemoryWriter
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document
from dockyard.oci.platform import Platform
from dockyard.oci.reference import Reference, is_image_id, parse_reference

log = logging.getLogger("dockyard.engine.distribution")

FULL_IMAGE_ID = "no manifest found for full image ID"
_PLATFORM_STRINGS = ("architecture", "os", "variant", "os.version")


def distribution_reference(name: str) -> Reference:
    """``name`` (``127.0.0.1:5000/app``, ``busybox:1``, ``app@sha256:...``) as a reference,
    ``latest`` by default; InvalidArgument with docker's words when it is not one."""
    algorithm, colon, encoded = name.partition(":")
    if is_image_id(name) or (colon and algorithm == "sha256" and is_image_id(encoded)):
        raise InvalidArgument(FULL_IMAGE_ID)
    return parse_reference(name)


def index_platforms(index: ImageIndex) -> list[Platform]:
    """Every entry's platform, in order (an entry without one: empty os and architecture)."""
    return [entry.platform if entry.platform is not None else Platform("", "") for entry in index.manifests]


def config_platform(data: bytes) -> Platform | None:
    """The platform fields of an image config; None when it is not a JSON object, a field
    has the wrong type, or it names neither os nor architecture."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    values = {key: doc.get(key) or "" for key in _PLATFORM_STRINGS}
    features = doc.get("os.features") or []
    if not all(isinstance(value, str) for value in values.values()) or not (
            isinstance(features, list) and all(isinstance(item, str) for item in features)):
        return None
    platform = Platform(values["os"], values["architecture"], values["variant"], values["os.version"], features)
    return platform if platform.os or platform.architecture else None


def inspect_body(desc: Descriptor, platforms: Sequence[Platform]) -> dict[str, Any]:
    """dockerd's ``DistributionInspect``: the descriptor (``urls`` only when there are
    some) and the platforms (Go's field order, empty optional fields left out)."""
    descriptor: dict[str, Any] = {"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}
    if desc.urls:
        descriptor["urls"] = list(desc.urls)
    return {"Descriptor": descriptor, "Platforms": [platform.to_dict() for platform in platforms]}


def _manifest_platform(client: RegistryClient, repo: str, manifest: Manifest) -> Platform | None:
    """The platform of ``manifest``'s config blob (None when there is none to read)."""
    config = manifest.config
    if not mediatypes.is_config(config.media_type) or config.size > MAX_CONFIG_SIZE:
        return None
    buffer = MemoryWriter(config.algorithm)
    try:
        client.fetch_blob(repo, config, buffer)
    except (NotFound, InvalidArgument) as exc:  # dockerd lists no platform then
        log.debug("config of %s/%s: %s", client.host, repo, exc)
        return None
    return config_platform(bytes(buffer.data))


def describe_image(client: RegistryClient, ref: Reference) -> dict[str, Any]:
    """The answer for ``ref`` from ``client`` (its registry's)."""
    desc = client.resolve(ref)
    document = parse_manifest_document(client.fetch_manifest(ref.path, desc), desc.media_type)
    if isinstance(document, ImageIndex):
        platforms = index_platforms(document)
    else:
        found = _manifest_platform(client, ref.path, document)
        platforms = [found] if found is not None else []
    return inspect_body(desc, platforms)


def inspect_remote(ref: Reference, credentials: Credentials | None = None) -> dict[str, Any]:
    """The answer for ``ref`` from its registry, with ``credentials`` (None: anonymous)."""
    with RegistryClient(ref.registry_host, credentials=credentials) as client:
        return describe_image(client, ref)
