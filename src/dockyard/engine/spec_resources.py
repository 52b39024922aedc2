"""Resource limits, ulimits, OOM settings and devices of a container, checked as dockerd does.

* Memory: ``Memory`` at least 6 MB; ``MemorySwap`` (memory plus swap) -1 for unlimited,
  at least ``Memory``, twice ``Memory`` when unset, dropped (with a warning) when the host
  cannot limit swap; ``MemoryReservation`` at least 6 MB and at most ``Memory``;
  ``MemorySwappiness`` 0-100 (-1 or null: unset); ``OomKillDisable``.
* CPU: ``NanoCpus`` (0.01 to the number of CPUs) becomes a CFS quota over a 100 ms period
  and conflicts with ``CpuPeriod``/``CpuQuota``; ``CpuPeriod`` 1 ms to 1 s; ``CpuQuota``
  at least 1 ms (or -1); ``CpuShares`` not negative; ``CpusetCpus``/``CpusetMems`` lists
  like ``0-3,5`` of CPUs/nodes the host has online.
* ``PidsLimit``: 0 or negative means unlimited (-1 in the spec). ``BlkioWeight``: 10-1000
  (0 unset), dropped with a warning when the host has no weight control.
* ``Ulimits`` ``[{Name, Soft, Hard}]`` -> ``RLIMIT_<NAME>`` rlimits (-1: unlimited).
* ``OomScoreAdj``: -1000 to 1000.
* ``Devices`` (``PathOnHost``, ``PathInContainer``, ``CgroupPermissions``) and
  ``DeviceCgroupRules`` (``c 1:3 rwm``) on top of Docker's default device rules; privileged
  containers get every host device and an allow-all rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.engine import defaults
from dockyard.engine.spec_fields import get_bool, get_int, get_list, get_str, get_strs
from dockyard.engine.spec_host import Host
from dockyard.errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024
ULIMITS: frozenset[str] = frozenset((
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
))
RLIM_INFINITY = 2**64 - 1
_LIST_RE = re.compile(r"^[0-9]+(-[0-9]+)?$")
_CGROUP_RULE_RE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
SWAP_WARNING = ("Your kernel does not support swap limit capabilities or the cgroup is not "
                "mounted. Memory limited without swap.")
BLKIO_WARNING = ("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                 "Weight discarded.")


def _int(hc: Mapping[str, Any], key: str) -> int:
    return get_int(hc, key) or 0


def memory(hc: Mapping[str, Any], host: Host, warnings: list[str]) -> dict[str, Any]:
    """``linux.resources.memory`` (empty when nothing is limited)."""
    limit = _int(hc, "Memory")
    if limit != 0 and limit < MIN_MEMORY:
        raise InvalidArgument("HostConfig.Memory: Minimum memory limit allowed is 6MB")
    swap = _int(hc, "MemorySwap")
    if swap < -1:
        raise InvalidArgument("HostConfig.MemorySwap: must be -1 (unlimited), 0 (default) or a size")
    if swap > 0 and limit == 0:
        raise InvalidArgument(
            "HostConfig.MemorySwap: You should always set the Memory limit when using "
            "Memoryswap limit, see usage"
        )
    if limit > 0 and swap > 0 and swap < limit:
        raise InvalidArgument(
            "HostConfig.MemorySwap: Minimum memoryswap limit should be larger than memory "
            "limit, see usage"
        )
    if limit > 0 and swap == 0:
        swap = 2 * limit
    if swap != 0 and not host.swap_limit():
        warnings.append(SWAP_WARNING)
        swap = -1
    reservation = _int(hc, "MemoryReservation")
    if reservation != 0 and reservation < MIN_MEMORY:
        raise InvalidArgument("HostConfig.MemoryReservation: Minimum memory reservation allowed is 6MB")
    if limit > 0 and reservation > limit:
        raise InvalidArgument(
            "HostConfig.MemoryReservation: Minimum memory limit can not be less than memory "
            "reservation limit, see usage"
        )
    swappiness = get_int(hc, "MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise InvalidArgument(
            f"HostConfig.MemorySwappiness: Invalid value: {swappiness}, valid memory "
            "swappiness range is 0-100"
        )
    result: dict[str, Any] = {}
    if limit > 0:
        result["limit"] = limit
    if reservation > 0:
        result["reservation"] = reservation
    if swap > 0:
        result["swap"] = swap
    if swappiness is not None and swappiness != -1:
        result["swappiness"] = swappiness
    if get_bool(hc, "OomKillDisable"):
        result["disableOOMKiller"] = True
    return result


def parse_list(text: str) -> set[int]:
    """``0-3,5`` -> {0, 1, 2, 3, 5}; ValueError when malformed."""
    result: set[int] = set()
    for part in text.split(","):
        if not _LIST_RE.match(part):
            raise ValueError(part)
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValueError(part)
        result.update(range(first, last + 1))
    return result


def _cpuset(hc: Mapping[str, Any], key: str, what: str, online: str | None, plural: str) -> str:
    text = get_str(hc, key)
    if not text:
        return ""
    try:
        wanted = parse_list(text)
    except ValueError:
        raise InvalidArgument(f"HostConfig.{key}: Invalid value {text} for cpuset {what}") from None
    if online:
        try:
            available = parse_list(online)
        except ValueError:
            available = wanted
        if not wanted <= available:
            raise InvalidArgument(
                f"HostConfig.{key}: Requested {plural} are not available - requested {text}, "
                f"available: {online}"
            )
    return text


def cpu(hc: Mapping[str, Any], host: Host) -> dict[str, Any]:
    """``linux.resources.cpu`` (empty when nothing is set)."""
    nano = _int(hc, "NanoCpus")
    period = _int(hc, "CpuPeriod")
    quota = _int(hc, "CpuQuota")
    if nano and period:
        raise InvalidArgument(
            "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano and quota:
        raise InvalidArgument(
            "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = host.cpu_count()
    if nano < 0 or nano > ncpu * 10**9 or 0 < nano < 10**7:
        raise InvalidArgument(
            f"HostConfig.NanoCpus: Range of CPUs is from 0.01 to {ncpu}.00, as there are only "
            f"{ncpu} CPUs available"
        )
    if period != 0 and not 1000 <= period <= 1_000_000:
        raise InvalidArgument(
            "HostConfig.CpuPeriod: CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
            "than 1s (i.e. 1000000)"
        )
    if quota < -1 or 0 < quota < 1000:
        raise InvalidArgument("HostConfig.CpuQuota: CPU cfs quota can not be less than 1ms (i.e. 1000)")
    shares = _int(hc, "CpuShares")
    if shares < 0:
        raise InvalidArgument("HostConfig.CpuShares: shares: invalid argument")
    result: dict[str, Any] = {}
    if shares:
        result["shares"] = shares
    if nano:
        period = defaults.NANO_CPUS_PERIOD
        quota = nano * period // 10**9
    if quota:
        result["quota"] = quota
    if period:
        result["period"] = period
    cpus = _cpuset(hc, "CpusetCpus", "cpus", host.online_cpus(), "CPUs")
    if cpus:
        result["cpus"] = cpus
    mems = _cpuset(hc, "CpusetMems", "mems", host.online_mems(), "memory nodes")
    if mems:
        result["mems"] = mems
    return result


def resources(hc: Mapping[str, Any], host: Host, warnings: list[str]) -> dict[str, Any]:
    """``linux.resources`` without the device rules: memory, cpu, pids, blockIO."""
    result: dict[str, Any] = {}
    mem = memory(hc, host, warnings)
    if mem:
        result["memory"] = mem
    cpu_res = cpu(hc, host)
    if cpu_res:
        result["cpu"] = cpu_res
    pids = get_int(hc, "PidsLimit")
    if pids is not None:
        result["pids"] = {"limit": pids if pids > 0 else -1}
    weight = _int(hc, "BlkioWeight")
    if weight and not 10 <= weight <= 1000:
        raise InvalidArgument("HostConfig.BlkioWeight: Range of blkio weight is from 10 to 1000")
    if weight and not host.blkio_weight():
        warnings.append(BLKIO_WARNING)
    elif weight:
        result["blockIO"] = {"weight": weight}
    return result


def oom_score_adj(hc: Mapping[str, Any]) -> int:
    """``process.oomScoreAdj``."""
    value = _int(hc, "OomScoreAdj")
    if not -1000 <= value <= 1000:
        raise InvalidArgument(
            f"HostConfig.OomScoreAdj: Invalid value {value}, range for oom score adj is [-1000, 1000]")
    return value


def _limit(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise InvalidArgument(f"{what}: must be a non-negative integer or -1 (unlimited)")
    return RLIM_INFINITY if value == -1 else value


def rlimits(hc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``process.rlimits`` from ``Ulimits``."""
    result = []
    for i, ulimit in enumerate(get_list(hc, "Ulimits")):
        what = f"HostConfig.Ulimits[{i}]"
        if not isinstance(ulimit, dict):
            raise InvalidArgument(f"{what}: must be an object")
        name = ulimit.get("Name")
        if not isinstance(name, str) or name.lower() not in ULIMITS:
            raise InvalidArgument(f"{what}.Name: invalid ulimit type: {name}")
        soft = _limit(ulimit.get("Soft", 0), f"{what}.Soft")
        hard = _limit(ulimit.get("Hard", 0), f"{what}.Hard")
        if soft > hard:
            raise InvalidArgument(
                f"{what}: ulimit soft limit must be less than or equal to hard limit: "
                f"{ulimit.get('Soft')} > {ulimit.get('Hard')}"
            )
        result.append({"type": f"RLIMIT_{name.upper()}", "soft": soft, "hard": hard})
    return result


