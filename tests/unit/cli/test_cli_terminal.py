"""The terminal under ``-it``: raw mode, window sizes, detach keys, and the terminal restored on every exit path.

Sessions run ``dockyard`` in a fresh interpreter on the slave side of a pseudo-terminal
(``pty.fork``) against the fake engine, type on the master side, and check the terminal
settings the process leaves behind.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.unit.cli.container_engine import Containers, install
from tests.unit.cli.fake_engine import FakeEngine, Reply, json_reply

from dockyard.cli import terminal

SRC = str(Path(__file__).resolve().parents[3] / "src")
CANONICAL = termios.ICANON | termios.ECHO


@pytest.fixture
def world() -> Iterator[tuple[FakeEngine, Containers]]:
    with tempfile.TemporaryDirectory(prefix="dytty") as path, FakeEngine(f"{path}/e.sock") as fake:
        store = install(fake)
        store.next_output = [(1, b"prompt# ")]
        store.next_exit_code = 5
        yield fake, store


class Session:
    """A dockyard process on a pty: ``type`` on its keyboard, ``read`` its screen."""

    def __init__(self, argv: list[str], code: str | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            program = code or f"from dockyard.cli.main import main; import sys; sys.exit(main({argv!r}))"
            os.execv(sys.executable, [sys.executable, "-c", f"import sys; sys.path.insert(0, {SRC!r}); {program}"])
        terminal.set_size(self.fd, 30, 100)
        self.before = termios.tcgetattr(self.fd)
        self.screen = b""

    def read(self, seconds: float, until: bytes | None = None) -> bytes:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until in self.screen):
            if select.select([self.fd], [], [], 0.05)[0]:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.screen += data
        return self.screen

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def settings(self) -> list[object]:
        return termios.tcgetattr(self.fd)

    def wait(self) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read(0.1)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the session did not end: {self.screen!r}")

    def raw_at(self, prompt: bytes) -> None:
        """Wait for ``prompt``; by then the terminal is in raw mode."""
        self.read(10, until=prompt)
        assert _is_raw(self.settings())

    def ends(self, status: int, typed: bytes = b"") -> None:
        """Type ``typed``; the process exits with ``status`` and leaves the terminal as it found it."""
        if typed:
            self.type(typed)
        assert self.wait() == status
        assert self.settings() == self.before

    def close(self) -> None:
        os.close(self.fd)


def _is_raw(settings: list[object]) -> bool:
    return not (int(settings[3]) & CANONICAL)  # type: ignore[call-overload]


def _eventually(done: Callable[[], object], seconds: float = 5) -> None:
    """Poll ``done`` until it is true or ``seconds`` pass (the caller asserts what it waited for)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_run_it_raw_mode_input_and_restore(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    session = Session(["-H", fake.host, "run", "-it", "busybox", "sh"])
    session.raw_at(b"prompt# ")
    session.ends(5, b"ls\rexit\r")
    assert b"prompt# ls\r\nexit\r\n" in session.screen
    assert list(store.stdin.values())[-1] == b"ls\rexit\r"
    body = store.created[-1]
    assert (body["Tty"], body["OpenStdin"], body["AttachStdin"], body["HostConfig"]["ConsoleSize"]) == \
        (True, True, True, [30, 100])
    session.close()


def test_run_it_forwards_window_sizes(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    session = Session(["-H", fake.host, "run", "-it", "busybox", "sh"])
    session.raw_at(b"prompt# ")
    _eventually(lambda: store.resizes)
    assert store.resizes[0][1:] == (30, 100)
    terminal.set_size(session.fd, 44, 132)  # the kernel sends SIGWINCH to the session
    _eventually(lambda: store.resizes[-1][1:] == (44, 132))
    assert store.resizes[-1][1:] == (44, 132)
    session.ends(5, b"exit\r")
    session.close()


@pytest.mark.parametrize(("keys", "typed", "sent"), [
    ([], b"ab\x10c\x10\x11", b"ab\x10c"), (["--detach-keys", "ctrl-a"], b"x\x01", b"x"),
    (["--detach-keys", "ctrl-x,y"], b"1\x18z2\x18y", b"1\x18z2")])
def test_run_it_detach_keys(world: tuple[FakeEngine, Containers], keys: list[str], typed: bytes,
                            sent: bytes) -> None:
    fake, store = world
    session = Session(["-H", fake.host, "run", "-it", *keys, "busybox", "sh"])
    session.raw_at(b"prompt# ")
    session.ends(0, typed)  # detached: run exits 0, the container keeps running
    _eventually(lambda: store.stdin)
    assert list(store.stdin.values())[-1] == sent
    session.close()


def test_sigterm_without_proxy_restores_then_dies(world: tuple[FakeEngine, Containers]) -> None:
    fake, _ = world
    session = Session(["-H", fake.host, "run", "-it", "--sig-proxy=false", "busybox", "sh"])
    session.raw_at(b"prompt# ")
    os.kill(session.pid, signal.SIGTERM)
    session.ends(-signal.SIGTERM)
    session.close()


def test_sigterm_with_proxy_is_forwarded(world: tuple[FakeEngine, Containers]) -> None:
    fake, _ = world
    kills = []
    fake.routes.override("POST", "/containers/{id}/kill", lambda r, p: (kills.append(r.query), Reply(204))[1])
    session = Session(["-H", fake.host, "run", "-it", "busybox", "sh"])
    session.raw_at(b"prompt# ")
    os.kill(session.pid, signal.SIGTERM)
    _eventually(lambda: kills)
    assert kills == [{"signal": ["TERM"]}]
    assert _is_raw(session.settings())  # still in the session
    session.ends(5, b"exit\r")
    session.close()


def test_exec_it_session(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    store.add("web")
    bodies = []

    def create(request: object, params: dict[str, str]) -> Reply:
        bodies.append(request.json())  # type: ignore[attr-defined]
        return json_reply({"Id": "e" * 64}, 201)

    def start(request: object, params: dict[str, str]) -> Reply:
        def talk(sock: object) -> None:
            sock.sendall(b"$ ")  # type: ignore[attr-defined]
            data = b""
            while b"\r" not in data:
                chunk = sock.recv(100)  # type: ignore[attr-defined]
                if not chunk:
                    break
                data += chunk
            sock.sendall(b"ran " + data.strip() + b"\r\n")  # type: ignore[attr-defined]
            sock.close()  # type: ignore[attr-defined]
        return Reply(hijack=talk)
    resizes = []
    fake.routes.override("POST", "/containers/{id}/exec", create)
    fake.routes.override("POST", "/exec/{id}/start", start)
    fake.routes.override("POST", "/exec/{id}/resize", lambda r, p: (resizes.append(r.query), Reply(200))[1])
    fake.routes.override("GET", "/exec/{id}/json", lambda r, p: json_reply({"ExitCode": 42}))
    session = Session(["-H", fake.host, "exec", "-it", "web", "sh"])
    session.raw_at(b"$ ")
    session.ends(42, b"id\r")
    assert b"ran id" in session.screen
    assert bodies[0]["Tty"] and bodies[0]["AttachStdin"] and bodies[0]["ConsoleSize"] == [30, 100]
    assert {"h": ["30"], "w": ["100"]} in resizes
    session.close()


def test_attach_detach_reports_escape_sequence(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    record = store.add("shell", tty=True, open_stdin=True)
    store.output[record["Id"]] = [(1, b"prompt# ")]
    session = Session(["-H", fake.host, "attach", "shell"])
    session.raw_at(b"prompt# ")
    session.ends(1, b"\x10\x11")
    assert b"read escape sequence" in session.screen
    assert store.resizes[:2] == [(record["Id"], 31, 101), (record["Id"], 30, 100)]
    session.close()


# --- the Terminal itself -------------------------------------------------------------

def test_terminal_raw_and_restore_on_a_pty() -> None:
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        term = terminal.Terminal(slave)
        assert term.make_raw() and term.raw and _is_raw(termios.tcgetattr(slave))
        raw = termios.tcgetattr(slave)
        assert not raw[0] & termios.ICRNL and not raw[1] & termios.OPOST and not raw[3] & termios.ISIG
        assert raw[6][termios.VMIN] in (1, b"\x01")
        term.restore()
        term.restore()  # only once
        assert termios.tcgetattr(slave) == before
        with terminal.Terminal(slave) as again:
            again.make_raw()
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_leaves_non_terminals_and_noraw_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    assert terminal.Terminal(read_fd).make_raw() is False
    assert terminal.size(read_fd) == (0, 0)
    os.close(read_fd)
    os.close(write_fd)
    master, slave = os.openpty()
    monkeypatch.setenv("NORAW", "1")
    try:
        assert terminal.Terminal(slave).make_raw() is False
        assert not _is_raw(termios.tcgetattr(slave))
    finally:
        os.close(master)
        os.close(slave)


def test_size_and_resize_notice() -> None:
    master, slave = os.openpty()
    calls = []
    undo = terminal.on_resize(lambda: calls.append(terminal.size(slave)))
    try:
        terminal.set_size(master, 12, 34)
        os.kill(os.getpid(), signal.SIGWINCH)
        assert terminal.size(slave) == (12, 34)
        assert calls and calls[-1] == (12, 34)
    finally:
        undo()
        os.close(master)
        os.close(slave)
    assert signal.getsignal(signal.SIGWINCH) in (signal.SIG_DFL, None)


PROBE = """
import os, signal, sys, termios
from dockyard.cli import terminal
term = terminal.Terminal(0)
term.make_raw()
print("RAW", flush=True)
how = {how!r}
if how == "exit":
    sys.exit(3)
if how == "exception":
    with term:
        raise SystemExit(4)
if how == "sigint":
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        print("INTERRUPTED restored=%s" % bool(termios.tcgetattr(0)[3] & termios.ICANON), flush=True)
        sys.exit(5)
signal.pause()
"""


@pytest.mark.parametrize(("how", "status"), [("exit", 3), ("exception", 4), ("sigint", 5), ("sigterm", -15),
                                             ("sighup", -1), ("sigquit", -3)])
def test_restored_on_every_exit_path(how: str, status: int) -> None:
    session = Session([], code=PROBE.format(how=how))
    session.read(10, until=b"RAW")
    if how.startswith("sig") and how != "sigint":
        time.sleep(0.1)
        os.kill(session.pid, getattr(signal, how.upper()))
    session.ends(status)
    if how == "sigint":
        assert b"INTERRUPTED restored=True" in session.screen
    session.close()
