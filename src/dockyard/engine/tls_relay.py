"""TLS for the API's TCP listeners, ended in the engine with a half-close that works.

asyncio's own TLS transport closes the whole connection when the client's close_notify
arrives, but the docker CLI sends exactly that when its stdin ends during an attach or
``exec -i`` (Go's ``CloseWrite``) and then waits for the rest of the output, as over a
unix socket. So the engine ends TLS itself: each accepted TCP connection gets a
:class:`TLSConnection`, an ``ssl.SSLObject`` over memory BIOs, and the plain bytes travel
to and from the API server over a socketpair that aiohttp serves like any unix
connection. A close_notify becomes ``shutdown(SHUT_WR)`` on that pair (the hijacked
attach sees the end of stdin and keeps writing); the API's end of its side becomes our
close_notify. Flow control runs both ways (a slow reader pauses the other side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

log = logging.getLogger("dockyard.engine")

READ_SIZE = 64 * 1024
ProtocolFactory = Callable[[], asyncio.BaseProtocol]


async def serve_tls(sock: socket.socket, context: ssl.SSLContext, api: ProtocolFactory) -> asyncio.Server:
    """Accept TLS connections on the listening ``sock`` for the API server ``api``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: TLSConnection(context, api), sock=sock)


class _PlainSide(asyncio.Protocol):
    """Our end of the socketpair: what the API server writes goes out encrypted."""

    def __init__(self, outer: TLSConnection) -> None:
        self.outer = outer

    def data_received(self, data: bytes) -> None:
        self.outer.send_plain(data)

    def eof_received(self) -> bool:
        self.outer.finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.outer.finish()

    def pause_writing(self) -> None:
        self.outer.pause_client()

    def resume_writing(self) -> None:
        self.outer.resume_client()


class TLSConnection(asyncio.Protocol):
    """One client's TCP connection: TLS in memory, plain bytes to and from the API server."""

    def __init__(self, context: ssl.SSLContext, api: ProtocolFactory) -> None:
        self.context = context
        self.api = api
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.tcp: asyncio.Transport | None = None
        self.plain: asyncio.Transport | None = None
        self.held = bytearray()  # plain bytes for the API before the pair is connected
        self.handshaken = False
        self.client_done = False  # its close_notify came
        self.closed = False

    # -- the client's side ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.tcp = transport

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        try:
            if not self.handshaken:
                self.tls.do_handshake()
                self.handshaken = True
                asyncio.get_running_loop().create_task(self._connect_api())
            while True:
                chunk = self.tls.read(READ_SIZE)  # SSLWantReadError once all is read
                if not chunk:  # close_notify: the client is done sending
                    self.client_done = True
                    self._api_eof()
                    break
                self._to_api(chunk)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            log.info("TLS connection refused: %s", exc.reason or exc)
            self._flush()
            self.abort()
            return
        self._flush()

    def eof_received(self) -> bool:
        self.client_done = True
        self._api_eof()
        return True  # keep sending what the API still answers

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.plain is not None:
            self.plain.close()

    def pause_writing(self) -> None:  # the client reads slower than the API writes
        if self.plain is not None:
            self.plain.pause_reading()

    def resume_writing(self) -> None:
        if self.plain is not None:
            self.plain.resume_reading()

    def pause_client(self) -> None:  # the API reads slower than the client writes
        if self.tcp is not None and not self.closed:
            self.tcp.pause_reading()

    def resume_client(self) -> None:
        if self.tcp is not None and not self.closed:
            self.tcp.resume_reading()

    # -- the API's side ------------------------------------------------------------------------

    async def _connect_api(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        try:
            await loop.connect_accepted_socket(self.api, theirs)
            transport, _ = await loop.connect_accepted_socket(lambda: _PlainSide(self), ours)
        except OSError:
            ours.close()
            theirs.close()
            self.abort()
            return
        assert isinstance(transport, asyncio.Transport)
        self.plain = transport
        if self.closed:
            transport.close()
            return
        if self.held:
            transport.write(bytes(self.held))
            self.held.clear()
        if self.client_done:
            self._api_eof()

    def _to_api(self, data: bytes) -> None:
        if self.plain is None:
            self.held += data
        else:
            self.plain.write(data)

    def _api_eof(self) -> None:
        if self.plain is not None and not self.plain.is_closing() and self.plain.can_write_eof():
            with contextlib.suppress(OSError):
                self.plain.write_eof()

    def send_plain(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.tls.write(data)
        except ssl.SSLError:
            self.abort()
            return
        self._flush()

    def finish(self) -> None:
        """The API ended its side: our close_notify, then the end of the connection."""
        if self.closed or self.tcp is None:
            return
        with contextlib.suppress(ssl.SSLError):
            self.tls.unwrap()
        self._flush()
        self.closed = True
        self.tcp.close()

    def abort(self) -> None:
        self.closed = True
        if self.tcp is not None:
            self.tcp.close()
        if self.plain is not None:
            self.plain.close()

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data and self.tcp is not None and not self.tcp.is_closing():
            self.tcp.write(data)
