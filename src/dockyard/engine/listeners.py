"""The sockets ``dockyardd`` serves the API on.

:meth:`Listeners.claim` runs first, before anything is started: each unix address is
locked and checked with :func:`dockyard.containerd.server.sockets.claim` (a live daemon on
it: refuse; a stale socket: remove). :meth:`Listeners.bind` then makes the sockets: unix
ones mode 0660, group ``dockyard`` when that group exists (root only otherwise); TCP ones
wrapped in TLS that requires a client certificate from the CA. :meth:`Listeners.close`
removes the socket files and drops the locks.
"""

from __future__ import annotations

import grp
import logging
import os
import socket
import ssl
from dataclasses import dataclass, field

from dockyard.containerd.server.sockets import AddressLock, claim
from dockyard.engine.config import EngineConfig
from dockyard.engine.hosts import Host
from dockyard.errors import InvalidArgument, Unavailable

log = logging.getLogger("dockyard.engine")

SOCKET_MODE = 0o660
BACKLOG = 128


def group_id(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def tls_context(config: EngineConfig) -> ssl.SSLContext:
    """Server TLS that demands a client certificate signed by ``--tlscacert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgument(f"--tlscert/--tlskey: cannot load: {exc}") from None
    try:
        context.load_verify_locations(config.tls_ca)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgument(f"--tlscacert: cannot load: {exc}") from None
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class Listener:
    host: Host
    sock: socket.socket | None = None
    ssl_context: ssl.SSLContext | None = None
    lock: AddressLock | None = None


@dataclass
class Listeners:
    config: EngineConfig
    items: list[Listener] = field(default_factory=list)

    @classmethod
    def claim(cls, config: EngineConfig) -> Listeners:
        out = cls(config)
        try:
            for host in config.hosts:
                lock = claim(host.address, "dockyardd") if host.scheme == "unix" else None
                out.items.append(Listener(host, lock=lock))
        except BaseException:
            out.close()
            raise
        return out

    def bind(self) -> None:
        for item in self.items:
            if item.host.scheme == "unix":
                item.sock = self._unix(item.host.address)
            else:
                item.ssl_context = tls_context(self.config)
                item.sock = self._tcp(item.host)

    def _unix(self, path: str) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # born 0600: nobody connects before the mode and group are right
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise Unavailable(f"{path}: cannot listen: {exc.strerror}") from None
        finally:
            os.umask(old)
        gid = group_id(self.config.group)
        if gid is not None:
            os.chown(path, -1, gid)
        else:
            log.debug("group %r does not exist: %s is for root only", self.config.group, path)
        os.chmod(path, SOCKET_MODE)
        sock.listen(BACKLOG)
        sock.setblocking(False)
        return sock

    def _tcp(self, host: Host) -> socket.socket:
        family = socket.AF_INET6 if ":" in host.address else socket.AF_INET
        try:
            sock = socket.create_server((host.address, host.port), family=family, backlog=BACKLOG)
        except OSError as exc:
            raise Unavailable(f"{host}: cannot listen: {exc.strerror}") from None
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        for item in self.items:
            if item.sock is not None:
                item.sock.close()
                item.sock = None
                if item.host.scheme == "unix":
                    try:
                        os.unlink(item.host.address)
                    except FileNotFoundError:
                        pass
            if item.lock is not None:
                item.lock.release()
                item.lock = None