def _device_rule(node: dict[str, Any], access: str) -> dict[str, Any]:
    return {"allow": True, "type": node["type"], "major": node["major"], "minor": node["minor"],
            "access": access}


def _mappings(hc: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """``Devices`` as (host path, container path, permissions, field name)."""
    result = []
    for i, entry in enumerate(get_list(hc, "Devices")):
        what = f"HostConfig.Devices[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{what}: must be an object")
        on_host = get_str(entry, "PathOnHost", what)
        if not on_host:
            raise InvalidArgument(f"{what}.PathOnHost: must not be empty")
        in_container = get_str(entry, "PathInContainer", what) or on_host
        if not in_container.startswith("/"):
            raise InvalidArgument(f"{what}.PathInContainer: {in_container}: must be an absolute path")
        perms = get_str(entry, "CgroupPermissions", what) or "rwm"
        if not set(perms) <= set("rwm") or len(perms) > 3:
            raise InvalidArgument(f"{what}.CgroupPermissions: invalid device mode: {perms}")
        result.append((on_host, in_container, perms, what))
    return result


def cgroup_rules(hc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``DeviceCgroupRules`` (``c 1:3 rwm``, ``*`` for any number) as device cgroup rules."""
    result = []
    for rule in get_strs(hc, "DeviceCgroupRules"):
        match = _CGROUP_RULE_RE.match(rule)
        if match is None:
            raise InvalidArgument(f"HostConfig.DeviceCgroupRules: invalid device cgroup format '{rule}'")
        kind, major, minor, access = match.groups()
        entry: dict[str, Any] = {"allow": True, "type": kind}
        if major != "*":
            entry["major"] = int(major)
        if minor != "*":
            entry["minor"] = int(minor)
        entry["access"] = access
        result.append(entry)
    return result


def _nodes(host: Host, on_host: str, in_container: str, what: str) -> list[dict[str, Any]]:
    try:
        return [d.to_spec() for d in host.devices_at(on_host, in_container)]
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: {exc.message}") from None


def devices(hc: Mapping[str, Any], privileged: bool,
            host: Host) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``linux.devices``, ``linux.resources.devices``)."""
    mappings = _mappings(hc)
    rules_from_hc = cgroup_rules(hc)
    nodes: list[dict[str, Any]] = []
    if privileged:
        nodes = [d.to_spec() for d in host.all_devices()]
        for on_host, in_container, _perms, what in mappings:
            if on_host != in_container:
                nodes += _nodes(host, on_host, in_container, what)
        return nodes, defaults.privileged_device_rules()
    rules = defaults.default_device_rules()
    for on_host, in_container, perms, what in mappings:
        found = _nodes(host, on_host, in_container, what)
        nodes += found
        rules += [_device_rule(node, perms) for node in found]
    return nodes, rules + rules_from_hc
