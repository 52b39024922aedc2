"""Images as the content store holds them, read for saving.

:func:`resolve_image` follows an image's target (a manifest, or an index through the
platform wanted) to its manifest and config; :func:`closure` lists every blob an OCI
layout must hold for a target. Documents read from the store are checked against their
descriptors (size and digest), so a damaged store is not exported silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.containerd.formats.staging import Store, has_blob
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import digest_bytes
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document, select_manifest
from dockyard.oci.image_config import ImageConfig, parse_image_config
from dockyard.oci.platform import Platform

MAX_DEPTH = 4  # indexes nested in indexes


@dataclass
class ImageSource:
    """One image: the manifest chosen for the platform, its bytes and the config."""

    manifest_descriptor: Descriptor
    manifest: Manifest
    manifest_bytes: bytes
    config_bytes: bytes
    config: ImageConfig


def as_descriptor(value: Any) -> Descriptor:
    """An OCI :class:`Descriptor` from one, or from anything with media_type, digest, size
    (and annotations), such as an image record's target."""
    if isinstance(value, Descriptor):
        return value
    return Descriptor(value.media_type, value.digest, value.size,
                      annotations=dict(getattr(value, "annotations", None) or {}))


def read_document(store: Store, desc: Descriptor, what: str) -> bytes:
    """A manifest, index or config blob, checked against ``desc``."""
    try:
        data = store.read_all(desc.digest)
    except NotFound:
        raise NotFound(f"{what} {desc.digest}: not found in the content store") from None
    if len(data) != desc.size:
        raise InvalidArgument(f"{what} {desc.digest}: size is {len(data)}, the descriptor says {desc.size}")
    actual = digest_bytes(data, desc.algorithm)
    if actual != desc.digest:
        raise InvalidArgument(f"{what} {desc.digest}: content hashes to {actual}")
    return data


def read_manifest_or_index(store: Store, desc: Descriptor) -> Manifest | ImageIndex:
    data = read_document(store, desc, "manifest")
    return parse_manifest_document(data, desc.media_type)


def resolve_image(store: Store, target: Descriptor, platform: Platform | str | None = None) -> ImageSource:
    """The manifest of ``target`` for ``platform`` (default: this host), with its config."""
    desc = target
    for _ in range(MAX_DEPTH):
        data = read_document(store, desc, "manifest")
        document = parse_manifest_document(data, desc.media_type)
        if isinstance(document, ImageIndex):
            desc = select_manifest(document, platform)
            continue
        config_bytes = read_document(store, document.config, "image config")
        config = parse_image_config(config_bytes)
        if len(config.diff_ids) != len(document.layers):
            raise InvalidArgument(f"manifest {desc.digest}: {len(document.layers)} layers but the config lists "
                                  f"{len(config.diff_ids)} diff_ids")
        return ImageSource(desc, document, data, config_bytes, config)
    raise InvalidArgument(f"manifest {target.digest}: indexes nested more than {MAX_DEPTH} deep")


def manifest_blobs(store: Store, manifest: Manifest) -> list[Descriptor] | None:
    """Config and layers of ``manifest`` when the store has them all (absent
    non-distributable layers are left out), else None."""
    out = [manifest.config]
    for layer in manifest.layers:
        if has_blob(store, layer.digest):
            out.append(layer)
        elif not mediatypes.is_non_distributable(layer.media_type):
            return None
    return out if has_blob(store, manifest.config.digest) else None


def closure(store: Store, target: Descriptor,
            platform: Platform | str | None = None) -> tuple[Descriptor, list[Descriptor]]:
    """What an OCI layout needs for ``target``: the descriptor to list in ``index.json``
    and every blob below it (documents included).

    An index is kept whole when the store has every manifest it lists (attestations
    included); otherwise only the manifest for ``platform`` is saved, and listed itself.
    NotFound names the first missing blob.
    """
    document = read_manifest_or_index(store, target)
    if isinstance(document, Manifest):
        blobs = manifest_blobs(store, document)
        if blobs is None:
            missing = _first_missing(store, document)
            raise NotFound(f"image {target.digest}: blob {missing} not found in the content store")
        return target, [target, *blobs]
    collected: list[Descriptor] = [target]
    complete = True
    for entry in document.manifests:
        if not has_blob(store, entry.digest):
            complete = False
            break
        child = read_manifest_or_index(store, entry)
        if isinstance(child, ImageIndex):
            _, nested = closure(store, entry, platform)
            collected.extend(nested)
            continue
        blobs = manifest_blobs(store, child)
        if blobs is None:
            complete = False
            break
        collected.extend([entry, *blobs])
    if complete:
        return target, _unique(collected)
    chosen = select_manifest(document, platform)
    return closure(store, chosen, platform)


def _first_missing(store: Store, manifest: Manifest) -> str:
    for desc in (manifest.config, *manifest.layers):
        if not has_blob(store, desc.digest):
            return desc.digest
    return "?"


def _unique(descriptors: list[Descriptor]) -> list[Descriptor]:
    seen: set[str] = set()
    out = []
    for desc in descriptors:
        if desc.digest not in seen:
            seen.add(desc.digest)
            out.append(desc)
    return out
