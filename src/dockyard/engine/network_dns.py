"""The embedded DNS server of user-defined networks (dockerd's 127.0.0.11), in the engine's loop.

- :class:`EmbeddedDns` keeps one :class:`Sandbox` per running container with an endpoint on a
  user-defined bridge network: a UDP and a TCP socket bound on ``127.0.0.11`` *inside the
  container's network namespace*, each at a port the kernel chose, and the namespace's
  ``dockyard-dns`` nft table that DNATs ``127.0.0.11:53`` to them (and gives the replies
  ``:53`` back; :mod:`.network_dns_nat`), as dockerd does: port 53 stays the container's
  own. Sockets and table are made by a thread that joined the namespace
  (:func:`dockyard.engine.network_bridge.in_thread`), the sockets then served from the
  engine's asyncio loop (a socket stays in the namespace it was made in). An engine started
  again binds new sockets and replaces the table in one transaction. Without a namespace
  (the unit tests) the sockets are bound at the configured port itself, without a table.
- Answers come from a :class:`~.network_dns_names.NameTable` rebuilt from the network
  service's endpoints whenever they change (:func:`sync`, :func:`gone`); what it does not
  know is forwarded from the engine (the host's namespace) to the container's upstreams, one
  after the other with a timeout each (SERVFAIL when none answers). TCP queries
  (length-prefixed) are forwarded over TCP.
- :func:`sync` (after a container's endpoints changed: start, connect, disconnect, the engine's
  restart), :func:`gone` (its network torn down) are what :mod:`.network_containers` calls;
  :func:`write_resolv_conf` gives the container the resolv.conf that goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode

from dockyard.engine import network_dns_nat
from dockyard.engine.container_files import HOST_RESOLV, internal_resolv_conf, read_text, resolv_conf
from dockyard.engine.container_links import dns_links
from dockyard.engine.network_dns_names import (
    DEFAULT_NETWORK,
    NameTable,
    Upstream,
    answer,
    entry,
    servfail,
    upstreams,
)
from dockyard.errors import DockyardError, Internal

if TYPE_CHECKING:
    from dockyard.engine.container_model import Container
    from dockyard.engine.network_model import Network
    from dockyard.engine.network_service import NetworkService

log = logging.getLogger("dockyard.engine.dns")

ADDRESS = "127.0.0.11"
PORT = 53
UPSTREAM_TIMEOUT = 4.0  # per upstream, as dockerd
TCP_IDLE = 10.0  # a TCP client that sends nothing for this long is dropped
UDP_MAX = 512  # a UDP reply's size without EDNS


def uses_dns(net: Network) -> bool:
    """User-defined bridge networks have the embedded DNS; the default ``bridge`` has not."""
    return net.driver == "bridge" and net.name != DEFAULT_NETWORK


@dataclass
class Sandbox:
    """A container's DNS sockets and where its forwarded queries go."""

    container_id: str
    upstreams: list[Upstream]
    netns: str = ""  # the namespace its sockets and nft table are in ("": the engine's own, no table)
    external: bool = True  # whether names it does not know are forwarded (not on internal networks only)
    udp: asyncio.DatagramTransport | None = None
    tcp: asyncio.Server | None = None
    clients: set[asyncio.StreamWriter] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
        for writer in self.clients:
            writer.close()
        for task in self.tasks:
            task.cancel()


def bind_sockets(address: str = ADDRESS, port: int = PORT) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on ``address:port`` of the calling thread's namespace
    (port 0: each at a port of its own the kernel chooses)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((address, port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, port))
        tcp.listen(128)
        udp.setblocking(False)
        tcp.setblocking(False)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


