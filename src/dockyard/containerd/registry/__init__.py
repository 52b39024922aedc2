"""The registry client: distribution API v2 (auth, resolve, fetch, push, tags), pull and push.

- :class:`RegistryClient` (:mod:`.client`): one registry, a pooled session, retries,
  timeouts, authorization (:mod:`.auth`, :mod:`.challenge`, :mod:`.credentials`).
- :func:`pull` (:mod:`.pull`): an image into a content store, layers in parallel, progress
  per layer, optionally applied while streaming (:mod:`.layerfeed`, :mod:`.unpacking`).
- :func:`push` (:mod:`.push`): an image from a content store, blobs then manifests.
"""

from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.credentials import Credentials, DockerConfig
from dockyard.containerd.registry.layerfeed import LayerFeed
from dockyard.containerd.registry.progress import Progress
from dockyard.containerd.registry.pull import PullResult, pull
from dockyard.containerd.registry.push import PushResult, push

__all__ = [
    "Credentials",
    "DockerConfig",
    "LayerFeed",
    "Progress",
    "PullResult",
    "PushResult",
    "RegistryClient",
    "pull",
    "push",
]
