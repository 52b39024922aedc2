"""Control groups for containers: one :class:`Manager` interface, a v1 and a v2 backend.

:func:`open_manager` finds the hierarchies from mountinfo and our own cgroup, then picks the
v1 backend (cgroup v1 hierarchies, plus the cgroup2 "unified" mount of a hybrid host, which
the container joins too, as runc does) or the v2 backend (a pure cgroup2 host).
:func:`manager_from_state` rebuilds the manager from what :meth:`Manager.to_state` saved.

Path rules (OCI ``linux.cgroupsPath``, as runc reads them): none -> ``<our cgroup>/<id>`` in
every hierarchy; relative -> under our own cgroup; absolute -> under each hierarchy's root.
"""

from __future__ import annotations

from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Manager:
    """The cgroups of one container, whatever the cgroup version of the host."""

    version = 0

    def create(self) -> None:
        """Make the directories (cpuset: copy cpus/mems from the parent); undo on failure."""
        raise NotImplementedError

    def apply(self, pid: int) -> None:
        """Move ``pid`` into the container's cgroup in every hierarchy."""
        raise NotImplementedError

    def thread_dirs(self) -> list[str]:
        """The v1 directories a single-threaded process joins by itself with
        :func:`~dockyard.runtime.cgroups.fs.join_self` (no RCU grace period)."""
        return []

    def process_dir(self) -> str:
        """The cgroup2 directory the container's processes join whole ("" when none): a child
        is born there (:meth:`Syscalls.fork_into_cgroup`) or moved by :meth:`apply_process`."""
        return ""

    def apply_process(self, pid: int) -> None:
        """Move ``pid`` into :meth:`process_dir` (a cgroup.procs write); no-op without one."""
        from dockyard.runtime.cgroups import fs

        directory = self.process_dir()
        if not directory:
            return
        try:
            fs.write(directory, "cgroup.procs", pid, "cgroups")
        except DockyardError as exc:
            raise type(exc)(f"cgroups: cannot join {directory}: {exc.message}") from None

    def set(self, resources: dict[str, Any]) -> None:
        """Write OCI ``linux.resources`` (only the parts given) to the cgroup files."""
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def frozen(self) -> bool:
        raise NotImplementedError

    def pids(self) -> list[int]:
        """Every pid in the container's cgroup and the cgroups below it."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """The ``data`` document of ``runc events --stats`` (runc 1.1's JSON keys)."""
        raise NotImplementedError

    def oom_kill_count(self) -> int:
        """How many processes the kernel OOM-killed in the container so far."""
        raise NotImplementedError

    def oom_eventfd(self) -> int | None:
        """An eventfd that becomes readable on each OOM event, or None (poll the count)."""
        return None

    def exists(self) -> bool:
        """True while the container's cgroup directory is still there."""
        raise NotImplementedError

    def destroy(self) -> None:
        """Remove every directory; idempotent."""
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def kill_all(self, sig: int) -> None:
        """Send ``sig`` to every process, with the cgroup frozen so none escapes by forking.

        A container that was paused stays paused, unless the signal is SIGKILL.
        """
        from dockyard.runtime.cgroups import fs

        was_frozen = False
        can_freeze = True
        try:
            was_frozen = self.frozen()
            if not was_frozen:
                self.freeze()
        except Unavailable:
            can_freeze = False
        try:
            fs.signal_pids(self.pids(), sig)
        finally:
            if can_freeze and (not was_frozen or sig == 9):
                self.thaw()


def _read(path: str, what: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise Unavailable(f"cgroups: cannot read {what} {path}: {exc.strerror}") from None


def open_manager(
    cgroups_path: str,
    container_id: str,
    *,
    mountinfo_path: str = "/proc/self/mountinfo",
    self_cgroup_path: str = "/proc/self/cgroup",
) -> Manager:
    """The manager for a new container: v1 (with the unified mount of a hybrid host) or v2."""
    from dockyard.runtime.cgroups import fs

    if not container_id and not cgroups_path:
        raise InvalidArgument("cgroups: a container id or a cgroupsPath is needed")
    mounts = fs.parse_mountinfo(_read(mountinfo_path, "mountinfo"))
    own = fs.parse_proc_cgroup(_read(self_cgroup_path, "own cgroup"))
    if any(m.version == 1 for m in mounts):
        from dockyard.runtime.cgroups.v1 import V1Manager

        return V1Manager.open(mounts, own, cgroups_path, container_id)
    if any(m.version == 2 for m in mounts):
        from dockyard.runtime.cgroups.v2 import V2Manager

        return V2Manager.open(mounts, own, cgroups_path, container_id)
    raise Unavailable("cgroups: no cgroup file system is mounted on this host")


def manager_from_state(state: dict[str, Any]) -> Manager:
    """Rebuild the manager from what :meth:`Manager.to_state` returned."""
    if not state:
        raise FailedPrecondition("container has no cgroups recorded")
    version = state.get("version")
    if version == 1:
        from dockyard.runtime.cgroups.v1 import V1Manager

        paths = state.get("paths") or {}
        return V1Manager({str(k): str(v) for k, v in paths.items()}, str(state.get("unified") or ""))
    if version == 2:
        from dockyard.runtime.cgroups.v2 import V2Manager

        return V2Manager(str(state.get("unified") or ""))
    raise InvalidArgument(f"cgroups: unknown cgroup state version: {version!r}")
