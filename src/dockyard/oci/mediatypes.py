"""Media types of the OCI image spec and of Docker's image formats, and what each one is.

OCI: index, manifest, config, layers (tar, tar+gzip, tar+zstd) and the deprecated
non-distributable layers. Docker: schema 2 manifest and manifest list, container config,
rootfs layers (``.tar``, ``.tar.gzip``, ``.tar.zstd``) and foreign layers. Docker schema 1
(signed and unsigned) is recognised only so that it can be refused with a clear message.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument, NotImplementedYet

# -- OCI image spec ------------------------------------------------------------------------
OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json"
OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

# -- Docker image manifest v2, schema 2 ----------------------------------------------------
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"

# -- Docker image manifest v2, schema 1: refused -------------------------------------------
DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws"

INDEX_TYPES = frozenset((OCI_INDEX, DOCKER_MANIFEST_LIST))
MANIFEST_TYPES = frozenset((OCI_MANIFEST, DOCKER_MANIFEST))
CONFIG_TYPES = frozenset((OCI_CONFIG, DOCKER_CONFIG))
SCHEMA1_TYPES = frozenset((DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST))

# layer media type -> compression ("" for a plain tar)
_LAYERS: dict[str, str] = {
    OCI_LAYER: "",
    OCI_LAYER_GZIP: "gzip",
    OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDISTRIBUTABLE: "",
    OCI_LAYER_NONDISTRIBUTABLE_GZIP: "gzip",
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD: "zstd",
    DOCKER_LAYER: "",
    DOCKER_LAYER_GZIP: "gzip",
    DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_LAYER_FOREIGN: "",
    DOCKER_LAYER_FOREIGN_GZIP: "gzip",
}
NON_DISTRIBUTABLE_TYPES = frozenset((
    OCI_LAYER_NONDISTRIBUTABLE,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    DOCKER_LAYER_FOREIGN,
    DOCKER_LAYER_FOREIGN_GZIP,
))
LAYER_TYPES = frozenset(_LAYERS)

SCHEMA1_MESSAGE = "schema 1 manifests are not supported"
SCHEMA1_HINT = "push the image again as Docker schema 2 or OCI"


def base(media_type: str) -> str:
    """``media_type`` without parameters (``; charset=utf-8``) and surrounding blanks."""
    return media_type.split(";", 1)[0].strip()


def is_index(media_type: str) -> bool:
    """An OCI image index or a Docker manifest list."""
    return base(media_type) in INDEX_TYPES


def is_manifest(media_type: str) -> bool:
    """An OCI image manifest or a Docker schema 2 manifest (not an index)."""
    return base(media_type) in MANIFEST_TYPES


def is_config(media_type: str) -> bool:
    """An OCI image config or a Docker container image config."""
    return base(media_type) in CONFIG_TYPES


def is_layer(media_type: str) -> bool:
    """A layer type we can apply (tar, gzip or zstd; distributable or not)."""
    return base(media_type) in _LAYERS


def is_schema1(media_type: str) -> bool:
    """Docker schema 1, signed or not."""
    return base(media_type) in SCHEMA1_TYPES


def is_docker(media_type: str) -> bool:
    """One of Docker's own types (``application/vnd.docker.*``)."""
    return base(media_type).startswith("application/vnd.docker.")


def is_non_distributable(media_type: str) -> bool:
    """A layer a registry may not hold (OCI non-distributable, Docker foreign): not pushed."""
    return base(media_type) in NON_DISTRIBUTABLE_TYPES


is_foreign = is_non_distributable


def layer_compression(media_type: str) -> str:
    """``""`` (plain tar), ``"gzip"`` or ``"zstd"``; InvalidArgument for a non-layer type."""
    compression = _LAYERS.get(base(media_type))
    if compression is None:
        if "+encrypted" in media_type:
            raise NotImplementedYet(f"encrypted layers are not supported: {media_type}")
        raise InvalidArgument(f"unsupported layer media type {media_type!r}")
    return compression


def layer_type(compression: str, docker: bool = False) -> str:
    """The media type of a distributable layer with that compression, OCI or Docker."""
    for media_type, kind in _LAYERS.items():
        if kind == compression and media_type not in NON_DISTRIBUTABLE_TYPES and is_docker(media_type) == docker:
            return media_type
    raise InvalidArgument(f"unsupported layer compression {compression!r}")


def schema1_error(what: str, where: str = "manifest") -> NotImplementedYet:
    """The error for a schema 1 document; ``what`` says how it was recognised."""
    return NotImplementedYet(f"{where}: {SCHEMA1_MESSAGE} ({what}): {SCHEMA1_HINT}")


def reject_schema1(media_type: str, where: str = "manifest") -> None:
    """NotImplementedYet for a schema 1 type, nothing otherwise."""
    if is_schema1(media_type):
        raise schema1_error(f"mediaType {base(media_type)}", where)
