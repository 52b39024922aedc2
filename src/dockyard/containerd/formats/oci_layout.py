"""OCI image layouts (image-spec ``image-layout.md``): save and load, as a directory or a tar.

:func:`save` writes ``oci-layout``, ``blobs/<alg>/<hex>`` for every blob of the images (as
stored: compressed layers stay compressed) and ``index.json`` with one entry per name,
annotated with ``org.opencontainers.image.ref.name`` (the tag) and
``io.containerd.image.name`` (the full name). Into an existing directory layout it adds
blobs and replaces index entries of the same name, as ``skopeo copy ... oci:`` does.

:func:`load` reads a layout directory or tar. Every blob is checked against its name, every
descriptor's size against the blob, every layer's uncompressed digest against the config's
``rootfs.diff_ids`` and its compression against its media type, before anything is
committed; a failure names the file and leaves the content store as it was.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import IO, Any

from dockyard.containerd.archive import compression
from dockyard.containerd.formats import oci_index, paths
from dockyard.containerd.formats.records import LoadedImage, record_images
from dockyard.containerd.formats.source import as_descriptor, closure
from dockyard.containerd.formats.spool import Entry, Spool
from dockyard.containerd.formats.staging import (
    CHUNK,
    LABEL_UNCOMPRESSED,
    Staging,
    Store,
    index_labels,
    manifest_labels,
)
from dockyard.containerd.formats.tarwriter import TarWriter
from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document
from dockyard.oci.image_config import parse_image_config
from dockyard.oci.platform import Platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB
    from dockyard.containerd.metadata.images import ImageStore

MAX_DEPTH = 4

# -- save --------------------------------------------------------------------------------------


def save(images: Sequence[tuple[str, Any]], content_store: Store, dest: str | os.PathLike[str] | IO[bytes], *,
         platform: Platform | str | None = None) -> list[Descriptor]:
    """Write ``images`` ((name, target descriptor) pairs) as an OCI layout: a directory
    when ``dest`` is a path, else a tar stream. Returns the ``index.json`` entries added."""
    entries: list[Descriptor] = []
    blobs: dict[str, Descriptor] = {}
    for name, target in images:
        root, needed = closure(content_store, as_descriptor(target), platform)
        plain = Descriptor(root.media_type, root.digest, root.size, platform=root.platform)
        entries.append(oci_index.named_entry(plain, name))
        for desc in needed:
            blobs.setdefault(desc.digest, desc)
    if isinstance(dest, str | os.PathLike):
        _save_directory(os.fspath(dest), entries, blobs, content_store)
    else:
        _save_tar(dest, entries, blobs, content_store)
    return entries


def _save_tar(out: IO[bytes], entries: list[Descriptor], blobs: dict[str, Descriptor], store: Store) -> None:
    writer = TarWriter(out)
    writer.file_bytes(oci_index.LAYOUT_FILE, oci_index.layout_bytes())
    writer.file_bytes(oci_index.INDEX_FILE, ImageIndex(entries).to_bytes())
    writer.directory("blobs")
    names = {paths.blob_name(digest): desc for digest, desc in blobs.items()}
    for algorithm in sorted({name.split("/")[1] for name in names}):
        writer.directory(f"blobs/{algorithm}")
    for name in sorted(names):
        desc = names[name]
        with store.reader(desc.digest) as reader:
            writer.file_stream(name, desc.size, reader)  # type: ignore[arg-type]
    writer.close()


def _save_directory(root: str, entries: list[Descriptor], blobs: dict[str, Descriptor], store: Store) -> None:
    os.makedirs(root, exist_ok=True)
    layout = os.path.join(root, oci_index.LAYOUT_FILE)
    existing: ImageIndex | None = None
    if os.path.exists(layout):
        with open(layout, "rb") as f:
            oci_index.check_layout(f.read(), root)
        index_path = os.path.join(root, oci_index.INDEX_FILE)
        if os.path.exists(index_path):
            with open(index_path, "rb") as f:
                existing = oci_index.parse_index(f.read(), root)
    else:
        _write_atomic(layout, oci_index.layout_bytes())
    os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
    for digest, desc in sorted(blobs.items()):
        path = os.path.join(root, paths.blob_name(digest))
        try:
            if os.stat(path).st_size == desc.size:
                continue  # content addressed: the same name holds the same bytes
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with store.reader(digest) as reader, open(tmp, "wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise
    index = oci_index.merged_index(existing, entries)
    _write_atomic(os.path.join(root, oci_index.INDEX_FILE), index.to_bytes())


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# -- load --------------------------------------------------------------------------------------


class DirectorySpool(Spool):
    """A layout directory read file by file as the load asks for them (no link may lead
    out of the directory)."""

    def __init__(self, staging: Staging, root: str, what: str) -> None:
        super().__init__(staging, what)
        self.root = os.path.realpath(root)

    def find(self, name: str) -> Entry | None:
        clean = paths.normalize(name, self.what)
        entry = self.entries.get(clean)
        if entry is not None:
            return entry
        path = os.path.realpath(os.path.join(self.root, clean))
        if not path.startswith(self.root + os.sep):
            raise InvalidArgument(f"{self.what}: {clean}: leads out of the layout")
        try:
            f = open(path, "rb")  # noqa: SIM115  (closed below)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        with f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            return self.add_file(clean, info.st_size, f.readinto)


def load(source: str | os.PathLike[str] | IO[bytes], content_store: Store, *, images: ImageStore | None = None,
         db: DB | None = None, base_name: str = "", what: str = "") -> list[LoadedImage]:
    """Load an OCI layout: a directory, a tar file (path) or a tar stream.

    ``base_name`` names entries whose ``ref.name`` is only a tag (``<base_name>:<tag>``);
    ``images`` (with ``db``: in one transaction) records the names. ``what`` names the
    source in errors (default: its path, or "archive").
    """
    staging = Staging(content_store, "load")
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if os.path.isdir(path):
            return _load(DirectorySpool(staging, path, what or path), None, base_name, images, db)
        with open(path, "rb") as stream:
            return _load(Spool(staging, what or path), stream, base_name, images, db)
    return _load(Spool(staging, what or "archive"), source, base_name, images, db)


def _load(spool: Spool, stream: IO[bytes] | None, base_name: str, images: ImageStore | None,
          db: DB | None) -> list[LoadedImage]:
    try:
        if stream is not None:
            spool.read(stream)
        loaded = load_spooled(spool, base_name)
        spool.discard_unused()
        if images is not None:
            record_images(loaded, images, db)
    except BaseException:
        spool.staging.rollback()
        raise
    return loaded


def load_spooled(spool: Spool, base_name: str = "") -> list[LoadedImage]:
    """Verify the layout in ``spool`` from ``index.json`` down, then commit (children first)."""
    layout = spool.find(oci_index.LAYOUT_FILE)
    if layout is None:
        raise InvalidArgument(f"{spool.what}: no {oci_index.LAYOUT_FILE} file: not an OCI image layout")
    oci_index.check_layout(spool.read_bytes(layout), spool.what)
    index = oci_index.parse_index(spool.read_bytes(spool.get(oci_index.INDEX_FILE)), spool.what)
    walker = _Walker(spool)
    loaded = []
    for n, entry in enumerate(index.manifests):
        config, diff_ids = walker.visit(entry, f"{oci_index.INDEX_FILE}: manifests[{n}]", 0)
        target = Descriptor(entry.media_type, entry.digest, entry.size)
        loaded.append(LoadedImage(oci_index.entry_name(entry, base_name), target, config, diff_ids))
    for blob, labels in walker.commits:
        spool.commit(blob, labels)
    return loaded


class _Walker:
    """Checks a tree of descriptors against the spooled blobs; collects the commits."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.commits: list[tuple[Entry, dict[str, str] | None]] = []
        self._seen: dict[str, tuple[str, list[str]]] = {}

    def blob(self, desc: Descriptor, where: str) -> Entry:
        entry = self.spool.blob(desc.digest)
        if entry is None:
            name = paths.blob_name(desc.digest)
            raise InvalidArgument(f"{self.spool.what}: {name} ({where}): not found in the layout")
        if entry.size != desc.size:
            raise InvalidArgument(
                f"{self.spool.what}: {entry.name}: size is {entry.size}, but {where} says {desc.size}")
        return entry

    def visit(self, desc: Descriptor, where: str, depth: int) -> tuple[str, list[str]]:
        """Check ``desc`` and below; (config digest, diffIDs) for a manifest."""
        if desc.digest in self._seen:
            return self._seen[desc.digest]
        if depth > MAX_DEPTH:
            raise InvalidArgument(f"{self.spool.what}: {where}: indexes nested more than {MAX_DEPTH} deep")
        entry = self.blob(desc, where)
        result: tuple[str, list[str]] = ("", [])
        labels: dict[str, str] | None = None
        if mediatypes.is_index(desc.media_type) or mediatypes.is_manifest(desc.media_type):
            try:
                document = parse_manifest_document(self.spool.read_bytes(entry), desc.media_type)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{self.spool.what}: {entry.name}: {exc}") from None
            if isinstance(document, ImageIndex):
                labels = self._index(document, entry, depth)
            else:
                result, labels = self._manifest(document, entry)
        self.commits.append((entry, labels))
        self._seen[desc.digest] = result
        return result

    def _index(self, index: ImageIndex, entry: Entry, depth: int) -> dict[str, str]:
        present = [child for child in index.manifests if self.spool.blob(child.digest) is not None]
        if index.manifests and not present:
            raise InvalidArgument(f"{self.spool.what}: {entry.name}: none of the manifests it lists is in the layout")
        for n, child in enumerate(present):
            self.visit(child, f"{entry.name}: manifests[{n}]", depth + 1)
        return index_labels([child.digest for child in present])

    def _manifest(self, manifest: Manifest, entry: Entry) -> tuple[tuple[str, list[str]], dict[str, str]]:
        what = self.spool.what
        config_entry = self.blob(manifest.config, f"{entry.name}: config")
        diff_ids: list[str] = []
        if mediatypes.is_config(manifest.config.media_type):
            try:
                diff_ids = parse_image_config(self.spool.read_bytes(config_entry)).diff_ids
            except InvalidArgument as exc:
                raise InvalidArgument(f"{what}: config {config_entry.name}: {exc}") from None
            if len(diff_ids) != len(manifest.layers):
                raise InvalidArgument(f"{what}: {entry.name}: {len(manifest.layers)} layers but the config "
                                      f"{config_entry.name} lists {len(diff_ids)} diff_ids")
        stored: list[str] = []
        for i, layer in enumerate(manifest.layers):
            where = f"{entry.name}: layers[{i}]"
            if self.spool.blob(layer.digest) is None and mediatypes.is_non_distributable(layer.media_type):
                continue  # a foreign layer: fetched from its URLs when needed
            layer_entry = self.blob(layer, where)
            labels = None
            if mediatypes.is_layer(layer.media_type):
                self._check_layer(layer, layer_entry, diff_ids[i] if diff_ids else "", i)
                if layer_entry.compression != compression.NONE:
                    labels = {LABEL_UNCOMPRESSED: layer_entry.diff_id}
            self.commits.append((layer_entry, labels))
            stored.append(layer.digest)
        self.commits.append((config_entry, None))
        return (config_entry.digest, diff_ids), manifest_labels(config_entry.digest, stored)

    def _check_layer(self, layer: Descriptor, entry: Entry, diff_id: str, i: int) -> None:
        what = self.spool.what
        declared = mediatypes.layer_compression(layer.media_type) or compression.NONE
        if declared != entry.compression:
            raise InvalidArgument(f"{what}: layer {entry.name}: media type {layer.media_type} but the content "
                                  f"is {entry.compression if entry.compression != compression.NONE else 'a plain tar'}")
        if diff_id and entry.diff_id != diff_id:
            raise InvalidArgument(f"{what}: layer {entry.name}: content hashes to {entry.diff_id} uncompressed, "
                                  f"but the config's rootfs.diff_ids[{i}] is {diff_id}")
