"""containerd's images in the engine's namespace, seen as Docker images.

containerd keeps one record per *name* (``docker.io/library/busybox:latest``) pointing at
a manifest or an index; Docker shows one image per *ID* (the config digest) with all its
names. :func:`load_images` resolves every record (an index to this host's manifest, the
manifest to its config and layers) and groups them by ID; :func:`summary` is Docker's
``ImageSummary`` (``GET /images/json``, ``/system/df``).

Sizes are what the image takes on disk: the snapshots of its layer chain (by chainID, in
the overlay snapshotter) when unpacked, else the compressed layers in the content store.
Names that are not image references (containerd allows any) are skipped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import DockyardError, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.image import Manifest, parse_manifest_document, select_manifest
from dockyard.oci.image_config import parse_image_config
from dockyard.oci.reference import parse_reference

log = logging.getLogger("dockyard.engine.images")


@dataclass
class Layer:
    chain_id: str
    size: int


@dataclass
class ImageRecord:
    """One Docker image: its ID and everything containerd knows about it."""

    id: str  # sha256:<config digest>
    created: int = 0  # Unix seconds (0 when the config has no date)
    labels: dict[str, str] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the containerd records

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


@functools.lru_cache(maxsize=4096)
def _created(text: str) -> int:
    if not text:
        return 0
    try:
        return int(datetime.fromisoformat(_trim_fraction(text)).timestamp())
    except ValueError:
        return 0


def _trim_fraction(text: str) -> str:
    """RFC 3339 with nanoseconds cut to what ``fromisoformat`` takes (microseconds)."""
    text = text.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits):]
    return f"{head}.{digits[:6].ljust(6, '0')}{zone}"


async def _manifest(sv: Supervisor, target: Any) -> tuple[Manifest, str]:
    """The manifest of ``target`` (an index resolved for this host) and its digest."""
    digest, media_type = target.digest, target.media_type
    for _ in range(4):  # index -> (nested index ->) manifest
        document = parse_manifest_document(await sv.read_blob(digest), media_type or None)
        if isinstance(document, Manifest):
            return document, digest
        chosen = select_manifest(document)
        digest, media_type = chosen.digest, chosen.media_type
    raise NotFound(f"{target.digest}: indexes nested too deep")


async def _layers(sv: Supervisor, manifest: Manifest, diff_ids: list[str]) -> list[Layer]:
    out: list[Layer] = []
    for chain_id, descriptor in zip(chain_ids(diff_ids), manifest.layers, strict=False):
        try:
            size, _ = await sv.snapshot_usage(chain_id)
        except NotFound:
            size = descriptor.size  # not unpacked: what the content store holds
        out.append(Layer(chain_id, size))
    return out


async def resolve(sv: Supervisor, image: Any) -> tuple[ImageRecord, str]:
    """The record of one containerd image (one name), and its manifest's digest."""
    manifest, manifest_digest = await _manifest(sv, image.target)
    if not mediatypes.is_config(manifest.config.media_type):
        raise NotFound(f"{image.name}: not a container image ({manifest.config.media_type})")
    config = parse_image_config(await sv.read_blob(manifest.config.digest))
    record = ImageRecord(manifest.config.digest, created=_created(config.created),
                         labels=dict(config.config.labels or {}),
                         layers=await _layers(sv, manifest, config.diff_ids))
    return record, manifest_digest


def _add_name(record: ImageRecord, name: str, target_digest: str) -> None:
    record.names.append(name)
    if name.startswith("dockyard-dangling@"):  # see dockyard.engine.image_refs: no name to show
        return
    try:
        ref = parse_reference(name, default_tag=False)
    except DockyardError:
        return
    if ref.tag:
        tag = f"{ref.familiar_name()}:{ref.tag}"
        if tag not in record.repo_tags:
            record.repo_tags.append(tag)
    digest = f"{ref.familiar_name()}@{ref.digest or target_digest}"
    if digest not in record.repo_digests:
        record.repo_digests.append(digest)


async def load_images(sv: Supervisor) -> list[ImageRecord]:
    """Every image of the namespace, one record per ID, newest first."""
    by_id: dict[str, ImageRecord] = {}
    for image in await sv.list_images():
        try:
            record, _ = await resolve(sv, image)
        except DockyardError as exc:  # a record whose content is gone or foreign: not an image to show
            log.debug("image %s: skipped: %s", image.name, exc)
            continue
        record = by_id.setdefault(record.id, record)
        _add_name(record, image.name, image.target.digest)
    return sorted(by_id.values(), key=lambda r: (-r.created, r.id))


def shared_sizes(records: Iterable[ImageRecord]) -> dict[str, int]:
    """Per image ID, the bytes of its layers that other images use too (``SharedSize``)."""
    records = list(records)
    users: dict[str, int] = {}
    for record in records:
        for chain_id in {layer.chain_id for layer in record.layers}:
            users[chain_id] = users.get(chain_id, 0) + 1
    return {r.id: sum(layer.size for layer in r.layers if users[layer.chain_id] > 1) for r in records}


def layers_size(records: Iterable[ImageRecord]) -> int:
    """The bytes of every distinct layer (``LayersSize`` of /system/df)."""
    sizes: dict[str, int] = {}
    for record in records:
        for layer in record.layers:
            sizes[layer.chain_id] = layer.size
    return sum(sizes.values())


def summary(record: ImageRecord, shared_size: int = -1, containers: int = -1) -> dict[str, Any]:
    """Docker's ``ImageSummary`` (API 1.44+: no ``VirtualSize``)."""
    return {"Containers": containers, "Created": record.created, "Id": record.id, "Labels": record.labels or None,
            "ParentId": "", "RepoDigests": record.repo_digests, "RepoTags": record.repo_tags,
            "SharedSize": shared_size, "Size": record.size}
