"""A minimal HTTP/1.1 client codec over one connected socket (one request per connection).

``http.client`` would pull in ``email``, ``ssl``, ``re`` and ``calendar`` (~25 ms here, more
than the interpreter's own start), so the CLI writes requests and reads responses itself:
status line and headers, then a body delimited by ``Content-Length``, chunked transfer
coding, or the end of the connection. After a ``101 Switching Protocols`` the socket and
any bytes read past the headers belong to the caller (hijacked attach/exec streams).
"""

from __future__ import annotations

from dockyard.errors import Internal

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Iterable, Iterator

_RECV = 65536
_MAX_HEAD = 1 << 20


class Response:
    """Status, headers (lower-case names) and a body to read once, whole or in pieces."""

    def __init__(self, sock: _socket.socket, status: int, reason: str, headers: dict[str, str],
                 buffered: bytes, has_body: bool) -> None:
        self.sock = sock
        self.status = status
        self.reason = reason
        self.headers = headers
        self.buf = bytearray(buffered)
        self.has_body = has_body
        self.eof = False

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    # --- raw reading ---
    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.sock.recv(_RECV)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._fill():
                raise Internal(f"daemon connection closed {size - len(self.buf)} bytes short of the response body")
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def _line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if not self._fill():
                raise Internal("daemon connection closed in a chunked response")
        line = bytes(self.buf[:end])
        del self.buf[:end + 2]
        return line

    # --- body ---
    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, de-chunked; the connection closes at its end."""
        try:
            if not self.has_body:
                return
            if "chunked" in self.header("transfer-encoding").lower():
                while True:
                    size_text = self._line().split(b";", 1)[0].strip()
                    try:
                        size = int(size_text, 16)
                    except ValueError:
                        raise Internal(f"bad chunk size from the daemon: {size_text!r}") from None
                    if size == 0:
                        while self._line():  # trailers
                            pass
                        return
                    yield self._take(size)
                    self._take(2)
            elif (length := self.header("content-length")) != "":
                remaining = int(length)
                while remaining > 0:
                    if not self.buf and not self._fill():
                        raise Internal(f"daemon connection closed {remaining} bytes short of the response body")
                    piece = bytes(self.buf[:remaining])
                    del self.buf[:len(piece)]
                    remaining -= len(piece)
                    yield piece
            else:
                while self.buf or self._fill():
                    piece = bytes(self.buf)
                    self.buf.clear()
                    yield piece
        finally:
            self.close()

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def lines(self) -> Iterator[bytes]:
        """Newline-separated records of a streamed body (JSON progress, events)."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    def close(self) -> None:
        self.eof = True
        self.sock.close()


def send_request(sock: _socket.socket, method: str, target: str, headers: list[tuple[str, str]],
                 body: bytes | Iterable[bytes] | None) -> None:
    """Write one request; an iterable body goes out with chunked transfer coding."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if isinstance(body, bytes | bytearray):
        lines.append(f"Content-Length: {len(body)}")
    elif body is not None:
        lines.append("Transfer-Encoding: chunked")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, bytes | bytearray):
        sock.sendall(head + body)
        return
    sock.sendall(head)
    if body is not None:
        for piece in body:
            if piece:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")


def read_response(sock: _socket.socket, method: str) -> Response:
    """Read the status line and headers; the body stays on the socket for ``Response``."""
    buf = bytearray()
    while (end := buf.find(b"\r\n\r\n")) < 0:
        data = sock.recv(_RECV)
        if not data:
            raise Internal("the daemon closed the connection without a response")
        buf += data
        if len(buf) > _MAX_HEAD:
            raise Internal("the daemon's response headers are too long")
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise Internal(f"malformed response from the daemon: {head[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    status = int(parts[1])
    has_body = method != "HEAD" and status not in (204, 304) and not 100 <= status < 200
    return Response(sock, status, parts[2] if len(parts) > 2 else "", headers, bytes(buf[end + 4:]), has_body)
