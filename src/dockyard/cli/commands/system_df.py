"""``dockyard system df``: ``GET /system/df`` summarised as docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE.

The summary is computed on the client, as docker 28 does: images (size: the layers'; in use:
with containers; reclaimable: what no container holds), containers (size: their writable
layers; active: running, paused or restarting), local volumes (in use: referenced) and build
cache (size: what is not shared). ``-v`` prints the four tables of docker's verbose form
(images, containers, volumes, build cache); ``--format`` takes ``json``, ``raw`` or a
template over the summary rows (over the four lists with ``-v``).
"""

from __future__ import annotations

from dockyard.cli import command, ctr_format, tables
from dockyard.cli.flags import FORMAT_HELP_TABLE, STRING, Flag
from dockyard.cli.gotemplate import Formatter, GoSlice, GoStruct, Template, TemplateError
from dockyard.cli.imagefmt import RAW_DIGEST, ImageRow, is_dangling, split_reference
from dockyard.cli.rowcontext import RowContext
from dockyard.cli.volume_row import VolumeRow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("verbose", "v", help="Show detailed information on space usage"),
]
ARGS = command.no_args

SUMMARY_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
SUMMARY_RAW = ("type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n"
               "reclaimable: {{.Reclaimable}}\n")
SUMMARY_HEADER = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
                  "Reclaimable": "RECLAIMABLE"}
IMAGE_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}"
               "\t{{.UniqueSize}}\t{{.Containers}}")
CONTAINER_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}"
                   "\t{{.Status}}\t{{.Names}}")
VOLUME_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
CACHE_TABLE = ("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}"
               "\t{{.Shared}}")
CONTAINER_RAW = ("container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n"
                 "state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
                 "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\nsize: {{.Size}}\n")
VOLUME_RAW = "name: {{.Name}}\ndriver: {{.Driver}}\n"
CACHE_RAW = ("build_cache_id: {{.ID}}\nparent_id: {{.Parent}}\nbuild_cache_type: {{.CacheType}}\n"
             "description: {{.Description}}\ncreated_at: {{.CreatedAt}}\ncreated_since: {{.CreatedSince}}\n"
             "last_used_at: {{.LastUsedAt}}\nlast_used_since: {{.LastUsedSince}}\nusage_count: {{.UsageCount}}\n"
             "in_use: {{.InUse}}\nshared: {{.Shared}}\n")
VERBOSE_RAW = ("{{range .Images}}type: Image\n" + RAW_DIGEST + "\n{{end -}}\n"
               "{{range .Containers}}type: Container\n" + CONTAINER_RAW + "\n{{end -}}\n"
               "{{range .Volumes}}type: Volume\n" + VOLUME_RAW + "\n{{end -}}\n"
               "{{range .BuildCache}}type: Build Cache\n" + CACHE_RAW + "\n{{end -}}")


def _reclaimable(reclaimable: int, size: int) -> str:
    text = tables.human_size(reclaimable)
    return f"{text} ({reclaimable * 100 // size}%)" if size > 0 else text


class Summary(RowContext):
    """One summary row (docker's diskUsage{Images,Containers,Volumes,Builder}Context)."""

    def __init__(self, kind: str, go_type: str, total: int, active: int, size: int, reclaimable: int,
                 percent: bool = True) -> None:
        self.kind, self.GO_TYPE = kind, go_type  # type: ignore[misc]
        self.total, self.active, self.size, self.reclaimable, self.percent = total, active, size, reclaimable, percent

    def Type(self) -> str:
        return self.kind

    def TotalCount(self) -> str:
        return str(self.total)

    def Active(self) -> str:
        return str(self.active)

    def Size(self) -> str:
        return tables.human_size(self.size)

    def Reclaimable(self) -> str:
        return _reclaimable(self.reclaimable, self.size) if self.percent else tables.human_size(self.reclaimable)


