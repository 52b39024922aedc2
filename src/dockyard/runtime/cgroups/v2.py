"""The cgroup v2 backend: one directory in the single (unified) hierarchy.

Controllers reach the container's cgroup through ``cgroup.subtree_control`` of every
ancestor, so :meth:`V2Manager.create` enables all controllers the parent offers, one by one
(a controller the kernel refuses there is left out; setting its limits then fails clearly).
OCI values are converted where v2 differs: cpu shares -> ``cpu.weight``, memory+swap ->
``memory.swap.max``, blkio weight -> ``io.weight``. Device rules need eBPF and are refused
(beyond the default deny-all).
"""

from __future__ import annotations

from dockyard.errors import DockyardError, Internal, InvalidArgument, Unavailable
from dockyard.runtime import ospath
from dockyard.runtime.cgroups import Manager, fs, limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups.fs import Mount

R = "linux.resources"


class V2Manager(Manager):
    """The container's cgroup on a pure cgroup v2 host."""

    version = 2

    def __init__(self, unified: str) -> None:
        self.unified = unified

    @classmethod
    def open(
        cls, mounts: list[Mount], own: dict[str, str], cgroups_path: str, container_id: str
    ) -> V2Manager:
        own_path = own.get("", "/")
        for mount in mounts:
            if mount.version == 2:
                return cls(fs.cgroup_dir(mount, own_path, cgroups_path, container_id))
        raise Unavailable("cgroups: no cgroup2 file system is mounted")

    # -- lifecycle --------------------------------------------------------------------------
    def create(self) -> None:
        fs.make_dirs(self.unified, _enable_all)

    def apply(self, pid: int) -> None:
        try:
            fs.write(self.unified, "cgroup.procs", pid, "cgroups")
        except DockyardError as exc:
            raise type(exc)(f"cgroups: cannot join {self.unified}: {exc.message}") from None

    def process_dir(self) -> str:
        return self.unified

    def set(self, resources: dict[str, Any]) -> None:
        if not isinstance(resources, dict):
            raise InvalidArgument(f"{R}: must be an object")
        limits.check_keys(resources)
        d = self.unified
        if resources.get("devices") is not None:
            from dockyard.runtime.cgroups import devices

            devices.check_v2(resources["devices"])
        if resources.get("memory"):
            _set_memory(d, limits.section(resources, "memory"))
        if resources.get("cpu"):
            _set_cpu(d, limits.section(resources, "cpu"))
        if resources.get("pids"):
            limit = limits.opt_int(limits.section(resources, "pids"), "limit", f"{R}.pids")
            if limit:
                fs.write(d, "pids.max", "max" if limit < 0 else limit, f"{R}.pids.limit")
        if resources.get("blockIO"):
            _set_io(d, limits.section(resources, "blockIO"))
        if resources.get("hugepageLimits"):
            for size, limit in limits.hugepage_pairs(resources["hugepageLimits"]):
                what = f"{R}.hugepageLimits[{size}]"
                fs.write(d, f"hugetlb.{size}.max", "max" if limit < 0 else limit, what)
        if resources.get("network"):
            raise Unavailable(
                f"{R}.network: net_cls/net_prio do not exist in cgroup v2 (use eBPF or tc)"
            )
        if resources.get("rdma"):
            for line in limits.rdma_lines(resources["rdma"]):
                fs.write(d, "rdma.max", line, f"{R}.rdma")
        if resources.get("unified"):
            limits.write_unified(d, resources["unified"])

    def destroy(self) -> None:
        fs.remove_tree(self.unified)

    def exists(self) -> bool:
        return ospath.isdir(self.unified)

    def to_state(self) -> dict[str, Any]:
        return {"version": 2, "unified": self.unified}

    # -- freezer ----------------------------------------------------------------------------
    def freeze(self) -> None:
        self._freeze("1", "pause")

    def thaw(self) -> None:
        self._freeze("0", "resume")

    def _freeze(self, value: str, what: str) -> None:
        import time

        fs.write(self.unified, "cgroup.freeze", value, what)
        if not ospath.exists(ospath.join(self.unified, "cgroup.events")):
            return
        delay = 0.001
        for _ in range(100):
            if str(fs.read_keyed(self.unified, "cgroup.events").get("frozen", 0)) == value:
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        if value == "1":
            fs.write(self.unified, "cgroup.freeze", "0", what)
        raise Internal(f"{what}: the cgroup {self.unified} did not reach frozen={value}")

    def frozen(self) -> bool:
        return fs.read(self.unified, "cgroup.freeze") == "1"

    # -- processes and statistics -----------------------------------------------------------
    def pids(self) -> list[int]:
        return fs.procs(self.unified)

    def kill_all(self, sig: int) -> None:
        if sig == 9 and ospath.exists(ospath.join(self.unified, "cgroup.kill")):
            fs.write(self.unified, "cgroup.kill", "1", "kill")
            return
        super().kill_all(sig)

    def stats(self) -> dict[str, Any]:
        from dockyard.runtime.cgroups.stats import v2_stats

        return v2_stats(self)

    def oom_kill_count(self) -> int:
        return fs.read_keyed(self.unified, "memory.events").get("oom_kill", 0)


