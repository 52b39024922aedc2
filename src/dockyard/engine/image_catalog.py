"""The engine's images as Docker sees them: one :class:`DockerImage` per image ID (the
config digest) with every containerd record (name -> target) that resolves to it.

:class:`Resolver` reads manifests and configs through the supervisor and keeps them (they
are content-addressed, so a cache never goes stale), and the disk usage of committed
snapshots (immutable too). :func:`load_catalog` resolves every record of the namespace;
:meth:`Catalog.lookup` finds an image the way dockerd does: a full ID, a reference
(``busybox`` is ``docker.io/library/busybox:latest``; ``repo@sha256:...`` by digest), then
an ID prefix. An index resolves to this host's manifest, or to the first one stored (an
image pulled with ``--platform`` for another architecture).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine.image_refs import (
    id_candidate,
    is_dangling,
    is_full_id,
    parse_user_reference,
    record_reference,
)
from dockyard.engine.image_summaries import ImageRecord, Layer, _created
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document, select_manifest
from dockyard.oci.image_config import ImageConfig, parse_image_config
from dockyard.oci.reference import Reference

log = logging.getLogger("dockyard.engine.images")

CACHE_BLOBS = 2048
MAX_DEPTH = 4


@dataclass
class Resolved:
    """What one record's target resolves to."""

    manifest: Manifest
    manifest_digest: str
    config: ImageConfig
    config_size: int


@dataclass
class DockerImage(ImageRecord):
    """One Docker image (``id`` = ``sha256:<config digest>``) and its containerd records."""

    config: ImageConfig | None = None
    manifest: Manifest | None = None
    manifest_digest: str = ""
    records: list[Any] = field(default_factory=list)  # containerd Image messages, dangling ones too

    @property
    def named_records(self) -> list[Any]:
        """The records that are references (tags and digests), not dangling ones."""
        return [r for r in self.records if not is_dangling(r.name)]

    @property
    def tag_records(self) -> list[tuple[Any, Reference]]:
        out = []
        for record in self.records:
            ref = record_reference(record.name)
            if ref is not None and ref.tag:
                out.append((record, ref))
        return out

    @property
    def dangling(self) -> bool:
        """No tag names it (``dangling=true`` of the list filters)."""
        return not self.repo_tags

    @property
    def target(self) -> Any:
        """A target descriptor for new names of this image (the first named record's)."""
        named = self.named_records
        return (named or self.records)[0].target

    @property
    def last_tag_time(self) -> float:
        times = []
        for record in self.named_records:
            stamp = getattr(record, "updated_at", None)
            if stamp is not None and stamp.seconds:
                times.append(stamp.seconds + stamp.nanos / 1e9)
        return max(times) if times else 0.0


class Resolver:
    """Reads documents and snapshot sizes through ``supervisor``, caching them."""

    def __init__(self, supervisor: Supervisor, limit: int = CACHE_BLOBS) -> None:
        self.supervisor = supervisor
        self.limit = limit
        self._resolved: OrderedDict[str, Resolved] = OrderedDict()  # by manifest digest: parsed once
        self._usage: dict[str, int] = {}
        self._chains: dict[str, list[str]] = {}  # by manifest digest: content-addressed, computed once
        self.last_catalog: tuple[tuple[bytes, ...], Catalog] | None = None  # see load_catalog

    async def blob(self, digest: str) -> bytes:
        """A manifest, index or config (the supervisor keeps the documents it read)."""
        return await self.supervisor.read_document(digest)

    async def usage(self, chain_id: str, fallback: int) -> int:
        """The bytes the committed snapshot ``chain_id`` takes (``fallback`` when it is not unpacked)."""
        size = self._usage.get(chain_id)
        if size is not None:
            return size
        try:
            size, _ = await self.supervisor.snapshot_usage(chain_id)
        except NotFound:
            return fallback
        self._usage[chain_id] = size
        return size

    def sizes_known(self, images: Iterable[DockerImage]) -> bool:
        """Whether every layer of ``images`` has its snapshot's measured size (none a fallback)."""
        return all(layer.chain_id in self._usage for image in images for layer in image.layers)

    def forget_usage(self, chain_ids: list[str]) -> None:
        for chain_id in chain_ids:
            self._usage.pop(chain_id, None)

    async def _pick(self, index: ImageIndex) -> tuple[str, str]:
        """This host's entry of ``index``, else the first image entry whose blob is stored."""
        try:
            chosen = select_manifest(index)
            await self.blob(chosen.digest)
            return chosen.digest, chosen.media_type
        except NotFound:
            pass
        for entry in index.manifests:
            if mediatypes.is_index(entry.media_type) or entry.annotations.get("vnd.docker.reference.type"):
                continue
            try:
                await self.blob(entry.digest)
            except NotFound:
                continue
            return entry.digest, entry.media_type
        raise NotFound("no manifest of the index is stored")

    async def resolve(self, target: Any) -> Resolved:
        """The manifest and config of a target descriptor (``digest``, ``media_type``)."""
        digest, media_type = target.digest, target.media_type
        for _ in range(MAX_DEPTH):
            known = self._resolved.get(digest)
            if known is not None:
                self._resolved.move_to_end(digest)
                return known
            document = parse_manifest_document(await self.blob(digest), media_type or None)
            if isinstance(document, Manifest):
                if not mediatypes.is_config(document.config.media_type):
                    raise NotFound(f"{target.digest}: not a container image ({document.config.media_type})")
                config = parse_image_config(await self.blob(document.config.digest))
                resolved = Resolved(document, digest, config, document.config.size)
                self._resolved[digest] = resolved
                while len(self._resolved) > self.limit:
                    self._resolved.popitem(last=False)
                return resolved
            digest, media_type = await self._pick(document)  # which manifest is stored may change
        raise NotFound(f"{target.digest}: indexes nested too deep")

    async def layers(self, resolved: Resolved) -> list[Layer]:
        chains = self._chains.get(resolved.manifest_digest)
        if chains is None:
            chains = self._chains[resolved.manifest_digest] = chain_ids(resolved.config.diff_ids)
            while len(self._chains) > self.limit:
                del self._chains[next(iter(self._chains))]
        out = []
        for chain_id, desc in zip(chains, resolved.manifest.layers, strict=False):
            out.append(Layer(chain_id, await self.usage(chain_id, desc.size)))
        return out


