"""Images (containerd's ``images.Store``): per namespace, a name pointing at a target
descriptor (the manifest or index), with labels and timestamps.

An image is a garbage-collection root for its target and everything the target's labels
reference, unless its ``containerd.io/gc.expire`` label has passed; created under a lease,
an image with that label is also added to the lease.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from dataclasses import dataclass, field
from functools import partial

from dockyard.containerd.filters import labels_adaptor, parse_filters
from dockyard.containerd.metadata.leases import LABEL_EXPIRE, add_resource, remove_resource
from dockyard.containerd.metadata.namespaces import ensure_namespace
from dockyard.containerd.metadata.validation import dumps, loads, validate_labels
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci.digest import parse_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from dockyard.containerd.metadata.db import DB


@dataclass
class Descriptor:
    """An OCI content descriptor, as far as an image's target needs one."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Image:
    name: str
    target: Descriptor
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


def validate_image(image: Image) -> Image:
    """A checked copy of ``image`` (labels without empty values)."""
    if not image.name:
        raise InvalidArgument("image name must not be empty")
    labels = validate_labels(image.labels, f"image {image.name!r}")
    target = image.target
    try:
        parse_digest(target.digest)
    except InvalidArgument as exc:
        raise InvalidArgument(f"image {image.name!r}: target.digest: {exc}") from None
    if target.size <= 0:
        raise InvalidArgument(f"image {image.name!r}: target.size must be greater than zero, got {target.size}")
    if not target.media_type:
        raise InvalidArgument(f"image {image.name!r}: target.media_type must be set")
    checked = Descriptor(target.media_type, target.digest, target.size, dict(target.annotations))
    return Image(image.name, checked, labels, image.created_at, image.updated_at)


class ImageStore:
    """The images of one namespace (``lease``: protects images that carry an expiry)."""

    def __init__(self, db: DB, namespace: str, lease: str = "") -> None:
        self._db = db
        self.namespace = namespace
        self.lease = lease

    def get(self, name: str) -> Image:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM images WHERE namespace = ? AND name = ?",
                               (self.namespace, name)).fetchone()
        if row is None:
            raise NotFound(f"image {name!r}: not found")
        return _image(row)

    def list(self, *filters: str) -> builtins.list[Image]:
        """Images matching any of ``filters`` (fields: name, target.digest,
        target.mediatype, labels)."""
        flt = parse_filters(filters)
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM images WHERE namespace = ? ORDER BY name", (self.namespace,)).fetchall()
        images = [_image(row) for row in rows]
        return [image for image in images if flt.match(partial(_adapt, image))]

    def create(self, image: Image) -> Image:
        """Store a new image; AlreadyExists if the name is taken."""
        checked = validate_image(image)
        with self._db.write() as conn:
            ensure_namespace(conn, self.namespace)
            if LABEL_EXPIRE in checked.labels:
                add_resource(conn, self.namespace, self.lease, "images", checked.name)
            exists = conn.execute("SELECT 1 FROM images WHERE namespace = ? AND name = ?",
                                  (self.namespace, checked.name)).fetchone()
            if exists:
                raise AlreadyExists(f"image {checked.name!r}: already exists")
            checked.created_at = checked.updated_at = time.time()
            _write(conn, self.namespace, checked, insert=True)
        return checked

    def update(self, image: Image, fieldpaths: Sequence[str] = ()) -> Image:
        """Change an image: all of it without ``fieldpaths``, else the named parts
        (``labels``, ``labels.<k>``, ``target``, ``annotations``, ``annotations.<k>``)."""
        if not image.name:
            raise InvalidArgument("image name is required for update")
        with self._db.write() as conn:
            row = conn.execute("SELECT * FROM images WHERE namespace = ? AND name = ?",
                               (self.namespace, image.name)).fetchone()
            if row is None:
                raise NotFound(f"image {image.name!r}: not found")
            updated = _apply(_image(row), image, fieldpaths)
            checked = validate_image(updated)
            if LABEL_EXPIRE in checked.labels:
                add_resource(conn, self.namespace, self.lease, "images", checked.name)
            checked.created_at = row["created_at"]
            checked.updated_at = time.time()
            _write(conn, self.namespace, checked, insert=False)
        return checked

    def delete(self, name: str, target_digest: str = "") -> None:
        """Delete an image (only if its target is ``target_digest``, when given). Its blobs
        and snapshots stay until garbage collection finds nothing else uses them."""
        with self._db.write() as conn:
            row = conn.execute("SELECT digest FROM images WHERE namespace = ? AND name = ?",
                               (self.namespace, name)).fetchone()
            if row is None:
                raise NotFound(f"image {name!r}: not found")
            if target_digest and row["digest"] != target_digest:
                raise NotFound(f"image {name!r} has target {row['digest']}, not {target_digest}")
            remove_resource(conn, self.namespace, self.lease, "images", name)
            conn.execute("DELETE FROM images WHERE namespace = ? AND name = ?", (self.namespace, name))


def _apply(current: Image, given: Image, fieldpaths: Sequence[str]) -> Image:
    if not fieldpaths:
        return Image(given.name, given.target, dict(given.labels))
    out = Image(current.name, current.target, dict(current.labels))
    annotations = dict(current.target.annotations)
    for path in fieldpaths:
        if path == "labels":
            out.labels = dict(given.labels)
        elif path.startswith("labels."):
            key = path[len("labels."):]
            out.labels[key] = given.labels.get(key, "")
        elif path == "target":
            out.target = given.target
            annotations = dict(given.target.annotations)
        elif path == "annotations":
            annotations = dict(given.target.annotations)
        elif path.startswith("annotations."):
            key = path[len("annotations."):]
            annotations[key] = given.target.annotations.get(key, "")
        else:
            raise InvalidArgument(f"cannot update {path!r} field on image {current.name!r}")
    annotations = {k: v for k, v in annotations.items() if v}
    out.target = Descriptor(out.target.media_type, out.target.digest, out.target.size, annotations)
    return out


def _write(conn: sqlite3.Connection, namespace: str, image: Image, insert: bool) -> None:
    target = image.target
    values = (target.media_type, target.digest, target.size, dumps(target.annotations), dumps(image.labels),
              image.updated_at)
    if insert:
        conn.execute("INSERT INTO images (media_type, digest, size, annotations, labels, updated_at,"
                     " created_at, namespace, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (*values, image.created_at, namespace, image.name))
    else:
        conn.execute("UPDATE images SET media_type = ?, digest = ?, size = ?, annotations = ?, labels = ?,"
                     " updated_at = ? WHERE namespace = ? AND name = ?", (*values, namespace, image.name))


def _image(row: sqlite3.Row) -> Image:
    target = Descriptor(row["media_type"], row["digest"], row["size"], loads(row["annotations"]))
    return Image(row["name"], target, loads(row["labels"]), row["created_at"], row["updated_at"])


def _adapt(image: Image, path: Sequence[str]) -> tuple[str, bool]:
    if not path:
        return "", False
    if path[0] == "name":
        return image.name, True
    if path[0] == "labels":
        return labels_adaptor(image.labels, path)
    if path[0] == "target" and len(path) == 2:
        if path[1] == "digest":
            return image.target.digest, True
        if path[1] == "mediatype":
            return image.target.media_type, True
    return "", False
