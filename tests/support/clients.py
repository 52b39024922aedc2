"""The engine's command-line clients side by side: the real docker CLI 28 and ``dockyard``.

- ``Client(name, argv, engine, config)``: one client pointed at a ``RunningEngine``
  (``DOCKER_HOST=unix://<socket>``, a ``DOCKER_CONFIG`` directory of its own).
  ``client.run(*args)`` -> ``CompletedProcess[str]`` (AssertionError with both outputs and
  the engine's log when the exit status is not the expected one); ``client.popen(*args)``
  leaves it running; ``client.pipe(args, argv)`` runs ``client args | argv`` (two
  processes, a real pipe between them); ``client.on_pty(args, typed)`` runs it on a new
  pseudo-terminal and types into it (see ``PtyRun``).
- ``make_client(name, engine, config)``: ``"docker"`` is ``/usr/local/bin/docker``,
  ``"dockyard"`` this tree's CLI (``python -m`` on ``dockyard.cli.main:entry``, the
  console script's function).
- ``run_on_pty(argv, env, typed)``: any command with stdin, stdout and stderr on a new pty.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.engine import DOCKER, RunningEngine

CLIENT_NAMES = ("docker", "dockyard")
DOCKYARD_ARGV = (sys.executable, "-c", "from dockyard.cli.main import entry; entry()")
_SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass(frozen=True)
class PtyRun:
    """What a command did on a pseudo-terminal: its exit status, everything it printed
    (CRLF line ends, as a terminal shows them), and the terminal's attributes before it
    started and after it ended."""

    status: int
    output: str
    attrs_before: list[object]
    attrs_after: list[object]


@dataclass(frozen=True)
class Typed:
    """Type ``text`` into the terminal once the output so far contains ``after``."""

    after: str
    text: str


def run_on_pty(argv: Sequence[str], env: dict[str, str], typed: Sequence[Typed] = (),
               timeout: float = 60.0) -> PtyRun:
    """``argv`` with stdin, stdout and stderr on a new pty (in a session of its own);
    ``typed`` is sent in order, each once its ``after`` text was printed."""
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env,
                                start_new_session=True)
        try:
            output = _converse(proc, master, list(typed), timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        after = termios.tcgetattr(slave)  # the slave stays open here: its attributes survive
    finally:
        os.close(master)
        os.close(slave)
    return PtyRun(proc.returncode, output.decode("utf-8", "replace"), before, after)


def _converse(proc: subprocess.Popen[bytes], master: int, typed: list[Typed], timeout: float) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        if typed and typed[0].after.encode() in out:
            os.write(master, typed.pop(0).text.encode())
        exited = proc.poll() is not None
        ready, _, _ = select.select([master], [], [], 0 if exited else 0.1)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:  # EIO: nobody has the terminal open any more
                return bytes(out)
            continue
        if exited:
            return bytes(out)
        if time.monotonic() > deadline:
            raise AssertionError(f"{proc.args} did not finish within {timeout}s; it printed {bytes(out)!r}")


@dataclass(frozen=True)
class Client:
    """One command-line client of ``engine`` (see the module docstring)."""

    name: str
    argv: tuple[str, ...]
    engine: RunningEngine
    config: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.config.mkdir(parents=True, exist_ok=True)
        env.update(DOCKER_HOST=self.engine.host, DOCKER_CONFIG=str(self.config), TZ="UTC")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, env.get("PYTHONPATH", "")) if p)
        return env

    def _fail(self, argv: Sequence[str], proc: subprocess.CompletedProcess[str], wanted: int) -> AssertionError:
        return AssertionError(f"{' '.join(argv)} exited {proc.returncode}, not {wanted}\nstdout: {proc.stdout}\n"
                              f"stderr: {proc.stderr}\ndockyardd log (end):\n{self.engine.log()[-6000:]}")

    def run(self, *args: str, status: int | None = 0, input: str | None = None,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``client *args``; its exit status must be ``status`` (any when None)."""
        argv = [*self.argv, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env(), input=input,
                              stdin=None if input is not None else subprocess.DEVNULL, check=False)
        if status is not None and proc.returncode != status:
            raise self._fail(argv, proc, status)
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """``client *args`` left running, stdout and stderr piped (stop it by PID)."""
        return subprocess.Popen([*self.argv, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env(), stdin=subprocess.DEVNULL)

    def pipe(self, args: Sequence[str], argv: Sequence[str], timeout: float = 120.0,
             ) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
        """``client args | argv``: both processes' results (stdout of the first is the pipe)."""
        read_end, write_end = os.pipe()
        try:
            first = subprocess.Popen([*self.argv, *args], stdout=write_end, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=self.env())
            try:
                second = subprocess.Popen(list(argv), stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env=self.env())
            except BaseException:
                first.kill()
                first.wait()
                raise
        finally:
            os.close(read_end)
            os.close(write_end)
        out2, err2 = second.communicate(timeout=timeout)
        _, err1 = first.communicate(timeout=timeout)
        return (subprocess.CompletedProcess(first.args, first.returncode, b"", err1),
                subprocess.CompletedProcess(second.args, second.returncode, out2, err2))

    def on_pty(self, args: Sequence[str], typed: Sequence[Typed] = (), timeout: float = 60.0) -> PtyRun:
        return run_on_pty([*self.argv, *args], self.env(), typed, timeout)


def make_client(name: str, engine: RunningEngine, config: Path) -> Client:
    """``"docker"`` (the real CLI) or ``"dockyard"`` (ours) on ``engine``, config dir ``config``."""
    if name == "docker":
        return Client(name, (DOCKER,), engine, config)
    if name == "dockyard":
        return Client(name, DOCKYARD_ARGV, engine, config)
    raise ValueError(f"unknown client {name!r}: not one of {CLIENT_NAMES}")
