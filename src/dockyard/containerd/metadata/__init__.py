"""containerd's metadata store in one SQLite file: namespaces, images, content per
namespace, snapshots per namespace over the backend snapshotters, and leases
(containerd's ``core/metadata``). Garbage collection over it is
:mod:`dockyard.containerd.gc`.

Start with :class:`DB`; it hands out the per-namespace stores.
"""

from dockyard.containerd.metadata.content import NamespacedContentStore, NamespacedWriter
from dockyard.containerd.metadata.db import DB
from dockyard.containerd.metadata.images import Descriptor, Image, ImageStore
from dockyard.containerd.metadata.leases import LABEL_EXPIRE, LABEL_FLAT, Lease, LeaseManager, Resource
from dockyard.containerd.metadata.namespaces import Namespace, NamespaceStore
from dockyard.containerd.metadata.snapshots import NamespacedSnapshotter

__all__ = [
    "DB",
    "LABEL_EXPIRE",
    "LABEL_FLAT",
    "Descriptor",
    "Image",
    "ImageStore",
    "Lease",
    "LeaseManager",
    "Namespace",
    "NamespaceStore",
    "NamespacedContentStore",
    "NamespacedSnapshotter",
    "NamespacedWriter",
    "Resource",
]
