"""``dockyardd``'s settings: defaults, a JSON file like dockerd's daemon.json, then flags.

The file's keys are dockerd's names for what dockyardd supports::

    {"hosts": ["unix:///run/dockyard/dockyard.sock"], "data-root": "/var/lib/dockyard",
     "exec-root": "/run/dockyard", "containerd": "/run/other/containerd.sock",
     "runtimes": {"myrunc": {"path": "/usr/local/bin/myrunc", "runtimeArgs": ["--debug"]}},
     "default-runtime": "dockyard-runc", "log-level": "info", "debug": false,
     "tlsverify": true, "tlscacert": "...", "tlscert": "...", "tlskey": "...",
     "labels": ["a=b"], "group": "dockyard",
     "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"},
     "init-path": "/usr/bin/tini-static",
     "bridge": "dockyard0", "bip": "10.199.0.1/24",
     "default-address-pools": [{"base": "10.199.0.0/16", "size": 24}],
     "ip-forward": true, "firewall-table": "dockyard", "dns-upstreams": ["127.0.0.1:5353"]}

``dns-upstreams`` is dockyard's own: where the embedded DNS server of user-defined networks
forwards the queries of containers without ``--dns`` (default: the host resolv.conf's name
servers).

As with dockerd, a key the daemon does not know is an error naming it, and so is a setting
given both as a flag and in the file. :func:`build` returns a checked, frozen
:class:`EngineConfig`; nothing here touches the host.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine.hosts import DEFAULT_HOST, Host, check_tls, parse_host
from dockyard.errors import InvalidArgument, NotFound

DEFAULT_DATA_ROOT = "/var/lib/dockyard"
DEFAULT_EXEC_ROOT = "/run/dockyard"
DEFAULT_RUNTIME = "dockyard-runc"
DEFAULT_GROUP = "dockyard"
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "panic")


@dataclass(frozen=True)
class RuntimeEntry:
    """An OCI runtime containers may use: its binary and extra arguments."""

    path: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineConfig:
    hosts: tuple[Host, ...] = (parse_host(DEFAULT_HOST),)
    data_root: str = DEFAULT_DATA_ROOT
    exec_root: str = DEFAULT_EXEC_ROOT
    containerd: str = ""  # a running dockyard-containerd's socket ("" = start our own)
    runtimes: Mapping[str, RuntimeEntry] = field(default_factory=dict)  # added ones (--add-runtime)
    default_runtime: str = DEFAULT_RUNTIME
    log_level: str = "info"
    debug: bool = False
    tls_verify: bool = False
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    labels: tuple[str, ...] = ()
    group: str = DEFAULT_GROUP
    log_driver: str = "json-file"  # containers' default logging driver
    log_opts: Mapping[str, str] = field(default_factory=dict)  # its default options
    init_path: str = ""  # the init of ``--init`` ("" = docker-init or tini-static on PATH)
    bridge: str = "dockyard0"  # the default bridge network's interface ("none": no default bridge)
    bip: str = ""  # its address and prefix ("" = a free subnet of the pools)
    default_address_pools: tuple[tuple[str, int], ...] = ()  # (base, size); () = dockerd's defaults
    ip_forward: bool = True  # net.ipv4.ip_forward=1 when there are bridge networks (as dockerd)
    iptables: bool = True  # the engine keeps its nft table (false: no NAT, isolation or published ports)
    userland_proxy: bool = True  # accepted for dockerd's daemon.json; ports are kernel NAT either way
    live_restore: bool = True  # containers outlive the engine (false: stopped when the engine stops)
    firewall_table: str = "dockyard"  # the engine's nft table (``table ip <name>``)
    dns_upstreams: tuple[str, ...] = ()  # address[:port] the embedded DNS forwards to; () = the host's resolv.conf

    @property
    def containerd_root(self) -> str:
        return os.path.join(self.data_root, "containerd")

    @property
    def containerd_state(self) -> str:
        return os.path.join(self.exec_root, "containerd")

    @property
    def containerd_socket(self) -> str:
        """Where the supervisor answers: ``--containerd``, else our own one's socket."""
        return self.containerd or os.path.join(self.containerd_state, "containerd.sock")


