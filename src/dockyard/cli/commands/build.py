"""``dockyard build PATH | URL | -``: the classic ``POST /build``, as docker 28 without BuildKit.

The context (a directory with ``.dockerignore`` applied, a tar or a Dockerfile on stdin, a
git repository the client clones, a URL it downloads: ``buildcontext``) goes as a streamed ``application/x-tar`` body
with ``X-Registry-Config`` (every credential of the config file, base64url JSON) and the
query docker sends (``t`` per tag, ``dockerfile``, ``buildargs``/``labels``/``cachefrom``/
``ulimits`` as JSON, ``rm=0`` only when turned off, ``version=1``...). The daemon's JSON
stream is printed as docker's jsonmessage renders it; an ``errorDetail`` ends the command
with its message on stderr and its code as the exit status (1 when it has none). ``-q``
keeps the output back and prints what the daemon streamed (the image ID) on success, all of
it on stderr on failure; ``--iidfile`` gets the ID of the ``aux`` message (``-q``: the
printed ID). Unlike docker, no "legacy builder is deprecated" notice: this is dockyard's
only builder.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import BOOL, BYTES, INT, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.buildcontext import Context
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] PATH | URL | -"


def _tag(text: str) -> str:
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_reference

    try:
        parse_reference(text)
    except InvalidArgument as exc:
        raise ValueError(str(exc)) from None
    return text


def _extra_host(text: str) -> str:
    name, eq, address = text.partition("=")
    if not eq:
        name, _, address = text.partition(":")
    if not name or not address:
        raise ValueError(f'bad format for add-host: "{text}"')
    if address != "host-gateway":
        import ipaddress

        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise ValueError(f'invalid IP address in add-host: "{address}"') from None
    return f"{name}:{address}"


def _label(text: str) -> str:
    from dockyard.cli.ctr_values import label

    return label(text)


def _ulimit(text: str) -> dict[str, Any]:
    from dockyard.cli.ctr_values import ulimit

    return ulimit(text)


FLAGS = [
    Flag("add-host", kind=LIST, help='Add a custom host-to-IP mapping ("host:ip")', convert=_extra_host),
    Flag("build-arg", kind=LIST, help="Set build-time variables"),
    Flag("cache-from", kind=LIST, type_name="strings", help="Images to consider as cache sources"),
    Flag("cgroup-parent", kind=STRING, help='Set the parent cgroup for the "RUN" instructions during build'),
    Flag("compress", help="Compress the build context using gzip"),
    Flag("cpu-period", kind=INT, help="Limit the CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", kind=INT, help="Limit the CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpuset-cpus", kind=STRING, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", kind=STRING, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("disable-content-trust", kind=BOOL, default=True, help="Skip image verification"),
    Flag("file", "f", STRING, help='Name of the Dockerfile (Default is "PATH/Dockerfile")'),
    Flag("force-rm", help="Always remove intermediate containers"),
    Flag("iidfile", kind=STRING, help="Write the image ID to the file"),
    Flag("isolation", kind=STRING, help="Container isolation technology"),
    Flag("label", kind=LIST, help="Set metadata for an image", convert=_label),
    Flag("memory", "m", BYTES, help="Memory limit"),
    Flag("memory-swap", kind=BYTES, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
    Flag("network", kind=STRING, default="default",
         help='Set the networking mode for the RUN instructions during build'),
    Flag("no-cache", help="Do not use cache when building the image"),
    Flag("platform", kind=STRING, help="Set platform if server is multi-platform capable"),
    Flag("pull", help="Always attempt to pull a newer version of the image"),
    Flag("quiet", "q", help="Suppress the build output and print image ID on success"),
    Flag("rm", kind=BOOL, default=True, help="Remove intermediate containers after a successful build"),
    Flag("security-opt", kind=LIST, type_name="strings", help="Security options"),
    Flag("shm-size", kind=BYTES, help='Size of "/dev/shm"'),
    Flag("squash", help="Squash newly built layers into a single new layer", hidden=True),  # experimental daemons only
    Flag("tag", "t", LIST, help='Name and optionally a tag in the "name:tag" format', convert=_tag),
    Flag("target", kind=STRING, help="Set the target build stage to build."),
    Flag("ulimit", kind=LIST, type_name="ulimit", help="Ulimit options (default [])", convert=_ulimit),
]
ARGS = command.exact_args(1)


def _split_commas(values: list[str]) -> list[str]:
    """pflag's ``strings`` flags: each value is a comma-separated list."""
    return [item for value in values for item in value.split(",") if value]


def build_args(values: list[str]) -> dict[str, str | None]:
    """``KEY=VALUE``, or ``KEY`` alone: the environment's value, null when it has none."""
    from dockyard.cli.client import getenv

    found: dict[str, str | None] = {}
    for value in values:
        key, eq, rest = value.partition("=")
        found[key] = rest if eq else getenv(key)
    return dict(sorted(found.items()))


def registry_config(cli: command.Cli) -> str:
    """``X-Registry-Config``: every registry's credentials of the config file, keyed by server."""
    import binascii

    from dockyard.cli import dockerconfig
    from dockyard.oci import jsonio

    config = dockerconfig.load(cli)
    servers = sorted({*config.auths, *(config.get("credHelpers") or {})})
    fields = ("username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken")
    auths = {}
    for server in servers:
        auth = config.auth_for(server)
        auths[server] = {name: auth[name] for name in fields if auth.get(name)}
    raw = binascii.b2a_base64(jsonio.dumps(auths).encode(), newline=False).decode("ascii")
    return raw.replace("+", "-").replace("/", "_")


