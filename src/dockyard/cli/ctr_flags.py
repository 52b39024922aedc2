"""The flags of ``run`` and ``create``: docker 28's container options, names, types and help.

``CONTAINER_FLAGS`` are docker's ``addFlags`` (what becomes Config/HostConfig), and
``create_flags(run=...)`` adds the command's own (``--name``, ``--pull``, ``--platform``,
and for ``run`` ``-d``, ``--sig-proxy``, ``--detach-keys``). Values are checked as the flag
is parsed, with docker's messages (``ctr_values``); the request body is built from them
by ``ctr_config``.
"""

from __future__ import annotations

from dockyard.cli import ctr_values as v
from dockyard.cli.flags import BOOL, DURATION, INT, LIST, STRING, Flag

_CGROUPNS_HELP = """Cgroup namespace to use (host|private)
'host':    Run the container in the Docker host's cgroup namespace
'private': Run the container in its own private cgroup namespace
'':        Use the cgroup namespace as configured by the
           default-cgroupns-mode option on the daemon (default)"""


def _f(name: str, short: str = "", kind: str = BOOL, help: str = "", **kw: object) -> Flag:
    return Flag(name, short, kind, help=help, **kw)  # type: ignore[arg-type]


def _bytes(name: str, help: str, short: str = "", convert: object = v.ram_in_bytes) -> Flag:
    return Flag(name, short, STRING, help=help, type_name="bytes", convert=convert, default=0)  # type: ignore[arg-type]


