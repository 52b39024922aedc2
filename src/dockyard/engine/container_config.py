"""A ContainerCreate request made whole, as dockerd keeps it: ``Config`` merged with the
image's config, ``HostConfig`` checked and given its defaults, and the engine's settings
read from them (restart policy, log configuration, stop signal and timeout).

- :func:`merge_config`: dockerd's ``merge``: the image's ``User``, ``Env`` entries the
  container does not set, ``Labels``, ``WorkingDir``, ``ExposedPorts``, ``Volumes``,
  ``StopSignal``; ``Cmd``/``Entrypoint`` from the image unless the container gives an
  entrypoint. ``Hostname`` defaults to the ID's first 12 characters. Every field
  ``docker inspect`` shows is present.
- :func:`check_config`: Config fields dockyard does not support, refused by name.
- :func:`host_config`: the stored HostConfig (NetworkMode ``bridge`` for ``default``,
  ``LogConfig`` with its type, ``RestartPolicy`` checked, ``--rm`` with a restart policy
  refused, ShmSize 64 MiB).
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.engine import defaults, logs_jsonfile
from dockyard.engine.container_health import check_healthcheck, merge_healthcheck
from dockyard.engine.spec_fields import get_int, get_str, get_str_map, get_strs, is_zero
from dockyard.errors import InvalidArgument

DEFAULT_STOP_TIMEOUT = 10
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")

# Config fields accepted only at their zero value
_CONFIG_UNSUPPORTED = {
    "OnBuild": "ONBUILD triggers belong to image builds",
    "Shell": "Shell belongs to image builds",
    "MacAddress": "MAC addresses need the network service (not available yet)",
}

_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": {},
}


def check_config(config: Mapping[str, Any]) -> None:
    for key, why in _CONFIG_UNSUPPORTED.items():
        if not is_zero(config.get(key)):
            raise InvalidArgument(f"Config.{key}: {why}")
    check_healthcheck(config.get("Healthcheck"))


def merge_config(config: Mapping[str, Any], image: Mapping[str, Any], container_id: str,
                 network_mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {**_CONFIG_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    if not out.get("User"):
        out["User"] = image.get("User") or ""
    image_env = get_strs(image, "Env", "image config")
    env = get_strs(config, "Env", "Config")
    if image_env:
        keys = {e.partition("=")[0] for e in env}
        env = [*env, *(e for e in image_env if e.partition("=")[0] not in keys)]
    out["Env"] = env or None
    labels = {**get_str_map(image, "Labels", "image config"), **get_str_map(config, "Labels", "Config")}
    out["Labels"] = labels
    entrypoint = get_strs(config, "Entrypoint", "Config") if config.get("Entrypoint") is not None else None
    cmd = get_strs(config, "Cmd", "Config")
    if not entrypoint:
        if not cmd:
            cmd = get_strs(image, "Cmd", "image config")
        if entrypoint is None:
            entrypoint = get_strs(image, "Entrypoint", "image config") or None
    out["Entrypoint"] = entrypoint
    out["Cmd"] = cmd or None
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image.get("WorkingDir") or ""
    for key in ("ExposedPorts", "Volumes"):
        merged = {**(image.get(key) or {}), **(config.get(key) or {})}
        if merged:
            out[key] = merged
        elif key == "Volumes":
            out[key] = None
    if not out.get("StopSignal") and image.get("StopSignal"):
        out["StopSignal"] = image["StopSignal"]
    health = merge_healthcheck(config.get("Healthcheck"), image.get("Healthcheck"))
    if health:
        out["Healthcheck"] = health
    if image.get("Shell"):
        out["Shell"] = list(image["Shell"])  # a CMD-SHELL check runs through it
    if not out.get("Hostname") and container_id:  # dockerd: the short ID, the host's name with host networking
        out["Hostname"] = socket.gethostname() if network_mode == "host" else container_id[:12]
    return out


def path_and_args(config: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``Path`` and ``Args`` of inspect: the entrypoint and command as one argv."""
    entrypoint = [e for e in (config.get("Entrypoint") or []) if e != ""] if config.get("Entrypoint") != [""] else []
    argv = [*entrypoint, *(config.get("Cmd") or [])]
    if not argv:
        raise InvalidArgument("Config.Cmd: No command specified")
    return argv[0], argv[1:]


@dataclass(frozen=True)
class RestartPolicy:
    name: str  # "no", "always", "unless-stopped", "on-failure"
    max_retries: int = 0