def summaries(du: dict[str, Any]) -> list[Summary]:
    images = du.get("Images") or []
    used = sum(int(i.get("Size", 0)) - int(i.get("SharedSize", 0)) for i in images
               if i.get("Containers", 0) != 0 and i.get("Size", 0) != -1 and i.get("SharedSize", 0) != -1)
    layers = int(du.get("LayersSize") or 0)
    containers = du.get("Containers") or []

    def active(ctr: dict[str, Any]) -> bool:
        return any(word in str(ctr.get("State", "")) for word in ("running", "paused", "restarting"))

    volumes = [v.get("UsageData") or {"RefCount": -1, "Size": -1} for v in du.get("Volumes") or []]
    cache = du.get("BuildCache") or []
    return [
        Summary("Images", "*formatter.diskUsageImagesContext", len(images),
                sum(1 for i in images if i.get("Containers", 0) > 0), layers, layers - used),
        Summary("Containers", "*formatter.diskUsageContainersContext", len(containers),
                sum(1 for c in containers if active(c)), sum(int(c.get("SizeRw") or 0) for c in containers),
                sum(int(c.get("SizeRw") or 0) for c in containers if not active(c))),
        Summary("Local Volumes", "*formatter.diskUsageVolumesContext", len(volumes),
                sum(1 for u in volumes if u.get("RefCount", 0) > 0),
                sum(int(u.get("Size", 0)) for u in volumes if u.get("Size", 0) != -1),
                sum(int(u.get("Size", 0)) for u in volumes if u.get("RefCount", 0) == 0 and u.get("Size", 0) != -1)),
        Summary("Build Cache", "*formatter.diskUsageBuilderContext", len(cache),
                sum(1 for c in cache if c.get("InUse")), _cache_size(cache),
                sum(int(c.get("Size") or 0) for c in cache if not c.get("Shared") and not c.get("InUse")),
                percent=False),
    ]


def _cache_size(cache: list[dict[str, Any]]) -> int:
    return sum(int(c.get("Size") or 0) for c in cache if not c.get("Shared"))


class ContainerRow(ctr_format.ContainerRow):
    """docker's ContainerContext, as ``system df -v`` shows containers: the image name as the
    daemon sent it (tag and digest), no virtual size, the platform field without a typed nil."""

    HEADER = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
              "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
              "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
              "Networks": "NETWORKS", "Platform": "PLATFORM"}

    def Image(self) -> str:
        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if self.trunc:
            if tables.truncate_id(str(self.c.get("ImageID") or "")) == tables.truncate_id(image):
                return tables.truncate_id(image)
            parts = split_reference(image)
            if parts is not None and not parts[2]:
                return parts[0] + (f":{parts[1]}" if parts[1] else "")
        return image

    def Size(self) -> str:
        return tables.human_size(int(self.c.get("SizeRw") or 0), 3)

    def Platform(self) -> Any:
        return self.c.get("ImageManifestDescriptor", {}).get("platform") if self.c.get("ImageManifestDescriptor") \
            else None


def go_time_text(text: str) -> str:
    """Go's ``time.Time.String()`` of a decoded API time, in the zone it was written in."""
    try:
        year, month, day, hour, minute, second, _, offset = tables._rfc3339(text)
    except ValueError:
        return "0001-01-01 00:00:00 +0000 UTC"
    fraction = ""
    if text[19:20] == ".":
        digits = text[20:].split("Z")[0].split("+")[0].split("-")[0][:9].rstrip("0")
        fraction = f".{digits}" if digits else ""
    sign = "-" if offset < 0 else "+"
    zone = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    name = "UTC" if text.endswith(("Z", "z")) else zone
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}{fraction} {zone} {name}"