CONTAINER_FLAGS = [
    _f("add-host", kind=LIST, help="Add a custom host-to-IP mapping (host:ip)"),
    _f("annotation", kind=LIST, help="Add an annotation to the container (passed through to the OCI runtime) "
                                     "(default map[])", type_name="map"),
    _f("attach", "a", LIST, "Attach to STDIN, STDOUT or STDERR", convert=v.attach),
    _f("blkio-weight", kind=STRING, help="Block IO (relative weight), between 10 and 1000, or 0 to disable "
                                         "(default 0)", type_name="uint16", convert=v.parse_uint(16), default=0),
    _f("blkio-weight-device", kind=LIST, help="Block IO weight (relative device weight) (default [])",
       convert=v.weight_device),
    _f("cap-add", kind=LIST, help="Add Linux capabilities"),
    _f("cap-drop", kind=LIST, help="Drop Linux capabilities"),
    _f("cgroup-parent", kind=STRING, help="Optional parent cgroup for the container"),
    _f("cgroupns", kind=STRING, help=_CGROUPNS_HELP),
    _f("cidfile", kind=STRING, help="Write the container ID to the file"),
    _f("cpu-count", kind=INT, help="CPU count (Windows only)"),
    _f("cpu-percent", kind=INT, help="CPU percent (Windows only)"),
    _f("cpu-period", kind=INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    _f("cpu-quota", kind=INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    _f("cpu-rt-period", kind=INT, help="Limit CPU real-time period in microseconds"),
    _f("cpu-rt-runtime", kind=INT, help="Limit CPU real-time runtime in microseconds"),
    _f("cpu-shares", "c", INT, "CPU shares (relative weight)"),
    _f("cpus", kind=STRING, help="Number of CPUs", type_name="decimal", convert=v.nano_cpus, default=0),
    _f("cpuset-cpus", kind=STRING, help="CPUs in which to allow execution (0-3, 0,1)"),
    _f("cpuset-mems", kind=STRING, help="MEMs in which to allow execution (0-3, 0,1)"),
    _f("device", kind=LIST, help="Add a host device to the container"),
    _f("device-cgroup-rule", kind=LIST, help="Add a rule to the cgroup allowed devices list",
       convert=v.device_cgroup_rule),
    _f("device-read-bps", kind=LIST, help="Limit read rate (bytes per second) from a device (default [])",
       convert=v.throttle_device(False)),
    _f("device-read-iops", kind=LIST, help="Limit read rate (IO per second) from a device (default [])",
       convert=v.throttle_device(True)),
    _f("device-write-bps", kind=LIST, help="Limit write rate (bytes per second) to a device (default [])",
       convert=v.throttle_device(False)),
    _f("device-write-iops", kind=LIST, help="Limit write rate (IO per second) to a device (default [])",
       convert=v.throttle_device(True)),
    _f("disable-content-trust", help="Skip image verification", default=True),
    _f("dns", kind=LIST, help="Set custom DNS servers", convert=v.ip_address),
    _f("dns-opt", kind=LIST, help="Set DNS options", hidden=True, dest="dns_option"),
    _f("dns-option", kind=LIST, help="Set DNS options"),
    _f("dns-search", kind=LIST, help="Set custom DNS search domains"),
    _f("domainname", kind=STRING, help="Container NIS domain name"),
    _f("entrypoint", kind=STRING, help="Overwrite the default ENTRYPOINT of the image"),
    _f("env", "e", LIST, "Set environment variables", convert=v.env),
    _f("env-file", kind=LIST, help="Read in a file of environment variables"),
    _f("expose", kind=LIST, help="Expose a port or a range of ports"),
    _f("gpus", kind=STRING, help="GPU devices to add to the container ('all' to pass all GPUs)",
       type_name="gpu-request"),
    _f("group-add", kind=LIST, help="Add additional groups to join"),
    _f("health-cmd", kind=STRING, help="Command to run to check health"),
    _f("health-interval", kind=DURATION, help="Time between running the check (ms|s|m|h) (default 0s)"),
    _f("health-retries", kind=INT, help="Consecutive failures needed to report unhealthy"),
    _f("health-start-interval", kind=DURATION,
       help="Time between running the check during the start period (ms|s|m|h) (default 0s)"),
    _f("health-start-period", kind=DURATION,
       help="Start period for the container to initialize before starting health-retries countdown "
            "(ms|s|m|h) (default 0s)"),
    _f("health-timeout", kind=DURATION, help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    _f("help", help="Print usage"),
    _f("hostname", "h", STRING, "Container host name"),
    _f("init", help="Run an init inside the container that forwards signals and reaps processes"),
    _f("interactive", "i", help="Keep STDIN open even if not attached"),
    _bytes("io-maxbandwidth", "Maximum IO bandwidth limit for the system drive (Windows only)"),
    _f("io-maxiops", kind=STRING, help="Maximum IOps limit for the system drive (Windows only)", type_name="uint",
       convert=v.parse_uint(64), default=0),
    _f("ip", kind=STRING, help="IPv4 address (e.g., 172.30.100.104)"),
    _f("ip6", kind=STRING, help="IPv6 address (e.g., 2001:db8::33)"),
    _f("ipc", kind=STRING, help="IPC mode to use"),
    _f("isolation", kind=STRING, help="Container isolation technology"),
    _bytes("kernel-memory", "Kernel memory limit"),
    _f("label", "l", LIST, "Set meta data on a container", convert=v.label),
    _f("label-file", kind=LIST, help="Read in a line delimited file of labels"),
    _f("link", kind=LIST, help="Add link to another container"),
    _f("link-local-ip", kind=LIST, help="Container IPv4/IPv6 link-local addresses"),
    _f("log-driver", kind=STRING, help="Logging driver for the container"),
    _f("log-opt", kind=LIST, help="Log driver options"),
    _f("mac-address", kind=STRING, help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    _bytes("memory", "Memory limit", "m"),
    _bytes("memory-reservation", "Memory soft limit"),
    _bytes("memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", convert=v.mem_swap),
    _f("memory-swappiness", kind=INT, help="Tune container memory swappiness (0 to 100)", default=-1),
    _f("mount", kind=LIST, help="Attach a filesystem mount to the container", type_name="mount", convert=v.mount),
    _f("net", kind=LIST, help="Connect a container to a network", type_name="network", hidden=True,
       dest="network"),
    _f("net-alias", kind=LIST, help="Add network-scoped alias for the container", hidden=True,
       dest="network_alias"),
    _f("network", kind=LIST, help="Connect a container to a network", type_name="network"),
    _f("network-alias", kind=LIST, help="Add network-scoped alias for the container"),
    _f("no-healthcheck", help="Disable any container-specified HEALTHCHECK"),
    _f("oom-kill-disable", help="Disable OOM Killer"),
    _f("oom-score-adj", kind=INT, help="Tune host's OOM preferences (-1000 to 1000)"),
    _f("pid", kind=STRING, help="PID namespace to use"),
    _f("pids-limit", kind=INT, help="Tune container pids limit (set -1 for unlimited)"),
    _f("privileged", help="Give extended privileges to this container"),
    _f("publish", "p", LIST, "Publish a container's port(s) to the host"),
    _f("publish-all", "P", help="Publish all exposed ports to random ports"),
    _f("quiet", "q", help="Suppress the pull output"),
    _f("read-only", help="Mount the container's root filesystem as read only"),
    _f("restart", kind=STRING, help="Restart policy to apply when a container exits", default="no"),
    _f("rm", help="Automatically remove the container and its associated anonymous volumes when it exits"),
    _f("runtime", kind=STRING, help="Runtime to use for this container"),
    _f("security-opt", kind=LIST, help="Security Options"),
    _bytes("shm-size", "Size of /dev/shm"),
    _f("stop-signal", kind=STRING, help="Signal to stop the container"),
    _f("stop-timeout", kind=INT, help="Timeout (in seconds) to stop a container"),
    _f("storage-opt", kind=LIST, help="Storage driver options for the container"),
    _f("sysctl", kind=LIST, help="Sysctl options (default map[])", type_name="map", convert=v.sysctl),
    _f("tmpfs", kind=LIST, help="Mount a tmpfs directory"),
    _f("tty", "t", help="Allocate a pseudo-TTY"),
    _f("ulimit", kind=LIST, help="Ulimit options (default [])", type_name="ulimit", convert=v.ulimit),
    _f("use-api-socket", help="Bind mount Docker API socket and required auth"),
    _f("user", "u", STRING, "Username or UID (format: <name|uid>[:<group|gid>])"),
    _f("userns", kind=STRING, help="User namespace to use"),
    _f("uts", kind=STRING, help="UTS namespace to use"),
    _f("volume", "v", LIST, "Bind mount a volume"),
    _f("volume-driver", kind=STRING, help="Optional volume driver for the container"),
    _f("volumes-from", kind=LIST, help="Mount volumes from the specified container(s)"),
    _f("workdir", "w", STRING, "Working directory inside the container"),
]


def create_flags(run: bool) -> list[Flag]:
    """The flags of ``run`` (``run=True``) or ``create``."""
    verb = "running" if run else "creating"
    missing = "missing" if run else "|missing"
    own = [
        _f("name", kind=STRING, help="Assign a name to the container"),
        _f("platform", kind=STRING, help="Set platform if server is multi-platform capable"),
        _f("pull", kind=STRING, default="missing",
           help=f'Pull image before {verb} ("always", "{missing}", "never")'),
    ]
    if run:
        own += [
            _f("detach", "d", help="Run container in background and print container ID"),
            _f("detach-keys", kind=STRING, help="Override the key sequence for detaching a container"),
            _f("sig-proxy", help="Proxy received signals to the process", default=True),
        ]
    return [*CONTAINER_FLAGS, *own]
