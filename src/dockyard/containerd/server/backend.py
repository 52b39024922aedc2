"""What the services share: the metadata database (with the content store and the
snapshotters inside it), the event exchange, the garbage-collection scheduler and the
daemon's directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.containerd.metadata import DB
from dockyard.containerd.server.exchange import Exchange
from dockyard.containerd.server.gcsched import GCScheduler

DEFAULT_SNAPSHOTTER = "overlayfs"


@dataclass
class Backend:
    db: DB
    exchange: Exchange
    gc: GCScheduler
    root: Path  # persistent state (--root)
    state: Path  # runtime state (--state)
    uuid: str = ""
    default_snapshotter: str = DEFAULT_SNAPSHOTTER

    @property
    def content_root(self) -> Path:
        store = self.db.content_store
        return store.root if store is not None else self.root
