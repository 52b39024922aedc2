"""``RUN --mount`` for the RUN container: Docker ``Mounts`` entries, and what the cache key
must know about them.

- ``type=bind``: ``source`` (default the root) in the build context, or in ``from``'s
  filesystem (an earlier stage or an image, mounted for the step), bound read-only (the
  ``rw`` option is not supported: BuildKit discards such writes, a bind would keep them);
  the source's content hash (:mod:`.checksum`) goes into the cache key.
- ``type=cache``: a directory kept across builds in ``<data-root>/builder/cache-mounts/``,
  named by the cache ``id`` (default: the target), made with ``mode``/``uid``/``gid`` the
  first time, bound read-write (``ro`` read-only); its content is not part of the key.
- ``type=tmpfs``: a tmpfs (``size``).
- ``type=secret`` and ``type=ssh`` need BuildKit's client session, which the classic
  endpoint has no way to carry: a ``required`` one is an error, else it is left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dockyard.engine.build.buildflags import Mount
from dockyard.engine.build.buildsteps import StepWorker
from dockyard.engine.build.checksum import dir_hash, file_hash
from dockyard.engine.build.context import context_path
from dockyard.engine.scoped import is_inside, resolve_in_scope
from dockyard.errors import InvalidArgument, NotFound, NotImplementedYet

SourceDoc = Callable[[str], Awaitable[Mapping[str, Any]]]


def cache_dir(data_root: str, mount: Mount) -> str:
    """The host directory of a cache mount (created on first use)."""
    name = hashlib.sha256((mount.id or mount.target).encode()).hexdigest()
    path = os.path.join(data_root, "builder", "cache-mounts", name)
    if not os.path.isdir(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        os.mkdir(path, mount.mode if mount.mode is not None else 0o755)
        os.chmod(path, mount.mode if mount.mode is not None else 0o755)
        if mount.uid is not None or mount.gid is not None:
            os.chown(path, mount.uid or 0, mount.gid or 0)
    return path


def _source_in(root: str, source: str, scope_name: str) -> str:
    rel = source.lstrip("/")
    if not is_inside(rel or "."):
        raise InvalidArgument(f"forbidden path outside the {scope_name}: {source}")
    path = resolve_in_scope(root, rel) if rel else root
    if not os.path.exists(path):
        raise NotFound(f"failed to compute cache key: \"/{rel}\" not found")
    return path


def content_hash(path: str) -> str:
    return dir_hash(path) if os.path.isdir(path) else file_hash(path, os.path.basename(path))


async def run_mounts(mounts: tuple[Mount, ...], *, worker: StepWorker, context_dir: str, data_root: str,
                     source_doc: SourceDoc, stack: contextlib.AsyncExitStack) -> tuple[list[dict[str, Any]],
                                                                                    list[str]]:
    """(``HostConfig.Mounts`` entries, cache-key words) of a RUN's ``--mount`` flags; the
    mounted sources stay mounted until ``stack`` closes."""
    entries: list[dict[str, Any]] = []
    key: list[str] = []
    for mount in mounts:
        target = mount.target if mount.target.startswith("/") else "/" + mount.target
        if mount.type == "tmpfs":
            options = {"SizeBytes": mount.size} if mount.size else {}
            entries.append({"Type": "tmpfs", "Target": target, "TmpfsOptions": options})
            key.append(f"tmpfs:{target}:{mount.size or 0}")
        elif mount.type == "cache":
            if mount.from_:
                raise NotImplementedYet("RUN --mount=type=cache,from=... is not supported")
            entries.append({"Type": "bind", "Source": cache_dir(data_root, mount), "Target": target,
                            "ReadOnly": mount.readonly})
            key.append(f"cache:{mount.id}:{target}:{mount.readonly}")
        elif mount.type == "bind":
            if mount.from_:
                root = await stack.enter_async_context(worker.image_root(await source_doc(mount.from_)))
                source = _source_in(root, mount.source, "source image")
            else:
                source = context_path(context_dir, mount.source or ".") if mount.source else context_dir
                if not os.path.exists(source):
                    raise NotFound(f"failed to compute cache key: \"/{mount.source.lstrip('/')}\" not found")
            entries.append({"Type": "bind", "Source": source, "Target": target, "ReadOnly": True})
            key.append(f"bind:{mount.from_}:{mount.source}:{target}:{content_hash(source)}")
        elif mount.required:
            raise NotImplementedYet(f"RUN --mount=type={mount.type} needs BuildKit: the classic builder "
                                    "cannot receive secrets or ssh agents")
    return entries, key
