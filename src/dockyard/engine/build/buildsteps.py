"""The steps of a build that touch a filesystem: RUN in a container, COPY/ADD/WORKDIR in a
snapshot, and images mounted to copy from.

- :meth:`StepWorker.run` creates a container from the step's parent image (the engine's
  container service: a real container through the supervisor and the runtime), attaches to
  its output before starting it, streams that output as ``{"stream": ...}`` messages, waits
  for its exit and commits its changes as the step's image (:meth:`Committer.write_image`).
  The container is removed afterwards unless ``rm`` is off (a failed one too: no build
  container is left behind); a client that goes away kills it.
- :meth:`StepWorker.in_snapshot` prepares a snapshot on the parent's chain under a lease,
  mounts it on a private directory, runs ``work(root)`` in a thread, unmounts, commits the
  changes as a layer, and removes snapshot and lease whatever happens.
- :meth:`StepWorker.image_root` mounts an image (another stage's result, or an image) for
  ``COPY --from``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.container_commit import Committer
from dockyard.engine.containers import ContainerService
from dockyard.errors import DockyardError, Internal, Unavailable

log = logging.getLogger("dockyard.engine.build")

MakeConfig = Callable[[Mapping[str, Any], str], dict[str, Any]]
POLL_SECONDS = 0.5


class BuildError(DockyardError):
    """A step that failed with a code (a RUN's exit status), reported in ``errorDetail``."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RunResult:
    container_id: str = ""
    image_id: str = ""


def chain_of(doc: Mapping[str, Any]) -> str:
    """The chain ID of an image config document's layers ("" for none)."""
    rootfs_doc = doc.get("rootfs") if isinstance(doc.get("rootfs"), dict) else {}
    chains = chain_ids((rootfs_doc or {}).get("diff_ids") or [])
    return chains[-1] if chains else ""


class StepWorker:
    def __init__(self, containers: ContainerService, committer: Committer) -> None:
        self.containers = containers
        self.committer = committer
        self.sv = containers.sv

    # -- snapshots ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _snapshot(self, parent_chain: str) -> AsyncIterator[list[Any]]:
        key = f"dockyard-build-{secrets.token_hex(8)}"
        lease = await rootfs.create_lease(self.sv)
        try:
            mounts = await rootfs.prepare(self.sv, key, parent_chain, lease)
            try:
                yield mounts
            finally:
                await rootfs.remove(self.sv, key)
        finally:
            await rootfs.delete_lease(self.sv, lease)

    async def _mounted(self, mounts: list[Any], work: Callable[[str], Any]) -> Any:
        from dockyard.containerd.mount import mounted

        def job() -> Any:
            with mounted(mounts, parent_dir=self.containers.mount_dir) as root:
                return work(root)

        return await asyncio.to_thread(job)

    async def in_snapshot(self, parent_id: str, parent_doc: Mapping[str, Any], work: Callable[[str], Any],
                          make_config: MakeConfig) -> str:
        """The image of ``work(root)`` done on the parent's filesystem (see the module doc)."""
        async with self._snapshot(chain_of(parent_doc)) as mounts:
            await self._mounted(mounts, work)
            return await self.committer.write_image(parent_id, make_config, mounts=mounts)

    @contextlib.asynccontextmanager
    async def image_root(self, doc: Mapping[str, Any]) -> AsyncIterator[str]:
        """An image's filesystem mounted (read it only) for the ``async with``."""
        chain = chain_of(doc)
        if not chain:
            path = tempfile.mkdtemp(prefix="dockyard-build-empty-", dir=self.containers.mount_dir)
            try:
                yield path
            finally:
                os.rmdir(path)
            return
        async with self._snapshot(chain) as mounts, \
                rootfs.mounted_at(mounts, self.containers.mount_dir, "dockyard-build-from-") as path:
            yield path

    # -- RUN ---------------------------------------------------------------------------------
    async def run(self, body: dict[str, Any], command_text: str, make_config: MakeConfig, parent_id: str,
                  result: RunResult, *, remove: bool,
                  disconnected: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        """Run the container ``body`` describes and commit it; its output as messages. The
        new image's ID lands in ``result``. BuildError for a non-zero exit."""
        created = await self.containers.create(body)
        cid = str(created["Id"])
        result.container_id = cid
        live = self.containers.get(cid)
        queue = live.io.attach()
        try:
            yield {"stream": f" ---> Running in {cid[:12]}\n"}
            await self.containers.lifecycle.start(live)
            while True:
                try:
                    chunk = await asyncio.wait_for(queue.get(), POLL_SECONDS)
                except TimeoutError:
                    if disconnected():
                        raise Unavailable("build cancelled: the client went away") from None
                    continue
                if chunk is None:
                    break
                yield {"stream": chunk[1].decode("utf-8", "replace")}
            status = await self.containers.lifecycle.wait(live, "not-running")
            code = int(status.get("StatusCode") or 0)
            if code != 0:
                raise BuildError(f"The command '{command_text}' returned a non-zero code: {code}", code)
            mounts = await rootfs.mounts(self.sv, live.container.snapshot_key or cid)
            result.image_id = await self.committer.write_image(parent_id, make_config, mounts=mounts)
        finally:
            live.io.detach(queue)
            if remove:
                await self.remove(cid)
        if remove:
            yield {"stream": f"Removing intermediate container {cid[:12]}\n"}

    async def remove(self, cid: str) -> None:
        """Kill (if needed) and remove a build container; errors are logged, not raised."""
        try:
            await self.containers.remove(cid, force=True)
        except DockyardError as exc:
            log.error("build: could not remove container %s: %s", cid[:12], exc)
        except Exception as exc:  # cleanup must not hide the build's own error
            log.exception("build: removing container %s", cid[:12])
            raise Internal(f"removing build container {cid[:12]}: {exc}") from exc
