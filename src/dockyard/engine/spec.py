"""The one translation point from a Docker container configuration to an OCI runtime spec.

:func:`build_spec` takes the Engine API's ContainerCreate ``Config`` and ``HostConfig``
and the image's config, and returns the ``config.json`` document dockerd 20.10+ would
give the runtime. The process part follows Docker's rules:

* command: an ``Entrypoint`` given in Config replaces the image's, and then only Config's
  ``Cmd`` counts; without one, the image's entrypoint is used and Config's ``Cmd`` (else
  the image's) follows it. ``Entrypoint: [""]`` resets the entrypoint. Nothing left to run
  is "No command specified";
* environment: Config's ``Env``, then the image's variables Config does not set; on top
  of ``PATH`` (the default), ``HOSTNAME`` and, with a TTY, ``TERM=xterm``. ``KEY`` alone
  unsets KEY. HOME is left to the runtime (from the container's /etc/passwd, as runc);
* ``WorkingDir``: Config's, else the image's, else ``/``; it must be absolute;
* ``User`` (Config's, else the image's) and ``GroupAdd``: see :mod:`.spec_user`;
* ``Tty`` -> ``process.terminal`` (and ``HostConfig.ConsoleSize``); ``Hostname`` (default:
  the first 12 characters of the id; the host's name with host networking or UTS);
  ``Domainname`` -> the ``kernel.domainname`` sysctl, as dockerd does. ``Labels`` and
  ``StopSignal`` are the engine's, not the runtime's: only ``HostConfig.Annotations``
  become annotations.

The rest is delegated: modes and sysctls (:mod:`.spec_namespaces`), capabilities,
SecurityOpt and seccomp (:mod:`.spec_security`), limits and devices
(:mod:`.spec_resources`), mounts (:mod:`.spec_mounts`); unsupported HostConfig fields are
refused up front (:mod:`.spec_fields`). ``HostConfig.Init`` prepends the init binary the
engine provides (``init_binary``) as ``/sbin/docker-init --``, with a private PID
namespace only.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dockyard.engine import defaults, spec_mounts, spec_namespaces, spec_resources, spec_security, spec_user
from dockyard.engine.spec_fields import check_host_config, get_bool, get_list, get_str, get_str_map, get_strs
from dockyard.engine.spec_host import Host
from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci.runtime_spec import OCI_VERSION

Reader = Callable[[str], "str | None"]
MAX_HOSTNAME = 64


def _image_section(image_config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The runtime part of an image config (a whole OCI image config is accepted too)."""
    if not image_config:
        return {}
    inner = image_config.get("config")
    if isinstance(inner, dict) and ("rootfs" in image_config or "architecture" in image_config):
        return inner
    return image_config


def command(config: Mapping[str, Any], image: Mapping[str, Any]) -> list[str]:
    """``process.args`` from Entrypoint/Cmd of the container and the image."""
    entrypoint: list[str] | None = (
        get_strs(config, "Entrypoint", "Config") if config.get("Entrypoint") is not None else None
    )
    cmd = get_strs(config, "Cmd", "Config")
    if not entrypoint:
        if not cmd:
            cmd = get_strs(image, "Cmd", "image config")
        if entrypoint is None:
            entrypoint = get_strs(image, "Entrypoint", "image config")
    if entrypoint == [""]:
        entrypoint = []
    args = [*(entrypoint or []), *cmd]
    if not args:
        raise InvalidArgument("Config.Cmd: No command specified")
    return args


def _key(entry: str) -> str:
    return entry.partition("=")[0]


def merge_env(config_env: Sequence[str], image_env: Sequence[str]) -> list[str]:
    """The container's env: its own entries, then the image's whose key it does not set."""
    if not config_env:
        return list(image_env)
    keys = {_key(e) for e in config_env}
    return [*config_env, *(e for e in image_env if _key(e) not in keys)]


