"""``dockyard info`` / ``system info``: ``GET /info`` in docker 28's layout, or through ``--format``.

The human form is docker's ``prettyPrintInfo``: a ``Client:`` section (version, context,
debug mode), then ``Server:`` with the containers by state, images, storage and logging
drivers, cgroups, plugins, swarm, runtimes, security options, kernel and OS, CPUs and
memory, root dir and the rest, each line only when docker prints it; the daemon's warnings
go to stderr. A daemon that cannot be reached is an ``ERROR:`` line and exit 1.

``--format`` runs the template over docker's ``dockerInfo`` (the server's fields, then
``ClientInfo``, ``ServerErrors``, ``ClientErrors``); a template that needs only the client
part does not ask the daemon.
"""

from __future__ import annotations

from dockyard.cli import command, tables
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag
from dockyard.cli.gotemplate import GoSlice, GoStruct, Template, TemplateError
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT)]
ARGS = command.no_args


def client_info(cli: command.Cli) -> GoStruct:
    """docker's clientInfo for this client (no plugins)."""
    from dockyard.cli.commands.version import client_fields

    fields = {
        "Debug": cli.debug,
        **client_fields(""),
        "Plugins": GoSlice("[]pluginmanager.Plugin", []),
        "Warnings": None,
    }
    return GoStruct("*system.clientInfo", fields, {"APIVersion": "ApiVersion"},
                    ("Platform", "Version", "APIVersion", "DefaultAPIVersion", "GitCommit", "GoVersion", "Os",
                     "Arch", "BuildTime"))


# system.Info with Go's zero values, in Go's field order (what docker renders when the daemon
# did not answer, and the order of ``--format json``); omitempty fields are left out
ZERO_INFO: dict[str, Any] = {
    "ID": "", "Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0, "Images": 0,
    "Driver": "", "DriverStatus": None,
    "Plugins": {"Volume": None, "Network": None, "Authorization": None, "Log": None},
    "MemoryLimit": False, "SwapLimit": False, "CpuCfsPeriod": False, "CpuCfsQuota": False, "CPUShares": False,
    "CPUSet": False, "PidsLimit": False, "IPv4Forwarding": False, "Debug": False, "NFd": 0, "OomKillDisable": False,
    "NGoroutines": 0, "SystemTime": "", "LoggingDriver": "", "CgroupDriver": "", "NEventsListener": 0,
    "KernelVersion": "", "OperatingSystem": "", "OSVersion": "", "OSType": "", "Architecture": "",
    "IndexServerAddress": "", "RegistryConfig": None, "NCPU": 0, "MemTotal": 0, "GenericResources": None,
    "DockerRootDir": "", "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": "", "Labels": None,
    "ExperimentalBuild": False, "ServerVersion": "", "Runtimes": None, "DefaultRuntime": "",
    "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "", "ControlAvailable": False, "Error": "",
              "RemoteManagers": None},
    "LiveRestoreEnabled": False, "Isolation": "", "InitBinary": "", "ContainerdCommit": {"ID": ""},
    "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""}, "SecurityOptions": None, "CDISpecDirs": None,
    "Warnings": None,
}


def docker_info(server: dict[str, Any], client: GoStruct) -> GoStruct:
    """docker's dockerInfo: the server's fields (over Go's zero values) and the client's."""
    fields = {**ZERO_INFO, **server, "ServerErrors": GoSlice("[]string", []), "UserName": "", "ClientInfo": client,
              "ClientErrors": GoSlice("[]string", [])}
    return GoStruct("system.dockerInfo", fields, omitempty=("ServerErrors", "UserName", "ClientErrors"))


