"""The container service: Docker's containers over dockyard-containerd.

:class:`ContainerService` owns the records (:mod:`.container_store`, one SQLite file, and
a :class:`Live` per container in memory: its lock, stdio, waiters), finds containers the
way dockerd does (full ID, then name, then a unique ID prefix), creates, renames and
removes them. Running them — start, stop, kill, pause, wait, exits and restart policies —
is :class:`~dockyard.engine.container_lifecycle.Lifecycle`'s job (``service.lifecycle``);
what the engine finds again when it starts is :mod:`.container_restore`'s.

A create (:meth:`ContainerService.create`) resolves the image, merges its config, checks
HostConfig, prepares the snapshot (key = the container's ID, parent = the image's chain
ID) under a lease, reads the image's /etc/passwd and /etc/group, builds the OCI spec
(:func:`dockyard.engine.spec.build_spec`) and creates containerd's container with it;
a failure at any step undoes the steps before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from typing import Any

from google.protobuf import any_pb2

from dockyard.containerd.api.runc.options import oci_pb2
from dockyard.containerd.api.services.containers.v1 import containers_pb2
from dockyard.engine import container_config as cc
from dockyard.engine import container_links
from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.container_files import write_network_files
from dockyard.engine.container_images import find_image
from dockyard.engine.container_io import ContainerIO
from dockyard.engine.container_model import Container, now_time
from dockyard.engine.container_names import normalize, random_name
from dockyard.engine.container_store import ContainerStore, NameInUse
from dockyard.engine.container_volumes import VolumeBinder, volume_names
from dockyard.engine.context import EngineContext, ImageUse
from dockyard.engine.logs_jsonfile import JsonFileWriter, remove_files, rotation
from dockyard.engine.network_containers import (
    check_networking,
    for_create,
    forget,
    host_gateway,
    netns_path,
    remember,
    renamed,
    use_netns,
)
from dockyard.engine.network_modes import check_create, joins, resolve
from dockyard.engine.spec import build_spec
from dockyard.engine.spec_host import Host
from dockyard.engine.supervisor import SNAPSHOTTER
from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound

log = logging.getLogger("dockyard.engine.containers")

SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
RUNC_OPTIONS_TYPE = "containerd.runc.v1.Options"
RUNTIME_V2 = "io.containerd.runc.v2"
OWN_RUNTIME = "dockyard-runc"
LABEL_NAME = "io.dockyard.container.name"


class Live:
    """The engine's in-memory side of one container."""

    def __init__(self, container: Container, io: ContainerIO) -> None:
        self.container = container
        self.io = io
        self.lock = asyncio.Lock()
        self.oom = False  # an OOM event came during this run
        self.task_pid = 0  # the init's pid while a task exists
        self.exited = asyncio.Event()  # no task runs
        self.exited.set()
        self.waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        self.restart_timer: asyncio.TimerHandle | None = None
        self.restart_delay = 0.0
        self.removed = False
        self.stop_requested = False  # stop, rm -f or restart: no restart by policy

    @property
    def id(self) -> str:
        return self.container.id


def no_such_container(ref: str) -> NotFound:
    return NotFound(f"No such container: {ref}")