def bind_behind_nat(address: str = ADDRESS, port: int = PORT) -> tuple[socket.socket, socket.socket]:
    """In the calling thread's namespace: a UDP and a TCP socket on ``address`` at ports the
    kernel chose, and the nft table that sends ``address:port`` to them (replacing an older
    one's ports). When nft cannot make the table (no libnftables, no NAT in the kernel), the
    sockets are bound at ``address:port`` itself, as a fallback that takes that port from
    the container."""
    udp, tcp = bind_sockets(address, 0)
    try:
        network_dns_nat.install(address, port, udp.getsockname()[1], tcp.getsockname()[1])
    except BaseException as exc:
        udp.close()
        tcp.close()
        if not isinstance(exc, DockyardError):
            raise
        log.warning("embedded DNS: no %s nft table (%s): serving %s:%d directly", network_dns_nat.TABLE, exc,
                    address, port)
        with contextlib.suppress(DockyardError):  # an older engine's table would send the port elsewhere
            network_dns_nat.withdraw()
        return bind_sockets(address, port)
    return udp, tcp


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: EmbeddedDns, sandbox: Sandbox) -> None:
        self.server = server
        self.sandbox = sandbox
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        task = asyncio.get_running_loop().create_task(self._reply(data, addr))
        self.sandbox.tasks.add(task)
        task.add_done_callback(self.sandbox.tasks.discard)

    async def _reply(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = await self.server.resolve(self.sandbox, data, tcp=False)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


class EmbeddedDns:
    """The engine's embedded DNS server (see the module docstring).

    ``override``: upstreams for containers without ``--dns`` instead of the host's
    resolv.conf name servers (``address[:port]``; the daemon's ``dns-upstreams``);
    ``resolv_conf``: the host file they are read from otherwise."""

    def __init__(self, override: Sequence[str] = (), resolv_conf: str = "/etc/resolv.conf",
                 timeout: float = UPSTREAM_TIMEOUT, address: str = ADDRESS, port: int = PORT) -> None:
        self.override = list(override)
        self.resolv_conf = resolv_conf
        self.timeout = timeout
        self.address = address
        self.port = port
        self.table = NameTable()
        self.sandboxes: dict[str, Sandbox] = {}
        self.hostnames: dict[str, str] = {}  # container ID -> hostname, of the containers on user-defined networks
        self.links: dict[str, tuple[tuple[str, str, str], ...]] = {}  # container ID -> (network, alias, name)
        self._refreshing = asyncio.Lock()
        self._adding = asyncio.Lock()

    # -- containers ----------------------------------------------------------------------------

    def upstreams_for(self, container_dns: Sequence[str]) -> list[Upstream]:
        return upstreams(container_dns, self.override, read_text(self.resolv_conf))

    async def add(self, container_id: str, netns_path: str, container_dns: Sequence[str] = ()) -> None:
        """Serve the container: sockets on 127.0.0.11 and the table that sends port 53 to them in
        its namespace at ``netns_path`` (sockets on the port itself without one; Internal if not
        possible)."""
        async with self._adding:
            if container_id not in self.sandboxes:
                await self._add(container_id, netns_path, container_dns)

    async def _add(self, container_id: str, netns_path: str, container_dns: Sequence[str]) -> None:
        from dockyard.engine.network_bridge import in_thread

        bind = bind_behind_nat if netns_path else bind_sockets
        try:
            udp, tcp = await asyncio.to_thread(in_thread, lambda: bind(self.address, self.port), netns_path)
        except OSError as exc:
            raise Internal(f"embedded DNS of container {container_id[:12]}: cannot serve {self.address}:{self.port} "
                           f"in its network namespace: {exc.strerror or exc}") from None
        sandbox = Sandbox(container_id, self.upstreams_for(container_dns), netns_path)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self, sandbox), sock=udp)
            sandbox.udp = transport
            sandbox.tcp = await asyncio.start_server(lambda r, w: self._serve_tcp(sandbox, r, w), sock=tcp)
        except BaseException:
            sandbox.close()
            udp.close()
            tcp.close()
            raise
        self.sandboxes[container_id] = sandbox

    def remove(self, container_id: str) -> Sandbox | None:
        """No longer serve the container (its namespace's table stays: see :meth:`withdraw`)."""
        self.hostnames.pop(container_id, None)
        self.links.pop(container_id, None)
        sandbox = self.sandboxes.pop(container_id, None)
        if sandbox is not None:
            sandbox.close()
        return sandbox

    async def withdraw(self, container_id: str) -> None:
        """No longer serve a container that runs on: its sockets close and its namespace's
        table goes, so 127.0.0.11:53 there is again whatever the container binds itself."""
        from dockyard.engine.network_bridge import in_thread

        sandbox = self.remove(container_id)
        if sandbox is None or not sandbox.netns or not os.path.exists(sandbox.netns):
            return
        try:
            await asyncio.to_thread(in_thread, network_dns_nat.withdraw, sandbox.netns)
        except (OSError, DockyardError) as exc:
            log.warning("container %s: removing its %s nft table: %s", container_id[:12], network_dns_nat.TABLE, exc)

    async def refresh(self, service: NetworkService) -> None:
        """The name table again from the service's endpoints."""
        async with self._refreshing:
            self.table = await asyncio.to_thread(build_table, service, dict(self.hostnames), dict(self.links))

    def close(self) -> None:
        for cid in list(self.sandboxes):
            self.remove(cid)

    # -- queries -------------------------------------------------------------------------------

    async def resolve(self, sandbox: Sandbox, data: bytes, tcp: bool) -> bytes | None:
        """The reply's wire format to a query's (None: nothing to send, e.g. garbage)."""
        try:
            query = dns.message.from_wire(data)
        except Exception:
            log.debug("container %s: an unreadable DNS query dropped", sandbox.container_id[:12])
            return None
        try:
            reply = answer(self.table, sandbox.container_id, query)
        except Exception:
            log.exception("container %s: answering %s", sandbox.container_id[:12], query.question)
            reply = servfail(query)
        if reply is None:
            reply = await self.forward(query, sandbox.upstreams if sandbox.external else [], tcp)
        limit = 65535 if tcp else max(UDP_MAX, query.payload if query.edns >= 0 else UDP_MAX)
        try:
            return reply.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | dns.flags.RA
            return truncated.to_wire()

    async def forward(self, query: dns.message.Message, servers: Iterable[Upstream], tcp: bool) -> dns.message.Message:
        """The first upstream's reply that is not SERVFAIL/REFUSED; SERVFAIL when none answers."""
        last: dns.message.Message | None = None
        for address, port in servers:
            try:
                if tcp:
                    reply = await dns.asyncquery.tcp(query, address, timeout=self.timeout, port=port)
                else:
                    reply = await dns.asyncquery.udp(query, address, timeout=self.timeout, port=port,
                                                     ignore_unexpected=True)
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                log.debug("DNS upstream %s:%d: %s", address, port, exc or type(exc).__name__)
                continue
            if reply.rcode() not in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
                return reply
            last = reply
        return last if last is not None else servfail(query)

    async def _serve_tcp(self, sandbox: Sandbox, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sandbox.clients.add(writer)
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE)
                data = await asyncio.wait_for(reader.readexactly(int.from_bytes(head, "big")), TCP_IDLE)
                reply = await self.resolve(sandbox, data, tcp=True)
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            sandbox.clients.discard(writer)
            writer.close()


