"""docker's ``formatter.volumeContext``: one volume as a row of ``volume ls`` and of
``system df -v`` (its fields for ``--format`` templates and its table headers)."""

from __future__ import annotations

from dockyard.cli import tables
from dockyard.cli.rowcontext import RowContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class VolumeRow(RowContext):
    GO_TYPE = "*formatter.volumeContext"
    HEADER = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
              "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP", "Availability": "AVAILABILITY",
              "Status": "STATUS"}

    def __init__(self, volume: dict[str, Any]) -> None:
        self.v = volume

    def Name(self) -> str:
        return str(self.v.get("Name") or "")

    def Driver(self) -> str:
        return str(self.v.get("Driver") or "")

    def Scope(self) -> str:
        return str(self.v.get("Scope") or "")

    def Mountpoint(self) -> str:
        return str(self.v.get("Mountpoint") or "")

    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted((self.v.get("Labels") or {}).items()))

    def Label(self, name: str) -> str:
        return str((self.v.get("Labels") or {}).get(name, ""))

    def Links(self) -> str:
        usage = self.v.get("UsageData")
        return "N/A" if not usage else str(usage.get("RefCount", -1))

    def Size(self) -> str:
        usage = self.v.get("UsageData")
        return "N/A" if not usage else tables.human_size(int(usage.get("Size", -1)))

    def Group(self) -> str:
        return "N/A"

    def Availability(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"
