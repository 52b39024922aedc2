"""Content descriptors (OCI image spec, "Descriptors"): what a blob is, its digest and size.

``from_dict`` validates in one pass (``manifest: layers[2].digest: invalid digest ...``);
``to_dict`` writes Go's field order and leaves out empty optional fields, as the OCI
specs-go types do, or Docker's order (size before digest) for Docker documents.
"""

from __future__ import annotations

from dockyard.oci import fields
from dockyard.oci.fields import Record
from dockyard.oci.platform import Platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# Annotations the image model reads or writes.
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_DOCKER_REFERENCE_TYPE = "vnd.docker.reference.type"
ANNOTATION_DOCKER_REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"


class Descriptor(Record):
    """mediaType, digest and size of a blob, with optional urls, annotations, platform,
    artifactType and embedded data (base64, as in the JSON)."""

    __slots__ = ("annotations", "artifact_type", "data", "digest", "media_type", "platform", "size", "urls")

    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...]
    annotations: dict[str, str]
    data: str
    platform: Platform | None
    artifact_type: str

    def __init__(
        self,
        media_type: str,
        digest: str,
        size: int,
        *,
        urls: Iterable[str] = (),
        annotations: dict[str, str] | None = None,
        data: str = "",
        platform: Platform | None = None,
        artifact_type: str = "",
    ) -> None:
        self.media_type = media_type
        self.digest = digest
        self.size = size
        self.urls = tuple(urls)
        self.annotations = dict(annotations or {})
        self.data = data
        self.platform = platform
        self.artifact_type = artifact_type

    @classmethod
    def for_bytes(cls, media_type: str, content: bytes, **kwargs: Any) -> Descriptor:
        """The descriptor of ``content`` (sha256)."""
        from dockyard.oci.digest import digest_bytes

        return cls(media_type, digest_bytes(content), len(content), **kwargs)

    @classmethod
    def from_dict(cls, value: Any, where: str = "descriptor") -> Descriptor:
        """Validate and read one descriptor object; ``where`` prefixes every message."""
        doc = fields.obj(value, where)
        media_type = fields.required_str(doc, "mediaType", where)
        if "/" not in media_type:
            fields.fail(fields.child(where, "mediaType"), f"invalid media type {media_type!r}: expected type/subtype")
        if "digest" not in doc:
            fields.fail(fields.child(where, "digest"), "required")
        digest = fields.digest(doc["digest"], fields.child(where, "digest"))
        if "size" not in doc:
            fields.fail(fields.child(where, "size"), "required")
        size = fields.integer(doc["size"], fields.child(where, "size"), minimum=0)
        platform = doc.get("platform")
        desc = cls(
            media_type,
            digest,
            size,
            urls=fields.str_list(doc.get("urls"), fields.child(where, "urls")),
            annotations=fields.str_map(doc.get("annotations"), fields.child(where, "annotations")),
            data=fields.opt_str(doc.get("data"), fields.child(where, "data")),
            platform=None if platform is None else Platform.from_dict(platform, fields.child(where, "platform")),
            artifact_type=fields.opt_str(doc.get("artifactType"), fields.child(where, "artifactType")),
        )
        if desc.data:
            _check_data(desc, where)
        return desc

    def to_dict(self, docker: bool = False) -> dict[str, Any]:
        """The JSON object; ``docker`` uses Docker's order (mediaType, size, digest, ...)."""
        out: dict[str, Any] = {"mediaType": self.media_type}
        if docker:
            out["size"] = self.size
            out["digest"] = self.digest
        else:
            out["digest"] = self.digest
            out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = fields.sorted_map(self.annotations)
        if self.data:
            out["data"] = self.data
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @property
    def algorithm(self) -> str:
        return self.digest.partition(":")[0]

    @property
    def encoded(self) -> str:
        """The hex part of the digest (what file names in a blob store use)."""
        return self.digest.partition(":")[2]

    def is_attestation(self) -> bool:
        """A BuildKit attestation manifest in an index (platform unknown/unknown)."""
        return self.annotations.get(ANNOTATION_DOCKER_REFERENCE_TYPE) == ATTESTATION_MANIFEST

    def embedded_data(self) -> bytes | None:
        """The decoded ``data`` field, None when the descriptor embeds nothing."""
        if not self.data:
            return None
        import binascii

        return binascii.a2b_base64(self.data, strict_mode=True)


def _check_data(desc: Descriptor, where: str) -> None:
    """Embedded data must be base64 and match size and digest (the spec's MUST)."""
    import binascii

    from dockyard.oci.digest import digest_bytes

    try:
        content = binascii.a2b_base64(desc.data, strict_mode=True)
    except binascii.Error as exc:
        fields.fail(fields.child(where, "data"), f"invalid base64: {exc}")
    if len(content) != desc.size:
        fields.fail(fields.child(where, "data"), f"holds {len(content)} bytes but size is {desc.size}")
    actual = digest_bytes(content, desc.algorithm)
    if actual != desc.digest:
        fields.fail(fields.child(where, "data"), f"digest is {actual}, not {desc.digest}")
