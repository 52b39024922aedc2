"""``docker import`` and ``docker export``: a root filesystem tar as a one-layer image, and a
snapshot as a flat tar.

:func:`import_rootfs` reads the tar (plain, gzip or zstd) once: it hashes the uncompressed
bytes (the diffID), gzips them into a content store ingest (the layer is stored
compressed, as ``docker import`` does), then writes the config (one diffID, the history
entry ``Imported from -``, the run defaults given) and an OCI manifest. Nothing stays in
the store if any step fails.

:func:`export_snapshot` writes a snapshot's tree as a flat tar with
:func:`dockyard.containerd.unpack.export_tree`; given mounts, it reads a single bind mount
(the native backend) or a single-layer overlay view straight from its directory and
mounts anything else on a temporary directory (which needs root).
"""

from __future__ import annotations

import os
import tarfile
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from dockyard.containerd.archive import compression
from dockyard.containerd.archive.diff import DiffResult
from dockyard.containerd.formats.records import LoadedImage, record_images
from dockyard.containerd.formats.staging import (
    CHUNK,
    LABEL_UNCOMPRESSED,
    Staging,
    Store,
    manifest_labels,
)
from dockyard.containerd.snapshots import Mount
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digester
from dockyard.oci.image import Manifest
from dockyard.oci.image_config import History, ImageConfig, RunConfig
from dockyard.oci.platform import Platform, host_platform, parse_platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB
    from dockyard.containerd.metadata.images import ImageStore

BLOCK = 512


def import_rootfs(tar_stream: IO[bytes], content_store: Store, *,
                  config_overrides: Mapping[str, Any] | RunConfig | None = None,
                  platform: Platform | str | None = None, source: str = "-", message: str = "",
                  created: str = "", name: str = "", images: ImageStore | None = None,
                  db: DB | None = None) -> Descriptor:
    """Store the root filesystem in ``tar_stream`` as a one-layer image; its manifest's
    descriptor (with the platform) is returned.

    ``config_overrides`` are the run defaults, Docker's JSON form (``{"Cmd": [...],
    "Env": [...]}``, what ``--change`` makes) or a :class:`RunConfig`. ``platform``
    defaults to this host; ``created`` (RFC 3339) to now. The history comment is
    ``message``, else ``Imported from <source>``. With ``name`` and ``images`` (and ``db``)
    the image is recorded too.
    """
    run = _run_config(config_overrides)
    plat = _platform(platform)
    when = created or _now()
    staging = Staging(content_store, "import")
    try:
        layer, diff_id = _store_layer(tar_stream, staging)
        history = History(created=when, comment=message or f"Imported from {source}")
        config = ImageConfig(plat.architecture, plat.os, [diff_id], config=run, history=[history], created=when,
                             variant=plat.variant, os_version=plat.os_version, os_features=plat.os_features)
        config_bytes = config.to_bytes()
        config_desc = config.descriptor()
        _commit_bytes(staging, config_bytes, config_desc.digest)
        manifest = Manifest(config_desc, [layer])
        data = manifest.to_bytes()
        desc = manifest.descriptor()
        _commit_bytes(staging, data, desc.digest, manifest_labels(config_desc.digest, [layer.digest]))
        if name and images is not None:
            record_images([LoadedImage(name, desc, config_desc.digest, [diff_id])], images, db)
    except BaseException:
        staging.rollback()
        raise
    return Descriptor(desc.media_type, desc.digest, desc.size, platform=plat)


def _store_layer(stream: IO[bytes], staging: Staging) -> tuple[Descriptor, str]:
    """gzip the (decompressed) tar into an ingest; (layer descriptor, diffID)."""
    head = stream.read(CHUNK) or b""
    try:
        kind = compression.sniff(head[:8])
    except DockyardError as exc:
        raise InvalidArgument(f"import: {exc}") from None
    decoder = compression.decompressor(kind)
    compressor = compression.Compressor(compression.GZIP)
    diff = Digester()
    blob = Digester()
    staged = staging.open()
    first = bytearray()

    def put(data: bytes) -> None:
        if data:
            blob.update(data)
            staging.write(staged, data)

    try:
        chunk = head
        while chunk:
            for piece in decoder.feed(chunk):
                if len(first) < BLOCK:
                    first += piece[: BLOCK - len(first)]
                diff.update(piece)
                put(compressor.compress(piece))
            chunk = stream.read(CHUNK)
        decoder.finish()
    except DockyardError as exc:
        raise InvalidArgument(f"import: {exc}") from None
    put(compressor.flush())
    _check_tar(bytes(first), diff.size)
    staging.commit(staged, blob.digest(), blob.size, {LABEL_UNCOMPRESSED: diff.digest()})
    return Descriptor(mediatypes.OCI_LAYER_GZIP, blob.digest(), blob.size), diff.digest()


def _check_tar(first: bytes, size: int) -> None:
    """The input must start like a tar archive (an empty one is two zero blocks)."""
    if size < BLOCK:
        raise InvalidArgument(f"import: not a tar archive: only {size} bytes")
    if first == bytes(BLOCK):
        return
    try:
        tarfile.TarInfo.frombuf(first, "utf-8", "surrogateescape")
    except tarfile.HeaderError as exc:
        raise InvalidArgument(f"import: not a tar archive: {exc}") from None


def _commit_bytes(staging: Staging, data: bytes, digest: str, labels: dict[str, str] | None = None) -> None:
    staged = staging.open(digest, len(data))
    staging.write(staged, data)
    staging.commit(staged, digest, len(data), labels)


def _run_config(overrides: Mapping[str, Any] | RunConfig | None) -> RunConfig:
    if overrides is None:
        return RunConfig()
    if isinstance(overrides, RunConfig):
        return overrides
    return RunConfig.from_dict(dict(overrides), "config")


def _platform(platform: Platform | str | None) -> Platform:
    if platform is None:
        return host_platform()
    if isinstance(platform, str):
        return parse_platform(platform)
    return platform.normalize()


def _now() -> str:
    """This instant in RFC 3339 with nanoseconds, UTC, as Go prints a time.Time."""
    ns = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
    fraction = f"{ns % 1_000_000_000:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def export_snapshot(source: str | os.PathLike[str] | Sequence[Mount], out_stream: IO[bytes]) -> DiffResult:
    """Write the tree of ``source`` — a directory, or a snapshot's mounts — as a flat tar."""
    from dockyard.containerd.unpack import export_tree

    if isinstance(source, str | os.PathLike):
        return export_tree(source, out_stream)
    mounts = list(source)
    direct = _direct_directory(mounts)
    if direct:
        return export_tree(direct, out_stream)
    from dockyard.containerd.mount import mounted

    with mounted(mounts) as root:
        return export_tree(root, out_stream)


def _direct_directory(mounts: list[Mount]) -> str:
    """The directory holding the whole tree when no mount is needed, else ""."""
    if len(mounts) != 1:
        return ""
    m = mounts[0]
    if m.type == "bind" or "bind" in m.options or "rbind" in m.options:
        return m.source
    if m.type == "overlay":
        from dockyard.containerd.mount import plan_overlay

        plan = plan_overlay(m)
        if not plan.upper and len(plan.lowers) == 1 and os.path.isabs(plan.lowers[0]):
            return plan.lowers[0]
    return ""