def needs_server(fmt: str, client: GoStruct) -> bool:
    """docker's needsServerInfo: only a template that runs on the client part alone skips the daemon."""
    if not any(fmt[i] == "." and fmt[i + 1:i + 2].isalpha() for i in range(len(fmt))):
        return True
    try:
        sparse = GoStruct("struct { ClientInfo *system.clientInfo; ClientErrors []string }",
                          {"ClientInfo": client, "ClientErrors": GoSlice("[]string", [])})
        Template(fmt).execute(sparse)
    except TemplateError:
        return True
    return False


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    fmt = "{{json .}}" if opts.format == "json" else opts.format
    client = client_info(cli)
    server: dict[str, Any] = {}
    error: DockyardError | None = None
    if not fmt or needs_server(fmt, client):
        try:
            server = cli.client.get("/info") or {}
        except DockyardError as exc:
            error = exc
    if not fmt:
        return pretty_print(cli, client, None if error else server, error)
    try:
        template = Template(fmt)
    except TemplateError as exc:
        raise command.StatusError(64, f"template parsing error: {exc}") from None
    if error is not None:
        cli.err.write(f"{error}\n")
    out: list[str] = []
    try:
        template.execute_into(out, docker_info(server, client))
    finally:
        cli.out.write("".join(out) + "\n")
    if error is not None:
        raise command.StatusError(1)
    return 0


def _line(out: list[str], label: str, value: Any) -> None:
    """Go's ``fmt.Println(label, value)``."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif value is None:
        value = "<nil>"
    out.append(f"{label} {value}\n")


def _nonempty(out: list[str], label: str, value: Any) -> None:
    if value:
        _line(out, label, value)


def pretty_print(cli: command.Cli, client: GoStruct, server: dict[str, Any] | None,
                 error: DockyardError | None) -> int:
    out = ["Client:\n"]
    _nonempty(out, " Version:   ", client.fields["Version"])
    _line(out, " Context:   ", client.fields["Context"])
    _line(out, " Debug Mode:", client.fields["Debug"])
    out.append("\nServer:\n")
    warnings: list[str] = []
    if server is not None:
        try:
            server_lines(out, server, cli)
        except DockyardError as exc:
            error = exc
        warnings = [str(w) for w in server.get("Warnings") or []]
    cli.out.write("".join(out))
    for warning in warnings:
        cli.err.write(warning + "\n")
    if error is not None:
        raise command.StatusError(1, str(error))
    return 0


def _security_options(options: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """docker's DecodeSecurityOptions: ``name=seccomp,profile=builtin`` into a name and its options."""
    decoded: list[tuple[str, list[tuple[str, str]]]] = []
    for option in options:
        if "=" not in option:
            decoded.append((option, []))  # the legacy form: just a name
            continue
        name, pairs = "", list[tuple[str, str]]()
        for item in option.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise DockyardError(f"invalid security option {option!r}")
            if key == "name":
                name = value
            else:
                pairs.append((key, value))
        decoded.append((name, pairs))
    return decoded


