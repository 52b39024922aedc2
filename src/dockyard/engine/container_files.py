"""The files dockerd writes for each container and binds into it: ``/etc/hostname``,
``/etc/hosts`` and ``/etc/resolv.conf``, under ``<data-root>/containers/<id>/``.

- hostname: ``Config.Hostname``;
- hosts: the host's with host networking (unless ``ExtraHosts`` are given); otherwise
  Docker's localhost entries and ``HostConfig.ExtraHosts`` (``host-gateway`` standing for
  the default bridge's gateway, as dockerd 20.10+ writes it); the container's own address
  and hostname are added at start on bridge networks;
- resolv.conf: with ``HostConfig.Dns``/``DnsSearch``/``DnsOptions``, dockerd's rebuilt file
  (``search``, ``nameserver`` lines, ``options``; what is not given is the host's);
  otherwise the host's, where without host networking loopback name servers (unreachable
  from the container's own network namespace) are dropped and Google's are used when none
  is left, as dockerd does. On a user-defined network (:func:`internal_resolv_conf`): the embedded
  DNS server ``127.0.0.11`` (see :mod:`.network_dns`), the search domains, ``ndots:0``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from dockyard.errors import InvalidArgument

HOST_HOSTS = "/etc/hosts"
HOST_RESOLV = "/etc/resolv.conf"
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
HOST_GATEWAY = "host-gateway"  # --add-host name:host-gateway
INTERNAL_NAMESERVER = "127.0.0.11"  # the embedded DNS server (network_dns)
LOCAL_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def read_text(path: str) -> str:
    """The file's text; "" when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def _last_fields(host_text: str, keyword: str) -> list[str]:
    """The values of the last ``keyword`` line (as libnetwork's resolvconf reads them)."""
    found: list[str] = []
    for line in host_text.splitlines():
        fields = line.split()
        if fields and fields[0] == keyword:
            found = fields[1:]
    return found


def _built(host_text: str, dns: list[str], search: list[str], options: list[str]) -> str:
    """dockerd's resolv.conf when any of ``--dns``, ``--dns-search``, ``--dns-option`` is
    given: search, name servers, options, each the given one or the host's (unfiltered)."""
    nameservers = dns or [f[1] for f in (line.split() for line in host_text.splitlines())
                          if len(f) > 1 and f[0] == "nameserver"]
    search = search or _last_fields(host_text, "search")
    options = options or _last_fields(host_text, "options")
    lines = ["search " + " ".join(search)] if search and " ".join(search).strip() != "." else []
    lines += [f"nameserver {n}" for n in nameservers]
    if options:
        lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)


def resolv_conf(host_text: str, hc: Mapping[str, Any], host_network: bool) -> str:
    """The resolv.conf of a container that does not use the embedded DNS server: built from
    ``--dns``/``--dns-search``/``--dns-option`` when any is given; the host's file as it is
    with host networking; else the host's file with its loopback (and, IPv6 being off, its
    IPv6) name servers removed line by line and, when none is left, Google's appended, as
    dockerd 20.10's resolvconf.FilterResolvDNS does (comments and layout kept)."""
    dns = [str(s) for s in hc.get("Dns") or []]
    search = [str(s) for s in hc.get("DnsSearch") or []]
    options = [str(s) for s in hc.get("DnsOptions") or []]
    if dns or search or options:
        return _built(host_text, dns, search, options)
    if host_network:
        return host_text
    kept = [line for line in host_text.splitlines(keepends=True) if not _filtered_nameserver(line)]
    text = "".join(kept)
    if not any(_nameserver(line) for line in kept):
        text += "\n" + "\n".join(f"nameserver {n}" for n in DEFAULT_NAMESERVERS)
    return text


def _nameserver(line: str) -> str:
    fields = line.split()
    return fields[1] if len(fields) > 1 and fields[0] == "nameserver" else ""


def _filtered_nameserver(line: str) -> bool:
    address = _nameserver(line)
    return bool(address) and (_is_loopback(address) or ":" in address)


def internal_resolv_conf(host_text: str, hc: Mapping[str, Any]) -> str:
    """The resolv.conf of a container on a user-defined network, as dockerd 28 writes it: the
    embedded DNS server only, the host's search domains (or ``DnsSearch``), its options (or
    ``DnsOptions``) with ``ndots:0`` unless they set ndots."""
    search = [str(s) for s in hc.get("DnsSearch") or []]
    options = [str(s) for s in hc.get("DnsOptions") or []]
    host_options: list[str] = []
    for line in host_text.splitlines():
        fields = line.split()
        if fields and fields[0] in ("search", "domain") and not hc.get("DnsSearch"):
            search = fields[1:]
        elif fields and fields[0] == "options":
            host_options += fields[1:]
    options = options or host_options
    if not any(o.startswith("ndots:") for o in options):
        options.append("ndots:0")
    lines = [f"nameserver {INTERNAL_NAMESERVER}"]
    if search and search != ["."]:
        lines.append("search " + " ".join(search))
    lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)


def uses_internal_dns(hc: Mapping[str, Any]) -> bool:
    """Whether the network mode names a user-defined network (the embedded DNS server's)."""
    mode = str(hc.get("NetworkMode") or "")
    return mode not in ("", "default", "bridge", "host", "none") and not mode.startswith("container:")


def hosts(config: Mapping[str, Any], hc: Mapping[str, Any], host_network: bool, gateway: str = "") -> str:
    """``gateway``: the address ``host-gateway`` stands for (the default bridge's gateway).
    With host networking and no ``ExtraHosts``, the host's file as it is (as dockerd copies it)."""
    extra = [str(e).partition(":") for e in hc.get("ExtraHosts") or []]
    text = (read_text(HOST_HOSTS) or LOCAL_HOSTS) if host_network and not extra else LOCAL_HOSTS
    for name, _, address in extra:
        if address == HOST_GATEWAY:
            if not gateway:
                raise InvalidArgument("unable to derive the IP value for host-gateway")
            address = gateway
        if name and address:
            text += f"{address}\t{name}\n"
    return text


def write_network_files(directory: str, config: Mapping[str, Any], hc: Mapping[str, Any],
                        gateway: str = "") -> list[dict[str, Any]]:
    """Write the three files into ``directory``; the spec's bind mounts of them."""
    host_network = hc.get("NetworkMode") == "host"
    hostname = str(config.get("Hostname") or (socket.gethostname() if host_network else ""))
    _write(os.path.join(directory, "hostname"), hostname + "\n")
    _write(os.path.join(directory, "hosts"), hosts(config, hc, host_network, gateway))
    host_resolv = read_text(HOST_RESOLV)
    _write(os.path.join(directory, "resolv.conf"), internal_resolv_conf(host_resolv, hc) if uses_internal_dns(hc)
           else resolv_conf(host_resolv, hc, host_network))
    return [{"destination": f"/etc/{name}", "type": "bind", "source": os.path.join(directory, name),
             "options": ["rbind", "rprivate"]} for name in ("resolv.conf", "hostname", "hosts")]
