"""The files dockerd writes for each container and binds into it: ``/etc/hostname``,
``/etc/hosts`` and ``/etc/resolv.conf``, under ``<data-root>/containers/<id>/``.

- hostname: ``Config.Hostname``;
- hosts: the host's with host networking; otherwise Docker's localhost entries, the
  container's hostname on 127.0.1.1-free loopback lines, and ``HostConfig.ExtraHosts``;
- resolv.conf: the host's, with ``HostConfig.Dns``/``DnsSearch``/``DnsOptions`` replacing
  its lines; without host networking, loopback name servers (unreachable from the
  container's own network namespace) are dropped and Google's are used when none is left,
  as dockerd does.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

HOST_HOSTS = "/etc/hosts"
HOST_RESOLV = "/etc/resolv.conf"
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
LOCAL_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def _read(path: str) -> str:
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


def resolv_conf(host_text: str, hc: Mapping[str, Any], host_network: bool) -> str:
    dns = [str(s) for s in hc.get("Dns") or []]
    search = [str(s) for s in hc.get("DnsSearch") or []]
    options = [str(s) for s in hc.get("DnsOptions") or []]
    nameservers: list[str] = []
    others: list[str] = []
    for line in host_text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            nameservers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            if not search:
                others.append(line.strip())
        elif fields[0] == "options":
            if not options:
                others.append(line.strip())
        else:
            others.append(line.strip())
    if dns:
        nameservers = dns
    elif not host_network:
        nameservers = [n for n in nameservers if not _is_loopback(n)] or list(DEFAULT_NAMESERVERS)
    lines = [f"nameserver {n}" for n in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join([*lines, *others]) + "\n"


def hosts(config: Mapping[str, Any], hc: Mapping[str, Any], host_network: bool) -> str:
    text = (_read(HOST_HOSTS) or LOCAL_HOSTS) if host_network else LOCAL_HOSTS
    for entry in hc.get("ExtraHosts") or []:
        name, _, address = str(entry).partition(":")
        if name and address:
            text += f"{address}\t{name}\n"
    return text


def write_network_files(directory: str, config: Mapping[str, Any], hc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Write the three files into ``directory``; the spec's bind mounts of them."""
    host_network = hc.get("NetworkMode") == "host"
    hostname = str(config.get("Hostname") or (socket.gethostname() if host_network else ""))
    _write(os.path.join(directory, "hostname"), hostname + "\n")
    _write(os.path.join(directory, "hosts"), hosts(config, hc, host_network))
    _write(os.path.join(directory, "resolv.conf"), resolv_conf(_read(HOST_RESOLV), hc, host_network))
    return [{"destination": f"/etc/{name}", "type": "bind", "source": os.path.join(directory, name),
             "options": ["rbind", "rprivate"]} for name in ("resolv.conf", "hostname", "hosts")]
