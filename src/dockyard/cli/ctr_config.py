"""The body of ``POST /containers/create`` from the flags of ``run``/``create``, as docker 28 builds it.

``build(opts, image, args)`` is docker's ``parse``: the Config (with ``HostConfig`` and
``NetworkingConfig`` inside, as the API wants it), every field docker sends, zero values
included, in docker's order, so the request is the one the real CLI makes. Errors are
``InvalidArgument`` with docker's text (``conflicting options: cannot specify both
--restart and --rm``); the command prints them as ``dockyard: <text>`` and exits 125.
Ports are ``ctr_ports``; flag values were checked when parsed (``ctr_values``).
"""

from __future__ import annotations

from dockyard.cli import ctr_values as v
from dockyard.cli.ctr_ports import exposed_ports, port_bindings
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

_EMPTY_ENDPOINT: dict[str, Any] = {
    "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None, "GwPriority": 0,
    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
    "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}
_NOT_USER_DEFINED = ("default", "bridge", "host", "none")


def _fail(message: str) -> InvalidArgument:
    return InvalidArgument(message)


def _kv_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _env(opts: Options) -> list[str] | None:
    values: list[str] = []
    try:
        for path in opts.env_file:
            values += v.read_kv_file(path, lookup=True)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    seen: dict[str, int] = {}
    given: list[str] = []
    for item in opts.env:  # docker keeps one value per name (the last)
        name = item.partition("=")[0]
        if name in seen:
            given[seen[name]] = item
        else:
            seen[name] = len(given)
            given.append(item)
    values += given
    return values or None


PROXY_VARIABLES = (("HTTP_PROXY", "httpProxy"), ("HTTPS_PROXY", "httpsProxy"), ("NO_PROXY", "noProxy"),
                   ("FTP_PROXY", "ftpProxy"), ("ALL_PROXY", "allProxy"))


def proxy_env(proxies: dict[str, Any], host: str, env: list[str]) -> list[str]:
    """docker's ParseProxyConfig: the client config's proxies (for this daemon, else ``default``)
    as HTTP_PROXY/http_proxy... variables, unless ``-e`` set them already."""
    config = proxies.get(host) if host in proxies else proxies.get("default")
    if not isinstance(config, dict):
        return env
    given = {item.partition("=")[0] for item in env}
    extra = []
    for name, key in PROXY_VARIABLES:
        value = config.get(key)
        if not value:
            continue
        for variable in (name, name.lower()):
            if variable not in given:
                extra.append(f"{variable}={value}")
    return [*env, *extra]


def _labels(opts: Options) -> dict[str, str]:
    values: list[str] = []
    try:
        for path in opts.label_file:
            values += v.read_kv_file(path, lookup=False)
    except ValueError as exc:
        raise _fail(str(exc).replace("invalid env file", "invalid label file")) from None
    return _kv_map(values + opts.label)


def _volumes(specs: list[str]) -> tuple[list[str] | None, dict[str, Any]]:
    """-v: binds (a source given) and anonymous volumes (a target only)."""
    binds: list[str] = []
    volumes: dict[str, Any] = {}
    for spec in specs:
        if not spec:
            raise _fail("invalid empty volume spec")
        source, sep, rest = spec.partition(":")
        if len(spec) <= 2 or not sep:
            volumes[spec] = {}
            continue
        bind = spec
        if source.startswith(".") and not source.startswith("/"):
            bind = v.abs_path(source) + ":" + rest
        if bind not in binds:
            binds.append(bind)
    return binds or None, volumes


def _devices(specs: list[str]) -> list[dict[str, str]]:
    devices = []
    for spec in specs:
        if "/" in spec.partition("=")[0] and "=" in spec and not spec.startswith("/"):
            continue  # a CDI device name (vendor.com/class=name) goes to DeviceRequests
        if spec.count(":") > 2 or not spec.split(":")[0]:
            raise _fail(f"bad format for path: {spec}")
        parts = spec.split(":")
        mode = "rwm"
        target = ""
        if len(parts) == 3:
            if not _device_mode(parts[2]):
                raise _fail(f"bad mode specified: {parts[2]}")
            target, mode = parts[1], parts[2]
        elif len(parts) == 2:
            if _device_mode(parts[1]):
                mode = parts[1]
            else:
                target = parts[1]
        container_path = target or parts[0]
        if not container_path.startswith("/"):
            raise _fail(f"{container_path} is not an absolute path")
        source = parts[0]
        devices.append({"PathOnHost": source, "PathInContainer": v.clean_path(target) if target else source,
                        "CgroupPermissions": mode})
    return devices


def _device_mode(mode: str) -> bool:
    return bool(mode) and all(c in "rwm" for c in mode) and len(set(mode)) == len(mode)


def _restart_policy(text: str) -> dict[str, Any]:
    if not text:
        return {"Name": "", "MaximumRetryCount": 0}
    name, sep, count = text.partition(":")
    if sep and not name:
        raise _fail("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        try:
            retries = int(count)
        except ValueError:
            raise _fail("invalid restart policy format: maximum retry count must be an integer") from None
    return {"Name": name, "MaximumRetryCount": retries}


def _security_opts(values: list[str]) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    opts: list[str] = []
    masked: list[str] | None = None
    readonly: list[str] | None = None
    for opt in values:
        if opt == "systempaths=unconfined":
            masked, readonly = [], []
            continue
        key, sep, value = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = opt.partition(":")
        if (not sep or not value) and key != "no-new-privileges":
            raise _fail(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and value not in ("builtin", "unconfined"):
            from dockyard.oci import jsonio

            try:
                with open(value, "rb") as fh:
                    profile = jsonio.loads(fh.read(), value)
            except OSError as exc:
                raise _fail(f"opening seccomp profile ({value}) failed: open {value}: "
                            f"{(exc.strerror or str(exc)).lower()}") from None
            except InvalidArgument as exc:
                raise _fail(f"compacting json for seccomp profile ({value}) failed: {exc}") from None
            opt = "seccomp=" + jsonio.dumps(profile)
        opts.append(opt)
    return (opts if values else None), masked, readonly


def _caps(values: list[str]) -> list[str] | None:
    caps = set()
    for cap in values:
        cap = cap.strip().upper()
        caps.add(cap if cap in ("ALL", "RESET") or cap.startswith("CAP_") else "CAP_" + cap)
    return sorted(caps) or None


def _nanos(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _healthcheck(opts: Options) -> dict[str, Any] | None:
    durations = {"Interval": opts.health_interval, "Timeout": opts.health_timeout,
                 "StartPeriod": opts.health_start_period, "StartInterval": opts.health_start_interval}
    have = bool(opts.health_cmd) or any(durations.values()) or bool(opts.health_retries)
    if opts.no_healthcheck:
        if have:
            raise _fail("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for name, flag in (("Interval", "interval"), ("Timeout", "timeout"), ("Retries", "retries"),
                       ("StartPeriod", "start-period"), ("StartInterval", "start-interval")):
        value = opts.health_retries if name == "Retries" else durations[name]
        if value < 0:
            raise _fail(f"--health-{flag} cannot be negative")
    health: dict[str, Any] = {}
    if opts.health_cmd:
        health["Test"] = ["CMD-SHELL", opts.health_cmd]
    for name in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        if durations[name]:
            health[name] = _nanos(durations[name])
    if opts.health_retries:
        health["Retries"] = opts.health_retries
    return health


def _gpus(text: str) -> list[dict[str, Any]] | None:
    if not text:
        return None
    request: dict[str, Any] = {"Driver": "", "Count": 0, "DeviceIDs": None, "Capabilities": [["gpu"]],
                               "Options": {}}
    for field in text.split(","):
        key, sep, value = field.partition("=")
        if not sep:
            key, value = "count", field
        if key == "count":
            request["Count"] = -1 if value == "all" else int(value) if value.isdigit() else 0
            if value != "all" and not value.isdigit():
                raise _fail(f"invalid count ({value}): value must be either \"all\" or an integer")
        elif key == "driver":
            request["Driver"] = value
        elif key == "device":
            request["DeviceIDs"] = value.split(",")
        elif key == "capabilities":
            request["Capabilities"] = [value.split(",")]
        elif key == "options":
            request["Options"].update(_kv_map(value.split(",")))
        else:
            raise _fail(f"unexpected key '{key}' in '{text}'")
    return [request]


def _endpoints(opts: Options) -> dict[str, Any]:
    networks = opts.network or []
    aliases = opts.network_alias
    links = opts.link
    if len(networks) > 1:
        raise _fail("Container cannot be connected to network endpoints: " + ", ".join(networks))
    target = networks[0] if networks else "default"
    user_defined = target not in _NOT_USER_DEFINED and not target.startswith("container:")
    if not target.strip():
        raise _fail("no name set for network")
    if not user_defined and aliases:
        raise _fail("network-scoped aliases are only supported for user-defined networks")
    endpoint = dict(_EMPTY_ENDPOINT)
    if aliases:
        endpoint["Aliases"] = list(aliases)
    if user_defined and links:
        endpoint["Links"] = list(links)
    ipam: dict[str, Any] = {}
    if opts.ip:
        ipam["IPv4Address"] = opts.ip
    if opts.ip6:
        ipam["IPv6Address"] = opts.ip6
    if opts.link_local_ip:
        ipam["LinkLocalIPs"] = list(opts.link_local_ip)
    if ipam:
        endpoint["IPAMConfig"] = ipam
    if opts.mac_address:
        endpoint["MacAddress"] = opts.mac_address.strip()
    if networks and endpoint == _EMPTY_ENDPOINT:
        return {}
    return {target: endpoint}


def _check_modes(opts: Options) -> None:
    if opts.pid not in ("", "host") and not (opts.pid.startswith("container:") and opts.pid[10:]):
        raise _fail("--pid: invalid PID mode")
    if opts.uts not in ("", "host"):
        raise _fail("--uts: invalid UTS mode")
    if opts.userns not in ("", "host"):
        raise _fail("--userns: invalid USER mode")
    if opts.cgroupns not in ("", "host", "private"):
        raise _fail("--cgroupns: invalid CGROUP mode")
    mac = opts.mac_address.strip()
    if opts.mac_address and not (len(mac.split(":")) in (6, 8, 20) and all(
            len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in mac.split(":"))):
        raise _fail(f"{opts.mac_address} is not a valid mac address")
    if opts.memory_swappiness != -1 and not 0 <= opts.memory_swappiness <= 100:
        raise _fail(f"invalid value: {opts.memory_swappiness}. Valid memory swappiness range is 0-100")


def build(opts: Options, image: str, args: list[str]) -> dict[str, Any]:
    """The create request body for ``image`` and its command ``args``."""
    _check_modes(opts)
    attach = set(opts.attach)
    stdin = "stdin" in attach or opts.interactive
    stdout, stderr = ("stdout" in attach, "stderr" in attach) if attach else (True, True)
    binds, volumes = _volumes(opts.volume)
    tmpfs = {}
    for spec in opts.tmpfs:
        target, _, options = spec.partition(":")
        tmpfs[target] = options
    entrypoint = [opts.entrypoint] if opts.entrypoint else [""] if "entrypoint" in opts.changed else None
    exposed = exposed_ports(opts.publish, opts.expose)
    bindings = port_bindings(opts.publish)
    devices = _devices(opts.device)
    env = _env(opts)
    labels = _labels(opts)
    restart = _restart_policy(opts.restart)
    log_config = _kv_map(opts.log_opt)
    if opts.log_driver == "none" and opts.log_opt:
        raise _fail(f"invalid logging opts for driver {opts.log_driver}")
    security, masked, readonly = _security_opts(opts.security_opt)
    storage = {}
    for item in opts.storage_opt:
        key, sep, value = item.partition("=")
        if not sep:
            raise _fail("invalid storage option")
        storage[key] = value
    health = _healthcheck(opts)
    config: dict[str, Any] = {
        "Hostname": opts.hostname, "Domainname": opts.domainname, "User": opts.user,
        "AttachStdin": stdin, "AttachStdout": stdout, "AttachStderr": stderr}
    if exposed:
        config["ExposedPorts"] = exposed
    config.update({"Tty": opts.tty, "OpenStdin": opts.interactive, "StdinOnce": opts.interactive and stdin,
                   "Env": env, "Cmd": list(args) or None})
    if health is not None:
        config["Healthcheck"] = health
    config.update({"Image": image, "Volumes": volumes, "WorkingDir": opts.workdir, "Entrypoint": entrypoint,
                   "OnBuild": None, "Labels": labels})
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if "stop-timeout" in opts.changed:
        config["StopTimeout"] = opts.stop_timeout
    networks = opts.network or []
    host: dict[str, Any] = {
        "Binds": binds, "ContainerIDFile": opts.cidfile,
        "LogConfig": {"Type": opts.log_driver, "Config": log_config},
        "NetworkMode": networks[0] if networks else "default", "PortBindings": bindings,
        "RestartPolicy": restart, "AutoRemove": opts.rm, "VolumeDriver": opts.volume_driver,
        "VolumesFrom": list(opts.volumes_from) or None, "ConsoleSize": [0, 0]}
    if opts.annotation:
        host["Annotations"] = _kv_map(opts.annotation)
    host.update({
        "CapAdd": _caps(opts.cap_add), "CapDrop": _caps(opts.cap_drop), "CgroupnsMode": opts.cgroupns,
        "Dns": list(opts.dns), "DnsOptions": list(opts.dns_option), "DnsSearch": list(opts.dns_search),
        "ExtraHosts": list(opts.add_host) or None, "GroupAdd": list(opts.group_add) or None,
        "IpcMode": opts.ipc, "Cgroup": "", "Links": list(opts.link) or None, "OomScoreAdj": opts.oom_score_adj,
        "PidMode": opts.pid, "Privileged": opts.privileged, "PublishAllPorts": opts.publish_all,
        "ReadonlyRootfs": opts.read_only, "SecurityOpt": security})
    if storage:
        host["StorageOpt"] = storage
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update({"UTSMode": opts.uts, "UsernsMode": opts.userns, "ShmSize": opts.shm_size})
    if opts.sysctl:
        host["Sysctls"] = _kv_map(opts.sysctl)
    if opts.runtime:
        host["Runtime"] = opts.runtime
    host.update({
        "Isolation": opts.isolation, "CpuShares": opts.cpu_shares, "Memory": opts.memory, "NanoCpus": opts.cpus,
        "CgroupParent": opts.cgroup_parent, "BlkioWeight": opts.blkio_weight,
        "BlkioWeightDevice": list(opts.blkio_weight_device), "BlkioDeviceReadBps": list(opts.device_read_bps),
        "BlkioDeviceWriteBps": list(opts.device_write_bps), "BlkioDeviceReadIOps": list(opts.device_read_iops),
        "BlkioDeviceWriteIOps": list(opts.device_write_iops), "CpuPeriod": opts.cpu_period,
        "CpuQuota": opts.cpu_quota, "CpuRealtimePeriod": opts.cpu_rt_period,
        "CpuRealtimeRuntime": opts.cpu_rt_runtime, "CpusetCpus": opts.cpuset_cpus,
        "CpusetMems": opts.cpuset_mems, "Devices": devices,
        "DeviceCgroupRules": list(opts.device_cgroup_rule) or None, "DeviceRequests": _gpus(opts.gpus),
        "MemoryReservation": opts.memory_reservation, "MemorySwap": opts.memory_swap,
        "MemorySwappiness": opts.memory_swappiness, "OomKillDisable": opts.oom_kill_disable,
        "PidsLimit": opts.pids_limit, "Ulimits": _ulimits(opts.ulimit), "CpuCount": opts.cpu_count,
        "CpuPercent": opts.cpu_percent, "IOMaximumIOps": opts.io_maxiops,
        "IOMaximumBandwidth": opts.io_maxbandwidth})
    if opts.mount:
        host["Mounts"] = list(opts.mount)
    host.update({"MaskedPaths": masked, "ReadonlyPaths": readonly})
    if "init" in opts.changed:
        host["Init"] = opts.init
    if opts.rm and restart["Name"] not in ("", "no"):
        raise _fail("conflicting options: cannot specify both --restart and --rm")
    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": _endpoints(opts)}
    return config


def _ulimits(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for item in values:  # a later --ulimit of the same name replaces the earlier one
        by_name[item["Name"]] = item
    return list(by_name.values())
