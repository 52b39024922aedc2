"""``dockyard update``: change the resources and restart policy of containers.

``POST /containers/{id}/update`` with docker's UpdateConfig (every resource field, the
unset ones zero or null, ``PidsLimit`` only when given); the names are printed as they
succeed, then the daemon's warnings, then the errors.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli import ctr_values as v
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import INT, STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [
    Flag("blkio-weight", kind=STRING, type_name="uint16", convert=v.parse_uint(16), default=0,
         help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
    Flag("cpu-period", kind=INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", kind=INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-rt-period", kind=INT, help="Limit the CPU real-time period in microseconds"),
    Flag("cpu-rt-runtime", kind=INT, help="Limit the CPU real-time runtime in microseconds"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpus", kind=STRING, type_name="decimal", convert=v.nano_cpus, default=0, help="Number of CPUs"),
    Flag("cpuset-cpus", kind=STRING, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", kind=STRING, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("kernel-memory", kind=STRING, type_name="bytes", convert=v.ram_in_bytes, default=0,
         help="Kernel memory limit (deprecated)", hidden=True),
    Flag("memory", "m", STRING, type_name="bytes", convert=v.ram_in_bytes, default=0, help="Memory limit"),
    Flag("memory-reservation", kind=STRING, type_name="bytes", convert=v.ram_in_bytes, default=0,
         help="Memory soft limit"),
    Flag("memory-swap", kind=STRING, type_name="bytes", convert=v.mem_swap, default=0,
         help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
    Flag("pids-limit", kind=INT, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("restart", kind=STRING, help="Restart policy to apply when a container exits"),
]
ARGS = command.min_args(1)


def update_config(opts: Options) -> dict[str, Any]:
    from dockyard.cli.ctr_config import _restart_policy

    restart = _restart_policy(opts.restart) if opts.restart else {"Name": "", "MaximumRetryCount": 0}
    return {
        "CpuShares": opts.cpu_shares, "Memory": opts.memory, "NanoCpus": opts.cpus, "CgroupParent": "",
        "BlkioWeight": opts.blkio_weight, "BlkioWeightDevice": None, "BlkioDeviceReadBps": None,
        "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
        "CpuPeriod": opts.cpu_period, "CpuQuota": opts.cpu_quota, "CpuRealtimePeriod": opts.cpu_rt_period,
        "CpuRealtimeRuntime": opts.cpu_rt_runtime, "CpusetCpus": opts.cpuset_cpus, "CpusetMems": opts.cpuset_mems,
        "Devices": None, "DeviceCgroupRules": None, "DeviceRequests": None,
        "MemoryReservation": opts.memory_reservation, "MemorySwap": opts.memory_swap, "MemorySwappiness": None,
        "OomKillDisable": None, "PidsLimit": opts.pids_limit if "pids-limit" in opts.changed else None,
        "Ulimits": None, "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "RestartPolicy": restart}


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not opts.changed:
        raise DockyardError("you must provide one or more flags when using this command")
    body = update_config(opts)
    errors: list[str] = []
    warnings: list[str] = []
    for name in args:
        try:
            reply = cli.client.post(f"{path_of(name)}/update", None, body) or {}
        except DockyardError as exc:
            errors.append(str(exc))
            continue
        cli.out.write(f"{name}\n")
        warnings += reply.get("Warnings") or []
    if warnings:
        cli.out.write("\n".join(warnings) + "\n")
    if errors:
        raise command.StatusError(1, "\n".join(errors))
    return 0