def process_env(container_env: Sequence[str], *, hostname: str, tty: bool, linked: Sequence[str] = ()) -> list[str]:
    """``process.env``: PATH, HOSTNAME (and TERM), then the variables of legacy links
    (``linked``, given at start), overridden or extended by the container's."""
    env = [f"PATH={defaults.DEFAULT_PATH_ENV}", f"HOSTNAME={hostname}"]
    if tty:
        env.append("TERM=xterm")
    env += linked
    index = {_key(e): i for i, e in enumerate(env)}
    removed: set[int] = set()
    for n, entry in enumerate(container_env):
        key, eq, _ = entry.partition("=")
        if not key or "\0" in entry:
            raise InvalidArgument(f"Config.Env[{n}]: invalid environment variable {entry!r}")
        if not eq:  # KEY alone: unset it
            if key in index:
                removed.add(index[key])
            continue
        if key in index:
            env[index[key]] = entry
            removed.discard(index[key])
        else:
            env.append(entry)
    return [e for i, e in enumerate(env) if i not in removed]


def working_dir(config: Mapping[str, Any], image: Mapping[str, Any]) -> str:
    """``process.cwd``."""
    cwd = get_str(config, "WorkingDir", "Config") or get_str(image, "WorkingDir", "image config")
    if not cwd:
        return "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(
            f"Config.WorkingDir: the working directory '{cwd}' is invalid, it needs to be an absolute path")
    return "/" + posixpath.normpath(cwd).lstrip("/")


def _reader(container_files: Reader | str | None, rootfs: str) -> Reader:
    if callable(container_files):
        return container_files
    root = container_files if isinstance(container_files, str) else rootfs
    if root and root.startswith("/"):
        return spec_user.rootfs_reader(root)
    return lambda path: None


def _hostname(config: Mapping[str, Any], modes: spec_namespaces.Modes, given: str | None,
              container_id: str, host: Host) -> str:
    name = get_str(config, "Hostname", "Config")
    if name and modes.network == "container" and not modes.network_disabled:
        raise InvalidArgument("Config.Hostname: conflicting options: hostname and the network mode")
    if name and modes.uts_host:
        raise InvalidArgument("Config.Hostname: conflicting options: hostname and the UTS mode")
    if not name:
        name = given or ""
    if not name and (modes.uts_host or (modes.network == "host" and not modes.network_disabled)):
        name = host.hostname()
    name = name or container_id[:12]
    if len(name.encode()) > MAX_HOSTNAME:
        raise InvalidArgument(f"Config.Hostname: {name!r} is longer than {MAX_HOSTNAME} bytes")
    return name


def _console_size(hc: Mapping[str, Any]) -> dict[str, int] | None:
    size = get_list(hc, "ConsoleSize")
    if not size:
        return None
    if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size):
        raise InvalidArgument("HostConfig.ConsoleSize: must be [height, width]")
    if not any(size):
        return None
    return {"height": size[0], "width": size[1]}