def server_lines(out: list[str], info: dict[str, Any], cli: command.Cli) -> None:
    get = info.get
    _line(out, " Containers:", get("Containers", 0))
    _line(out, "  Running:", get("ContainersRunning", 0))
    _line(out, "  Paused:", get("ContainersPaused", 0))
    _line(out, "  Stopped:", get("ContainersStopped", 0))
    _line(out, " Images:", get("Images", 0))
    _nonempty(out, " Server Version:", get("ServerVersion"))
    _nonempty(out, " Storage Driver:", get("Driver"))
    out.extend(f"  {pair[0]}: {pair[1]}\n" for pair in get("DriverStatus") or [] if len(pair) == 2)
    out.extend(f" {pair[0]}: {pair[1]}\n" for pair in get("SystemStatus") or [] if len(pair) == 2)
    _nonempty(out, " Logging Driver:", get("LoggingDriver"))
    _nonempty(out, " Cgroup Driver:", get("CgroupDriver"))
    _nonempty(out, " Cgroup Version:", get("CgroupVersion"))
    plugins = get("Plugins") or {}
    out.append(" Plugins:\n")
    _line(out, "  Volume:", " ".join(plugins.get("Volume") or []))
    _line(out, "  Network:", " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        _line(out, "  Authorization:", " ".join(plugins["Authorization"]))
    _line(out, "  Log:", " ".join(plugins.get("Log") or []))
    if info.get("CDISpecDirs"):
        out.append(" CDI spec directories:\n")
        out.extend(f"  {d}\n" for d in info["CDISpecDirs"])
    swarm = get("Swarm") or {}
    _line(out, " Swarm:", swarm.get("LocalNodeState", ""))
    if swarm.get("LocalNodeState", "") not in ("inactive", "locked"):
        _line(out, "  NodeID:", swarm.get("NodeID", ""))
        if swarm.get("Error"):
            _line(out, "  Error:", swarm["Error"])
        _line(out, "  Is Manager:", bool(swarm.get("ControlAvailable")))
        _line(out, "  Node Address:", swarm.get("NodeAddr", ""))
    runtimes = get("Runtimes") or {}
    if runtimes:
        _line(out, " Runtimes:", " ".join(sorted(runtimes)))  # docker's order is Go's map order: random
        _line(out, " Default Runtime:", get("DefaultRuntime", ""))
    if get("OSType") == "linux":
        _line(out, " Init Binary:", get("InitBinary", ""))
        _line(out, " containerd version:", (get("ContainerdCommit") or {}).get("ID", ""))
        _line(out, " runc version:", (get("RuncCommit") or {}).get("ID", ""))
        _line(out, " init version:", (get("InitCommit") or {}).get("ID", ""))
        if info.get("SecurityOptions"):
            decoded = _security_options(info["SecurityOptions"])
            out.append(" Security Options:\n")
            for name, options in decoded:
                out.append(f"  {name}\n")
                out.extend(f"   Profile: {value}\n" for key, value in options if key == "profile")
    if get("OSType") == "windows":
        _line(out, " Default Isolation:", get("Isolation", ""))
    _nonempty(out, " Kernel Version:", get("KernelVersion"))
    _nonempty(out, " Operating System:", get("OperatingSystem"))
    _nonempty(out, " OSType:", get("OSType"))
    _nonempty(out, " Architecture:", get("Architecture"))
    _line(out, " CPUs:", get("NCPU", 0))
    _line(out, " Total Memory:", tables.bytes_size(get("MemTotal") or 0))
    _nonempty(out, " Name:", get("Name"))
    _nonempty(out, " ID:", get("ID"))
    _line(out, " Docker Root Dir:", get("DockerRootDir", ""))
    _line(out, " Debug Mode:", bool(get("Debug")))
    if get("Debug") or cli.debug:
        _line(out, "  File Descriptors:", get("NFd", 0))
        _line(out, "  Goroutines:", get("NGoroutines", 0))
        _line(out, "  System Time:", get("SystemTime", ""))
        _line(out, "  EventsListeners:", get("NEventsListener", 0))
    _nonempty(out, " HTTP Proxy:", get("HttpProxy"))
    _nonempty(out, " HTTPS Proxy:", get("HttpsProxy"))
    _nonempty(out, " No Proxy:", get("NoProxy"))
    _nonempty(out, " Username:", _hub_username(cli))
    if info.get("Labels"):
        out.append(" Labels:\n")
        out.extend(f"  {label}\n" for label in info["Labels"])
    _line(out, " Experimental:", bool(get("ExperimentalBuild")))
    registry = get("RegistryConfig") or {}
    index_configs = registry.get("IndexConfigs") or {}
    cidrs = registry.get("InsecureRegistryCIDRs") or []
    if index_configs or cidrs:
        out.append(" Insecure Registries:\n")
        out.extend(f"  {config.get('Name', name)}\n" for name, config in sorted(index_configs.items())
                   if not config.get("Secure"))
        out.extend(f"  {cidr}\n" for cidr in cidrs)
    if registry.get("Mirrors"):
        out.append(" Registry Mirrors:\n")
        out.extend(f"  {mirror}\n" for mirror in registry["Mirrors"])
    _line(out, " Live Restore Enabled:", bool(get("LiveRestoreEnabled")))
    if get("ProductLicense"):
        _line(out, " Product License:", get("ProductLicense"))
    if info.get("DefaultAddressPools"):
        out.append(" Default Address Pools:\n")
        out.extend(f"   Base: {pool.get('Base', '')}, Size: {pool.get('Size', 0)}\n"
                   for pool in info["DefaultAddressPools"])
    out.append("\n")


def _hub_username(cli: command.Cli) -> str:
    """The Docker Hub user of the config file (docker's AuthConfigs entry, not a helper's)."""
    from dockyard.cli.dockerconfig import INDEX_SERVER, load

    try:
        entry = load(cli).auths.get(INDEX_SERVER) or {}
        if entry.get("username"):
            return str(entry["username"])
        import binascii

        return binascii.a2b_base64(entry.get("auth") or "").decode().partition(":")[0]
    except (DockyardError, ValueError, UnicodeDecodeError):
        return ""
