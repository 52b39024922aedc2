"""Shims for integration tests: start them, talk to them, read their fifos, clean up.

``ShimLab(work_dir, token)`` starts shims over bundles, each with its own state dir and
fifos (``Fifos``), with the test session's marker in their environment (so the leak check
finds a shim left behind). ``teardown()`` kills and deletes whatever a test left: live
shims are told to kill, delete and shut down; dead ones get ``dockyard-shim cleanup``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.bundles import REPO, SESSION_ENV, Bundle
from tests.support.runtimes import Runtime

from dockyard.errors import DockyardError
from dockyard.shim.client import Launcher, ShimClient, shim_command, start_shim
from dockyard.shim.config import ShimConfig


class Fifos:
    """stdin/stdout/stderr fifos in ``directory``; our read ends open before the shim's."""

    def __init__(
        self, directory: Path, names: tuple[str, ...] = ("stdin", "stdout", "stderr"), open_readers: bool = True
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = {name: directory / name for name in names}
        for path in self.paths.values():
            os.mkfifo(path, 0o600)
        self.readers = {name: -1 for name in self.paths if name != "stdin"}
        if open_readers:
            self.open_readers()
        self.chunks: dict[str, list[bytes]] = {name: [] for name in self.readers}
        self.writer = -1

    def open_readers(self) -> None:
        for name in self.readers:
            if self.readers[name] < 0:
                self.readers[name] = os.open(self.paths[name], os.O_RDONLY | os.O_NONBLOCK)

    def args(self) -> dict[str, str]:
        return {name: str(path) for name, path in self.paths.items()}

    def write_stdin(self, data: bytes, close: bool = True) -> None:
        if self.writer < 0:
            self.writer = os.open(self.paths["stdin"], os.O_WRONLY)
        os.write(self.writer, data)
        if close:
            os.close(self.writer)
            self.writer = -1

    def read(self, name: str = "stdout", timeout: float = 10.0, until: bytes | None = None) -> bytes:
        """What ``name`` delivered: until EOF, until ``until`` appears, or until the timeout."""
        fd = self.readers[name]
        deadline = time.monotonic() + timeout
        while fd >= 0:
            data = b"".join(self.chunks[name])
            if until is not None and until in data:
                return data
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not select.select([fd], [], [], left)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            if not chunk:
                os.close(fd)
                self.readers[name] = fd = -1
                break
            self.chunks[name].append(chunk)
        return b"".join(self.chunks[name])

    def close(self) -> None:
        for fd in [*self.readers.values(), self.writer]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.readers = {name: -1 for name in self.readers}
        self.writer = -1


class Shim:
    """One started shim: its config, fifos and a client factory."""

    def __init__(self, config: ShimConfig, pid: int, fifos: Fifos) -> None:
        self.config = config
        self.pid = pid
        self.fifos = fifos

    @property
    def id(self) -> str:
        return self.config.container_id

    def client(self, timeout: float | None = 60) -> ShimClient:
        return ShimClient(self.config.socket, timeout=timeout)

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        with self.client() as client:
            return client.call(op, **args)

    def alive(self) -> bool:
        return process_alive(self.pid)


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class ShimLab:
    """Starts shims for one test and undoes them at teardown."""

    def __init__(self, base: Path, token: str) -> None:
        self.base = base
        self.token = token
        self.env = {**os.environ, SESSION_ENV: token}
        self.shims: list[Shim] = []
        self.launchers: list[Launcher] = []
        self.harnesses: list[subprocess.Popen[str]] = []
        self.count = 0

    def config(self, bundle: Bundle, runtime: Runtime, **extra: Any) -> ShimConfig:
        self.count += 1
        state = self.base / f"{bundle.id}.state"
        return ShimConfig(
            bundle.id, str(bundle.path), str(state), runtime=runtime.argv[0],
            runtime_args=runtime.argv[1:], runtime_root=str(runtime.root), **extra,
        )  # fmt: skip

    def start(self, bundle: Bundle, runtime: Runtime, launcher: Launcher | None = None, **extra: Any) -> Shim:
        """A detached shim for ``bundle`` (fresh interpreter, or forked by ``launcher``)."""
        runtime.track(bundle.id)
        config = self.config(bundle, runtime, **extra)
        fifos = Fifos(Path(config.state_dir) / "io")
        pid = launcher.spawn(config) if launcher is not None else start_shim(config, env=self.env)
        shim = Shim(config, pid, fifos)
        self.shims.append(shim)
        return shim

    def harness(self, bundle: Bundle, runtime: Runtime, **create: Any) -> tuple[Shim, subprocess.Popen[str], int]:
        """A shim started by a separate harness process (tests/support/shim_harness.py) that
        also holds the fifos; returns the shim, the harness and the container's init pid."""
        runtime.track(bundle.id)
        config = self.config(bundle, runtime)
        fifos = Fifos(Path(config.state_dir) / "io", open_readers=False)
        argv = [sys.executable, "-m", "tests.support.shim_harness", json.dumps(config.to_dict()),
                json.dumps({**fifos.args(), **create})]  # fmt: skip
        harness = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=self.env, cwd=REPO)
        self.harnesses.append(harness)
        assert harness.stdout is not None
        line = harness.stdout.readline()
        assert line, f"the harness exited {harness.wait()} before it reported"
        answer = json.loads(line)
        shim = Shim(config, int(answer["shim_pid"]), fifos)
        self.shims.append(shim)
        return shim, harness, int(answer["pid"])

    def launcher(self) -> Launcher:
        path = self.base / f"launcher-{len(self.launchers)}.sock"
        launcher = Launcher(str(path), env=self.env)
        self.launchers.append(launcher)
        return launcher

    def fifos_for(self, shim: Shim, name: str) -> Fifos:
        """Another set of fifos in the shim's state dir (an exec's)."""
        return Fifos(Path(shim.config.state_dir) / f"io-{name}")

    def run(self, shim: Shim, **create: Any) -> int:
        """create (with the shim's fifos unless given) + start; the init's pid."""
        args = {**shim.fifos.args(), **create}
        pid = int(shim.call("create", **args)["pid"])
        shim.call("start")
        return pid

    def teardown(self) -> list[str]:
        problems: list[str] = []
        for harness in self.harnesses:
            if harness.poll() is None:
                harness.kill()
            harness.wait()
            if harness.stdout is not None:
                harness.stdout.close()
        for shim in self.shims:
            problems += _finish(shim)
            shim.fifos.close()
            shutil.rmtree(shim.config.state_dir, ignore_errors=True)
        for launcher in self.launchers:
            launcher.stop()
        return problems


