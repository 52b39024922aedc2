"""The shim's plumbing without a container: fifos opened as containerd opens them, the pty
relay through the loop, SIGCHLD in the loop, and the event publishers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.shim import events as ev
from dockyard.shim.loop import Loop
from dockyard.shim.process import exit_status, reap_all
from dockyard.shim.stdio import Stdio, winsize


def fifos(tmp_path: Path) -> dict[str, str]:
    paths = {name: str(tmp_path / name) for name in ("stdin", "stdout", "stderr")}
    for path in paths.values():
        os.mkfifo(path)
    return paths


def read_until_eof(fd: int, timeout: float = 5.0) -> bytes:
    import select

    os.set_blocking(fd, False)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        select.select([fd], [], [], 0.1)
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            continue
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"no EOF; got {out!r}")


def test_fifos_handed_to_the_process(tmp_path: Path) -> None:
    paths = fifos(tmp_path)
    client_out = os.open(paths["stdout"], os.O_RDONLY | os.O_NONBLOCK)
    stdio = Stdio(paths["stdin"], paths["stdout"], paths["stdout"], terminal=False)
    fd_in, fd_out, fd_err = stdio.open()
    assert fd_out == fd_err and os.get_blocking(fd_out) and os.get_blocking(fd_in)
    process_out, process_in = os.dup(fd_out), os.dup(fd_in)  # what the container keeps
    stdio.ran()
    os.write(process_out, b"hello\n")
    client_in = os.open(paths["stdin"], os.O_WRONLY)
    os.write(client_in, b"typed\n")
    os.close(client_in)  # the client is done, but the shim still holds stdin open ...
    assert os.read(process_in, 100) == b"typed\n"
    os.set_blocking(process_in, False)
    with pytest.raises(BlockingIOError):
        os.read(process_in, 100)
    stdio.close_stdin()  # ... until close_io
    assert os.read(process_in, 100) == b""
    os.close(process_out)  # the process exits: the client reads EOF
    assert read_until_eof(client_out) == b"hello\n"
    os.close(process_in)
    os.close(client_out)
    stdio.close()


def test_no_paths_mean_dev_null(tmp_path: Path) -> None:
    stdio = Stdio("", "", "", terminal=False)
    fds = stdio.open()
    assert len(set(fds)) == 1 and os.readlink(f"/proc/self/fd/{fds[0]}") == "/dev/null"
    stdio.close()


def test_a_plain_file_is_appended(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_text("before\n")
    stdio = Stdio("", str(log), "", terminal=False)
    _, out, _ = stdio.open()
    os.write(out, b"after\n")
    stdio.close()
    assert log.read_text() == "before\nafter\n"


def test_pty_relay(tmp_path: Path) -> None:
    paths = fifos(tmp_path)
    client_out = os.open(paths["stdout"], os.O_RDONLY | os.O_NONBLOCK)
    loop = Loop()
    stdio = Stdio(paths["stdin"], paths["stdout"], "", terminal=True)
    assert stdio.open() == (stdio.child[0],) * 3  # the runtime gets /dev/null with a terminal
    stdio.ran()
    master, slave = os.openpty()
    import termios
    import tty

    tty.setraw(slave)
    stdio.attach(master, loop)
    client_in = os.open(paths["stdin"], os.O_WRONLY)
    os.write(client_in, b"keys")
    got = b""
    deadline = time.monotonic() + 5
    os.set_blocking(slave, False)
    while got != b"keys" and time.monotonic() < deadline:
        loop.run_once(0.05)
        try:
            got += os.read(slave, 100)
        except BlockingIOError:
            pass
    assert got == b"keys"
    stdio.resize(100, 40)
    import fcntl

    size = fcntl.ioctl(slave, termios.TIOCGWINSZ, bytes(8))
    assert (int.from_bytes(size[0:2], "little"), int.from_bytes(size[2:4], "little")) == (40, 100)
    writer = os.fork()  # the "container": more than a fifo holds, then it exits
    if writer == 0:  # pragma: no cover - child
        os.set_blocking(slave, True)
        os.write(slave, b"x" * 200_000)
        os._exit(0)
    os.close(slave)  # once the writer exits too, the master reads EIO and the fifo is closed
    out = b""
    os.set_blocking(client_out, False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        loop.run_once(0.01)
        try:
            chunk = os.read(client_out, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        out += chunk
    assert out == b"x" * 200_000
    os.waitpid(writer, 0)
    os.close(client_in)
    os.close(client_out)
    stdio.close()


def test_winsize() -> None:
    assert winsize(80, 24) == bytes([24, 0, 80, 0, 0, 0, 0, 0])
    with pytest.raises(InvalidArgument):
        winsize(-1, 10)


def test_sigchld_wakes_the_loop() -> None:
    loop = Loop()
    seen: list[tuple[int, int]] = []
    loop.on_sigchld(lambda: seen.extend(reap_all()))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(7)
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        loop.run_once(0.1)
    assert seen == [(pid, 7)]


def test_exit_status_of_a_signal() -> None:
    assert exit_status(9) == 137  # killed by SIGKILL
    assert exit_status(3 << 8) == 3


def test_event_log_and_replay(tmp_path: Path) -> None:
    path = str(tmp_path / "events.jsonl")
    log = ev.EventLog(path)
    for seq in (1, 2, 3):
        log.publish(ev.Event(seq, ev.TASK_EXIT, "ns", 10 + seq, {"exit_status": seq}))
    log.close()
    with open(path, "a") as f:
        f.write('{"seq": 4, "topic"')  # torn by a crash
    assert [e["seq"] for e in ev.read_log(path, since=1)] == [2, 3]
    assert ev.read_log(path)[0] == {"seq": 1, "topic": "/tasks/exit", "namespace": "ns", "timestamp": 11,
                                    "event": {"exit_status": 1}}  # fmt: skip
    assert ev.read_log(str(tmp_path / "none")) == []


def test_command_publisher_and_fan_out(tmp_path: Path) -> None:
    script = tmp_path / "pub"
    out = tmp_path / "published"
    script.write_text(f'#!/bin/sh\n{{ echo "$@"; cat; }} > {out}.tmp && mv {out}.tmp {out}\n')
    script.chmod(0o755)
    got: list[ev.Event] = []

    class Broken(ev.Publisher):
        def publish(self, event: ev.Event) -> None:
            raise RuntimeError("down")

    fan = ev.Publishers([Broken(), ev.CommandPublisher([str(script), "--address", "/a"]),
                         ev.CallbackPublisher(got.append)])  # fmt: skip
    fan.publish(ev.Event(1, ev.TASK_OOM, "k8s.io", 5, {"container_id": "c"}))
    assert [e.topic for e in got] == ["/tasks/oom"]
    deadline = time.monotonic() + 5
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = out.read_text().splitlines()
    assert lines[0] == "--address /a publish --topic /tasks/oom --namespace k8s.io"
    assert '"container_id":"c"' in lines[1]
    reap_all()
