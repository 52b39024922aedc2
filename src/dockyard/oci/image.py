"""Image manifests and indexes, OCI and Docker schema 2: read, validate, write, pick a platform.

:func:`parse_manifest_document` tells the kind from the document's ``mediaType``, else from
the Content-Type the registry sent, else from its shape; checks it in one pass (messages
name the field: ``manifest: layers[2].digest: invalid digest ...``); refuses Docker schema 1
with a clear message; and returns a :class:`Manifest` or an :class:`ImageIndex` (an OCI
index or a Docker manifest list). ``to_bytes`` writes the compact canonical form in Go's
field order, so what dockyard writes has a stable digest. :func:`select_manifest` picks the
entry of an index for a platform. The image config lives in :mod:`dockyard.oci.image_config`.
"""

from __future__ import annotations

from dockyard.errors import NotFound
from dockyard.oci import fields, jsonio, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.fields import Record
from dockyard.oci.platform import Platform, best_match, host_platform, parse_platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

SCHEMA_VERSION = 2


class Manifest(Record):
    """An image manifest: a config descriptor and the layers, bottom first."""

    __slots__ = ("annotations", "artifact_type", "config", "layers", "media_type", "schema_version", "subject")

    schema_version: int
    media_type: str
    artifact_type: str
    config: Descriptor
    layers: list[Descriptor]
    subject: Descriptor | None
    annotations: dict[str, str]

    def __init__(
        self,
        config: Descriptor,
        layers: Iterable[Descriptor],
        *,
        media_type: str = mediatypes.OCI_MANIFEST,
        artifact_type: str = "",
        subject: Descriptor | None = None,
        annotations: dict[str, str] | None = None,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        self.schema_version = schema_version
        self.media_type = media_type  # "" when the document has none (OCI 1.0 allows it)
        self.artifact_type = artifact_type
        self.config = config
        self.layers = list(layers)
        self.subject = subject
        self.annotations = dict(annotations or {})

    @property
    def content_type(self) -> str:
        """The media type to store and serve this document under."""
        return self.media_type or mediatypes.OCI_MANIFEST

    def is_docker(self) -> bool:
        return mediatypes.is_docker(self.content_type)

    @classmethod
    def from_dict(cls, value: Any, where: str = "manifest") -> Manifest:
        doc = fields.obj(value, where)
        _check_schema_version(doc, where)
        if doc.get("manifests"):
            fields.fail(fields.child(where, "manifests"), "found in an image manifest (an index in disguise?)")
        if "config" not in doc:
            fields.fail(fields.child(where, "config"), "required")
        if "layers" not in doc:
            fields.fail(fields.child(where, "layers"), "required")
        layers = doc["layers"]
        if layers is not None and not isinstance(layers, list):
            fields.fail(fields.child(where, "layers"), "must be a list")
        subject = doc.get("subject")
        return cls(
            Descriptor.from_dict(doc["config"], fields.child(where, "config")),
            [Descriptor.from_dict(item, fields.child(where, f"layers[{n}]")) for n, item in enumerate(layers or ())],
            media_type=fields.opt_str(doc.get("mediaType"), fields.child(where, "mediaType")),
            artifact_type=fields.opt_str(doc.get("artifactType"), fields.child(where, "artifactType")),
            subject=None if subject is None else Descriptor.from_dict(subject, fields.child(where, "subject")),
            annotations=fields.str_map(doc.get("annotations"), fields.child(where, "annotations")),
            schema_version=doc["schemaVersion"],
        )

    def to_dict(self) -> dict[str, Any]:
        docker = self.is_docker()
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type:
            out["mediaType"] = self.media_type
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["config"] = self.config.to_dict(docker)
        out["layers"] = [layer.to_dict(docker) for layer in self.layers]
        if self.subject is not None:
            out["subject"] = self.subject.to_dict(docker)
        if self.annotations:
            out["annotations"] = fields.sorted_map(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """The canonical JSON (compact, Go's field order): same object, same digest."""
        return jsonio.dumps(self.to_dict()).encode()

    def descriptor(self, **kwargs: Any) -> Descriptor:
        """A descriptor of :meth:`to_bytes` (platform, annotations... as keyword arguments)."""
        return Descriptor.for_bytes(self.content_type, self.to_bytes(), **kwargs)


class ImageIndex(Record):
    """An OCI image index or a Docker manifest list: manifests for several platforms."""

    __slots__ = ("annotations", "artifact_type", "manifests", "media_type", "schema_version", "subject")

    schema_version: int
    media_type: str
    artifact_type: str
    manifests: list[Descriptor]
    subject: Descriptor | None
    annotations: dict[str, str]

    def __init__(
        self,
        manifests: Iterable[Descriptor],
        *,
        media_type: str = mediatypes.OCI_INDEX,
        artifact_type: str = "",
        subject: Descriptor | None = None,
        annotations: dict[str, str] | None = None,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        self.schema_version = schema_version
        self.media_type = media_type
        self.artifact_type = artifact_type
        self.manifests = list(manifests)
        self.subject = subject
        self.annotations = dict(annotations or {})

    @property
    def content_type(self) -> str:
        return self.media_type or mediatypes.OCI_INDEX

    def is_docker(self) -> bool:
        return mediatypes.is_docker(self.content_type)

    @classmethod
    def from_dict(cls, value: Any, where: str = "index") -> ImageIndex:
        doc = fields.obj(value, where)
        _check_schema_version(doc, where)
        for key in ("config", "layers"):
            if doc.get(key):
                fields.fail(fields.child(where, f"{key}"), "found in an index (a manifest in disguise?)")
        if "manifests" not in doc:
            fields.fail(fields.child(where, "manifests"), "required")
        entries = doc["manifests"]
        if entries is not None and not isinstance(entries, list):
            fields.fail(fields.child(where, "manifests"), "must be a list")
        media_type = fields.opt_str(doc.get("mediaType"), fields.child(where, "mediaType"))
        manifests = [
            Descriptor.from_dict(item, fields.child(where, f"manifests[{n}]")) for n, item in enumerate(entries or ())
        ]
        if media_type == mediatypes.DOCKER_MANIFEST_LIST:
            for n, entry in enumerate(manifests):
                if entry.platform is None:
                    fields.fail(fields.child(where, f"manifests[{n}].platform"), "required in a Docker manifest list")
        subject = doc.get("subject")
        return cls(
            manifests,
            media_type=media_type,
            artifact_type=fields.opt_str(doc.get("artifactType"), fields.child(where, "artifactType")),
            subject=None if subject is None else Descriptor.from_dict(subject, fields.child(where, "subject")),
            annotations=fields.str_map(doc.get("annotations"), fields.child(where, "annotations")),
            schema_version=doc["schemaVersion"],
        )

    def to_dict(self) -> dict[str, Any]:
        docker = self.is_docker()
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type:
            out["mediaType"] = self.media_type
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["manifests"] = [entry.to_dict(docker) for entry in self.manifests]
        if self.subject is not None:
            out["subject"] = self.subject.to_dict(docker)
        if self.annotations:
            out["annotations"] = fields.sorted_map(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """The canonical JSON (compact, Go's field order): same object, same digest."""
        return jsonio.dumps(self.to_dict()).encode()

    def descriptor(self, **kwargs: Any) -> Descriptor:
        return Descriptor.for_bytes(self.content_type, self.to_bytes(), **kwargs)

    def platforms(self) -> list[Platform]:
        """The platforms of the image manifests listed (attestations and unlabelled left out)."""
        return [entry.platform for entry in _images(self) if entry.platform is not None]


def _check_schema_version(doc: dict[str, Any], where: str) -> None:
    if "schemaVersion" not in doc:
        fields.fail(fields.child(where, "schemaVersion"), "required")
    version = fields.integer(doc["schemaVersion"], fields.child(where, "schemaVersion"))
    if version == 1:
        raise mediatypes.schema1_error("schemaVersion 1", where)
    if version != SCHEMA_VERSION:
        fields.fail(fields.child(where, "schemaVersion"), f"must be {SCHEMA_VERSION}, not {version}")


def _kind(media_type: str) -> str:
    if mediatypes.is_index(media_type):
        return "index"
    if mediatypes.is_manifest(media_type):
        return "manifest"
    return ""


def parse_manifest_document(data: bytes, media_type: str | None = None) -> Manifest | ImageIndex:
    """Read a manifest or index; ``media_type`` is the Content-Type it came with, if known.

    InvalidArgument names what is wrong; NotImplementedYet for Docker schema 1.
    """
    doc = fields.obj(jsonio.loads(data, "manifest"), "manifest")
    declared = fields.opt_str(doc.get("mediaType"), "manifest: mediaType")
    given = mediatypes.base(media_type or "")
    for candidate in (declared, given):
        mediatypes.reject_schema1(candidate)
    if "fsLayers" in doc or "signatures" in doc:
        raise mediatypes.schema1_error("fsLayers" if "fsLayers" in doc else "signatures")
    kind = _kind(declared)
    if declared and not kind:
        fields.fail("manifest: mediaType", f"{declared!r} is not a manifest or index media type")
    given_kind = _kind(given)
    if kind and given_kind and kind != given_kind:
        fields.fail("manifest: mediaType", f"the document is {declared} but was served as {given}")
    kind = kind or given_kind
    if not kind:
        if "manifests" in doc:
            kind = "index"
        elif "config" in doc or "layers" in doc:
            kind = "manifest"
        else:
            fields.fail("manifest", "neither a manifest nor an index: no mediaType, config or manifests")
    if kind == "index":
        where = "manifest list" if declared == mediatypes.DOCKER_MANIFEST_LIST else "index"
        return ImageIndex.from_dict(doc, where)
    return Manifest.from_dict(doc, "manifest")


def _images(index: ImageIndex) -> list[Descriptor]:
    """The entries that are runnable image manifests (not attestations, not nested indexes)."""
    return [d for d in index.manifests if mediatypes.is_manifest(d.media_type) and not d.is_attestation()]


def select_manifest(index: ImageIndex, platform: Platform | str | None = None) -> Descriptor:
    """The entry of ``index`` best for ``platform`` (default: this host).

    Exact platform first, then compatible lower variants (see :mod:`dockyard.oci.platform`);
    the first of equals wins. NotFound names the platform wanted and those available.
    """
    if platform is None:
        want = host_platform()
    elif isinstance(platform, str):
        want = parse_platform(platform)
    else:
        want = platform.normalize()
    candidates = _images(index)
    chosen = best_match(want, [entry.platform for entry in candidates])
    if chosen is not None:
        return candidates[chosen]
    available: list[str] = []
    for entry in candidates:
        if entry.platform is not None:
            name = str(entry.platform.normalize())
            if name not in available:
                available.append(name)
    listed = ", ".join(available) if available else "none"
    raise NotFound(f"no matching manifest for {want} in the manifest list entries (available: {listed})")