def build_table(service: NetworkService, hostnames: Mapping[str, str],
                links: Mapping[str, Sequence[tuple[str, str, str]]] | None = None) -> NameTable:
    """The names of every endpoint on the user-defined networks (under the service's lock);
    ``links``: container ID -> its legacy links, (network, alias, name)."""
    links = links or {}
    with service.lock:
        entries = tuple(entry(cid, net.name, e.address, e.name, e.aliases, hostnames.get(cid, ""),
                              [(alias, name) for network, alias, name in links.get(cid, ()) if network == net.name])
                        for net in service.networks.values() if uses_dns(net)
                        for cid, e in net.endpoints.items())
    return NameTable(entries)


# -- what network_containers calls -------------------------------------------------------------


def on_user_network(service: NetworkService, container_id: str) -> bool:
    return any(uses_dns(net) for net, _ in service.endpoints_of(container_id))


async def sync(service: NetworkService, c: Container, netns_path: str, starting: bool) -> None:
    """After the container's endpoints changed (``starting``: before its task, else while it
    runs): served while it is on a user-defined network, names updated for all, its
    resolv.conf naming 127.0.0.11 (rewritten at a start; a running one's once it joins a
    user-defined network). Never raises: a failure is logged."""
    server = service.dns
    if server is None:
        return
    on_user = on_user_network(service, c.id)
    try:
        if on_user:
            server.hostnames[c.id] = str(c.config.get("Hostname") or "")
            server.links[c.id] = dns_links(service, c)
        if on_user and c.id not in server.sandboxes and netns_path and os.path.exists(netns_path):
            await server.add(c.id, netns_path, [str(s) for s in c.host_config.get("Dns") or []])
        elif not on_user:
            await server.withdraw(c.id)
        if c.id in server.sandboxes:  # as dockerd: no forwarding for a container on internal networks only
            server.sandboxes[c.id].external = any(not net.internal for net, _ in service.endpoints_of(c.id))
        await server.refresh(service)
    except Exception as exc:
        log.error("%s (names of user-defined networks will not resolve in it)", exc)
    path = c.resolv_conf_path
    try:
        if not path or not os.path.exists(path):
            return
        current = is_internal(path)
        if (starting and (on_user or current)) or (not starting and on_user and not current):
            await asyncio.to_thread(write_resolv_conf, path, c.host_config, on_user, not starting)
    except OSError as exc:
        log.error("container %s: writing its resolv.conf: %s", c.id[:12], exc)


async def gone(service: NetworkService, container_id: str) -> None:
    """The container's network is torn down: its sockets close, its names go (never raises)."""
    server = service.dns
    if server is None:
        return
    known = container_id in server.sandboxes or bool(server.table.networks_of(container_id))
    server.remove(container_id)
    if not known:
        return
    try:
        await server.refresh(service)
    except Exception:
        log.exception("embedded DNS: updating the names")


def write_resolv_conf(path: str, hc: Mapping[str, Any], embedded: bool, in_place: bool) -> None:
    """The container's resolv.conf for the embedded DNS server (``embedded``) or the host's
    name servers; ``in_place`` keeps the file (a running container has it bind-mounted)."""

    host = read_text(HOST_RESOLV)
    text = internal_resolv_conf(host, hc) if embedded else resolv_conf(host, hc, False)
    if in_place:
        with open(path, "w") as f:
            f.write(text)
        return
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)


def is_internal(path: str) -> bool:
    """Whether the resolv.conf at ``path`` names the embedded DNS server."""
    return f"nameserver {ADDRESS}" in read_text(path).splitlines()