def _finish(shim: Shim) -> list[str]:
    """Kill, delete and shut down a live shim; clean up after a dead one."""
    if shim.alive():
        try:
            with shim.client(timeout=20) as client:
                state = client.call("connect")
                if state["status"] not in ("", "deleted"):
                    if state["status"] != "stopped":
                        with contextlib.suppress(DockyardError):
                            client.call("kill", signal=9, all=True)
                        client.call("wait", timeout=20)
                    client.call("delete")
                client.call("shutdown", now=True)
        except (DockyardError, OSError) as exc:
            if shim.alive():
                os.kill(shim.pid, 9)
                wait_gone(shim.pid)
                return [f"shim {shim.id} ({shim.pid}) did not shut down: {exc}"]
        if not wait_gone(shim.pid):
            os.kill(shim.pid, 9)
            return [f"shim {shim.id} ({shim.pid}) still alive after shutdown"]
    elif Path(shim.config.path("shim.json")).exists():
        from dockyard.shim.cleanup import cleanup

        try:
            cleanup(shim.config.state_dir)
        except DockyardError as exc:
            return [f"cleanup of dead shim {shim.id}: {exc}"]
    return []


def shim_argv() -> list[str]:
    return shim_command()


@contextlib.contextmanager
def subscribed(shim: Shim, since: int = -1) -> Iterator[ShimClient]:
    client = shim.client()
    try:
        client.subscribe(since)
        yield client
    finally:
        client.close()
