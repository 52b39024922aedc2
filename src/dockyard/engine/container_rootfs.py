"""A container's root filesystem in containerd: the snapshot, and what the engine reads in it.

- :func:`create_lease` / :func:`delete_lease`: a create runs under a lease (expiring after
  an hour should the engine die half-way), so the garbage collector cannot take the new
  snapshot before the containerd container that holds it exists.
- :func:`prepare`: the active snapshot ``key`` (the container's ID) on the image's chain
  ID, labelled as containerd's client labels a container's snapshot; its mounts.
- :func:`read_user_files`: /etc/passwd and /etc/group of the image, read through a
  read-only mount of the snapshot's lower layers on a temporary directory (the upper
  layer is still empty; it is never mounted twice), once per image chain.
- :func:`remove`: the snapshot, gone (a missing one is fine).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from dockyard.containerd.api.services.leases.v1 import leases_pb2
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2
from dockyard.containerd.server.call import LEASE_HEADER
from dockyard.containerd.snapshots import Mount
from dockyard.engine.spec_user import GROUP, PASSWD, rootfs_reader
from dockyard.engine.supervisor import SNAPSHOTTER, Supervisor, rpc_error
from dockyard.errors import NotFound

LEASE_SECONDS = 3600


async def with_lease(sv: Supervisor, method: Callable[..., Awaitable[Any]], request: Any, lease: str) -> Any:
    """A unary call in the engine's namespace and ``lease``."""
    try:
        return await method(request, metadata=(*sv.metadata, (LEASE_HEADER, lease)))
    except grpc.RpcError as exc:
        raise rpc_error(exc) from None


async def create_lease(sv: Supervisor) -> str:
    lease = f"dockyard-create-{uuid.uuid4().hex[:16]}"
    expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + LEASE_SECONDS))
    await sv.unary(sv.leases.Create, leases_pb2.CreateRequest(id=lease, labels={"containerd.io/gc.expire": expire}))
    return lease


async def delete_lease(sv: Supervisor, lease: str) -> None:
    try:
        await sv.unary(sv.leases.Delete, leases_pb2.DeleteRequest(id=lease))
    except NotFound:
        pass


def _mounts(reply_mounts: Any) -> list[Mount]:
    return [Mount(m.type, m.source, list(m.options)) for m in reply_mounts]


async def prepare(sv: Supervisor, key: str, parent: str, lease: str) -> list[Mount]:
    labels = {"dockyard.container": key}
    reply = await with_lease(sv, sv.snapshots.Prepare, snapshots_pb2.PrepareSnapshotRequest(
        snapshotter=SNAPSHOTTER, key=key, parent=parent, labels=labels), lease)
    return _mounts(reply.mounts)


async def mounts(sv: Supervisor, key: str) -> list[Mount]:
    reply = await sv.unary(sv.snapshots.Mounts, snapshots_pb2.MountsRequest(snapshotter=SNAPSHOTTER, key=key))
    return _mounts(reply.mounts)


async def remove(sv: Supervisor, key: str) -> None:
    try:
        await sv.unary(sv.snapshots.Remove, snapshots_pb2.RemoveSnapshotRequest(snapshotter=SNAPSHOTTER, key=key))
    except NotFound:
        pass


def lower_mounts(mounts: list[Mount]) -> list[Mount]:
    """The read-only image part of a container snapshot's mounts (nothing for a scratch one)."""
    out: list[Mount] = []
    for m in mounts:
        if m.type == "overlay":
            lowers: list[str] = []
            for option in m.options:
                if option.startswith("lowerdir="):
                    lowers.extend(option[len("lowerdir="):].split(":"))
                elif option.startswith("lowerdir+="):
                    lowers.append(option[len("lowerdir+="):])
            if len(lowers) == 1:
                out.append(Mount("bind", lowers[0], ["rbind", "ro"]))
            elif lowers:
                out.append(Mount("overlay", "overlay", ["lowerdir=" + ":".join(lowers), "ro"]))
        elif m.type == "bind" or "bind" in m.options or "rbind" in m.options:
            options = [o for o in m.options if o not in ("rw", "ro")]
            out.append(Mount("bind", m.source, [*options, "ro"]))
    return out


def _read_files(mounts: list[Mount], parent_dir: str) -> tuple[str | None, str | None]:
    from dockyard.containerd.mount import mounted

    lowers = lower_mounts(mounts)
    if not lowers:
        return None, None
    with mounted(lowers, parent_dir=parent_dir) as root:
        read = rootfs_reader(root)
        return read(PASSWD), read(GROUP)


_USER_FILES: dict[str, tuple[str | None, str | None]] = {}  # by the image's chain ID
USER_FILES_CACHED = 64


@contextlib.asynccontextmanager
async def mounted_at(mounts: list[Mount], parent_dir: str, prefix: str) -> AsyncIterator[str]:
    """``mounts`` on a new directory under ``parent_dir`` (mounted and unmounted in a
    thread), valid inside the ``async with``; the directory is removed afterwards."""
    import tempfile

    from dockyard.containerd.mount import mount_all, unmount_all

    path = tempfile.mkdtemp(prefix=prefix, dir=parent_dir)
    try:
        await asyncio.to_thread(mount_all, mounts, path)
        try:
            yield path
        finally:
            await asyncio.to_thread(unmount_all, path)
    finally:
        os.rmdir(path)


async def read_user_files(mounts: list[Mount], parent_dir: str, chain_id: str = "") -> dict[str, str | None]:
    """``{"/etc/passwd": text, "/etc/group": text}`` of the image (None when missing). With
    the image's ``chain_id`` the answer is remembered: a committed chain never changes."""
    found = _USER_FILES.get(chain_id) if chain_id else None
    if found is None:
        found = await asyncio.to_thread(_read_files, mounts, parent_dir)
        if chain_id:
            _USER_FILES[chain_id] = found
            while len(_USER_FILES) > USER_FILES_CACHED:
                del _USER_FILES[next(iter(_USER_FILES))]
    passwd, group = found
    return {PASSWD: passwd, GROUP: group}
