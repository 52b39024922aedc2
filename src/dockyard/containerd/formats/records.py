"""What a load returns, and recording the loaded images in the metadata store.

:func:`record_images` creates (or re-points, as ``docker load`` re-tags) one image record
per loaded name; given the database, all of them in one transaction.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

from dockyard.errors import AlreadyExists
from dockyard.oci.descriptor import Descriptor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB
    from dockyard.containerd.metadata.images import ImageStore


@dataclass
class LoadedImage:
    """One image a load brought in: its name ("" when untagged), the target to record
    (a manifest or an index), and for its manifest the config digest (the image ID) and
    the layers' diffIDs (empty for an index)."""

    name: str
    target: Descriptor
    config_digest: str = ""
    diff_ids: list[str] = field(default_factory=list)


def record_images(loaded: list[LoadedImage], images: ImageStore, db: DB | None = None) -> None:
    """Point each named image at its target; one transaction when ``db`` is given."""
    from dockyard.containerd.metadata.images import Descriptor as Target
    from dockyard.containerd.metadata.images import Image

    with db.write() if db is not None else nullcontext():
        for item in loaded:
            if not item.name:
                continue
            desc = item.target
            image = Image(item.name, Target(desc.media_type, desc.digest, desc.size, dict(desc.annotations)))
            try:
                images.create(image)
            except AlreadyExists:
                images.update(image, ("target",))
