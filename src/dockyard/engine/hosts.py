"""The addresses ``dockyardd`` listens on (``--host``/``-H``, ``hosts`` in daemon.json).

``unix:///path`` (``unix://`` alone is the default socket) or ``tcp://addr:port``
(``tcp://`` alone is ``0.0.0.0:2376``); anything else is refused with the address named.
A TCP listener is only served with TLS and client certificates: ``--tlsverify`` with
``--tlscacert``, ``--tlscert`` and ``--tlskey`` (an unauthenticated TCP socket gives root
on the host to anyone who can reach it).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import InvalidArgument, NotImplementedYet

DEFAULT_SOCKET = "/run/dockyard/dockyard.sock"
DEFAULT_HOST = f"unix://{DEFAULT_SOCKET}"
DEFAULT_TLS_PORT = 2376


@dataclass(frozen=True)
class Host:
    scheme: str  # "unix" or "tcp"
    address: str  # the socket path, or the host name / IP
    port: int = 0

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.address}"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"tcp://{host}:{self.port}"


def parse_host(text: str) -> Host:
    """One ``--host`` value."""
    value = text.strip()
    if value == "" or value == "unix://":
        return Host("unix", DEFAULT_SOCKET)
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise InvalidArgument(f"invalid host {text!r}: must be unix:///path or tcp://addr:port")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise InvalidArgument(f"invalid host {text!r}: the socket path must be absolute")
        return Host("unix", rest)
    if scheme == "tcp":
        return _tcp(text, rest)
    if scheme in ("fd", "npipe", "ssh"):
        raise NotImplementedYet(f"host {text!r}: {scheme}:// listeners are not supported (use unix:// or tcp://)")
    raise InvalidArgument(f"invalid host {text!r}: unknown scheme {scheme!r} (use unix:// or tcp://)")


def _tcp(text: str, rest: str) -> Host:
    rest = rest.rstrip("/")
    if "/" in rest:
        raise InvalidArgument(f"invalid host {text!r}: a TCP host takes no path")
    if rest.startswith("["):
        addr, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        addr, _, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
    addr = addr or "0.0.0.0"
    if port_text == "":
        port = DEFAULT_TLS_PORT
    elif port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise InvalidArgument(f"invalid host {text!r}: invalid port {port_text!r}")
    return Host("tcp", addr, port)


def check_tls(hosts: tuple[Host, ...], tls_verify: bool, ca: str, cert: str, key: str) -> None:
    """InvalidArgument when a TCP host lacks any part of mutual TLS (naming what is missing)."""
    tcp = [h for h in hosts if h.scheme == "tcp"]
    if not tcp:
        return
    missing = [flag for flag, value in (("--tlsverify", tls_verify), ("--tlscacert", ca), ("--tlscert", cert),
                                        ("--tlskey", key)) if not value]
    if missing:
        raise InvalidArgument(f"{tcp[0]}: a TCP host is served only with TLS and client verification; "
                              f"missing {', '.join(missing)}")