def _add_record(image: DockerImage, record: Any) -> None:
    image.records.append(record)
    image.names.append(record.name)
    ref = record_reference(record.name)
    if ref is None:
        return
    if ref.tag:
        tag = f"{ref.familiar_name()}:{ref.tag}"
        if tag not in image.repo_tags:
            image.repo_tags.append(tag)
    digest = f"{ref.familiar_name()}@{ref.digest or record.target.digest}"
    if digest not in image.repo_digests:
        image.repo_digests.append(digest)


@dataclass
class Catalog:
    images: list[DockerImage]  # newest first

    def by_id(self, image_id: str) -> DockerImage | None:
        for image in self.images:
            if image.id == image_id:
                return image
        return None

    def record(self, name: str) -> tuple[DockerImage, Any] | None:
        """The image holding record ``name``, and the record."""
        for image in self.images:
            for record in image.records:
                if record.name == name:
                    return image, record
        return None

    def lookup(self, name: str) -> tuple[DockerImage, list[Any] | None]:
        """The image ``name`` means, and the records the name designates (None when the
        name is an ID or an ID prefix). NotFound ``No such image: <name>``."""
        if is_full_id(name):
            full = name if name.startswith("sha256:") else f"sha256:{name}"
            found = self.by_id(full)
            if found is None:
                raise NotFound(f"No such image: {name}")
            return found, None
        ref: Reference | None = None
        try:
            ref = parse_user_reference(name)
        except InvalidArgument:
            if not id_candidate(name):
                raise
        if ref is not None:
            hit = self._by_reference(ref)
            if hit is not None:
                return hit
        prefix = id_candidate(name)
        if prefix:
            matches = [image for image in self.images if image.id[7:].startswith(prefix)]
            if len(matches) == 1:
                return matches[0], None
            if len(matches) > 1:
                raise InvalidArgument(f"multiple IDs found with provided prefix: {name}")
        raise NotFound(f"No such image: {ref.familiar() if ref is not None else name}")

    def _by_reference(self, ref: Reference) -> tuple[DockerImage, list[Any]] | None:
        if not ref.digest:
            hit = self.record(str(ref))
            return (hit[0], [hit[1]]) if hit is not None else None
        repository = ref.name
        for image in self.images:
            records = []
            for record in image.records:
                other = record_reference(record.name)
                if other is None or other.name != repository:
                    continue
                if ref.digest in (record.target.digest, image.manifest_digest) or \
                        record.name == f"{repository}@{ref.digest}":
                    records.append(record)
            if records:
                digest_records = [r for r in records if "@" in r.name]
                return image, digest_records or records
        return None


async def load_catalog(resolver: Resolver) -> Catalog:
    """Every image of the namespace, one per ID, newest first. The catalog is a function of
    the records (their content is addressed by digest): while containerd lists the very
    same records, the last catalog is the answer (callers only read it)."""
    records = await resolver.supervisor.list_images()
    serialize = [getattr(record, "SerializeToString", None) for record in records]
    key = tuple(each(deterministic=True) for each in serialize if each is not None)
    last = resolver.last_catalog
    if last is not None and last[0] == key and len(key) == len(records):
        return last[1]
    catalog = await _build_catalog(resolver, records)
    # a layer whose snapshot is not unpacked yet shows a fallback size that will change: no reuse
    if len(key) == len(records) and resolver.sizes_known(catalog.images):
        resolver.last_catalog = (key, catalog)
    return catalog


async def _build_catalog(resolver: Resolver, records: list[Any]) -> Catalog:
    by_id: dict[str, DockerImage] = {}
    for record in records:
        try:
            resolved = await resolver.resolve(record.target)
        except DockyardError as exc:  # content gone, a foreign artifact: not an image to show
            log.debug("image %s: skipped: %s", record.name, exc)
            continue
        image_id = resolved.manifest.config.digest
        image = by_id.get(image_id)
        if image is None:
            config = resolved.config
            image = DockerImage(image_id, created=_created(config.created), labels=dict(config.config.labels or {}),
                                layers=await resolver.layers(resolved), config=config, manifest=resolved.manifest,
                                manifest_digest=resolved.manifest_digest)
            by_id[image_id] = image
        _add_record(image, record)
    return Catalog(sorted(by_id.values(), key=lambda i: (-i.created, i.id)))
