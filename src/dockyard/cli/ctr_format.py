"""``docker ps`` rows: docker's ContainerContext over the ``GET /containers/json`` summaries.

The fields templates see (``{{.ID}}``, ``{{.RunningFor}}``, ``{{.Label "k"}}``...) are the
methods of ``ContainerRow``, computed as docker computes them (truncated IDs and commands
unless ``--no-trunc``, the image without its digest, CREATED relative to now, PORTS as
``0.0.0.0:80->80/tcp``, SIZE as ``2B (virtual 4.26MB)``); ``--format json`` is every field
by name. ``ps_format`` picks the format from the flags as ``NewContainerFormat`` does.
"""

from __future__ import annotations

from dockyard.cli import tables
from dockyard.cli.rowcontext import RowContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
QUIET = "{{.ID}}"
RAW = ("container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n"
       "state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
       "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n")


def ps_format(source: str, quiet: bool, size: bool) -> str:
    """docker's NewContainerFormat."""
    if source in ("table", ""):
        return QUIET if quiet else DEFAULT_TABLE + ("\t{{.Size}}" if size else "")
    if source == "raw":
        return "container_id: {{.ID}}" if quiet else RAW + ("size: {{.Size}}\n" if size else "")
    return QUIET if quiet else source


def _image_name(image: str) -> str:
    """The image as ps shows it: a reference without its digest (tag kept), else as given."""
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_reference

    if "@" not in image and not image.startswith("sha256:"):
        return image  # a name or name:tag shows as given (docker's familiar form of the same)
    try:
        ref = parse_reference(image, default_tag=False)
    except InvalidArgument:
        return image
    return ref.familiar_name() + (f":{ref.tag}" if ref.tag else "")


class ContainerRow(RowContext):
    GO_TYPE: ClassVar[str] = "*formatter.ContainerContext"
    HEADER: ClassVar[dict[str, str]] = {
        "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
        "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS"}

    def __init__(self, summary: dict[str, Any], trunc: bool = True, now: float | None = None) -> None:
        self.c = summary
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.c.get("Id") or "")
        return tables.truncate_id(ident) if self.trunc else ident

    def Names(self) -> str:
        names = [n[1:] for n in self.c.get("Names") or []]
        if self.trunc:
            for name in names:
                if "/" not in name:
                    names = [name]
                    break
        return ",".join(names)

    def Image(self) -> str:
        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if self.trunc:
            image_id = str(self.c.get("ImageID") or "")
            if tables.truncate_id(image_id) == tables.truncate_id(image):
                return tables.truncate_id(image)
            return _image_name(image)
        return image

    def Command(self) -> str:
        return tables.command(str(self.c.get("Command") or ""), self.trunc)

    def CreatedAt(self) -> str:
        return tables.go_time(float(self.c.get("Created") or 0))

    def RunningFor(self) -> str:
        return tables.time_ago(float(self.c.get("Created") or 0), self.now)

    def Platform(self) -> Any:
        """The image platform the daemon reports (API 1.48+), None when it does not."""
        from dockyard.cli.gofmt import GoNil

        descriptor = self.c.get("ImageManifestDescriptor") or {}
        return descriptor.get("platform") or GoNil("*formatter.Platform")

    def Ports(self) -> str:
        return tables.ports(self.c.get("Ports") or [])

    def State(self) -> str:
        return str(self.c.get("State") or "")

    def Status(self) -> str:
        return str(self.c.get("Status") or "")

    def Size(self) -> str:
        rw = tables.human_size(float(self.c.get("SizeRw") or 0), 3)
        root = float(self.c.get("SizeRootFs") or 0)
        return f"{rw} (virtual {tables.human_size(root, 3)})" if root > 0 else rw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:
        return str((self.c.get("Labels") or {}).get(name, ""))

    def Mounts(self) -> str:
        names = []
        for mount in self.c.get("Mounts") or []:
            name = mount.get("Name") or mount.get("Source") or ""
            names.append(tables.ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        networks = (self.c.get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(sorted(networks))