# daemon.json key -> (EngineConfig field, what the value must be)
_KEYS: dict[str, tuple[str, str]] = {
    "hosts": ("hosts", "list"), "data-root": ("data_root", "str"), "exec-root": ("exec_root", "str"),
    "containerd": ("containerd", "str"), "runtimes": ("runtimes", "runtimes"),
    "default-runtime": ("default_runtime", "str"), "log-level": ("log_level", "str"), "debug": ("debug", "bool"),
    "tlsverify": ("tls_verify", "bool"), "tlscacert": ("tls_ca", "str"), "tlscert": ("tls_cert", "str"),
    "tlskey": ("tls_key", "str"), "labels": ("labels", "list"), "group": ("group", "str"),
    "log-driver": ("log_driver", "str"), "log-opts": ("log_opts", "strmap"), "init-path": ("init_path", "str"),
    "bridge": ("bridge", "str"), "bip": ("bip", "str"), "default-address-pools": ("default_address_pools", "pools"),
    "ip-forward": ("ip_forward", "bool"), "iptables": ("iptables", "bool"),
    "userland-proxy": ("userland_proxy", "bool"), "firewall-table": ("firewall_table", "str"),
    "live-restore": ("live_restore", "bool"),
    "dns-upstreams": ("dns_upstreams", "list"),
}
_FILE_NAME = {name: key for key, (name, _) in _KEYS.items()}


