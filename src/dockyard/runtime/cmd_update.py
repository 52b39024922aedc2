"""``update``: change a container's resource limits (runc 1.1's flags) and remember them.

The limits come from ``--resources FILE`` (OCI LinuxResources JSON; ``-`` reads stdin;
other flags are then ignored) or from the flags. Zero or absent values are left unchanged.
After the cgroup files are written the new values are merged into the state's config, so
later commands (and ``state``'s config) see them.
"""

from __future__ import annotations

import sys

from dockyard.errors import FailedPrecondition, InvalidArgument, Unavailable
from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime import state as st
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.context import Context

SUMMARY = "update container resource constraints"
USAGE = "[command options] <container-id>"
FLAGS = [
    fl.Flag(
        "resources, r", fl.STR,
        help="path to the file containing the resources to update or '-' to read from the "
        "standard input (all other options are then ignored)",
    ),
    fl.Flag("blkio-weight", fl.INT, help="Specifies per cgroup weight, range is from 10 to 1000 (default: 0)"),
    fl.Flag("cpu-period", fl.STR, help="CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
    fl.Flag("cpu-quota", fl.STR, help="CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
    fl.Flag("cpu-share", fl.STR, help="CPU shares (relative weight vs. other containers)"),
    fl.Flag(
        "cpu-rt-period", fl.STR,
        help="CPU realtime period to be used for hardcapping (in usecs). 0 to use system default",
    ),
    fl.Flag("cpu-rt-runtime", fl.STR, help="CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
    fl.Flag("cpuset-cpus", fl.STR, help="CPU(s) to use"),
    fl.Flag("cpuset-mems", fl.STR, help="Memory node(s) to use"),
    fl.Flag("kernel-memory", fl.STR, help="(obsolete; ignored)"),
    fl.Flag("kernel-memory-tcp", fl.STR, help="(obsolete; ignored)"),
    fl.Flag("memory", fl.STR, help="Memory limit (in bytes)"),
    fl.Flag("memory-reservation", fl.STR, help="Memory reservation or soft_limit (in bytes)"),
    fl.Flag("memory-swap", fl.STR, help="Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
    fl.Flag("pids-limit", fl.INT, help="Maximum number of pids allowed in the container (default: 0)"),
    fl.Flag("l3-cache-schema", fl.STR, help="The string of Intel RDT/CAT L3 cache schema"),
    fl.Flag("mem-bw-schema", fl.STR, help="The string of Intel RDT/MBA memory bandwidth schema"),
]

_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
KERNEL_MEMORY_WARNING = "Kernel memory settings are ignored and will be removed"


def ram_in_bytes(text: str) -> int:
    """A size such as ``512``, ``10M``, ``1.5g``, ``64KiB`` or ``2 GB`` (binary multiples)."""
    s = text.strip()
    low = s.lower()
    if low.endswith("b"):
        low = low[:-1]
    if low.endswith("i"):
        low = low[:-1]
    unit = ""
    if low and low[-1] in "kmgtp":
        unit = low[-1]
        low = low[:-1]
    number = low.rstrip(" ")
    ok = bool(number) and number[0].isdigit() and all(c.isdigit() or c == "." for c in number)
    if not ok or number.count(".") > 1 or number.endswith("."):
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(float(number) * _SIZE_UNITS[unit])


def _size(opts: fl.Parsed, name: str) -> int | None:
    value = opts.str(name.replace("-", "_"))
    if not value:
        return None
    if value == "-1":
        return -1
    try:
        return ram_in_bytes(value)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid value for {name}: {exc}") from None


def _number(opts: fl.Parsed, name: str, signed: bool) -> int | None:
    value = opts.str(name.replace("-", "_"))
    if not value:
        return None
    try:
        number = int(value, 10)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r} is not a number") from None
    if number < 0 and not signed:
        raise InvalidArgument(f"invalid value for {name}: {value!r} must not be negative")
    return number


def resources_from_flags(opts: fl.Parsed) -> dict[str, Any]:
    """The LinuxResources the flags ask for (only what was given)."""
    memory: dict[str, Any] = {}
    for flag, key in (
        ("memory", "limit"), ("memory-reservation", "reservation"), ("memory-swap", "swap"),
        ("kernel-memory", "kernel"), ("kernel-memory-tcp", "kernelTCP"),
    ):
        value = _size(opts, flag)
        if value is not None:
            memory[key] = value
    cpu: dict[str, Any] = {}
    for flag, key, signed in (
        ("cpu-share", "shares", False), ("cpu-quota", "quota", True),
        ("cpu-period", "period", False), ("cpu-rt-runtime", "realtimeRuntime", True),
        ("cpu-rt-period", "realtimePeriod", False),
    ):
        number = _number(opts, flag, signed)
        if number is not None:
            cpu[key] = number
    if opts.str("cpuset_cpus"):
        cpu["cpus"] = opts.str("cpuset_cpus")
    if opts.str("cpuset_mems"):
        cpu["mems"] = opts.str("cpuset_mems")
    out: dict[str, Any] = {}
    if memory:
        out["memory"] = memory
    if cpu:
        out["cpu"] = cpu
    if opts.int("blkio_weight"):
        out["blockIO"] = {"weight": opts.int("blkio_weight")}
    if opts.int("pids_limit"):
        out["pids"] = {"limit": opts.int("pids_limit")}
    return out


def read_resources(source: str) -> dict[str, Any]:
    if source == "-":
        data = sys.stdin.buffer.read()
        what = "stdin"
    else:
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise InvalidArgument(f"cannot read {source}: {exc.strerror}") from None
        what = source
    value = jsonio.loads(data, what)
    if not isinstance(value, dict):
        raise InvalidArgument(f"{what}: must be a JSON object (OCI LinuxResources)")
    return value


def merge(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``current`` resources with ``update`` laid over: sections merge key by key, and zero
    or null values (meaning "unchanged") are skipped."""
    out = dict(current)
    for key, value in update.items():
        if isinstance(value, dict) and key in ("memory", "cpu", "pids", "blockIO", "network"):
            section = dict(out.get(key) or {})
            for k, v in value.items():
                if v is None or v == 0 or v == "" or v == []:
                    continue
                section[k] = v
            out[key] = section
        elif value is not None:
            out[key] = value
    return out


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime.cgroups import manager_from_state

    require_args(opts, "update", exactly=1)
    state = load(ctx, opts, "update")
    if state.status() not in (st.CREATED, st.RUNNING, st.PAUSED):
        raise FailedPrecondition("container not running")
    if opts.str("resources"):
        resources = read_resources(opts.str("resources"))
    else:
        if opts.str("l3_cache_schema") or opts.str("mem_bw_schema"):
            raise Unavailable("Intel RDT is not supported by dockyard-runc")
        resources = resources_from_flags(opts)
    memory = resources.get("memory")
    if isinstance(memory, dict) and (memory.get("kernel") or memory.get("kernelTCP")):
        ctx.log.warning(KERNEL_MEMORY_WARNING)
    manager_from_state(state.cgroup).set(resources)
    config = state.data.setdefault("config", {})
    linux = config.setdefault("linux", {})
    linux["resources"] = merge(linux.get("resources") or {}, resources)
    state.save()
    return 0