def restart_policy(hc: Mapping[str, Any]) -> RestartPolicy:
    value = hc.get("RestartPolicy") or {}
    if not isinstance(value, dict):
        raise InvalidArgument("HostConfig.RestartPolicy: must be an object")
    name = get_str(value, "Name", "HostConfig.RestartPolicy") or "no"
    retries = get_int(value, "MaximumRetryCount", "HostConfig.RestartPolicy") or 0
    if name not in RESTART_POLICIES:
        raise InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                              "'on-failure', or 'unless-stopped'")
    if retries < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if retries and name != "on-failure":
        raise InvalidArgument("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    return RestartPolicy(name, retries)


def restarts(hc: Mapping[str, Any], exit_code: int, restart_count: int, manually_stopped: bool) -> bool:
    """Whether the container's restart policy restarts it after an exit with ``exit_code``
    (on exit, and again when the engine starts)."""
    policy = restart_policy(hc)
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        return exit_code != 0 and (policy.max_retries == 0 or restart_count < policy.max_retries)
    return False


def log_config(hc: Mapping[str, Any], daemon_driver: str, daemon_opts: Mapping[str, str]) -> dict[str, Any]:
    value = hc.get("LogConfig") or {}
    if not isinstance(value, dict):
        raise InvalidArgument("HostConfig.LogConfig: must be an object")
    kind = get_str(value, "Type", "HostConfig.LogConfig") or daemon_driver or "json-file"
    opts = get_str_map(value, "Config", "HostConfig.LogConfig")
    if kind not in logs_jsonfile.SUPPORTED_DRIVERS:
        raise InvalidArgument(f"HostConfig.LogConfig.Type: logging driver {kind!r} is not supported "
                              f"(supported: {', '.join(logs_jsonfile.SUPPORTED_DRIVERS)})")
    if kind == "json-file":
        # the daemon's options fill the container's, as dockerd merges them; rotation is on by default
        opts = {**daemon_opts, **opts}
        if "max-size" not in opts:
            opts.setdefault("max-file", str(logs_jsonfile.DEFAULT_MAX_FILE))
            opts["max-size"] = logs_jsonfile.DEFAULT_MAX_SIZE_TEXT
        logs_jsonfile.rotation(opts)  # checked now, not at start
    elif opts:
        raise InvalidArgument(f"HostConfig.LogConfig.Config: the {kind} log driver takes no options")
    return {"Type": kind, "Config": opts}


def host_config(hc: Mapping[str, Any], daemon_log_driver: str, daemon_log_opts: Mapping[str, str]) -> dict[str, Any]:
    """The HostConfig to store (and show in inspect)."""
    out = dict(hc)
    policy = restart_policy(hc)
    if hc.get("AutoRemove") and policy.name != "no":
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    out["RestartPolicy"] = {"Name": policy.name, "MaximumRetryCount": policy.max_retries}
    out["LogConfig"] = log_config(hc, daemon_log_driver, daemon_log_opts)
    mode = get_str(hc, "NetworkMode")
    out["NetworkMode"] = "bridge" if mode in ("", "default") else mode
    if not hc.get("ShmSize"):
        out["ShmSize"] = defaults.DEFAULT_SHM_SIZE
    for key in ("Binds", "Links", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "CapAdd", "CapDrop",
                "GroupAdd", "SecurityOpt", "Devices", "DeviceCgroupRules", "Ulimits", "Mounts"):
        out.setdefault(key, None)
    out.setdefault("AutoRemove", False)
    out.setdefault("Privileged", False)
    out.setdefault("ReadonlyRootfs", False)
    out.setdefault("PortBindings", {})
    out.setdefault("ConsoleSize", [0, 0])
    return out


def stop_signal(config: Mapping[str, Any]) -> int:
    """``Config.StopSignal`` as a number (SIGTERM by default)."""
    text = str(config.get("StopSignal") or "")
    return parse_signal(text) if text else int(signal.SIGTERM)


def stop_timeout(config: Mapping[str, Any]) -> int:
    value = config.get("StopTimeout")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_STOP_TIMEOUT


def parse_signal(text: str) -> int:
    """``SIGKILL``, ``KILL``, ``9``, ``SIGRTMIN+3`` -> the number (InvalidArgument otherwise)."""
    value = text.strip().upper()
    if value.isdigit():
        number = int(value)
        if 0 < number <= signal.SIGRTMAX:
            return number
        raise InvalidArgument(f"Invalid signal: {text}")
    name = value if value.startswith("SIG") else "SIG" + value
    for base in ("SIGRTMIN", "SIGRTMAX"):
        if name.startswith(base) and name != base:
            rest = name[len(base):]
            try:
                offset = int(rest)
            except ValueError:
                break
            number = int(getattr(signal, base)) + offset
            if signal.SIGRTMIN <= number <= signal.SIGRTMAX:
                return number
            break
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {text}") from None
