"""Taking over an HTTP connection, as dockerd hijacks it for attach (and exec start).

:func:`hijack` answers ``101 UPGRADED`` (``Upgrade: tcp``) when the client asked for an
upgrade, else ``200``, both with the stream's Content-Type and no body framing; then
stops aiohttp from reading the connection and hands back a duplicate of its socket
(non-blocking) and whatever the client had sent after the request. Reading and writing go
through the event loop's ``sock_recv``/``sock_sendall`` on that socket, so a client that
half-closes (the docker CLI's CloseWrite when its stdin ends) still receives the output.
:meth:`Hijacked.close` ends the connection for both sides
(shutdown, then close); :meth:`Hijacked.peer_gone` tells a client that left from one that
only half-closed (POLLHUP against POLLRDHUP on a unix socket). TLS never reaches this
module: the engine ends it itself and serves the plain bytes over a socketpair
(:mod:`dockyard.engine.tls_relay`), so a hijacked connection is always a plain socket.

On a unix socket the first byte of the stream waits until the client has read the headers
(the kernel's count of bytes it has not read, SIOCOUTQ, falls to 0; at most
``HEADERS_READ_WAIT``): docker-py parses the headers through a buffered reader and then
reads the raw socket, so output that arrived together with the headers would be lost in
that buffer (a quick ``attach?logs=1`` answered nothing, one time in five).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import socket
import struct
import termios
import time
from dataclasses import dataclass

from aiohttp import web

CHUNK = 32 * 1024
HEADERS_READ_WAIT = 0.5  # seconds; a client that has not read its headers by then gets the stream anyway


@dataclass
class Hijacked:
    response: web.StreamResponse
    sock: socket.socket
    pending: bytes  # what the client sent right after its request

    async def recv(self) -> bytes:
        """The client's next bytes; b"" at its end of stream (or a broken connection)."""
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        try:
            return await asyncio.get_running_loop().sock_recv(self.sock, CHUNK)
        except OSError:
            return b""

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    def peer_gone(self) -> bool:
        """Whether the client closed its whole connection (POLLHUP), not just its sending half."""
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        return any(events & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, events in poller.poll(0))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def unread_by_peer(sock: socket.socket) -> int:
    """Bytes sent on the unix socket ``sock`` that its peer has not read yet (0 if unknown)."""
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")  # SIOCOUTQ
    except OSError:
        return 0
    return int(struct.unpack("i", raw)[0])


async def _headers_read(sock: socket.socket) -> None:
    deadline = time.monotonic() + HEADERS_READ_WAIT
    while unread_by_peer(sock) and time.monotonic() < deadline:
        await asyncio.sleep(0.0005)


def wants_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower() and bool(request.headers.get("Upgrade"))


async def hijack(request: web.Request, content_type: str) -> Hijacked:
    if wants_upgrade(request):
        response = web.StreamResponse(status=101, reason="UPGRADED", headers={
            "Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp"})
    else:
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        response._length_check = False  # raw bytes follow: no chunked framing
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    assert transport is not None
    for _ in range(200):  # the headers leave before any byte of ours
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.005)
    transport.pause_reading()
    raw = transport.get_extra_info("socket")
    sock = socket.socket(fileno=os.dup(raw.fileno()))
    sock.setblocking(False)
    if sock.family == socket.AF_UNIX:
        await _headers_read(sock)
    protocol = request.protocol
    pending = bytes(getattr(protocol, "_message_tail", b"") or b"")
    if pending:
        protocol._message_tail = b""
    return Hijacked(response, sock, pending)
