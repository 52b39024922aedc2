"""``docker stats`` numbers and rows: docker's stats helpers and statsContext.

``entry(stats)`` turns one ``GET /containers/{id}/stats`` sample into the values docker
shows: CPU % from the usage deltas between ``precpu_stats`` and ``cpu_stats`` (times the
online CPUs), memory without the inactive file cache (``total_inactive_file`` on cgroup
v1, ``inactive_file`` on v2) and its share of the limit, network and block I/O summed
over interfaces and devices, the PIDs. ``StatsRow`` is what templates see (``{{.CPUPerc}}``
...), ``--`` everywhere for a container whose stats failed. ``render`` is one frame of the
live table, the way docker 28 redraws it on a terminal.
"""

from __future__ import annotations

from dockyard.cli import tables
from dockyard.cli.rowcontext import RowContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

DEFAULT_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
                 "\t{{.PIDs}}")


def cpu_percent(pre: dict[str, Any], cur: dict[str, Any]) -> float:
    """calculateCPUPercentUnix."""
    cpu_delta = float((cur.get("cpu_usage") or {}).get("total_usage") or 0) - \
        float((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = float(cur.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cur.get("online_cpus") or 0) or float(len((cur.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(mem: dict[str, Any]) -> float:
    """calculateMemUsageUnixNoCache: usage without the inactive file cache."""
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return float(usage - stats["total_inactive_file"])
    inactive = int(stats.get("inactive_file") or 0)
    if inactive < usage:
        return float(usage - inactive)
    return float(usage)


def block_io(blkio: dict[str, Any]) -> tuple[int, int]:
    read = write = 0
    for item in blkio.get("io_service_bytes_recursive") or []:
        op = str(item.get("op") or "")
        if op[:1] in ("r", "R"):
            read += int(item.get("value") or 0)
        elif op[:1] in ("w", "W"):
            write += int(item.get("value") or 0)
    return read, write


def entry(stats: dict[str, Any]) -> dict[str, Any]:
    """One stats sample as docker's StatsEntry."""
    mem = stats.get("memory_stats") or {}
    used = memory_usage(mem)
    limit = float(mem.get("limit") or 0)
    networks = (stats.get("networks") or {}).values()
    read, write = block_io(stats.get("blkio_stats") or {})
    return {
        "Name": str(stats.get("name") or ""), "ID": str(stats.get("id") or ""),
        "CPUPercentage": cpu_percent(stats.get("precpu_stats") or {}, stats.get("cpu_stats") or {}),
        "Memory": used, "MemoryLimit": limit, "MemoryPercentage": used / limit * 100.0 if limit else 0.0,
        "NetworkRx": float(sum(int(n.get("rx_bytes") or 0) for n in networks)),
        "NetworkTx": float(sum(int(n.get("tx_bytes") or 0) for n in networks)),
        "BlockRead": float(read), "BlockWrite": float(write),
        "PidsCurrent": int((stats.get("pids_stats") or {}).get("current") or 0), "IsInvalid": False}


def invalid(container: str) -> dict[str, Any]:
    """A container without stats (yet, or any more): every value ``--``."""
    return {"Container": container, "Name": "", "ID": "", "CPUPercentage": 0.0, "Memory": 0.0, "MemoryLimit": 0.0,
            "MemoryPercentage": 0.0, "NetworkRx": 0.0, "NetworkTx": 0.0, "BlockRead": 0.0, "BlockWrite": 0.0,
            "PidsCurrent": 0, "IsInvalid": True}


def _percent(value: float) -> str:
    return f"{value:.2f}%"


class StatsRow(RowContext):
    GO_TYPE: ClassVar[str] = "*container.statsContext"
    HEADER: ClassVar[dict[str, str]] = {
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
        "PIDs": "PIDS"}

    def __init__(self, values: dict[str, Any], trunc: bool = True) -> None:
        self.s = values
        self.trunc = trunc

    def Container(self) -> str:
        return str(self.s.get("Container", ""))

    def Name(self) -> str:
        name = str(self.s.get("Name") or "")
        return name[1:] if len(name) > 1 else "--"

    def ID(self) -> str:
        ident = str(self.s.get("ID") or "")
        return tables.truncate_id(ident) if self.trunc else ident

    def CPUPerc(self) -> str:
        return "--" if self.s["IsInvalid"] else _percent(self.s["CPUPercentage"])

    def MemUsage(self) -> str:
        if self.s["IsInvalid"]:
            return "-- / --"
        return f"{tables.bytes_size(self.s['Memory'])} / {tables.bytes_size(self.s['MemoryLimit'])}"

    def MemPerc(self) -> str:
        return "--" if self.s["IsInvalid"] else _percent(self.s["MemoryPercentage"])

    def NetIO(self) -> str:
        if self.s["IsInvalid"]:
            return "--"
        return f"{tables.human_size(self.s['NetworkRx'], 3)} / {tables.human_size(self.s['NetworkTx'], 3)}"

    def BlockIO(self) -> str:
        if self.s["IsInvalid"]:
            return "--"
        return f"{tables.human_size(self.s['BlockRead'], 3)} / {tables.human_size(self.s['BlockWrite'], 3)}"

    def PIDs(self) -> str:
        return "--" if self.s["IsInvalid"] else str(self.s["PidsCurrent"])


def stats_format(source: str) -> str:
    return DEFAULT_TABLE if source in ("", "table") else source


def render(table: str) -> str:
    """One frame of the live table as docker 28 writes it: home, the table, then the same
    lines again each ending with an erase-to-end-of-line, then erase below."""
    frame = "\x1b[H" + table
    return frame + "".join(f"{line} \x1b[K\n" for line in frame.split("\n")) + "\x1b[J"
