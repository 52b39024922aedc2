"""The cgroup v1 backend: one directory per hierarchy (plus the unified one of a hybrid host).

``paths`` maps each controller (``memory``, ``cpu``, ..., ``name=systemd``) to the
container's directory in the hierarchy that carries it; controllers mounted together share
a directory. On a hybrid host the container also joins the cgroup2 mount (``unified``), as
runc does; only hugetlb limits and ``unified`` keys are written there.
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath

from dockyard.errors import DockyardError, Internal, Unavailable
from dockyard.runtime import ospath
from dockyard.runtime.cgroups import Manager, fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups.fs import Mount

# where the pids of the container are read from, best first
_PROCS_FROM = ("devices", "freezer", "pids", "memory", "cpu", "cpuacct", "name=systemd")


class V1Manager(Manager):
    """The container's cgroups on a v1 (or hybrid) host."""

    version = 1

    def __init__(self, paths: dict[str, str], unified: str = "") -> None:
        self.paths = paths
        self.unified = unified

    @classmethod
    def open(
        cls, mounts: list[Mount], own: dict[str, str], cgroups_path: str, container_id: str
    ) -> V1Manager:
        """Resolve the directories of a new container from the mounts and our own cgroup."""
        own_sets = {frozenset(k.split(",")): v for k, v in own.items() if k}
        paths: dict[str, str] = {}
        unified = ""
        for mount in mounts:
            if mount.version == 2:
                if not unified and "" in own:
                    unified = fs.cgroup_dir(mount, own[""], cgroups_path, container_id)
                continue
            own_path = own_sets.get(frozenset(mount.controllers))
            if own_path is None or any(c in paths for c in mount.controllers):
                continue
            directory = fs.cgroup_dir(mount, own_path, cgroups_path, container_id)
            for ctrl in mount.controllers:
                paths[ctrl] = directory
        if not paths:
            raise Unavailable("cgroups: no cgroup v1 hierarchy of ours is mounted")
        return cls(paths, unified)

    # -- helpers ----------------------------------------------------------------------------
    def path(self, controller: str, what: str = "") -> str:
        """The directory of ``controller``; Unavailable naming ``what`` if it is not mounted."""
        directory = self.paths.get(controller)
        if directory is None:
            raise Unavailable(
                f"{what or controller}: the {controller} cgroup controller is not available "
                "on this host"
            )
        return directory

    def _dirs(self) -> list[str]:
        """Each distinct directory once, unified last."""
        seen: list[str] = []
        for directory in self.paths.values():
            if directory not in seen:
                seen.append(directory)
        if self.unified and self.unified not in seen:
            seen.append(self.unified)
        return seen

    # -- lifecycle --------------------------------------------------------------------------
    def create(self) -> None:
        made: list[str] = []
        try:
            for directory in self._dirs():
                made.extend(fs.make_dirs(directory))
            cpuset = self.paths.get("cpuset")
            if cpuset:
                chain = [d for d in made if _is_self_or_ancestor(d, cpuset)]
                _fill_cpuset(chain if cpuset in chain else [*chain, cpuset])
        except BaseException:
            fs.remove_made(made)
            raise

    def apply(self, pid: int) -> None:
        for directory in self._dirs():
            try:
                fs.write(directory, "cgroup.procs", pid, "cgroups")
            except DockyardError as exc:
                hint = ""
                if "cpuset" in directory and "No space left" in exc.message:
                    hint = " (cpuset.cpus/cpuset.mems are empty)"
                raise type(exc)(f"cgroups: cannot join {directory}: {exc.message}{hint}") from None

    def thread_dirs(self) -> list[str]:
        return [d for d in self._dirs() if d != self.unified]

    def process_dir(self) -> str:
        return self.unified

    def set(self, resources: dict[str, Any]) -> None:
        from dockyard.runtime.cgroups.v1_resources import apply

        apply(self, resources)

    def destroy(self) -> None:
        for directory in self._dirs():
            fs.remove_tree(directory)

    def exists(self) -> bool:
        return any(ospath.isdir(d) for d in self.paths.values())

    def to_state(self) -> dict[str, Any]:
        return {"version": 1, "paths": dict(self.paths), "unified": self.unified}

    # -- freezer ----------------------------------------------------------------------------
    def freeze(self) -> None:
        import time

        directory = self.path("freezer", "pause")
        delay = 0.001
        for _ in range(200):
            fs.write(directory, "freezer.state", "FROZEN", "pause")
            state = fs.read(directory, "freezer.state")
            if state == "FROZEN":
                return
            if state not in ("FREEZING", "THAWED"):
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        fs.write(directory, "freezer.state", "THAWED", "pause")
        raise Internal(f"pause: the cgroup {directory} did not freeze")

    def thaw(self) -> None:
        fs.write(self.path("freezer", "resume"), "freezer.state", "THAWED", "resume")

    def frozen(self) -> bool:
        state = fs.read(self.path("freezer", "pause"), "freezer.state")
        return state in ("FROZEN", "FREEZING")

    # -- processes and statistics -----------------------------------------------------------
    def pids(self) -> list[int]:
        for ctrl in _PROCS_FROM:
            if ctrl in self.paths:
                return fs.procs(self.paths[ctrl])
        return fs.procs(next(iter(self.paths.values())))

    def stats(self) -> dict[str, Any]:
        from dockyard.runtime.cgroups.stats import v1_stats

        return v1_stats(self)

    def oom_kill_count(self) -> int:
        directory = self.paths.get("memory")
        if not directory:
            return 0
        return fs.read_keyed(directory, "memory.oom_control").get("oom_kill", 0)

    def oom_eventfd(self) -> int | None:
        """Register an eventfd on memory.oom_control (fires on OOM and on cgroup removal)."""
        directory = self.paths.get("memory")
        if not directory:
            return None
        efd = os.eventfd(0, os.EFD_CLOEXEC)
        try:
            cfd = os.open(ospath.join(directory, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(efd)
            return None
        try:
            fs.write(directory, "cgroup.event_control", f"{efd} {cfd}", "events")
        except DockyardError:
            os.close(efd)
            return None
        finally:
            os.close(cfd)
        return efd


def _is_self_or_ancestor(directory: str, leaf: str) -> bool:
    return directory == leaf or leaf.startswith(directory + "/")


def _fill_cpuset(made: list[str]) -> None:
    """Copy cpuset.cpus/mems from the parent into each new cpuset cgroup, top down.

    A new v1 cpuset cgroup starts empty and refuses tasks (ENOSPC) until both are set.
    """
    for directory in sorted(made, key=len):
        parent = ospath.dirname(directory)
        for name in ("cpuset.cpus", "cpuset.mems"):
            value = fs.read(parent, name)
            if value and not fs.read(directory, name):
                fs.write(directory, name, value, "cpuset")