class CacheRow(RowContext):
    GO_TYPE = "*formatter.buildCacheContext"
    HEADER = {"ID": "CACHE ID", "Parent": "PARENT", "CacheType": "CACHE TYPE", "Size": "SIZE",
              "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "InUse": "IN USE",
              "Shared": "SHARED", "Description": "DESCRIPTION"}

    def __init__(self, record: dict[str, Any], trunc: bool) -> None:
        self.v, self.trunc = record, trunc

    def ID(self) -> str:
        ident = str(self.v.get("ID") or "")
        ident = tables.truncate_id(ident) if self.trunc else ident
        return ident + "*" if self.v.get("InUse") else ident

    def Parent(self) -> str:
        parent = str(self.v.get("Parent") or "")  # docker 28 reads the deprecated field only
        return tables.truncate_id(parent) if self.trunc else parent

    def CacheType(self) -> str:
        return str(self.v.get("Type") or "")

    def Description(self) -> str:
        return str(self.v.get("Description") or "")

    def Size(self) -> str:
        return tables.human_size(int(self.v.get("Size") or 0), 3)

    def CreatedAt(self) -> str:
        return go_time_text(str(self.v.get("CreatedAt") or ""))

    def CreatedSince(self) -> str:
        return tables.time_ago(tables.parse_time(str(self.v.get("CreatedAt") or "")))

    def LastUsedAt(self) -> str:
        last = self.v.get("LastUsedAt")
        return go_time_text(last) if last else ""

    def LastUsedSince(self) -> str:
        last = self.v.get("LastUsedAt")
        return tables.time_ago(tables.parse_time(last)) if last else ""

    def UsageCount(self) -> str:
        return str(int(self.v.get("UsageCount") or 0))

    def InUse(self) -> str:
        return "true" if self.v.get("InUse") else "false"

    def Shared(self) -> str:
        return "true" if self.v.get("Shared") else "false"


def _image_rows(images: list[dict[str, Any]], trunc: bool) -> list[ImageRow]:
    rows = []
    for image in images:
        repo = tag = "<none>"
        tags = image.get("RepoTags") or []
        if tags and not is_dangling(image):
            parts = split_reference(str(tags[0]))
            if parts is None:
                continue
            if parts[1]:
                repo, tag = parts[0], parts[1]
        rows.append(ImageRow(image, repo, tag, "", trunc))
    return rows


def _cache_sorted(cache: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(record: dict[str, Any]) -> tuple[int, float, str]:
        last = record.get("LastUsedAt")
        return (0, 0.0, str(record.get("ID"))) if not last else (1, tables.parse_time(last), str(record.get("ID")))
    return sorted(cache, key=key)


def verbose(cli: command.Cli, du: dict[str, Any], fmt: str) -> None:
    trunc = fmt.startswith("table")
    images = _image_rows(du.get("Images") or [], trunc)
    containers = [ContainerRow(c, trunc) for c in du.get("Containers") or []]
    volumes = [VolumeRow(v) for v in du.get("Volumes") or []]
    cache = [CacheRow(c, trunc) for c in _cache_sorted(du.get("BuildCache") or [])]
    if fmt == "table":
        sections = ["Images space usage:\n\n", Formatter(IMAGE_TABLE, ImageRow.HEADER).render(images),
               "\nContainers space usage:\n\n", Formatter(CONTAINER_TABLE, ContainerRow.HEADER).render(containers),
               "\nLocal Volumes space usage:\n\n", Formatter(VOLUME_TABLE, VolumeRow.HEADER).render(volumes),
               f"\nBuild cache usage: {tables.human_size(_cache_size(du.get('BuildCache') or []))}\n\n",
               Formatter(CACHE_TABLE, CacheRow.HEADER).render(cache)]
        cli.out.write("".join(sections))
        return
    text = {"json": "{{json .}}", "raw": VERBOSE_RAW}.get(fmt, fmt)
    text = (text[len("table"):] if text.startswith("table") else text).strip(" ").replace("\\t", "\t").replace(
        "\\n", "\n")
    data = GoStruct("*formatter.diskUsageContext", {
        "Images": GoSlice("[]*formatter.imageContext", images),
        "Containers": GoSlice("[]*formatter.ContainerContext", containers),
        "Volumes": GoSlice("[]*formatter.volumeContext", volumes),
        "BuildCache": GoSlice("[]*formatter.buildCacheContext", cache)})
    try:
        template = Template(text)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from None
    out: list[str] = []
    try:  # an execution error is printed as Go's, without the prefix, after what was written
        template.execute_into(out, data)
    finally:
        cli.out.write("".join(out))


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    du = cli.client.get("/system/df") or {}
    fmt = opts.format or "table"
    if opts.verbose:
        verbose(cli, du, fmt)
        return 0
    fmt = {"table": SUMMARY_TABLE, "raw": SUMMARY_RAW}.get(fmt, fmt)
    cli.out.write(Formatter(fmt, SUMMARY_HEADER).render(summaries(du)))
    return 0
