"""The small documents of an OCI image layout: ``oci-layout`` and ``index.json``.

``oci-layout`` is ``{"imageLayoutVersion": "1.0.0"}``. ``index.json`` is an image index
whose entries name images with annotations: ``org.opencontainers.image.ref.name`` (the tag,
which ``skopeo``'s ``oci:<dir>:<tag>`` and ``umoci``'s ``<dir>:<tag>`` look up) and
``io.containerd.image.name`` (the full reference, as containerd and Docker write it).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.oci import fields, jsonio
from dockyard.oci.descriptor import (
    ANNOTATION_CONTAINERD_IMAGE_NAME,
    ANNOTATION_REF_NAME,
    Descriptor,
)
from dockyard.oci.image import ImageIndex, parse_manifest_document
from dockyard.oci.reference import parse_reference

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = "1.0.0"


def layout_bytes() -> bytes:
    return jsonio.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode()


def check_layout(data: bytes, what: str) -> None:
    """``oci-layout`` must be a JSON object with a 1.x ``imageLayoutVersion``."""
    doc = fields.obj(jsonio.loads(data, f"{what}: {LAYOUT_FILE}"), f"{what}: {LAYOUT_FILE}")
    version = fields.required_str(doc, "imageLayoutVersion", f"{what}: {LAYOUT_FILE}")
    if version.split(".")[0] != "1":
        raise InvalidArgument(f"{what}: {LAYOUT_FILE}: unsupported imageLayoutVersion {version!r}")


def parse_index(data: bytes, what: str) -> ImageIndex:
    document = parse_manifest_document(data)
    if not isinstance(document, ImageIndex):
        raise InvalidArgument(f"{what}: {INDEX_FILE}: not an image index")
    return document


def named_entry(target: Descriptor, name: str) -> Descriptor:
    """``target`` annotated with ``name`` (a reference; "" leaves it unnamed)."""
    annotations = dict(target.annotations)
    if name:
        ref = parse_reference(name)
        annotations[ANNOTATION_CONTAINERD_IMAGE_NAME] = str(ref)
        if ref.tag:
            annotations[ANNOTATION_REF_NAME] = ref.tag
    return Descriptor(target.media_type, target.digest, target.size, urls=target.urls, annotations=annotations,
                      platform=target.platform, artifact_type=target.artifact_type)


def entry_name(entry: Descriptor, base_name: str = "") -> str:
    """The image name an ``index.json`` entry stands for ("" when it has none).

    ``io.containerd.image.name`` first; else ``org.opencontainers.image.ref.name`` when it
    is a full reference, or a tag put after ``base_name``.
    """
    full = entry.annotations.get(ANNOTATION_CONTAINERD_IMAGE_NAME, "")
    if full:
        return str(parse_reference(full))
    ref_name = entry.annotations.get(ANNOTATION_REF_NAME, "")
    if not ref_name:
        return ""
    if base_name and "/" not in ref_name and ":" not in ref_name:
        return str(parse_reference(f"{base_name}:{ref_name}"))
    if "/" in ref_name or ":" in ref_name:
        try:
            return str(parse_reference(ref_name))
        except InvalidArgument:
            return ""
    return ""


def merged_index(existing: ImageIndex | None, entries: list[Descriptor]) -> ImageIndex:
    """``existing`` (an index.json already there) with ``entries`` added; an old entry with
    the same ref.name or containerd name as a new one is replaced."""
    keys = {_key(entry) for entry in entries if _key(entry)}
    kept = [entry for entry in (existing.manifests if existing else []) if not _key(entry) or _key(entry) not in keys]
    return ImageIndex([*kept, *entries])


def _key(entry: Descriptor) -> str:
    return entry.annotations.get(ANNOTATION_REF_NAME, "") or entry.annotations.get(ANNOTATION_CONTAINERD_IMAGE_NAME, "")