def _enable_all(parent: str) -> None:
    """Enable in ``parent`` every controller it offers, one at a time, ignoring refusals."""
    offered = fs.read(parent, "cgroup.controllers").split()
    enabled = fs.read(parent, "cgroup.subtree_control").split()
    for ctrl in offered:
        if ctrl in enabled:
            continue
        try:
            fs.write(parent, "cgroup.subtree_control", f"+{ctrl}", "cgroups")
        except DockyardError:
            continue


def shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144) onto cpu.weight (1..10000), linearly."""
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io(weight: int) -> int:
    """blkio weight (10..1000) onto io.weight (1..10000), linearly."""
    return 1 + ((weight - 10) * 9999) // 990


def swap_to_v2(swap: int | None, limit: int | None, directory: str) -> int | None:
    """OCI memory.swap (memory+swap) as memory.swap.max (swap alone); -1 is unlimited."""
    if not swap:
        return -1 if limit == -1 else None
    if swap == -1:
        return -1
    if not limit:
        current = fs.read(directory, "memory.max")
        if not current or current == "max":
            raise InvalidArgument(
                f"{R}.memory.swap: cannot set a swap limit without a memory limit"
            )
        limit = int(current)
    if limit == -1:
        raise InvalidArgument(f"{R}.memory.swap: cannot set a swap limit with unlimited memory")
    if swap < limit:
        raise InvalidArgument(
            f"{R}.memory.swap: {swap} must be at least memory.limit {limit} (it counts memory+swap)"
        )
    return swap - limit


def _max(value: int) -> str | int:
    return "max" if value < 0 else value


def _set_memory(d: str, mem: dict[str, Any]) -> None:
    w = f"{R}.memory"
    limit = limits.opt_int(mem, "limit", w)
    swap = limits.opt_int(mem, "swap", w)
    swap_max = swap_to_v2(swap, limit, d)
    if swap_max is not None and not ospath.exists(ospath.join(d, "memory.swap.max")):
        if swap_max != -1 or swap:
            raise Unavailable(f"{w}.swap: swap accounting is not enabled (no memory.swap.max)")
        swap_max = None
    if swap_max is not None:
        fs.write(d, "memory.swap.max", _max(swap_max), f"{w}.swap")
    if limit:
        fs.write(d, "memory.max", _max(limit), f"{w}.limit")
    reservation = limits.opt_int(mem, "reservation", w)
    if reservation:
        fs.write(d, "memory.low", _max(reservation), f"{w}.reservation")
    # swappiness, disableOOMKiller and kernel memory have no v2 file; runc ignores them too


def _set_cpu(d: str, cpu: dict[str, Any]) -> None:
    w = f"{R}.cpu"
    shares = limits.opt_int(cpu, "shares", w)
    if shares:
        fs.write(d, "cpu.weight", shares_to_weight(shares), f"{w}.shares")
    quota = limits.opt_int(cpu, "quota", w)
    period = limits.opt_int(cpu, "period", w)
    if quota or period:
        current = fs.read(d, "cpu.max").split()
        q = _max(quota) if quota else (current[0] if current else "max")
        p = period or (current[1] if len(current) > 1 else 100000)
        fs.write(d, "cpu.max", f"{q} {p}", f"{w}.quota")
    if cpu.get("burst") is not None:
        fs.write(d, "cpu.max.burst", limits.opt_int(cpu, "burst", w) or 0, f"{w}.burst")
    if cpu.get("idle") is not None:
        fs.write(d, "cpu.idle", limits.opt_int(cpu, "idle", w) or 0, f"{w}.idle")
    if limits.opt_int(cpu, "realtimeRuntime", w) or limits.opt_int(cpu, "realtimePeriod", w):
        raise Unavailable(f"{w}.realtimeRuntime: realtime CPU limits do not exist in cgroup v2")
    for key in ("cpus", "mems"):
        value = cpu.get(key)
        if value:
            if not isinstance(value, str):
                raise InvalidArgument(f"{w}.{key}: must be a string such as '0-3,5'")
            fs.write(d, f"cpuset.{key}", value, f"{w}.{key}")


def _set_io(d: str, bio: dict[str, Any]) -> None:
    w = f"{R}.blockIO"
    bfq = ospath.exists(ospath.join(d, "io.bfq.weight"))
    weight = limits.opt_int(bio, "weight", w)
    if weight:
        if bfq:
            fs.write(d, "io.bfq.weight", weight, f"{w}.weight")
        else:
            fs.write(d, "io.weight", blkio_weight_to_io(weight), f"{w}.weight")
    if limits.opt_int(bio, "leafWeight", w):
        raise Unavailable(f"{w}.leafWeight: leaf weights do not exist in cgroup v2")
    for index, dev in enumerate(limits.list_of(bio, "weightDevice", w)):
        what = f"{w}.weightDevice[{index}]"
        dev_weight = limits.opt_int(dev, "weight", what)
        if dev_weight:
            node = limits.device_node(dev, what)
            if bfq:
                fs.write(d, "io.bfq.weight", f"{node} {dev_weight}", what)
            else:
                fs.write(d, "io.weight", f"{node} {blkio_weight_to_io(dev_weight)}", what)
    for key, kind in (
        ("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
        ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops"),
    ):
        for index, dev in enumerate(limits.list_of(bio, key, w)):
            what = f"{w}.{key}[{index}]"
            rate = limits.opt_int(dev, "rate", what) or 0
            fs.write(d, "io.max", f"{limits.device_node(dev, what)} {kind}={rate or 'max'}", what)
