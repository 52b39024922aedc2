"""A task's bundle: ``<state>/io.containerd.runtime.v2.task/<namespace>/<id>/``.

It holds ``config.json`` (the container's spec, as the client stored it), ``rootfs/``
(the snapshot's mounts, mounted by the daemon on the host) and the shim's files (its
socket, state file, event log and the runtime's log). The directory is removed only once
``rootfs`` is no longer a mount point, so a failed unmount never lets a recursive delete
walk into a container's filesystem.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockyard.containerd import mount as mnt
from dockyard.containerd.snapshots import Mount
from dockyard.errors import AlreadyExists, FailedPrecondition

TASKS_DIR = "io.containerd.runtime.v2.task"


class Bundle:
    def __init__(self, state: Path, namespace: str, container_id: str) -> None:
        self.namespace = namespace
        self.id = container_id
        self.path = state / TASKS_DIR / namespace / container_id

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    def create(self, spec: bytes, rootfs: Sequence[Mount]) -> None:
        """Write the spec and mount ``rootfs``; on failure nothing is left."""
        self.path.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
        try:
            self.path.mkdir(mode=0o711)
        except FileExistsError:
            raise AlreadyExists(f"task {self.id}: bundle {self.path} already exists") from None
        try:
            tmp = self.path / "config.json.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, spec)
            finally:
                os.close(fd)
            os.rename(tmp, self.config)
            self.rootfs.mkdir(mode=0o711)
            if rootfs:
                mnt.mount_all(list(rootfs), str(self.rootfs))
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        """Unmount the root filesystem and delete the directory (a missing one is fine)."""
        if not self.path.exists():
            return
        if self.rootfs.exists():
            mnt.unmount_all(str(self.rootfs))
            if os.path.ismount(self.rootfs):
                raise FailedPrecondition(f"task {self.id}: {self.rootfs} is still mounted")
        # a shim that is exiting removes its own files meanwhile: what is gone already is fine
        shutil.rmtree(self.path, onerror=_gone_is_fine)


def _gone_is_fine(func: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]) -> None:
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


def existing(state: Path) -> Iterator[Bundle]:
    """Every bundle under ``state``, by namespace and id."""
    base = state / TASKS_DIR
    if not base.is_dir():
        return
    for ns_dir in sorted(base.iterdir()):
        if not ns_dir.is_dir():
            continue
        for task_dir in sorted(ns_dir.iterdir()):
            if task_dir.is_dir():
                yield Bundle(state, ns_dir.name, task_dir.name)
