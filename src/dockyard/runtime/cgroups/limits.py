"""Reading OCI ``linux.resources`` values and the pieces both backends write the same way.

Type checks name the field (``linux.resources.memory.limit: must be an integer``);
conversions shared by v1 and v2 (hugepage sizes, rdma lines, ``unified`` keys, enabling a
v2 controller in the ancestors) live here.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.runtime.cgroups import fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

R = "linux.resources"
KNOWN = frozenset(
    (
        "devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma",
        "unified",
    )
)
THROTTLE_FILES = (
    ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
    ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
    ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
    ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"),
)


def check_keys(resources: dict[str, Any]) -> None:
    for key in resources:
        if key not in KNOWN:
            raise InvalidArgument(f"{R}.{key}: unknown resource")


def section(resources: dict[str, Any], key: str) -> dict[str, Any]:
    value = resources[key]
    if not isinstance(value, dict):
        raise InvalidArgument(f"{R}.{key}: must be an object")
    return value


def opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    """``obj[key]`` as an int, or None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{where}.{key}: must be an integer, not {value!r}")
    return value


def list_of(obj: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidArgument(f"{where}.{key}: must be a list of objects")
    return value


def device_node(dev: dict[str, Any], where: str) -> str:
    major = opt_int(dev, "major", where)
    minor = opt_int(dev, "minor", where)
    if major is None or minor is None or major < 0 or minor < 0:
        raise InvalidArgument(f"{where}: major and minor must be given")
    return f"{major}:{minor}"


def hugepage_pairs(entries: Any) -> list[tuple[str, int]]:
    """[(pageSize such as '2MB', limit)] from ``hugepageLimits``."""
    where = f"{R}.hugepageLimits"
    if not isinstance(entries, list):
        raise InvalidArgument(f"{where}: must be a list")
    out = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}[{index}]: must be an object")
        size = entry.get("pageSize")
        if not isinstance(size, str) or not size or "/" in size or "." in size:
            raise InvalidArgument(f"{where}[{index}].pageSize: invalid page size {size!r}")
        out.append((size, opt_int(entry, "limit", f"{where}[{index}]") or 0))
    return out


def rdma_lines(rdma: Any) -> list[str]:
    where = f"{R}.rdma"
    if not isinstance(rdma, dict):
        raise InvalidArgument(f"{where}: must be an object")
    lines = []
    for device, limit in rdma.items():
        if not isinstance(limit, dict):
            raise InvalidArgument(f"{where}.{device}: must be an object")
        parts = [device]
        handles = opt_int(limit, "hcaHandles", f"{where}.{device}")
        objects = opt_int(limit, "hcaObjects", f"{where}.{device}")
        if handles is not None:
            parts.append(f"hca_handle={handles}")
        if objects is not None:
            parts.append(f"hca_object={objects}")
        if len(parts) > 1:
            lines.append(" ".join(parts))
    return lines


def write_unified(directory: str, unified: Any) -> None:
    """``linux.resources.unified``: file name -> value, written as given."""
    where = f"{R}.unified"
    if not isinstance(unified, dict):
        raise InvalidArgument(f"{where}: must be an object of strings")
    for key, value in unified.items():
        if not isinstance(key, str) or not key or "/" in key or key.startswith("."):
            raise InvalidArgument(f"{where}: invalid file name {key!r}")
        if not isinstance(value, str):
            raise InvalidArgument(f"{where}.{key}: value must be a string")
        controller = key.split(".", 1)[0]
        if not os.path.exists(os.path.join(directory, key)) and controller not in ("cgroup",):
            try:
                enable_v2_controller(directory, controller, f"{where}.{key}")
            except Unavailable:
                raise Unavailable(
                    f"{where}.{key}: no such file; the {controller} controller is not "
                    "available in the cgroup v2 hierarchy"
                ) from None
        fs.write(directory, key, value, f"{where}.{key}")


def _mount_root(directory: str) -> str:
    """The top of the cgroup2 mount that holds ``directory`` (the highest dir with
    cgroup.controllers, walking up)."""
    top = directory
    current = directory
    while True:
        parent = os.path.dirname(current)
        if parent == current or not os.path.exists(os.path.join(parent, "cgroup.controllers")):
            return top
        top = current = parent


def enable_v2_controller(directory: str, controller: str, what: str) -> None:
    """Make ``controller`` available in ``directory`` by enabling it in every ancestor's
    cgroup.subtree_control, top down."""
    top = _mount_root(directory)
    if controller not in fs.read(top, "cgroup.controllers").split():
        raise Unavailable(f"{what}: the {controller} controller is not available in cgroup v2")
    chain = []
    current = os.path.dirname(directory)
    while len(current) >= len(top):
        chain.append(current)
        if current == top:
            break
        current = os.path.dirname(current)
    for parent in reversed(chain):
        if controller in fs.read(parent, "cgroup.subtree_control").split():
            continue
        fs.write(parent, "cgroup.subtree_control", f"+{controller}", what)