class ContainerService:
    def __init__(self, ctx: EngineContext, host: Host | None = None) -> None:
        from dockyard.engine.container_exec import ExecService
        from dockyard.engine.container_health import HealthMonitor
        from dockyard.engine.container_lifecycle import Lifecycle

        self.ctx = ctx
        self.sv = ctx.supervisor
        self.hub = ctx.events
        config = ctx.config
        self.store = ContainerStore(config.data_root)
        self.containers_dir = os.path.join(config.data_root, "containers")
        self.fifo_root = os.path.join(config.exec_root, "containers")
        self.mount_dir = os.path.join(config.exec_root, "mnt")
        for directory in (self.containers_dir, self.fifo_root, self.mount_dir):
            os.makedirs(directory, mode=0o711, exist_ok=True)
        self.host = dataclasses.replace(host or Host(), namespace_path=self._namespace_path)
        self.volumes = ctx.volumes  # None: no volume service (volumes refused by the spec's hook)
        self.live: dict[str, Live] = {}
        self._reserved: set[str] = set()
        self._lease_tasks: set[asyncio.Future[None]] = set()  # creates' leases being deleted
        self.lifecycle = Lifecycle(self)
        self.execs = ExecService(self)
        self.health = HealthMonitor(self)

    # -- records ---------------------------------------------------------------------------
    def load(self) -> None:
        for container in self.store.load():
            self.live[container.id] = Live(container, self.make_io(container))

    def make_io(self, container: Container) -> ContainerIO:
        logger = None
        log_config = container.host_config.get("LogConfig") or {}
        if log_config.get("Type", "json-file") == "json-file" and container.log_path:
            opts = {**self.ctx.config.log_opts, **(log_config.get("Config") or {})}
            logger = JsonFileWriter(container.log_path, rotation(opts))
        return ContainerIO(os.path.join(self.fifo_root, container.id), logger)

    def save(self, container: Container) -> None:
        self.store.save(container)

    def get(self, ref: str) -> Live:
        """The container ``ref`` names: full ID, name, or a unique ID prefix (404 otherwise)."""
        if not ref:
            raise no_such_container(ref)
        found = self.live.get(ref)
        if found is not None:
            return found
        name = ref if ref.startswith("/") else "/" + ref
        for live in self.live.values():
            if live.container.name == name:
                return live
        matches = [live for cid, live in self.live.items() if cid.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
        raise no_such_container(ref)

    def all(self) -> list[Live]:
        return sorted(self.live.values(), key=lambda live: live.container.created, reverse=True)

    def publish(self, container: Container, action: str, **extra: str) -> None:
        self.hub.publish("container", action, container.id, container.event_attributes(**extra))

    async def image_users(self) -> Mapping[str, list[ImageUse]]:
        users: dict[str, list[ImageUse]] = {}
        for live in self.live.values():
            c = live.container
            users.setdefault(c.image_id, []).append(ImageUse(c.id, c.state.running))
        return users

    def volume_users(self) -> Mapping[str, list[str]]:
        """Volume name -> the containers whose mount points have it."""
        from dockyard.engine.container_volumes import users

        return users(self)

    def _namespace_path(self, kind: str, ref: str) -> str:
        live = self.get(ref)
        if not live.container.state.running or not live.container.state.pid:
            raise FailedPrecondition(f"cannot join the {kind} namespace of container {ref}: it is not running")
        return f"/proc/{live.container.state.pid}/ns/{kind}"

    # -- create ------------------------------------------------------------------------------
    def _take_name(self, name: str) -> str:
        if name:
            full = normalize(name)
            holder = self.store.holder_of(full)
            if holder is not None:
                raise NameInUse(full, holder)
            if full in self._reserved:
                raise NameInUse(full, "(being created)")
            self._reserved.add(full)
            return full
        for retry in range(10):
            full = "/" + random_name(retry)
            if full not in self._reserved and self.store.holder_of(full) is None:
                self._reserved.add(full)
                return full
        raise FailedPrecondition("could not find a free container name")

    def _forget_lease(self, lease: str) -> None:
        """Delete a create's lease without waiting for it (it expires anyway should this fail)."""
        task = asyncio.ensure_future(rootfs.delete_lease(self.sv, lease))
        self._lease_tasks.add(task)
        task.add_done_callback(self._lease_done)

    def _lease_done(self, task: asyncio.Future[None]) -> None:
        self._lease_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("deleting a create's lease: %s", task.exception())

    def _drop_lease(self, made: asyncio.Future[str]) -> None:
        """A create failed before it used the lease it was making: delete it once made."""
        if not made.cancelled() and made.exception() is None:
            self._forget_lease(made.result())

    def _runtime_options(self, name: str) -> containers_pb2.Container.Runtime:
        entry = self.ctx.runtimes.get(name)
        runtime = containers_pb2.Container.Runtime(name=RUNTIME_V2)
        if (name or self.ctx.runtimes.default) != OWN_RUNTIME:
            options = oci_pb2.Options(binary_name=entry.path)
            runtime.options.CopyFrom(any_pb2.Any(type_url=RUNC_OPTIONS_TYPE, value=options.SerializeToString()))
        return runtime

    async def create(self, body: Mapping[str, Any], name: str = "", platform: str = "") -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: the body must be an object")
        config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        hc_in = body.get("HostConfig") or {}
        if not isinstance(hc_in, dict):
            raise InvalidArgument("HostConfig: must be an object")
        cc.check_config(config)
        image_ref = config.get("Image")
        if not isinstance(image_ref, str) or not image_ref:
            raise InvalidArgument("Config.Image: an image is required")
        check_create(config, hc_in, body.get("NetworkingConfig"))
        check_networking(self.ctx, hc_in, body.get("NetworkingConfig"))
        full_name = self._take_name(name)
        try:
            result = await self._create(config, hc_in, full_name, image_ref, platform)
        finally:
            self._reserved.discard(full_name)
        remember(self.ctx, result["Id"], hc_in, body.get("NetworkingConfig"))
        return result

    async def _create(self, config: dict[str, Any], hc_in: dict[str, Any], name: str, image_ref: str,
                      platform: str) -> dict[str, Any]:
        lease_made = asyncio.ensure_future(rootfs.create_lease(self.sv))  # made while the image is found
        try:
            image = await find_image(self.sv, image_ref, platform)
            hc = cc.host_config(hc_in, self.ctx.config.log_driver, self.ctx.config.log_opts)
            hc["Links"] = container_links.for_create(self, hc)  # targets checked, kept by ID on the default bridge
            runtime_name = hc.get("Runtime") or self.ctx.runtimes.default
            runtime = self._runtime_options(runtime_name)
            hc["Runtime"] = runtime_name
            cid = secrets.token_hex(32)
            merged = cc.merge_config(config, image.run_config, cid, hc["NetworkMode"])
            joined = resolve(self, hc, merged)  # container:<name>: the other's files and hostname
            path, args = cc.path_and_args(merged)
            cc.stop_signal(merged)
            directory = os.path.join(self.containers_dir, cid)
            os.makedirs(directory, mode=0o710)
        except BaseException:
            lease_made.add_done_callback(self._drop_lease)
            raise
        try:
            lease = await lease_made
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        created_ctrd = prepared = False
        warnings: list[str] = []
        binder = VolumeBinder(self.volumes, cid) if self.volumes is not None else None
        try:
            mounts = await rootfs.prepare(self.sv, cid, image.chain_id, lease)
            prepared = True
            files = await rootfs.read_user_files(mounts, self.mount_dir, image.chain_id)
            extra = joined.mounts() if joined is not None else write_network_files(
                directory, merged, hc, host_gateway(self.ctx.networks))
            host = self.host
            if binder is not None:
                host = dataclasses.replace(host, volume_source=binder.source)
                extra = [*binder.extra_mounts(self, merged, hc), *extra]
            spec = build_spec(merged, hc, image.config, container_id=cid, host=host,
                              container_files=files.get, extra_mounts=extra, warnings=warnings,
                              init_binary=self.ctx.init.path, hostname=joined.hostname if joined else None)
            if for_create(self.ctx.networks, hc, merged, warnings) is not None or joins(hc, merged):
                use_netns(spec, netns_path(self.ctx.config.exec_root, cid))
            if joined is not None:
                merged["Hostname"] = joined.hostname  # inspect shows the other's, as dockerd's does
            files_dir = joined.path if joined is not None else functools.partial(os.path.join, directory)
            container = Container(
                id=cid, name=name, created=now_time(), path=path, args=args, config=merged, host_config=hc,
                image_id=image.id, runtime=runtime_name, platform=image.os, snapshot_key=cid,
                log_path=os.path.join(directory, f"{cid}-json.log") if hc["LogConfig"]["Type"] == "json-file" else "",
                resolv_conf_path=files_dir("resolv.conf"), hostname_path=files_dir("hostname"),
                hosts_path=files_dir("hosts"),
                spec_resources=spec["linux"].get("resources", {}),
                mount_points=binder.finish(spec, hc) if binder is not None else [])
            await self._create_ctrd(container, spec, runtime, lease, image.name or image_ref)
            created_ctrd = True
            self.store.add(container)
        except BaseException:
            try:
                if created_ctrd:
                    await self._delete_ctrd(cid)
                if prepared:
                    await rootfs.remove(self.sv, cid)
                shutil.rmtree(directory, ignore_errors=True)
                if binder is not None:
                    binder.undo()
            finally:
                await rootfs.delete_lease(self.sv, lease)
            raise
        self._forget_lease(lease)  # the containerd container holds the snapshot now
        self.live[cid] = Live(container, self.make_io(container))
        if binder is not None:
            binder.release()
        self.publish(container, "create")
        return {"Id": cid, "Warnings": warnings}

    async def _create_ctrd(self, container: Container, spec: dict[str, Any],
                           runtime: containers_pb2.Container.Runtime, lease: str, image_name: str) -> None:
        import json

        record = containers_pb2.Container(
            id=container.id, labels={**container.labels, LABEL_NAME: container.short_name}, image=image_name,
            runtime=runtime, snapshotter=SNAPSHOTTER, snapshot_key=container.snapshot_key,
            spec=any_pb2.Any(type_url=SPEC_TYPE, value=json.dumps(spec).encode()))
        await rootfs.with_lease(self.sv, self.sv.containers.Create,
                                containers_pb2.CreateContainerRequest(container=record), lease)

    async def _delete_ctrd(self, cid: str) -> None:
        try:
            await self.sv.unary(self.sv.containers.Delete, containers_pb2.DeleteContainerRequest(id=cid))
        except NotFound:
            pass

    # -- rename and remove --------------------------------------------------------------------
    async def rename(self, ref: str, new_name: str) -> None:
        live = self.get(ref)
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        full = normalize(new_name)
        container = live.container
        if full == container.name:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        if full in self._reserved:
            raise NameInUse(full, "(being created)")
        old = container.name
        self.store.rename(container, full)
        await renamed(self.ctx, container.id, container.short_name)
        self.publish(container, "rename", oldName=old)

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        live = self.get(ref)
        container = live.container
        state = container.state
        if state.removing or live.removed:
            raise FailedPrecondition(f"removal of container {ref} is already in progress")
        if state.running or state.paused or state.restarting:
            if not force:
                if state.paused:
                    raise FailedPrecondition(f"cannot remove container \"{container.name}\": container is paused: "
                                             "unpause and then stop the container before removing or force remove")
                if state.restarting and not live.task_pid:
                    pass
                else:
                    raise FailedPrecondition(f"cannot remove container \"{container.name}\": container is running: "
                                             "stop the container before removing or force remove")
            await self.lifecycle.kill_for_removal(live)
        await self.destroy(live, volumes=volumes)

    async def destroy(self, live: Live, volumes: bool = False) -> None:
        """Remove a stopped container: its task, containerd container, snapshot, files, record;
        with ``volumes`` (or ``--rm``) its anonymous volumes that nothing else uses."""
        container = live.container
        async with live.lock:
            if live.removed:
                return
            self.lifecycle.cancel_restart(live)
            container.state.removing = True
            container.state.status = "removing"
            self.save(container)
            try:
                await self.lifecycle.delete_task(live)
                await self._delete_ctrd(container.id)
                await rootfs.remove(self.sv, container.snapshot_key or container.id)
            except DockyardError as exc:
                container.state.removing = False
                container.state.dead = True
                container.state.status = "dead"
                container.state.error = str(exc)
                self.save(container)
                raise
            live.io.detach_all()
            live.io.remove_fifos()
            if container.log_path:
                remove_files(container.log_path)
            shutil.rmtree(os.path.join(self.containers_dir, container.id), ignore_errors=True)
            self.store.delete(container.id)
            live.removed = True
            self.live.pop(container.id, None)
            self.execs.forget_container(container.id)
            self.health.stop(live, final=False)
        forget(self.ctx, container.id)
        self.publish(container, "destroy")
        if self.volumes is not None and (volumes or container.host_config.get("AutoRemove")):
            self.volumes.remove_anonymous(volume_names(container))
        self.lifecycle.resolve_waiters(live, removed=True)

    async def prune(self, until_ns: int | None, labels: Any) -> dict[str, Any]:
        from dockyard.engine.container_views import prune_candidates

        deleted: list[str] = []
        reclaimed = 0
        for live in prune_candidates(self, until_ns, labels):
            try:
                size = await self.rw_size(live.container)
                await self.destroy(live)
            except DockyardError as exc:
                log.warning("prune: container %s: %s", live.id, exc)
                continue
            deleted.append(live.id)
            reclaimed += size
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    async def disk_usage(self) -> list[dict[str, Any]]:
        """``Containers`` of ``/system/df``: each one's summary with its sizes."""
        from dockyard.engine.container_views import summary

        return [summary(live.container, await self.sizes(live.container)) for live in self.all()]

    async def sizes(self, container: Container) -> tuple[int, int]:
        """(``SizeRw``, ``SizeRootFs``): the container's own layer, and that with the image's."""
        from dockyard.containerd.archive.layers import chain_ids

        rw = await self.rw_size(container)
        image = 0
        try:
            info = await find_image(self.sv, container.image_id)
        except DockyardError:
            return rw, rw
        for chain in chain_ids(info.diff_ids):
            try:
                size, _ = await self.sv.snapshot_usage(chain)
            except DockyardError:
                continue
            image += size
        return rw, rw + image

    async def rw_size(self, container: Container) -> int:
        try:
            size, _ = await self.sv.snapshot_usage(container.snapshot_key or container.id)
        except DockyardError:
            return 0
        return size

    def end_streams(self) -> None:
        """The engine stops: stop copying output (the shims keep it), end attach and logs -f."""
        for live in self.live.values():
            live.io.detach_all()

    def close(self) -> None:
        self.health.close()
        self.lifecycle.close()
        self.end_streams()
        self.store.close()
