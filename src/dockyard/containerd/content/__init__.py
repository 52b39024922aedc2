"""The content store: blobs addressed by digest, written through resumable ingests and
published atomically (containerd's ``content`` package and its local store).

``ContentStore(root)`` is shared by all namespaces on disk; the per-namespace view with
labels lives in :mod:`dockyard.containerd.metadata.content`.
"""

from dockyard.containerd.content.reader import ReaderAt
from dockyard.containerd.content.store import ContentStore
from dockyard.containerd.content.types import Info, Status
from dockyard.containerd.content.writer import Writer

__all__ = ["ContentStore", "Info", "ReaderAt", "Status", "Writer"]
