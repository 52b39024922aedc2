"""Which HostConfig fields the spec translation supports, and typed access to them.

Every field of the Engine API's HostConfig is in exactly one list:

* ``TRANSLATED`` — read by :func:`dockyard.engine.spec.build_spec`;
* ``ENGINE_OWNED`` — not part of the runtime spec; the engine acts on them (ports,
  restart policy, logging, DNS...), so the translation lets them through;
* ``ZERO_ONLY`` — not supported by dockyard: accepted at their zero value (what clients
  send when the option is not used), a 400 naming the field otherwise.

A field in no list is unknown: accepted at its zero value (a newer client's new field,
unused), refused otherwise. Never silently ignored. The getters below read one field with
its type checked, errors naming ``HostConfig.<Field>`` (or the prefix given).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.errors import InvalidArgument

TRANSLATED: frozenset[str] = frozenset((
    "Annotations", "Binds", "BlkioWeight", "CapAdd", "CapDrop", "CgroupParent",
    "CgroupnsMode", "ConsoleSize", "CpuPeriod", "CpuQuota", "CpuShares", "CpusetCpus",
    "CpusetMems", "DeviceCgroupRules", "Devices", "GroupAdd", "Init", "IpcMode",
    "MaskedPaths", "Memory", "MemoryReservation", "MemorySwap", "MemorySwappiness", "Mounts",
    "NanoCpus", "NetworkMode", "OomKillDisable", "OomScoreAdj", "PidMode", "PidsLimit",
    "Privileged", "ReadonlyPaths", "ReadonlyRootfs", "SecurityOpt", "ShmSize", "Sysctls",
    "Tmpfs", "UTSMode", "Ulimits", "UsernsMode",
))

ENGINE_OWNED: frozenset[str] = frozenset((
    "AutoRemove", "ContainerIDFile", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts",
    "Links", "LogConfig", "PortBindings", "PublishAllPorts", "RestartPolicy", "Runtime", "VolumesFrom",
))

ZERO_ONLY: dict[str, str] = {
    "BlkioWeightDevice": "per-device block-IO weights are not supported",
    "BlkioDeviceReadBps": "block-IO throttling is not supported",
    "BlkioDeviceWriteBps": "block-IO throttling is not supported",
    "BlkioDeviceReadIOps": "block-IO throttling is not supported",
    "BlkioDeviceWriteIOps": "block-IO throttling is not supported",
    "CpuRealtimePeriod": "real-time CPU scheduling is not supported",
    "CpuRealtimeRuntime": "real-time CPU scheduling is not supported",
    "DeviceRequests": "device requests (GPUs) are not supported",
    "KernelMemory": "kernel memory limits are not supported (deprecated in Docker)",
    "KernelMemoryTCP": "kernel TCP memory limits are not supported",
    "CpuCount": "CPU count is a Windows-only option",
    "CpuPercent": "CPU percent is a Windows-only option",
    "IOMaximumIOps": "IO maximum is a Windows-only option",
    "IOMaximumBandwidth": "IO maximum is a Windows-only option",
    "Cgroup": "sharing another container's cgroup is not supported",
    "StorageOpt": "storage options are not supported",
    "VolumeDriver": "volume drivers other than local are not supported",
    "Isolation": "only the default isolation is supported on Linux",
}

# Non-zero values that still mean "the default".
_DEFAULT_VALUES: dict[str, tuple[object, ...]] = {"Isolation": ("default",), "VolumeDriver": ("local",)}


def is_zero(value: Any) -> bool:
    """Go's zero value as JSON: null, false, 0, "", [], {} (and lists/maps of zeros)."""
    if value is None or value is False or value == "" or (isinstance(value, int | float) and value == 0):
        return True
    if isinstance(value, list):
        return all(is_zero(v) for v in value)
    if isinstance(value, dict):
        return all(is_zero(v) for v in value.values())
    return False


def check_host_config(host_config: Mapping[str, Any]) -> None:
    """Refuse unsupported or unknown fields set to a non-default value."""
    for key, value in host_config.items():
        if key in TRANSLATED or key in ENGINE_OWNED or is_zero(value):
            continue
        if value in _DEFAULT_VALUES.get(key, ()):
            continue
        if key in ZERO_ONLY:
            raise InvalidArgument(f"HostConfig.{key}: {ZERO_ONLY[key]}")
        raise InvalidArgument(f"HostConfig.{key}: unknown or unsupported field")


def get_int(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> int | None:
    """An integer field, None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{prefix}.{key}: must be an integer")
    return value


def get_str(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> str:
    """A string field, "" when absent or null."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{prefix}.{key}: must be a string")
    return value


def get_bool(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> bool:
    """A boolean field, False when absent or null."""
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"{prefix}.{key}: must be a boolean")
    return value


def get_list(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> list[Any]:
    """A list field, [] when absent or null."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgument(f"{prefix}.{key}: must be a list")
    return value


def get_strs(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> list[str]:
    """A list of strings; a single string counts as a list of one (as Docker's StrSlice)."""
    value = obj.get(key)
    if isinstance(value, str):
        return [value]
    items = get_list(obj, key, prefix)
    if not all(isinstance(v, str) for v in items):
        raise InvalidArgument(f"{prefix}.{key}: must be a list of strings")
    return list(items)


def get_str_map(obj: Mapping[str, Any], key: str, prefix: str = "HostConfig") -> dict[str, str]:
    """An object of string values, {} when absent or null."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidArgument(f"{prefix}.{key}: must be an object of strings")
    return dict(value)
