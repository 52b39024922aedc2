"""``dockyard version``: the client's version, and the daemon's from ``GET /version``.

The output is docker's: its default template run through a tabwriter (minwidth 20, padding
1), with the data shaped as docker's ``versionInfo`` (Go field names, so ``--format
'{{.Server.APIVersion}}'`` works as with docker; ``{{json .}}`` uses the JSON names). When the
daemon cannot be reached the client part is printed and the error follows (exit 1); a
template that does not parse exits 64.
"""

from __future__ import annotations

import posix
import sys

import dockyard
from dockyard.cli import command, tables
from dockyard.cli.client import API_VERSION
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag
from dockyard.cli.gotemplate import GoNil, GoSlice, GoStruct, Template, TemplateError
from dockyard.cli.main import BUILD
from dockyard.cli.tabwriter import TabWriter
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT)]
ARGS = command.no_args

# docker's defaultVersionTemplate; the client runs on Python, so its line says so
TEMPLATE = """{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Python version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"""

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def goarch() -> str:
    machine = posix.uname().machine
    return _GOARCH.get(machine, machine)


def client_fields(api_version: str) -> dict[str, Any]:
    """What docker's clientVersion and clientInfo say of this client, in their field order."""
    return {
        "Platform": GoNil("*system.platformInfo"),
        "Version": dockyard.__version__,
        "APIVersion": api_version,
        "DefaultAPIVersion": API_VERSION,
        "GitCommit": BUILD,
        "GoVersion": "python" + ".".join(str(n) for n in sys.version_info[:3]),
        "Os": sys.platform,
        "Arch": goarch(),
        "BuildTime": "unknown",
        "Context": "default",
    }


def client_version(api_version: str) -> GoStruct:
    """docker's clientVersion for this client."""
    return GoStruct("system.clientVersion", client_fields(api_version), {"APIVersion": "ApiVersion"},
                    ("Platform", "Version", "APIVersion", "DefaultAPIVersion", "GitCommit", "GoVersion", "BuildTime"))


def server_version(raw: dict[str, Any]) -> GoStruct:
    """``GET /version`` as docker's ``*types.Version``, the Engine component completed as docker does."""
    components = []
    for item in raw.get("Components") or []:
        details = {str(k): str(v) for k, v in (item.get("Details") or {}).items()}
        if item.get("Name") == "Engine" and "BuildTime" in details:
            details["BuildTime"] = tables.ansic(details["BuildTime"])
        components.append({"Name": item.get("Name", ""), "Version": item.get("Version", ""), "Details": details})
    if not any(c["Name"] == "Engine" for c in components):
        components.append({"Name": "Engine", "Version": raw.get("Version", ""), "Details": {
            "ApiVersion": raw.get("ApiVersion", ""), "MinAPIVersion": raw.get("MinAPIVersion", ""),
            "GitCommit": raw.get("GitCommit", ""), "GoVersion": raw.get("GoVersion", ""),
            "Os": raw.get("Os", ""), "Arch": raw.get("Arch", ""),
            "BuildTime": tables.ansic(raw.get("BuildTime", "")),
            "Experimental": "true" if raw.get("Experimental") else "false"}})
    fields = {
        "Platform": GoStruct("struct { Name string }", {"Name": (raw.get("Platform") or {}).get("Name", "")}),
        "Components": GoSlice("[]types.ComponentVersion",
                              [GoStruct("types.ComponentVersion", c, omitempty=("Details",)) for c in components]),
        "Version": raw.get("Version", ""),
        "APIVersion": raw.get("ApiVersion", ""),
        "MinAPIVersion": raw.get("MinAPIVersion", ""),
        "GitCommit": raw.get("GitCommit", ""),
        "GoVersion": raw.get("GoVersion", ""),
        "Os": raw.get("Os", ""),
        "Arch": raw.get("Arch", ""),
        "KernelVersion": raw.get("KernelVersion", ""),
        "Experimental": bool(raw.get("Experimental", False)),
        "BuildTime": raw.get("BuildTime", ""),
    }
    return GoStruct("*types.Version", fields, {"APIVersion": "ApiVersion"},
                    ("Components", "MinAPIVersion", "KernelVersion", "Experimental", "BuildTime"))


def get_details_order(component: Any) -> list[str]:
    """The version template's ``getDetailsOrder``: a component's detail keys, sorted."""
    details = component.fields.get("Details") if isinstance(component, GoStruct) else None
    return sorted(details or {})


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    text = {"": TEMPLATE, "json": "{{json .}}"}.get(opts.format, opts.format)
    try:
        template = Template(text, "version", {"getDetailsOrder": get_details_order})
    except TemplateError as exc:
        raise command.StatusError(64, f"template parsing error: {exc}") from None
    server: Any = GoNil("*types.Version")
    server_error: DockyardError | None = None
    try:
        server = server_version(cli.client.get("/version"))
        api_version = cli.client.version
    except DockyardError as exc:
        server_error, api_version = exc, API_VERSION
    data = GoStruct("system.versionInfo", {"Client": client_version(api_version), "Server": server})
    out: list[str] = []
    template_error: TemplateError | None = None
    try:
        template.execute_into(out, data)
    except TemplateError as exc:
        template_error = exc
    writer = TabWriter(20, 1, 1)
    writer.write("".join(out) + "\n")
    cli.out.write(writer.flush())
    if server_error is not None:
        raise server_error
    if template_error is not None:
        raise template_error
    return 0
