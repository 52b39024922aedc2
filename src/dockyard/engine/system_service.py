"""The system part of the engine: ``/version``, ``/info`` and ``/system/df`` as Docker's
documents, from the host (:mod:`.hostinfo`), the supervisor and the engine's own state.

What does not exist yet is reported as empty, by design of the current stage:
container counts are containerd's containers in our namespace (running/paused from
their tasks) until the container service owns them; df's ``Containers`` and ``Volumes``
come from the container and volume services (``[]`` without them), ``BuildCache`` is
``[]`` until the builder keeps a cache.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import dockyard
from dockyard.containerd.api.types.task import task_pb2
from dockyard.engine import hostinfo
from dockyard.engine.api.versions import API_VERSION, MIN_API_VERSION
from dockyard.engine.context import EngineContext
from dockyard.engine.image_summaries import layers_size, load_images, shared_sizes, summary
from dockyard.engine.spec_host import go_arch
from dockyard.errors import DockyardError, InvalidArgument

PYTHON = "python" + ".".join(str(n) for n in sys.version_info[:3])
GIT_COMMIT = "unknown"  # a packaged build writes its commit here
BUILD_TIME = "2025-01-01T00:00:00.000000000+00:00"
INDEX_SERVER = "https://index.docker.io/v1/"
DF_TYPES = ("container", "image", "volume", "build-cache")


@dataclass(frozen=True)
class ContainerCounts:
    total: int = 0
    running: int = 0
    paused: int = 0

    @property
    def stopped(self) -> int:
        return self.total - self.running - self.paused


def rfc3339_nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in local time (trailing zeros of the fraction dropped)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    local = time.localtime(seconds)
    offset = local.tm_gmtoff
    sign, minutes = "+" if offset >= 0 else "-", abs(offset) // 60
    zone = "Z" if offset == 0 else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    fraction = f".{frac:09d}".rstrip("0").rstrip(".")
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + fraction + zone


class SystemService:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    async def _containerd_version(self) -> tuple[str, str]:
        try:
            return await self.ctx.supervisor.version()
        except DockyardError:
            return "", ""

    async def container_counts(self) -> ContainerCounts:
        sv = self.ctx.supervisor
        containers = await sv.list_containers()
        ids = {c.id for c in containers}
        running = paused = 0
        for task in await sv.list_tasks():
            if task.container_id in ids:
                running += task.status == task_pb2.RUNNING
                paused += task.status in (task_pb2.PAUSED, task_pb2.PAUSING)
        return ContainerCounts(len(ids), running, paused)

    async def version(self) -> dict[str, Any]:
        ctrd_version, ctrd_revision = await self._containerd_version()
        engine = {"ApiVersion": API_VERSION, "Arch": go_arch(), "BuildTime": BUILD_TIME, "Experimental": "false",
                  "GitCommit": GIT_COMMIT, "GoVersion": PYTHON, "KernelVersion": hostinfo.kernel_version(),
                  "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}
        components = [{"Name": "Engine", "Version": dockyard.__version__, "Details": engine}]
        if ctrd_version:
            components.append({"Name": "containerd", "Version": ctrd_version, "Details": {"GitCommit": ctrd_revision}})
        components.append({"Name": "dockyard-runc", "Version": dockyard.__version__,
                           "Details": {"GitCommit": GIT_COMMIT}})
        return {"Platform": {"Name": f"dockyard {dockyard.__version__}"}, "Components": components,
                "Version": dockyard.__version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                "GitCommit": GIT_COMMIT, "GoVersion": PYTHON, "Os": "linux", "Arch": go_arch(),
                "KernelVersion": hostinfo.kernel_version(), "BuildTime": BUILD_TIME}

    async def info(self) -> dict[str, Any]:
        ctx, config = self.ctx, self.ctx.config
        counts = await self.container_counts()
        images = await load_images(ctx.supervisor)
        _, ctrd_revision = await self._containerd_version()
        cg_version = hostinfo.cgroup_version()
        cg = hostinfo.cgroup_features(cg_version)
        os_name, os_version = hostinfo.operating_system()
        forwarding = hostinfo.ipv4_forwarding()
        warnings = cg.warnings(cg_version)
        if not forwarding:
            warnings.append("WARNING: IPv4 forwarding is disabled")
        return {
            "ID": ctx.engine_id, "Containers": counts.total, "ContainersRunning": counts.running,
            "ContainersPaused": counts.paused, "ContainersStopped": counts.stopped, "Images": len(images),
            "Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
            "Plugins": {"Volume": ["local"], "Network": ["host", "null"], "Authorization": None,
                        "Log": ["json-file"]},
            "MemoryLimit": cg.memory, "SwapLimit": cg.swap, "CpuCfsPeriod": cg.cpu_cfs_period,
            "CpuCfsQuota": cg.cpu_cfs_quota, "CPUShares": cg.cpu_shares, "CPUSet": cg.cpuset, "PidsLimit": cg.pids,
            "OomKillDisable": cg.oom_kill_disable, "IPv4Forwarding": forwarding,
            "Debug": config.debug or config.log_level in ("debug", "trace"),
            "NFd": hostinfo.open_fds(), "NGoroutines": hostinfo.threads(),
            "SystemTime": rfc3339_nano(time.time_ns()), "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs",
            "CgroupVersion": cg_version, "NEventsListener": ctx.events.listeners,
            "KernelVersion": hostinfo.kernel_version(), "OperatingSystem": os_name, "OSVersion": os_version,
            "OSType": "linux", "Architecture": hostinfo.os_arch(), "IndexServerAddress": INDEX_SERVER,
            "RegistryConfig": {"InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
                               "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                                              "Official": True}},
                               "Mirrors": []},
            "GenericResources": None, "NCPU": hostinfo.ncpu(), "MemTotal": hostinfo.mem_total(),
            "DockerRootDir": config.data_root, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
            "Name": hostinfo.hostname(), "Labels": list(config.labels), "ExperimentalBuild": False,
            "ServerVersion": dockyard.__version__, "Runtimes": ctx.runtimes.to_info(),
            "DefaultRuntime": ctx.runtimes.default,
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": ctx.config.live_restore, "Isolation": "",
            "InitBinary": "docker-init" if ctx.init.path else "",
            "ContainerdCommit": {"ID": ctrd_revision}, "RuncCommit": {"ID": f"dockyard-runc-{dockyard.__version__}"},
            "InitCommit": {"ID": ctx.init.version() if ctx.init.path else ""},
            "SecurityOptions": ["name=seccomp,profile=builtin"],
            "Containerd": {"Address": config.containerd_socket,
                           "Namespaces": {"Containers": ctx.supervisor.namespace, "Plugins": "plugins.dockyard"}},
            "Warnings": warnings,
        }

    async def disk_usage(self, types: list[str]) -> dict[str, Any]:
        """``/system/df``; ``types`` limits it to some parts (the others are null), as Docker's ``type``."""
        for kind in types:
            if kind not in DF_TYPES:
                raise InvalidArgument(f"invalid type: {kind}")
        wanted = set(types or DF_TYPES)
        out: dict[str, Any] = {"LayersSize": 0, "Images": None, "Containers": None, "Volumes": None,
                               "BuildCache": None}
        if "image" in wanted:
            records = await load_images(self.ctx.supervisor)
            shared = shared_sizes(records)
            out["LayersSize"] = layers_size(records)
            users = await self.ctx.image_users()
            out["Images"] = [summary(r, shared[r.id], containers=len(users.get(r.id, ()))) for r in records]
        if "container" in wanted:
            service = self.ctx.containers
            out["Containers"] = await service.disk_usage() if service is not None else []
        if "volume" in wanted:
            volumes = self.ctx.volumes
            out["Volumes"] = await volumes.disk_usage() if volumes is not None else []
        if "build-cache" in wanted:
            out["BuildCache"] = []
        return out
