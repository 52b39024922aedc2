"""Container streams on the client: stdcopy frames, detach keys and the hijacked-stream pump.

- ``Demux``: docker's stdcopy. Without a tty the daemon multiplexes stdout and stderr on
  one stream in frames of an 8-byte header (stream id: 0 stdin, 1 stdout, 2 stderr, 3 a
  daemon error; three zero bytes; the payload size, big-endian uint32) and the payload.
  ``feed`` takes bytes as they come and returns the complete frames.
- ``parse_detach_keys``: moby/term's ``ToBytes`` (``ctrl-p,ctrl-q``, ``ctrl-@``...``ctrl-_``,
  ``DEL``, single characters); ``EscapeProxy`` watches the typed input for the sequence,
  holding back a partial match and letting it through when the match fails.
- ``Sink``: writes bytes to a text stream (straight to its file descriptor when it has
  one, so an interactive session is unbuffered).
- ``pump``: docker's hijackedIOStreamer, single-threaded with ``select``: the local input
  goes to the connection (through the escape proxy on a tty) and is half-closed at its end
  (at once when there is no input), the connection's output goes to stdout/stderr
  (demultiplexed without a tty). It returns when the output ends, or ``DETACHED`` when
  the user typed the detach keys.
"""

from __future__ import annotations

import posix

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from dockyard.cli.client import Hijacked

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q
DETACHED = "read escape sequence"  # term.EscapeError's text
STOPPED = "stopped"  # pump's answer when its ``stop`` became readable
_CTRL = ["ctrl-@", *(f"ctrl-{chr(c)}" for c in range(ord("a"), ord("z") + 1)), "ctrl-[", "ctrl-\\", "ctrl-]",
         "ctrl-^", "ctrl-_"]
STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3


def parse_detach_keys(keys: str) -> bytes:
    """moby/term ToBytes; raises InvalidArgument(``unknown character: 'x'``)."""
    codes = bytearray()
    for key in keys.split(","):
        if len(key) == 1:
            codes.append(ord(key) & 0xFF)
        elif key in _CTRL:
            codes.append(_CTRL.index(key))
        elif key == "DEL":
            codes.append(127)
        else:
            raise InvalidArgument(f"unknown character: '{key}'")
    return bytes(codes)


def detach_keys_or_default(keys: str) -> bytes:
    """The escape sequence the client watches for: ``keys``, or ctrl-p ctrl-q when empty or invalid."""
    if not keys:
        return DEFAULT_DETACH_KEYS
    try:
        return parse_detach_keys(keys)
    except InvalidArgument:
        return DEFAULT_DETACH_KEYS  # docker warns and uses the default; the daemon rejects it anyway


class EscapeProxy:
    """Finds the detach sequence in typed input; ``feed`` returns (bytes to send, detached)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.pos = 0  # how much of the sequence the last bytes matched (held back)

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys:
            return data, False
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.pos]:
                self.pos += 1
                if self.pos == len(self.keys):
                    self.pos = 0
                    return bytes(out), True
                continue
            if self.pos:  # a partial match failed: what was held back goes through
                out += self.keys[:self.pos]
                self.pos = 0
                if byte == self.keys[0]:
                    self.pos = 1
                    continue
            out.append(byte)
        return bytes(out), False


class StreamError(InvalidArgument):
    """The multiplexed stream is corrupt, or carried an error from the daemon."""


class Demux:
    """stdcopy.StdCopy, incrementally: ``feed(data)`` -> [(stream id, payload), ...]."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        frames: list[tuple[int, bytes]] = []
        while len(self.buf) >= 8:
            stream = self.buf[0]
            if stream > SYSTEMERR:
                raise StreamError(f"Unrecognized input header: {stream}")
            size = int.from_bytes(self.buf[4:8], "big")
            if len(self.buf) < 8 + size:
                break
            payload = bytes(self.buf[8:8 + size])
            del self.buf[:8 + size]
            if stream == SYSTEMERR:
                raise StreamError(f"error from daemon in stream: {payload.decode('utf-8', 'replace')}")
            frames.append((stream, payload))
        return frames

    @property
    def pending(self) -> int:
        return len(self.buf)


def frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame (what the daemon sends; tests build streams with it)."""
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


class Sink:
    """Bytes to a text stream: to its file descriptor when it has one, else decoded."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.fd: int | None = None
        try:
            self.fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self._flushed = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.fd is None:
            self.stream.write(data.decode("utf-8", "replace"))
            return
        if not self._flushed:
            self.stream.flush()
            self._flushed = True
        view = memoryview(data)
        while view:
            written = posix.write(self.fd, view)
            view = view[written:]

    def flush(self) -> None:
        if self.fd is None:
            self.stream.flush()


def write_frames(frames: list[tuple[int, bytes]], out: Sink | None, err: Sink | None) -> None:
    for stream, payload in frames:
        target = err if stream == STDERR else out
        if target is not None:
            target.write(payload)


def input_fd(stream: TextIO | None) -> int | None:
    """The file descriptor to read input from, or None when the stream has none (a StringIO)."""
    if stream is None:
        return None
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _send_input(conn: Hijacked, proxy: EscapeProxy | None, data: bytes) -> bool:
    """Send input to the container, through the detach keys' proxy when there is one; True
    when the keys were typed (what came before them is sent)."""
    detached = False
    if proxy is not None:
        data, detached = proxy.feed(data)
    if data:
        conn.sendall(data)
    return detached


def pump(conn: Hijacked, stdin: TextIO | None, out: Sink | None, err: Sink | None, tty: bool,
         escape_keys: bytes | None = None, restore: Callable[[], None] | None = None,
         stop: Any = None) -> str | None:
    """Copy between the local streams and a hijacked connection until the output ends.

    Returns None at the end of the output (or of the input, when there is no output to wait
    for), ``DETACHED`` when the detach keys were typed, ``STOPPED`` when ``stop`` (the
    pending wait of ``run``: ``fileno()`` and ``poll()``, true once its answer is complete)
    says the container is gone; the output still in flight is drained first. ``restore`` (the terminal's) is called as
    soon as either direction ends, as docker restores the terminal then.
    """
    import select

    proxy = EscapeProxy(escape_keys) if escape_keys and tty else None
    demux = None if tty else Demux()
    fd = input_fd(stdin)
    if stdin is not None and fd is None:  # input without a descriptor: send it all at once
        if _send_input(conn, proxy, stdin.read().encode()):
            return DETACHED
        stdin = None
    if stdin is None:
        _close_write(conn)
        if out is None and err is None:
            return None
    reading_input = fd is not None and stdin is not None
    pending = conn.buffered
    conn.buffered = b""
    try:
        while True:
            if pending:
                data, pending = pending, b""
            else:
                watched = [conn.sock, fd] if reading_input else [conn.sock]
                readable = select.select(watched + ([stop] if stop is not None else []), [], [])[0]
                if stop is not None and stop in readable and stop.poll():
                    _drain(conn, demux, out, err)
                    return STOPPED
                if reading_input and fd is not None and fd in readable:
                    chunk = _read(fd)
                    if not chunk:
                        reading_input = False
                        if restore is not None:
                            restore()
                        _close_write(conn)
                        if out is None and err is None:
                            return None
                    elif _send_input(conn, proxy, chunk):
                        return DETACHED
                if conn.sock not in readable:
                    continue
                try:
                    data = conn.sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    return None
            if demux is None:
                if out is not None:
                    out.write(data)
            else:
                write_frames(demux.feed(data), out, err)
    finally:
        if restore is not None:
            restore()


def _drain(conn: Hijacked, demux: Demux | None, out: Sink | None, err: Sink | None, timeout: float = 0.5) -> None:
    """The output still arriving after the container ended (until EOF or a quiet ``timeout``)."""
    import select

    while select.select([conn.sock], [], [], timeout)[0]:
        try:
            data = conn.sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        if demux is None:
            if out is not None:
                out.write(data)
        else:
            write_frames(demux.feed(data), out, err)


def _read(fd: int) -> bytes:
    try:
        return posix.read(fd, 32768)
    except OSError:  # EIO: the terminal hung up
        return b""


def _close_write(conn: Hijacked) -> None:
    try:
        conn.close_write()
    except OSError:
        pass
