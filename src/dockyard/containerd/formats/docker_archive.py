"""``docker save`` and ``docker load`` archives.

:func:`save` writes what Docker 25+ writes: an OCI image layout (``oci-layout``,
``index.json``, ``blobs/sha256/...``) whose blobs ``manifest.json`` (and the legacy
``repositories``) point into, so that both the old readers (``manifest.json``) and the OCI
ones accept it. Layers are stored uncompressed, as Docker does: a compressed layer of the
content store is decompressed into a temporary file first (its diffID checked). Entries
come sorted and dated 1970, so the same images always save to the same bytes.

:func:`load` reads what ``docker save`` writes (the layout above, and the older one with
``<id>/layer.tar`` and ``<hex>.json``), what ``skopeo copy ... docker-archive:`` writes,
and, without ``manifest.json``, an OCI layout tar. The stream is untrusted: every blob is
verified (a blob named by digest against its name, a config named ``<hex>.json`` against
that hex, every layer against the config's ``rootfs.diff_ids``) before anything is
committed; a failure names the file and leaves the content store as it was. Images are
recorded at the end, in one transaction when the database is given.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from dockyard.containerd.archive import compression
from dockyard.containerd.formats import oci_index, paths
from dockyard.containerd.formats.docker_manifest import (
    MANIFEST_FILE,
    REPOSITORIES_FILE,
    ManifestItem,
    dump_manifest,
    dump_repositories,
    parse_manifest,
)
from dockyard.containerd.formats.records import LoadedImage, record_images
from dockyard.containerd.formats.source import ImageSource, as_descriptor, resolve_image
from dockyard.containerd.formats.spool import Entry, Spool
from dockyard.containerd.formats.staging import CHUNK, Staging, Store, manifest_labels
from dockyard.containerd.formats.staging import LABEL_UNCOMPRESSED as UNCOMPRESSED
from dockyard.containerd.formats.tarwriter import TarWriter
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digester
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document
from dockyard.oci.image_config import ImageConfig, parse_image_config
from dockyard.oci.platform import Platform
from dockyard.oci.reference import parse_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB
    from dockyard.containerd.metadata.images import ImageStore


# -- save --------------------------------------------------------------------------------------


@dataclass
class _Saved:
    source: ImageSource
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # (full name, familiar name, tag)


def save(images: Sequence[tuple[str, Any]], content_store: Store, out: IO[bytes], *,
         platform: Platform | str | None = None, tmpdir: str | None = None) -> None:
    """Write ``images`` — (name, target descriptor) pairs; name "" for an untagged image —
    as a ``docker save`` archive to ``out``. An index target is saved for ``platform``
    (default: this host)."""
    groups: dict[str, _Saved] = {}
    for name, target in images:
        source = resolve_image(content_store, as_descriptor(target), platform)
        group = groups.setdefault(source.manifest.config.digest, _Saved(source))
        if name:
            ref = parse_reference(name)
            if ref.tag and not ref.digest:
                tag = (str(ref), ref.familiar_name(), ref.tag)
                if tag not in group.tags:
                    group.tags.append(tag)
    with tempfile.TemporaryDirectory(prefix="dockyard-save-", dir=tmpdir) as tmp:
        _write_archive(list(groups.values()), content_store, out, tmp)


def _write_archive(groups: list[_Saved], store: Store, out: IO[bytes], tmp: str) -> None:
    blobs: dict[str, tuple[str, Any, int]] = {}  # name -> (kind, bytes | digest | path, size)
    items: list[ManifestItem] = []
    entries: list[Descriptor] = []
    repositories: list[tuple[str, str, str]] = []
    for group in groups:
        source, config = group.source, group.source.config
        config_desc = source.manifest.config
        blobs[paths.blob_name(config_desc.digest)] = ("bytes", source.config_bytes, len(source.config_bytes))
        layers: list[Descriptor] = []
        for layer, diff_id in zip(source.manifest.layers, config.diff_ids, strict=True):
            name = paths.blob_name(diff_id)
            if name not in blobs:
                blobs[name] = _layer_blob(store, layer, diff_id, tmp)
            layers.append(Descriptor(mediatypes.OCI_LAYER, diff_id, blobs[name][2]))
        if [layer.digest for layer in source.manifest.layers] == config.diff_ids:  # all uncompressed: keep it
            manifest_bytes, manifest_type = source.manifest_bytes, source.manifest_descriptor.media_type
        else:
            oci_config = Descriptor(mediatypes.OCI_CONFIG, config_desc.digest, config_desc.size)
            manifest_bytes, manifest_type = Manifest(oci_config, layers).to_bytes(), mediatypes.OCI_MANIFEST
        manifest_desc = Descriptor.for_bytes(manifest_type, manifest_bytes, platform=_platform(config))
        blobs[paths.blob_name(manifest_desc.digest)] = ("bytes", manifest_bytes, len(manifest_bytes))
        for full, _, _ in group.tags:
            entries.append(oci_index.named_entry(manifest_desc, full))
        if not group.tags:
            entries.append(manifest_desc)
        top = config.diff_ids[-1].partition(":")[2] if config.diff_ids else ""
        repositories.extend((familiar, tag, top) for _, familiar, tag in group.tags)
        items.append(ManifestItem(
            config=paths.blob_name(config_desc.digest),
            repo_tags=[f"{familiar}:{tag}" for _, familiar, tag in group.tags],
            layers=[paths.blob_name(diff_id) for diff_id in config.diff_ids],
        ))
    writer = TarWriter(out)
    writer.directory("blobs")
    for algorithm in sorted({name.split("/")[1] for name in blobs}):
        writer.directory(f"blobs/{algorithm}")
    for name in sorted(blobs):
        kind, value, size = blobs[name]
        if kind == "bytes":
            writer.file_bytes(name, value)
        elif kind == "store":
            with store.reader(value) as reader:
                writer.file_stream(name, size, reader)  # type: ignore[arg-type]
        else:
            with open(value, "rb") as data:
                writer.file_stream(name, size, data)
    writer.file_bytes(oci_index.INDEX_FILE, ImageIndex(entries).to_bytes())
    writer.file_bytes(MANIFEST_FILE, dump_manifest(items))
    writer.file_bytes(oci_index.LAYOUT_FILE, oci_index.layout_bytes())
    if repositories:
        writer.file_bytes(REPOSITORIES_FILE, dump_repositories(repositories))
    writer.close()


def _platform(config: ImageConfig) -> Platform:
    return Platform(config.os, config.architecture, config.variant)


def _layer_blob(store: Store, layer: Descriptor, diff_id: str, tmp: str) -> tuple[str, Any, int]:
    """How to write one layer uncompressed: straight from the store, or decompressed first."""
    kind = mediatypes.layer_compression(layer.media_type) or compression.NONE
    if kind == compression.NONE:
        if layer.digest != diff_id:
            raise InvalidArgument(f"layer {layer.digest}: uncompressed, but its digest is not its diffID {diff_id}")
        return ("store", layer.digest, layer.size)
    path = os.path.join(tmp, diff_id.partition(":")[2])
    decoder = compression.decompressor(kind)
    digester = Digester()
    with store.reader(layer.digest) as reader, open(path, "wb") as out:
        while chunk := reader.read(CHUNK):
            for piece in decoder.feed(chunk):
                digester.update(piece)
                out.write(piece)
        decoder.finish()
    if digester.digest() != diff_id:
        raise InvalidArgument(f"layer {layer.digest}: decompresses to {digester.digest()}, not its diffID {diff_id}")
    return ("file", path, digester.size)


# -- load --------------------------------------------------------------------------------------


def load(stream: IO[bytes], content_store: Store, *, images: ImageStore | None = None, db: DB | None = None,
         base_name: str = "", what: str = "archive") -> list[LoadedImage]:
    """Load a ``docker save`` archive (or an OCI layout tar) from ``stream``.

    Every blob goes through ``content_store`` writers; ``images`` (with ``db``: in one
    transaction) records the names. On any error nothing stays: open ingests are aborted
    and blobs this load added are deleted. ``base_name`` names the tag-only entries of an
    OCI layout (``<base_name>:<tag>``).
    """
    staging = Staging(content_store, "load")
    spool = Spool(staging, what)
    try:
        spool.read(stream)
        if spool.find(MANIFEST_FILE) is not None:
            loaded = load_spooled_docker(spool)
        elif spool.find(oci_index.INDEX_FILE) is not None:
            from dockyard.containerd.formats.oci_layout import load_spooled

            loaded = load_spooled(spool, base_name)
        else:
            raise InvalidArgument(f"{what}: no {MANIFEST_FILE} or {oci_index.INDEX_FILE}: "
                                  "not an image archive (archives from before Docker 1.10 are not supported)")
        spool.discard_unused()
        if images is not None:
            record_images(loaded, images, db)
    except BaseException:
        staging.rollback()
        raise
    return loaded


@dataclass
class _Verified:
    item: ManifestItem
    config: Entry
    layers: list[Entry]
    manifest: bytes
    manifest_desc: Descriptor
    reused: Entry | None  # the archive's own manifest blob, when it describes this image
    diff_ids: list[str]


def load_spooled_docker(spool: Spool) -> list[LoadedImage]:
    """Verify every image of ``manifest.json``, then commit its blobs (children first)."""
    items = parse_manifest(spool.read_bytes(spool.get(MANIFEST_FILE)), f"{spool.what}: {MANIFEST_FILE}")
    known = _archive_manifests(spool)
    verified = [_verify_item(spool, item, n, known) for n, item in enumerate(items)]
    loaded: list[LoadedImage] = []
    for image in verified:
        for layer in image.layers:
            labels = {UNCOMPRESSED: layer.diff_id} if layer.compression != compression.NONE else None
            spool.commit(layer, labels)
        spool.commit(image.config)
        labels = manifest_labels(image.config.digest, [layer.digest for layer in image.layers])
        if image.reused is not None:
            spool.commit(image.reused, labels)
        else:
            spool.commit_bytes(image.manifest, image.manifest_desc.digest, labels)
        names = [_repo_tag(tag, spool.what) for tag in image.item.repo_tags] or [""]
        for name in names:
            loaded.append(LoadedImage(name, image.manifest_desc, image.config.digest, image.diff_ids))
    return loaded


def _verify_item(spool: Spool, item: ManifestItem, n: int, known: dict[str, tuple[Entry, Manifest]]) -> _Verified:
    what = spool.what
    config = spool.get(item.config, f"{MANIFEST_FILE}[{n}].Config")
    named = _named_digest(config.name) or _named_digest(item.config)
    if named and named != config.digest:
        raise InvalidArgument(f"{what}: config {config.name}: digest mismatch: the file hashes to {config.digest}")
    try:
        image_config = parse_image_config(spool.read_bytes(config))
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: config {config.name}: {exc}") from None
    diff_ids = image_config.diff_ids
    if len(item.layers) != len(diff_ids):
        raise InvalidArgument(f"{what}: {MANIFEST_FILE}[{n}]: invalid manifest, layers length mismatch: "
                              f"expected {len(item.layers)}, got {len(diff_ids)}")
    layers = []
    for i, (path, diff_id) in enumerate(zip(item.layers, diff_ids, strict=True)):
        layer = spool.get(path, f"{MANIFEST_FILE}[{n}].Layers[{i}]")
        if layer.diff_id != diff_id:
            raise InvalidArgument(f"{what}: layer {layer.name}: content hashes to {layer.diff_id}, "
                                  f"but the config's rootfs.diff_ids[{i}] is {diff_id}")
        layers.append(layer)
    reused = known.get(config.digest)
    if reused is not None and _describes(reused[1], layers):
        entry, manifest = reused
        desc = Descriptor(manifest.content_type, entry.digest, entry.size)
        return _Verified(item, config, layers, b"", desc, entry, diff_ids)
    docker_layers = [Descriptor(mediatypes.layer_type(_kind(layer), docker=True), layer.digest, layer.size)
                     for layer in layers]
    config_desc = Descriptor(mediatypes.DOCKER_CONFIG, config.digest, config.size)
    manifest = Manifest(config_desc, docker_layers, media_type=mediatypes.DOCKER_MANIFEST)
    data = manifest.to_bytes()
    return _Verified(item, config, layers, data, manifest.descriptor(), None, diff_ids)


def _archive_manifests(spool: Spool) -> dict[str, tuple[Entry, Manifest]]:
    """The image manifests of the archive's own OCI layout (Docker 25+, or a containerd
    export, whose entries may be indexes), by config digest."""
    entry = spool.find(oci_index.INDEX_FILE)
    if entry is None or entry.data is None:
        return {}
    found: dict[str, tuple[Entry, Manifest]] = {}
    pending = [(desc, 0) for desc in oci_index.parse_index(entry.data, spool.what).manifests]
    while pending:
        desc, depth = pending.pop(0)
        blob = spool.blob(desc.digest)
        if blob is None or blob.data is None or blob.size != desc.size or blob.digest != desc.digest:
            continue
        try:
            document = parse_manifest_document(blob.data, desc.media_type)
        except DockyardError:
            continue
        if isinstance(document, Manifest):
            found.setdefault(document.config.digest, (blob, document))
        elif depth < 2:
            pending.extend((child, depth + 1) for child in document.manifests)
    return found


def _describes(manifest: Manifest, layers: list[Entry]) -> bool:
    """Whether ``manifest`` lists exactly these layer files, with matching compression."""
    if [d.digest for d in manifest.layers] != [layer.digest for layer in layers]:
        return False
    for desc, layer in zip(manifest.layers, layers, strict=True):
        if not mediatypes.is_layer(desc.media_type) or mediatypes.layer_compression(desc.media_type) != _kind(layer):
            return False
    return True


def _kind(entry: Entry) -> str:
    return "" if entry.compression == compression.NONE else entry.compression


def _named_digest(name: str) -> str:
    """``sha256:<hex>`` when a file name is a digest (``blobs/sha256/<hex>``, ``<hex>.json``)."""
    named = paths.blob_digest(name)
    if named:
        return named
    stem = posixpath.basename(name).removesuffix(".json")
    if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
        return f"sha256:{stem}"
    return ""


def _repo_tag(tag: str, what: str) -> str:
    try:
        ref = parse_reference(tag, default_tag=False)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: {MANIFEST_FILE}: RepoTags {tag!r}: {exc}") from None
    if not ref.tag or ref.digest:
        raise InvalidArgument(f"{what}: {MANIFEST_FILE}: invalid tag {tag!r}")
    return str(ref)