def _typed(path: str, key: str, kind: str, value: Any) -> Any:
    def bad(what: str) -> InvalidArgument:
        return InvalidArgument(f"config file {path}: {key}: must be {what}, got {json.dumps(value)}")

    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return list(value)
    if kind == "strmap":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad("an object of strings")
        return dict(value)
    if kind == "pools":
        return _pools(path, key, value, bad)
    if not isinstance(value, dict):
        raise bad("an object of runtimes")
    out: dict[str, RuntimeEntry] = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str) or not spec["path"]:
            raise InvalidArgument(f"config file {path}: runtimes.{name}: must be an object with a \"path\"")
        unknown = sorted(set(spec) - {"path", "runtimeArgs"})
        if unknown:
            raise InvalidArgument(f"config file {path}: runtimes.{name}: unknown keys: {', '.join(unknown)}")
        args = spec.get("runtimeArgs", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidArgument(f"config file {path}: runtimes.{name}.runtimeArgs: must be a list of strings")
        out[name] = RuntimeEntry(spec["path"], tuple(args))
    return out


def _pools(path: str, key: str, value: Any, bad: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad('a list of {"base": CIDR, "size": prefix length}')
    out = []
    for entry in value:
        base, size = entry.get("base"), entry.get("size")
        if not isinstance(base, str) or not isinstance(size, int) or isinstance(size, bool) or set(entry) - {
                "base", "size"}:
            raise bad('a list of {"base": CIDR, "size": prefix length}')
        out.append((base, size))
    return tuple(out)


def load_file(path: str) -> dict[str, Any]:
    """The settings of a daemon.json, by EngineConfig field name (only those it sets)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"config file {path}: not found") from None
    except OSError as exc:
        raise InvalidArgument(f"config file {path}: {exc.strerror}") from None
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"config file {path}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"config file {path}: must be a JSON object")
    unknown = sorted(k for k in doc if k not in _KEYS)
    if unknown:
        raise InvalidArgument(f"config file {path}: the following directives don't match any configuration "
                              f"option: {', '.join(unknown)}")
    return {_KEYS[k][0]: _typed(path, k, _KEYS[k][1], v) for k, v in doc.items()}


def parse_add_runtime(values: list[str]) -> dict[str, RuntimeEntry]:
    """``--add-runtime name=path`` values."""
    out: dict[str, RuntimeEntry] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise InvalidArgument(f"--add-runtime {value!r}: must be name=path")
        if name in out:
            raise InvalidArgument(f"--add-runtime: runtime {name!r} given twice")
        out[name] = RuntimeEntry(path)
    return out


def parse_address_pools(values: list[str]) -> tuple[tuple[str, int], ...]:
    """``--default-address-pool base=10.199.0.0/16,size=24`` values."""
    out = []
    for value in values:
        fields = dict(part.partition("=")[::2] for part in value.split(","))
        base, size = fields.get("base", ""), fields.get("size", "")
        if not base or not size.isdigit() or set(fields) - {"base", "size"}:
            raise InvalidArgument(f"--default-address-pool {value!r}: must be base=CIDR,size=N")
        out.append((base, int(size)))
    return tuple(out)


def build(flags: Mapping[str, Any], file_values: Mapping[str, Any] | None = None, file_path: str = "") -> EngineConfig:
    """The configuration from flags (field name -> value; None or absent = not given) and a
    loaded file; InvalidArgument for conflicts and invalid values."""
    given = {k: v for k, v in flags.items() if v is not None}
    file_values = dict(file_values or {})
    both = sorted(set(given) & set(file_values))
    if both:
        parts = [f"{_FILE_NAME[k]}: (from flag: {_show(given[k])}, from file: {_show(file_values[k])})" for k in both]
        raise InvalidArgument(f"the following directives are specified both as a flag and in the configuration "
                              f"file ({file_path}): {', '.join(parts)}")
    values = {**file_values, **given}
    if "hosts" in values:
        values["hosts"] = tuple(parse_host(h) for h in values["hosts"]) or EngineConfig.hosts
    if "labels" in values:
        values["labels"] = tuple(values["labels"])
    if "dns_upstreams" in values:
        values["dns_upstreams"] = tuple(values["dns_upstreams"])
    if "containerd" in values:
        values["containerd"] = values["containerd"].removeprefix("unix://")
    return check(EngineConfig(**values))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "[" + " ".join(sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def check(config: EngineConfig) -> EngineConfig:
    if config.log_level not in LOG_LEVELS:
        raise InvalidArgument(f"log level {config.log_level!r}: must be one of {', '.join(LOG_LEVELS)}")
    for name in ("data_root", "exec_root"):
        if not os.path.isabs(getattr(config, name)):
            raise InvalidArgument(f"--{name.replace('_', '-')} {getattr(config, name)!r}: must be an absolute path")
    if config.containerd and not os.path.isabs(config.containerd):
        raise InvalidArgument(f"--containerd {config.containerd!r}: must be the absolute path of a socket")
    for label in config.labels:
        if "=" not in label:
            raise InvalidArgument(f"label {label!r}: must be key=value")
    if not config.bridge or len(config.bridge) > 15 or "/" in config.bridge:
        raise InvalidArgument(f"bridge {config.bridge!r}: must be an interface name of 1-15 characters (or none)")
    from dockyard.engine.network_ipam import parse_bip, pools_of

    if config.bip:
        parse_bip(config.bip)
    pools_of(config.default_address_pools)
    from dockyard.engine.network_dns_names import parse_upstream

    for upstream in config.dns_upstreams:
        try:
            parse_upstream(upstream)
        except ValueError:
            raise InvalidArgument(f"dns-upstreams: {upstream!r}: must be an IP address and an optional :port") \
                from None
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", config.firewall_table):
        raise InvalidArgument(f"firewall-table {config.firewall_table!r}: must be letters, digits and _ "
                              "(a letter first, at most 64)")
    if len(set(config.hosts)) != len(config.hosts):
        raise InvalidArgument(f"hosts: {' '.join(str(h) for h in config.hosts)}: an address is given twice")
    check_tls(config.hosts, config.tls_verify, config.tls_ca, config.tls_cert, config.tls_key)
    return config
