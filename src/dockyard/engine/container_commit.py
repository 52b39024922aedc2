"""``docker commit`` (``POST /commit``): a new image from a container's changes.

The new image is the container's image plus one layer: the container's changes (its
snapshot's upper directory, the overlay way, with whiteouts; see :mod:`.container_layer`),
written by the engine as a gzip OCI layer into dockyard-containerd's content store through
the content service, then unpacked as a snapshot on the image's chain (the diff
service's ``Apply``) so containers can run it at once. Its config is the parent's with
dockerd's changes (:func:`child_config`, as dockerd's graph driver store writes it:
``container``, ``container_config``, a history entry whose ``created_by`` is the
container's command); the run defaults are the request's ``Config`` or the container's,
with the ``changes`` applied and the container's config merged in
(:func:`commit_run_config`). A container without changes gives docker's "empty layer":
no new layer, ``empty_layer`` in the history.

Everything is written under a lease (as an import is) that is deleted once the image has
its record (a tag, or a ``dockyard-dangling@`` record without a repository), so a failure
leaves nothing the garbage collector would not take. A running container is paused for
the time of the commit (``pause``, the default) and resumed after, whatever happens; the
container's ``commit`` event names the image.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import IO, Any

import grpc

import dockyard
from dockyard.containerd.api.services.content.v1 import content_pb2
from dockyard.containerd.api.services.diff.v1 import diff_pb2, diff_pb2_grpc
from dockyard.containerd.api.services.leases.v1 import leases_pb2
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2
from dockyard.containerd.archive.layers import chain_ids, child_chain_id
from dockyard.containerd.formats.staging import LABEL_UNCOMPRESSED, manifest_labels
from dockyard.containerd.image_service import LABEL_GC_SNAPSHOT
from dockyard.containerd.server.call import LEASE_HEADER
from dockyard.containerd.snapshots import LABEL_SNAPSHOT_REF
from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.container_config import merge_config
from dockyard.engine.container_layer import EMPTY_LAYER_DIFF_ID, LayerResult, write_container_layer
from dockyard.engine.container_model import now_time
from dockyard.engine.containers import ContainerService, Live
from dockyard.engine.image_changes import apply_changes
from dockyard.engine.image_refs import repo_tag_reference
from dockyard.engine.images_service import ImageService, descriptor
from dockyard.engine.supervisor import SNAPSHOTTER, rpc_error
from dockyard.errors import AlreadyExists, DockyardError, FailedPrecondition, Internal, InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import digest_bytes
from dockyard.oci.image import Manifest
from dockyard.oci.platform import host_platform

log = logging.getLogger("dockyard.engine.containers")

CHUNK = 1 << 20
LEASE_SECONDS = 3600
WRAPPER_KEYS = ("HostConfig", "NetworkingConfig")


# -- the new image's config (pure) ---------------------------------------------------------------
def body_config(body: Any) -> dict[str, Any] | None:
    """The ``Config`` of a commit's body (the create body's form: Config's fields at the top,
    ``HostConfig`` ignored); None for no body, ``null`` or ``{}`` (then the container's)."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: the body must be an object")
    config = {k: v for k, v in body.items() if k not in WRAPPER_KEYS}
    return config or None


def _instruction(change: str) -> str:
    words = change.strip().split(None, 1)
    return words[0].upper() if words else ""


def split_changes(changes: Iterable[str]) -> list[str]:
    """One instruction per item: dockerd reads the changes as the lines of a Dockerfile, so
    an item may hold several lines (docker-py sends them so), ``\\`` continues a line and
    ``#`` starts a comment."""
    out: list[str] = []
    pending = ""
    for line in "\n".join(changes).splitlines():
        text = line.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        out.append(pending + text)
        pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


def commit_run_config(container_config: Mapping[str, Any], config: Mapping[str, Any] | None,
                      changes: Iterable[str]) -> dict[str, Any]:
    """The run defaults of the committed image, as dockerd makes them: ``config`` (else the
    container's), the ``changes`` applied in order (an ``ENTRYPOINT`` clears ``Cmd`` unless a
    ``CMD`` came before it, as in a Dockerfile), then the container's config merged in where
    the result says nothing (Env, Labels, ports and volumes by key; Cmd only without an
    entrypoint...). InvalidArgument for a bad change."""
    out: dict[str, Any] = copy.deepcopy(dict(config if config is not None else container_config))
    cmd_set = False
    for change in split_changes(changes):
        out = apply_changes([change], out)
        word = _instruction(change)
        if word == "CMD":
            cmd_set = True
        elif word == "ENTRYPOINT" and not cmd_set:
            out["Cmd"] = None
    return merge_config(out, container_config, "", "")  # no container ID: no hostname made up


def created_by(container_config: Mapping[str, Any]) -> str:
    """The history's ``created_by``: the container's command joined by spaces, as dockerd writes it."""
    return " ".join(str(word) for word in container_config.get("Cmd") or [])


def history_entry(*, created: str, author: str, comment: str, command: str, empty: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    entry["created_by"] = command
    if comment:
        entry["comment"] = comment
    if empty:
        entry["empty_layer"] = True
    return entry


def child_config(parent: Mapping[str, Any], *, diff_id: str, run_config: Mapping[str, Any],
                 container_config: Mapping[str, Any], container_id: str, author: str = "", comment: str = "",
                 created: str = "") -> dict[str, Any]:
    """The committed image's config: ``parent``'s layers (plus ``diff_id`` unless it is "",
    an empty layer) and history (plus the commit's entry), the platform of the parent."""
    when = created or now_time()
    out: dict[str, Any] = {"created": when, "container": container_id,
                           "container_config": copy.deepcopy(dict(container_config)),
                           "docker_version": dockyard.__version__}
    if author:
        out["author"] = author
    out["config"] = copy.deepcopy(dict(run_config))
    out["architecture"] = parent.get("architecture") or host_platform().architecture
    if parent.get("variant"):
        out["variant"] = parent["variant"]
    out["os"] = parent.get("os") or host_platform().os
    rootfs_doc = parent.get("rootfs") if isinstance(parent.get("rootfs"), dict) else {}
    diff_ids = [str(d) for d in (rootfs_doc or {}).get("diff_ids") or []]
    out["rootfs"] = {"type": "layers", "diff_ids": [*diff_ids, *([diff_id] if diff_id else [])]}
    history = [dict(h) for h in parent.get("history") or [] if isinstance(h, dict)]
    history.append(history_entry(created=when, author=author, comment=comment,
                                 command=created_by(container_config), empty=not diff_id))
    out["history"] = history
    for key in ("os.version", "os.features"):
        if parent.get(key):
            out[key] = copy.deepcopy(parent[key])
    return out


def _json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _expiry(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


# -- the commit ------------------------------------------------------------------------------------
class Committer:
    """Commits containers of ``containers`` as images of ``images``."""

    def __init__(self, containers: ContainerService, images: ImageService) -> None:
        self.containers = containers
        self.images = images
        self.sv = containers.sv
        self.diff = diff_pb2_grpc.DiffStub(self.sv.channel)

    async def commit(self, ref: str, *, repo: str = "", tag: str = "", author: str = "", comment: str = "",
                     pause: bool = True, changes: Iterable[str] = (), config: Any = None) -> str:
        """The new image's ID (``sha256:...``)."""
        name = repo_tag_reference(repo, tag) if repo else None
        live = self.containers.get(ref)
        c = live.container
        if c.state.dead:
            raise FailedPrecondition(f"You cannot commit container {c.id} which is Dead")
        if c.state.removing or live.removed:
            raise FailedPrecondition(f"You cannot commit container {c.id} which is being removed")
        run_config = commit_run_config(c.config, body_config(config), list(changes))
        async with live.lock:
            paused = False
            if pause and c.state.running and not c.state.paused and live.task_pid:
                try:
                    await self.containers.lifecycle.pause(live)
                    paused = True
                except DockyardError as exc:  # dockerd commits anyway
                    log.warning("commit of %s: could not pause it: %s", c.id, exc)
            try:
                image_id = await self._commit(live, run_config, author, comment, str(name) if name else "")
                image_ref = name.familiar() if name else ""
                if name is not None:
                    self.containers.hub.publish("image", "tag", image_id, {"name": image_ref})
                self.containers.publish(c, "commit", comment=comment, imageID=image_id, imageRef=image_ref)
            finally:
                if paused:
                    try:
                        await self.containers.lifecycle.unpause(live)
                    except DockyardError as exc:
                        log.error("commit of %s: could not resume it: %s", c.id, exc)
        return image_id

    async def _commit(self, live: Live, run_config: dict[str, Any], author: str, comment: str, name: str) -> str:
        c = live.container
        mounts = await rootfs.mounts(self.sv, c.snapshot_key or c.id)

        def make_config(parent_doc: Mapping[str, Any], diff_id: str) -> dict[str, Any]:
            return child_config(parent_doc, diff_id=diff_id, run_config=run_config, container_config=c.config,
                                container_id=c.id, author=author, comment=comment)

        image_id = await self.write_image(c.image_id, make_config, mounts=mounts, name=name,
                                          missing=f"image {c.image_id} of container {c.id} has no manifest here")
        if c.image_id and image_id != c.image_id:  # the image's parent, as dockerd records it
            await asyncio.to_thread(self.images.build_cache.link, image_id, c.image_id)
        return image_id

    async def write_image(self, parent_id: str, make_config: Callable[[Mapping[str, Any], str], dict[str, Any]], *,
                          mounts: list[Any] | None = None, name: str = "", missing: str = "",
                          reuse: tuple[Descriptor, str] | None = None) -> str:
        """A child image of ``parent_id`` ("" for none: ``scratch``): the changes in the
        snapshot ``mounts`` (None: no layer, an empty-layer step), or ``reuse``, a layer
        already stored (descriptor, diff ID), as its layer; the config ``make_config(parent's
        config document, the new layer's diff ID or "")``; named ``name``, else kept by a
        dangling record. Its ID."""
        parent_doc: dict[str, Any] = {}
        layers: list[Descriptor] = []
        if parent_id:
            parent = await self.images.get(parent_id)
            if parent.manifest is None:
                raise FailedPrecondition(missing or f"image {parent_id} has no manifest here")
            parent_doc = json.loads(await self.sv.read_blob(parent.manifest.config.digest))
            layers = list(parent.manifest.layers)
        parent_chains = chain_ids(parent_doc.get("rootfs", {}).get("diff_ids") or [])
        parent_chain = parent_chains[-1] if parent_chains else ""
        lease = await self._lease()
        try:
            diff_id = ""
            top = parent_chain
            if reuse is not None:
                layer_desc, diff_id = reuse
                await self._hold(lease, layer_desc.digest)
                layers.append(layer_desc)
                top = child_chain_id(parent_chain, diff_id)
                await self._unpack(lease, layer_desc, diff_id, parent_chain, top)
            elif mounts is not None:
                with tempfile.TemporaryFile(dir=self.containers.ctx.config.data_root) as spool:
                    layer = await asyncio.to_thread(write_container_layer, mounts, spool, self.containers.mount_dir)
                    diff_id = "" if layer.empty or layer.diff_id == EMPTY_LAYER_DIFF_ID else layer.diff_id
                    if diff_id:
                        await self._write_file(lease, spool, layer)
                        layer_desc = Descriptor(mediatypes.OCI_LAYER_GZIP, layer.digest, layer.size)
                        layers.append(layer_desc)
                        top = child_chain_id(parent_chain, diff_id)
                        await self._unpack(lease, layer_desc, diff_id, parent_chain, top)
            doc = make_config(parent_doc, diff_id)
            config_bytes = _json(doc)
            config_desc = Descriptor(mediatypes.OCI_CONFIG, digest_bytes(config_bytes), len(config_bytes))
            await self._write_bytes(lease, config_bytes, config_desc.digest,
                                    {LABEL_GC_SNAPSHOT + SNAPSHOTTER: top} if top else {})
            manifest = Manifest(config_desc, layers)
            manifest_bytes = manifest.to_bytes()
            target = manifest.descriptor()
            await self._write_bytes(lease, manifest_bytes, target.digest,
                                    manifest_labels(config_desc.digest, [d.digest for d in layers]))
            if name:
                await self.images.set_name(name, target)
            else:
                await self.images.keep_unnamed(target)
        finally:
            await self._release(lease)
        return config_desc.digest

    # -- dockyard-containerd ---------------------------------------------------------------------
    def _metadata(self, lease: str) -> tuple[tuple[str, str], ...]:
        return (*self.sv.metadata, (LEASE_HEADER, lease))

    async def _lease(self) -> str:
        lease = f"dockyard-commit-{secrets.token_hex(8)}"
        await self.sv.unary(self.sv.leases.Create, leases_pb2.CreateRequest(
            id=lease, labels={"containerd.io/gc.expire": _expiry(LEASE_SECONDS)}))
        return lease

    async def _release(self, lease: str) -> None:
        try:
            await self.sv.unary(self.sv.leases.Delete, leases_pb2.DeleteRequest(id=lease))
        except DockyardError as exc:  # it expires on its own
            log.warning("commit: lease %s: %s", lease, exc)

    async def _write(self, lease: str, chunks: AsyncIterator[bytes], digest: str, size: int,
                     labels: Mapping[str, str]) -> None:
        """A blob into the content store (under ``lease``); one that exists joins the lease
        (the digest is given with the last message only: a stream the daemon ends early
        while the client still sends is not told apart from other failures)."""
        if await self._exists(digest):
            await self._hold(lease, digest)
            return
        ref = f"commit-{digest}"

        async def requests() -> AsyncIterator[content_pb2.WriteContentRequest]:
            yield content_pb2.WriteContentRequest(action=content_pb2.STAT, ref=ref, total=size)
            offset = 0
            async for data in chunks:
                yield content_pb2.WriteContentRequest(action=content_pb2.WRITE, ref=ref, offset=offset, data=data)
                offset += len(data)
            yield content_pb2.WriteContentRequest(action=content_pb2.COMMIT, ref=ref, offset=offset, total=size,
                                                  expected=digest, labels=dict(labels))

        call = self.sv.content.Write(requests(), metadata=self._metadata(lease))
        try:
            async for _ in call:
                pass
        except grpc.RpcError as exc:
            error = rpc_error(exc)
            if not isinstance(error, AlreadyExists):
                raise error from None
            await self._hold(lease, digest)

    async def _exists(self, digest: str) -> bool:
        try:
            await self.sv.content_info(digest)
        except NotFound:
            return False
        return True

    async def _hold(self, lease: str, digest: str) -> None:
        """Keep the blob ``digest``, which exists, for the lease's life."""
        resource = leases_pb2.Resource(id=digest, type="content")
        await self.sv.unary(self.sv.leases.AddResource, leases_pb2.AddResourceRequest(id=lease, resource=resource))

    async def _write_bytes(self, lease: str, data: bytes, digest: str, labels: Mapping[str, str]) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), CHUNK):
                yield data[start:start + CHUNK]

        await self._write(lease, chunks(), digest, len(data), labels)

    async def _write_file(self, lease: str, spool: IO[bytes], layer: LayerResult) -> None:
        spool.flush()
        spool.seek(0)

        async def chunks() -> AsyncIterator[bytes]:
            while data := await asyncio.to_thread(spool.read, CHUNK):
                yield data

        await self._write(lease, chunks(), layer.digest, layer.size, {LABEL_UNCOMPRESSED: layer.diff_id})

    async def _unpack(self, lease: str, layer: Descriptor, diff_id: str, parent: str, name: str) -> None:
        """The layer as the committed snapshot ``name`` on ``parent`` (kept if it exists)."""
        key = f"commit-{time.time_ns()}-{secrets.token_hex(4)} {name}"
        try:
            prepared = await rootfs.with_lease(self.sv, self.sv.snapshots.Prepare, snapshots_pb2.PrepareSnapshotRequest(
                snapshotter=SNAPSHOTTER, key=key, parent=parent, labels={LABEL_SNAPSHOT_REF: name}), lease)
        except AlreadyExists:
            return  # the chain is there already (and joined the lease)
        try:
            applied = await rootfs.with_lease(self.sv, self.diff.Apply, diff_pb2.ApplyRequest(
                diff=descriptor(layer), mounts=prepared.mounts), lease)
            if applied.applied.digest != diff_id:
                raise Internal(f"commit: the layer applied as {applied.applied.digest}, not {diff_id}")
            await rootfs.with_lease(self.sv, self.sv.snapshots.Commit, snapshots_pb2.CommitSnapshotRequest(
                snapshotter=SNAPSHOTTER, name=name, key=key), lease)
        except AlreadyExists:
            await rootfs.remove(self.sv, key)
        except BaseException:
            await rootfs.remove(self.sv, key)
            raise
