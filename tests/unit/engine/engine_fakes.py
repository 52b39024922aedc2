"""Fakes for the engine's unit tests: a supervisor answering from dicts, a context built on
it, and a few images (config + manifest, optionally behind an index) in its content."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from dockyard.engine.config import build
from dockyard.engine.context import EngineContext
from dockyard.engine.ctrd_events import ContainerdEvents
from dockyard.engine.events import EventHub
from dockyard.engine.runtimes import discover
from dockyard.errors import NotFound
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import Manifest
from dockyard.oci.image_config import ImageConfig, RunConfig


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeSupervisor:
    namespace: str = "dockyard"
    blobs: dict[str, bytes] = field(default_factory=dict)
    images: list[Any] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)  # chainID -> bytes (unpacked)
    containers: list[Any] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)

    async def version(self) -> tuple[str, str]:
        return "1.6.20+dockyard.test", "rev"

    async def list_images(self, filters: Any = ()) -> list[Any]:
        return self.images

    async def read_blob(self, d: str) -> bytes:
        if d not in self.blobs:
            raise NotFound(f"content digest {d}: not found")
        return self.blobs[d]

    async def read_document(self, d: str) -> bytes:
        return await self.read_blob(d)

    async def snapshot_usage(self, key: str, snapshotter: str = "overlayfs") -> tuple[int, int]:
        if key not in self.usage:
            raise NotFound(f"snapshot {key}: not found")
        return self.usage[key], 1

    async def list_containers(self, filters: Any = ()) -> list[Any]:
        return self.containers

    async def list_tasks(self) -> list[Any]:
        return self.tasks

    # -- building content ------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        d = digest(data)
        self.blobs[d] = data
        return d

    def add_image(self, names: list[str], layer_bytes: list[bytes], *, created: str = "2024-01-02T03:04:05Z",
                  labels: dict[str, str] | None = None, index: bool = False) -> str:
        """An image with one layer per ``layer_bytes`` (their sizes as compressed sizes);
        the config's digest (the image ID)."""
        diff_ids = [digest(b"diff" + b) for b in layer_bytes]
        config = ImageConfig("amd64", "linux", diff_ids, config=RunConfig(labels=labels or {}), created=created)
        config_digest = self.put(config.to_bytes())
        layers = [Descriptor(mediatypes.OCI_LAYER_GZIP, digest(b), len(b)) for b in layer_bytes]
        manifest = Manifest(config.descriptor(), layers)
        target = manifest.descriptor()
        self.put(manifest.to_bytes())
        if index:
            doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [
                {**target.to_dict(), "platform": {"architecture": "amd64", "os": "linux"}},
                {**target.to_dict(), "platform": {"architecture": "arm64", "os": "linux"}}]}
            data = json.dumps(doc).encode()
            target = Descriptor(mediatypes.OCI_INDEX, self.put(data), len(data))
        for name in names:
            self.images.append(SimpleNamespace(name=name, target=SimpleNamespace(digest=target.digest,
                                                                                  media_type=target.media_type)))
        return config_digest


# the fake engines' roots (the build cache writes a file there): one temporary directory
# per test process, removed at its exit
_ROOT = tempfile.mkdtemp(prefix="dy-unit-")
atexit.register(shutil.rmtree, _ROOT, True)
DATA_ROOT = os.path.join(_ROOT, "data")
EXEC_ROOT = os.path.join(_ROOT, "exec")


def make_context(sv: FakeSupervisor | None = None, **flags: Any) -> EngineContext:
    sv = sv or FakeSupervisor()
    hub = EventHub()
    config = build({"data_root": DATA_ROOT, "exec_root": EXEC_ROOT, **flags})
    runtimes = discover(config.runtimes, config.default_runtime, {"runc": "/usr/sbin/runc"}.get)
    bridge = ContainerdEvents(sv, hub)  # type: ignore[arg-type]
    return EngineContext(config, sv, hub, bridge, runtimes, "0d1e2f")  # type: ignore[arg-type]