def query_pairs(opts: Options, dockerfile: str | None) -> list[tuple[str, str | None]]:
    from dockyard.oci import jsonio

    def flag(on: bool) -> str | None:
        return "1" if on else None

    def number(value: int) -> str | None:
        return str(value) if value else None

    labels = {}
    for text in opts.label:
        key, _, value = text.partition("=")
        labels[key] = value
    cache_from = _split_commas(opts.cache_from)
    pairs: list[tuple[str, str | None]] = [("t", tag) for tag in opts.tag]
    pairs += [("securityopt", item) for item in _split_commas(opts.security_opt)]
    pairs += [("extrahosts", host) for host in opts.add_host]
    pairs += [
        ("dockerfile", dockerfile), ("q", flag(opts.quiet)), ("nocache", flag(opts.no_cache)),
        ("rm", None if opts.rm else "0"), ("forcerm", flag(opts.force_rm)), ("pull", flag(opts.pull)),
        ("squash", flag(opts.squash)), ("target", opts.target or None),
        ("isolation", opts.isolation if opts.isolation not in ("", "default") else None),
        ("cpusetcpus", opts.cpuset_cpus or None), ("cpusetmems", opts.cpuset_mems or None),
        ("cpushares", number(opts.cpu_shares)), ("cpuquota", number(opts.cpu_quota)),
        ("cpuperiod", number(opts.cpu_period)), ("memory", number(opts.memory)),
        ("memswap", number(opts.memory_swap)), ("cgroupparent", opts.cgroup_parent or None),
        ("networkmode", opts.network if opts.network != "default" else None),
        ("shmsize", number(opts.shm_size)), ("platform", opts.platform.lower() or None),
        ("buildargs", jsonio.dumps(build_args(opts.build_arg)) if opts.build_arg else None),
        ("labels", jsonio.dumps(dict(sorted(labels.items()))) if labels else None),
        ("cachefrom", jsonio.dumps(cache_from) if cache_from else None),
        ("ulimits", jsonio.dumps(_last_ulimits(opts.ulimit)) if opts.ulimit else None),
        ("version", "1"),
    ]
    return pairs


def _last_ulimits(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for item in values:
        by_name[item["Name"]] = item
    return list(by_name.values())


def _compressed(chunks: Any) -> Any:
    import zlib

    encoder = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        data = encoder.compress(chunk)
        if data:
            yield data
    yield encoder.flush()


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    import io

    from dockyard.cli import buildcontext, term
    from dockyard.errors import InvalidArgument

    if opts.squash and cli.client.version and cli.client.ping_headers.get("docker-experimental") != "true":
        raise InvalidArgument('"--squash" is only supported on a Docker daemon with experimental features enabled')
    if opts.iidfile:
        import os

        try:
            os.remove(opts.iidfile)
        except FileNotFoundError:
            pass
    tty = not opts.quiet and term.isatty(cli.out)
    progress: Any = io.StringIO() if opts.quiet else cli.out
    output: Any = io.StringIO() if opts.quiet else cli.out
    width = term.width(cli.out) if tty else term.DEFAULT_WIDTH
    context = buildcontext.prepare(args[0], opts.file, cli.inp, progress, width)
    try:
        return _send(cli, opts, context, progress, output, tty)
    finally:
        context.close()  # a git clone goes, whatever happened


def _send(cli: command.Cli, opts: Options, context: Context, progress: Any, output: Any, tty: bool) -> int:
    """``POST /build`` with the context; the stream shown, the image ID kept."""
    from dockyard.cli import buildcontext
    from dockyard.cli.apiquery import with_query
    from dockyard.cli.jsonmessage import JSONMessageError, display_stream
    from dockyard.errors import InvalidArgument
    from dockyard.oci import jsonio

    body: Any = context.chunks
    if opts.compress:
        body = _compressed(body)
    if context.show_progress:
        body = buildcontext.sending(body, progress, tty)
    headers = {"Content-Type": "application/x-tar", "X-Registry-Config": registry_config(cli)}
    image_id = ""

    def aux(message: dict[str, Any]) -> None:
        nonlocal image_id
        value = message.get("aux")
        if isinstance(value, dict) and value.get("ID"):
            image_id = str(value["ID"])

    try:
        resp = cli.client.request("POST", with_query("/build", query_pairs(opts, context.dockerfile)),
                                  data=body, headers=headers)
        display_stream((jsonio.loads(line, "build") for line in resp.lines()), output, aux)
    except JSONMessageError as exc:
        if opts.quiet:
            cli.err.write(progress.getvalue() + output.getvalue())
        raise command.StatusError(exc.code or 1, str(exc)) from None
    if opts.quiet:
        image_id = output.getvalue()
        cli.out.write(image_id)
    if opts.iidfile:
        if not image_id:
            raise InvalidArgument(f"Server did not provide an image ID. Cannot write {opts.iidfile}")
        with open(opts.iidfile, "w") as f:
            f.write(image_id)
    return 0
