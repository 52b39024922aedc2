"""Client-side streams: stdcopy demultiplexing, detach keys, the escape proxy and the pump."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest

from dockyard.cli import streams
from dockyard.cli.client import Hijacked
from dockyard.errors import InvalidArgument


def test_demux_frames_in_any_pieces() -> None:
    data = streams.frame(1, b"out\n") + streams.frame(2, b"err\n") + streams.frame(1, b"") + streams.frame(0, b"in")
    for size in (1, 3, 8, 9, len(data)):
        demux = streams.Demux()
        frames = []
        for i in range(0, len(data), size):
            frames += demux.feed(data[i:i + size])
        assert frames == [(1, b"out\n"), (2, b"err\n"), (1, b""), (0, b"in")]
        assert demux.pending == 0


def test_demux_large_frame_waits_for_all_of_it() -> None:
    payload = os.urandom(100_000)
    demux = streams.Demux()
    data = streams.frame(2, payload)
    assert demux.feed(data[:50_000]) == []
    assert demux.feed(data[50_000:]) == [(2, payload)]


def test_demux_errors() -> None:
    with pytest.raises(streams.StreamError, match="Unrecognized input header: 7"):
        streams.Demux().feed(bytes([7, 0, 0, 0, 0, 0, 0, 1]) + b"x")
    with pytest.raises(streams.StreamError, match="error from daemon in stream: boom"):
        streams.Demux().feed(streams.frame(3, b"boom"))


@pytest.mark.parametrize(("keys", "expected"), [
    ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-@", b"\x00"), ("ctrl-a,x", b"\x01x"), ("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_",
                                                                                  b"\x1b\x1c\x1d\x1e\x1f"),
    ("DEL", b"\x7f"), ("a,b,c", b"abc"), ("ctrl-z", b"\x1a"),
])
def test_parse_detach_keys(keys: str, expected: bytes) -> None:
    assert streams.parse_detach_keys(keys) == expected


@pytest.mark.parametrize("keys", ["ctrl-P", "ctrl-", "alt-a", "ab", "ctrl-a,,x"])
def test_parse_detach_keys_refuses(keys: str) -> None:
    with pytest.raises(InvalidArgument, match="unknown character"):
        streams.parse_detach_keys(keys)


def test_detach_keys_default() -> None:
    assert streams.detach_keys_or_default("") == b"\x10\x11"
    assert streams.detach_keys_or_default("bogus-key") == b"\x10\x11"
    assert streams.detach_keys_or_default("ctrl-x") == b"\x18"


def test_escape_proxy() -> None:
    proxy = streams.EscapeProxy(b"\x10\x11")
    assert proxy.feed(b"abc") == (b"abc", False)
    assert proxy.feed(b"x\x10") == (b"x", False)  # held back: may start the sequence
    assert proxy.feed(b"y") == (b"\x10y", False)  # it did not: let it through
    assert proxy.feed(b"\x10") == (b"", False)
    assert proxy.feed(b"\x10\x11") == (b"\x10", True)  # the first ctrl-p was literal
    proxy = streams.EscapeProxy(b"\x10\x11")
    assert proxy.feed(b"ls\r\x10\x11rest") == (b"ls\r", True)
    assert streams.EscapeProxy(b"").feed(b"\x10\x11") == (b"\x10\x11", False)


def test_sink_writes_text_or_descriptor(tmp_path: object) -> None:
    text = io.StringIO()
    streams.Sink(text).write(b"caf\xc3\xa9 \xff")
    assert text.getvalue() == "café \ufffd"
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as out:
        out.write("buffered ")
        sink = streams.Sink(out)
        sink.write(b"raw\x00bytes")
    with os.fdopen(read_fd, "rb") as fh:
        assert fh.read() == b"buffered raw\x00bytes"


THREADS: list[threading.Thread] = []


def _hijacked(serve: object) -> Hijacked:
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=serve, args=(theirs,), daemon=True)  # type: ignore[arg-type]
    thread.start()
    THREADS.append(thread)
    return Hijacked(ours, b"")


def test_pump_demultiplexes_and_half_closes_without_stdin() -> None:
    received = []

    def serve(sock: socket.socket) -> None:
        received.append(sock.recv(10))  # b"": the client closed its side at once
        sock.sendall(streams.frame(1, b"a") + streams.frame(2, b"b") + streams.frame(1, b"c"))
        sock.close()
    out, err = io.StringIO(), io.StringIO()
    result = streams.pump(_hijacked(serve), None, streams.Sink(out), streams.Sink(err), tty=False)
    assert (result, out.getvalue(), err.getvalue(), received) == (None, "ac", "b", [b""])


def test_pump_sends_stdin_then_waits_for_output() -> None:
    def serve(sock: socket.socket) -> None:
        data = b""
        while chunk := sock.recv(100):
            data += chunk
        sock.sendall(data.upper())
        sock.close()
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"hello ")
    os.write(write_fd, b"world")
    os.close(write_fd)
    out = io.StringIO()
    with os.fdopen(read_fd) as stdin:
        assert streams.pump(_hijacked(serve), stdin, streams.Sink(out), None, tty=True) is None
    assert out.getvalue() == "HELLO WORLD"


def test_pump_detaches_on_the_keys() -> None:
    got = []

    def serve(sock: socket.socket) -> None:
        while chunk := sock.recv(100):
            got.append(chunk)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"ab\x10\x11cd")
    conn = _hijacked(serve)
    with os.fdopen(read_fd) as stdin:
        result = streams.pump(conn, stdin, streams.Sink(io.StringIO()), None, tty=True, escape_keys=b"\x10\x11")
    os.close(write_fd)
    conn.close()
    THREADS[-1].join(5)
    assert result == streams.DETACHED
    assert b"".join(got) == b"ab"


def test_pump_stops_when_the_wait_answers() -> None:
    class Stop:
        def __init__(self) -> None:
            self.r, self.w = os.pipe()

        def fileno(self) -> int:
            return self.r

        def poll(self) -> bool:
            return os.read(self.r, 10) == b"done"

    stop = Stop()

    def serve(sock: socket.socket) -> None:
        sock.sendall(b"partial output")
        os.write(stop.w, b"done")
    read_fd, write_fd = os.pipe()  # input that never ends
    out = io.StringIO()
    with os.fdopen(read_fd) as stdin:
        result = streams.pump(_hijacked(serve), stdin, streams.Sink(out), None, tty=True, stop=stop)
    os.close(write_fd)
    assert result == streams.STOPPED
    assert out.getvalue() == "partial output"


def test_pump_restores_the_terminal_when_input_ends() -> None:
    calls = []

    def serve(sock: socket.socket) -> None:
        while sock.recv(100):
            pass
        sock.sendall(b"bye")
        sock.close()
    out = io.StringIO()
    result = streams.pump(_hijacked(serve), io.StringIO("typed"), streams.Sink(out), None, tty=True,
                          restore=lambda: calls.append("restore"))
    assert (result, out.getvalue()) == (None, "bye")
    assert calls  # restored at the end at the latest