def build_spec(
    config: Mapping[str, Any] | None,
    host_config: Mapping[str, Any] | None,
    image_config: Mapping[str, Any] | None,
    *,
    container_id: str,
    rootfs: str = "rootfs",
    hostname: str | None = None,
    host: Host | None = None,
    container_files: Reader | str | None = None,
    cgroup_parent: str = defaults.DEFAULT_CGROUP_PARENT,
    default_cgroupns: str = "host",
    extra_mounts: Sequence[Mapping[str, Any]] = (),
    shm_source: str | None = None,
    init_binary: str | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The OCI runtime spec for one container.

    ``rootfs`` is ``root.path``. ``hostname`` is used when Config has none (the engine's
    choice, e.g. the joined container's). ``host`` gives host facts and engine hooks.
    ``container_files`` reads the container's /etc/passwd and /etc/group: a callable, a
    rootfs directory, or None for ``rootfs`` itself when absolute. ``cgroup_parent`` is the
    daemon's (``HostConfig.CgroupParent`` wins); ``default_cgroupns`` applies when
    ``CgroupnsMode`` is empty. ``extra_mounts`` are the engine's own (resolv.conf, hosts,
    hostname; a user mount on the same path wins); ``shm_source`` is the host directory
    bound at /dev/shm for ``IpcMode: shareable``; ``init_binary`` the host path of the init
    for ``HostConfig.Init``. Warnings for the API response are appended to ``warnings``.
    """
    config = config or {}
    hc = host_config or {}
    image = _image_section(image_config)
    host = host or Host()
    warnings = [] if warnings is None else warnings
    check_host_config(hc)

    tty = get_bool(config, "Tty", "Config")
    modes = spec_namespaces.parse_modes(
        hc, network_disabled=get_bool(config, "NetworkDisabled", "Config"),
        default_cgroupns=default_cgroupns,
    )
    name = _hostname(config, modes, hostname, container_id, host)
    env = process_env(
        merge_env(get_strs(config, "Env", "Config"), get_strs(image, "Env", "image config")),
        hostname=name, tty=tty,
    )
    read = _reader(container_files, rootfs)
    user = spec_user.resolve_user(
        get_str(config, "User", "Config") or get_str(image, "User", "image config"),
        read(spec_user.PASSWD), read(spec_user.GROUP), get_strs(hc, "GroupAdd"),
    )

    privileged = get_bool(hc, "Privileged")
    security = spec_security.parse_security_opts(get_strs(hc, "SecurityOpt"), host)
    caps = spec_security.capabilities(
        get_strs(hc, "CapAdd"), get_strs(hc, "CapDrop"), privileged, host.cap_last_cap()
    )
    process: dict[str, Any] = {
        "terminal": tty,
        "user": user.to_spec(),
        "args": command(config, image),
        "env": env,
        "cwd": working_dir(config, image),
        "capabilities": {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)},
        "oomScoreAdj": spec_resources.oom_score_adj(hc),
    }
    console = _console_size(hc)
    if tty and console:
        process["consoleSize"] = console
    rlimits = spec_resources.rlimits(hc)
    if rlimits:
        process["rlimits"] = rlimits
    if security.no_new_privileges:
        process["noNewPrivileges"] = True

    readonly_rootfs = get_bool(hc, "ReadonlyRootfs")
    mounts = spec_mounts.plan(
        hc, host, ipc_mode=modes.ipc, ipc_ref=modes.ipc_ref, shm_source=shm_source,
        readonly_rootfs=readonly_rootfs, privileged=privileged, extra_mounts=extra_mounts,
    )
    if get_bool(hc, "Init") and modes.pid == "private":
        if not init_binary:
            raise NotImplementedYet("HostConfig.Init: no init binary is configured")
        process["args"] = [defaults.INIT_PATH_IN_CONTAINER, "--", *process["args"]]
        mounts.mounts.append({"destination": defaults.INIT_PATH_IN_CONTAINER, "type": "bind",
                              "source": init_binary, "options": ["bind", "ro"]})

    resources = spec_resources.resources(hc, host, warnings)
    device_nodes, device_rules = spec_resources.devices(hc, privileged, host)
    resources["devices"] = device_rules
    linux: dict[str, Any] = {
        "resources": resources,
        "cgroupsPath": posixpath.join(get_str(hc, "CgroupParent") or cgroup_parent, container_id),
        "namespaces": spec_namespaces.namespaces(modes, host),
        "maskedPaths": spec_security.system_paths(
            hc.get("MaskedPaths"), "MaskedPaths", privileged, security.unconfined_paths,
            defaults.MASKED_PATHS),
        "readonlyPaths": spec_security.system_paths(
            hc.get("ReadonlyPaths"), "ReadonlyPaths", privileged, security.unconfined_paths,
            defaults.READONLY_PATHS),
    }
    if device_nodes:
        linux["devices"] = device_nodes
    seccomp = spec_security.seccomp_section(security, caps, privileged, host)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    sysctl = spec_namespaces.sysctls(hc, modes, get_str(config, "Domainname", "Config"), host)
    if sysctl:
        linux["sysctl"] = sysctl
    if mounts.rootfs_propagation:
        linux["rootfsPropagation"] = mounts.rootfs_propagation

    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": readonly_rootfs},
    }
    if not modes.uts_host:
        spec["hostname"] = name
    spec["mounts"] = mounts.mounts
    annotations = get_str_map(hc, "Annotations")
    if annotations:
        spec["annotations"] = annotations
    spec["linux"] = linux
    return spec
