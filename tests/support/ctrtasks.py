"""Tasks through Debian's ``ctr``: a test's namespace on a daemon (dockyard-containerd or a
private containerd 1.6), the containers it runs, and what the host must look like after.

- ``Engine``: what the helpers need of a daemon (``address``, ``state``, ``ctr()``,
  ``log()``); :class:`~tests.support.ctrd.RunningDaemon` is one,
  :class:`~tests.support.real_containerd.Containerd` another.
- ``Space``: one namespace of the test's own (named with the session token, so the host-leak
  check sees its cgroups). ``run()`` adds the session marker to each container's
  environment (the leak check then finds a container process left behind); ``teardown()``
  kills and deletes every task, removes containers, images, snapshots, leases and the
  namespace, and returns what is left: bundles, mounts, runtime state, shims, container
  processes, cgroups (the namespace's empty cgroup parents are removed).
- ``open_space(engine, request, token, archive)``: a ``Space`` for the test as a context
  manager; the test fails if its teardown finds something left.
- ``EventWatcher``: ``ctr events`` in the background, its lines parsed.
- ``run_in_pty(argv, rows, cols)``: a command on a fresh pty of that size; its output and
  exit status.
- ``ProcRef``: a process by pid and start time (a reused pid is not the same process).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from tests.support import hostcheck
from tests.support.bundles import SESSION_ENV
from tests.support.ctrd import CTR, CtrClient, remove_namespace
from tests.support.real_containerd import Containerd

IMAGE = "docker.io/library/busybox:latest"
TASKS_DIR = "io.containerd.runtime.v2.task"
CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTAINERD_RUNC_ROOT = Path("/run/containerd/runc")  # containerd's runc shim keeps runc state here


class Engine(CtrClient, Protocol):
    @property
    def address(self) -> Path: ...

    @property
    def state(self) -> Path: ...

    def log(self) -> str: ...


# -- processes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcRef:
    pid: int
    start: str  # field 22 of /proc/PID/stat

    @classmethod
    def of(cls, pid: int) -> ProcRef:
        stat = _stat(pid)
        if stat is None:
            raise AssertionError(f"process {pid} does not exist")
        return cls(pid, stat[19])

    def alive(self) -> bool:
        """Running (not a zombie) and still the same process."""
        stat = _stat(self.pid)
        return stat is not None and stat[19] == self.start and stat[0] not in ("Z", "X")

    def wait_gone(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def cmdline(self) -> list[str]:
        try:
            return Path(f"/proc/{self.pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            return []

    def kill(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


# -- a namespace of the test's own ----------------------------------------------------------------
def space_name(token: str, test_name: str) -> str:
    """A containerd namespace name (``[A-Za-z0-9]+([._-][A-Za-z0-9]+)*``) for a test."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", test_name) if w]
    return "-".join([token, *words])[:60].strip("-")


@dataclass
class Space:
    engine: Engine
    name: str
    token: str
    shims: dict[str, ProcRef] = field(default_factory=dict)  # container id -> its shim (dockyard)
    inits: dict[str, ProcRef] = field(default_factory=dict)  # container id -> its init process

    @property
    def dockyard(self) -> bool:
        return not isinstance(self.engine, Containerd)

    def ctr(self, *args: str, check: bool = True, timeout: float = 60.0,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.engine.ctr("-n", self.name, *args, check=check, timeout=timeout, input=input)

    def argv(self, *args: str) -> list[str]:
        """The ``ctr`` command line (for running it some other way)."""
        return [CTR, "--address", str(self.engine.address), "-n", self.name, *args]

    def import_image(self, archive: Path) -> None:
        out = self.ctr("images", "import", str(archive)).stdout
        assert f"unpacking {IMAGE}" in out and "done" in out, out

    def run_args(self, cid: str, *command: str, options: tuple[str, ...] = ()) -> tuple[str, ...]:
        return ("run", "--env", f"{SESSION_ENV}={self.token}", *options, IMAGE, cid, *command)

    def run(self, cid: str, *command: str, options: tuple[str, ...] = (), check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        proc = self.ctr(*self.run_args(cid, *command, options=options), check=check, timeout=timeout)
        if "-d" in options or "--detach" in options:
            self.remember(cid)
        return proc

    def remember(self, cid: str) -> None:
        """Note the task's init (and shim) so the teardown can check that they are gone."""
        task = self.tasks().get(cid)
        if task is not None and task[0] > 0:
            with contextlib.suppress(AssertionError):
                self.inits[cid] = ProcRef.of(task[0])
        if self.dockyard:
            with contextlib.suppress(OSError, ValueError, KeyError, AssertionError):
                self.shims[cid] = ProcRef.of(self.shim_pid(cid))

    # -- what ctr and the daemon say ------------------------------------------------------------
    def tasks(self) -> dict[str, tuple[int, str]]:
        """``ctr tasks ls``: id -> (pid, status)."""
        out: dict[str, tuple[int, str]] = {}
        for line in self.ctr("tasks", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) == 3:
                out[fields[0]] = (int(fields[1]), fields[2])
        return out

    def wait_status(self, cid: str, status: str, timeout: float = 10.0) -> int:
        """Poll ``tasks ls`` until the task has ``status``; its pid."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.tasks().get(cid)
            if task is not None and task[1] == status:
                return task[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"task {cid} is {task}, not {status} after {timeout}s\n"
                                     f"daemon log:\n{self.engine.log()}")
            time.sleep(0.05)

    def containers(self) -> list[str]:
        return self.ctr("containers", "ls", "-q").stdout.split()

    @property
    def bundles(self) -> Path:
        return self.engine.state / TASKS_DIR / self.name

    def bundle(self, cid: str) -> Path:
        return self.bundles / cid

    def shim_state(self, cid: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.bundle(cid) / "shim.json").read_text())
        return data

    def shim_pid(self, cid: str) -> int:
        return int(self.shim_state(cid)["shim_pid"])

    def runtime_root(self, binary: str) -> Path:
        """Where the daemon has ``binary`` keep its state for this namespace."""
        if not self.dockyard:
            return CONTAINERD_RUNC_ROOT / self.name
        return self.engine.state / "runtime" / binary / self.name

    # -- the end ---------------------------------------------------------------------------------
    def teardown(self) -> list[str]:
        problems: list[str] = []
        try:
            tasks = self.tasks()
        except AssertionError as exc:
            return [f"tasks ls failed: {exc}"]
        for cid, (pid, status) in tasks.items():
            if cid not in self.inits and pid > 0:
                with contextlib.suppress(AssertionError):
                    self.inits[cid] = ProcRef.of(pid)
            if self.dockyard and cid not in self.shims:
                with contextlib.suppress(OSError, ValueError, KeyError, AssertionError):
                    self.shims[cid] = ProcRef.of(self.shim_pid(cid))
            if status == "PAUSED":
                self.ctr("tasks", "resume", cid, check=False)
            if status != "STOPPED":
                self.ctr("tasks", "kill", "-a", "-s", "SIGKILL", cid, check=False)
                with contextlib.suppress(AssertionError):
                    self.wait_status(cid, "STOPPED")
            deleted = self.ctr("tasks", "delete", cid, check=False)
            if deleted.returncode != 0:
                problems.append(f"tasks delete {cid}: {deleted.stderr.strip()}")
        removed = remove_namespace(self.engine, self.name)
        if removed.returncode != 0:
            problems.append(f"namespaces rm {self.name}: {removed.stderr.strip()}")
        problems += self.leftovers()
        return problems

    def leftovers(self) -> list[str]:
        """What the namespace's tasks left on the host (after they were all deleted)."""
        problems: list[str] = []
        if self.bundles.is_dir() and any(self.bundles.iterdir()):
            problems.append(f"bundles left: {sorted(p.name for p in self.bundles.iterdir())}")
        mounted = hostcheck.mounts_under(self.bundles)
        if mounted:
            problems.append(f"mounts left: {mounted}")
        roots = [CONTAINERD_RUNC_ROOT / self.name] if not self.dockyard else (
            sorted((self.engine.state / "runtime").glob(f"*/{self.name}")))
        for root in roots:
            if root.is_dir() and any(root.iterdir()):
                problems.append(f"runtime state left in {root}: {sorted(p.name for p in root.iterdir())}")
            elif root.is_dir() and not self.dockyard:
                with contextlib.suppress(OSError):
                    root.rmdir()  # containerd leaves the empty namespace directory on the host
        for what, refs in (("shim", self.shims), ("container init", self.inits)):
            for cid, ref in refs.items():
                if not ref.wait_gone(10):
                    problems.append(f"{what} of {cid} still alive: {ref.pid} {ref.cmdline()}")
                    ref.kill()
        problems += remove_cgroups(self.name)
        return problems


def cgroup_dirs(name: str) -> list[Path]:
    """The namespace's cgroup parent in each hierarchy (``ctr`` puts a container in
    ``/<namespace>/<id>``)."""
    found = [CGROUP_ROOT / name] if (CGROUP_ROOT / name).is_dir() else []
    if CGROUP_ROOT.is_dir():
        found += [h / name for h in sorted(CGROUP_ROOT.iterdir()) if (h / name).is_dir()]
    return found


def container_cgroups(name: str, cid: str) -> list[Path]:
    return [d / cid for d in cgroup_dirs(name) if (d / cid).exists()]


def remove_cgroups(name: str) -> list[str]:
    """Complain about container cgroups left in the namespace; remove its empty parents."""
    problems: list[str] = []
    for parent in cgroup_dirs(name):
        children = [c.name for c in parent.iterdir() if c.is_dir()]
        if children:
            problems.append(f"cgroups left under {parent}: {children}")
            continue
        try:
            parent.rmdir()
        except OSError as exc:
            problems.append(f"rmdir {parent}: {exc.strerror}")
    return problems


def mounts_left(base: Path) -> list[str]:
    """Mount points below ``base``."""
    return hostcheck.mounts_under(base)


@contextlib.contextmanager
def open_space(engine: Engine, request: pytest.FixtureRequest, token: str, archive: Path) -> Iterator[Space]:
    space = Space(engine, space_name(token, request.node.name), token)
    try:
        space.import_image(archive)
        yield space
    finally:
        problems = space.teardown()
        if problems:
            pytest.fail("the test's namespace was not left clean:\n" + "\n".join(problems), pytrace=False)


# -- ctr events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    namespace: str
    topic: str
    payload: dict[str, Any]


def parse_event(line: str) -> Event | None:
    """``2024-01-02 03:04:05.6 +0000 UTC <namespace> <topic> <json>``"""
    parts = line.rstrip("\n").split(" ", 6)
    if len(parts) != 7:
        return None
    try:
        payload = json.loads(parts[6])
    except ValueError:
        return None
    return Event(parts[4], parts[5], payload if isinstance(payload, dict) else {})


class EventWatcher:
    """``ctr events`` against ``engine`` from ``start()`` until ``close()``."""

    def __init__(self, engine: Engine, token: str) -> None:
        self.engine = engine
        self.token = token
        self.lines: list[str] = []
        self.proc = subprocess.Popen([CTR, "--address", str(engine.address), "events"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def __enter__(self) -> EventWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(10)

    def events(self) -> list[Event]:
        return [e for e in map(parse_event, list(self.lines)) if e is not None]

    def subscribed(self, timeout: float = 30.0) -> None:
        """Wait until ``ctr`` prints events (it subscribes in its own time): namespaces made
        and removed until one of them shows."""
        deadline = time.monotonic() + timeout
        for n in itertools.count():
            probe = f"{self.token}-probe-{n}"
            self.engine.ctr("namespaces", "create", probe)
            self.engine.ctr("namespaces", "rm", probe)
            stop = time.monotonic() + 0.5
            while time.monotonic() < stop:
                if any(e.topic == "/namespaces/delete" and e.payload.get("name", "").startswith(
                        f"{self.token}-probe-") for e in self.events()):
                    return
                time.sleep(0.02)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ctr events printed nothing (it exited {self.proc.returncode})")

    def task_events(self, namespace: str, cid: str) -> list[Event]:
        return [e for e in self.events() if e.namespace == namespace and e.topic.startswith("/tasks/")
                and e.payload.get("container_id") == cid]

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError("events seen:\n" + "".join(self.lines))
            time.sleep(0.05)


# -- a terminal ---------------------------------------------------------------------------------
def run_in_pty(argv: list[str], rows: int, cols: int, timeout: float = 60.0,
               on_output: Callable[[bytes, int], None] | None = None) -> tuple[bytes, int]:
    """Run ``argv`` with stdin, stdout and stderr on a new pty of ``rows`` x ``cols`` (its
    controlling terminal); what it printed and its exit status. ``on_output(printed, master)``
    is called after each read (to resize the terminal, type into it)."""
    master, slave = pty.openpty()
    try:
        set_window_size(slave, rows, cols)
        # setsid -c: a session of its own with the pty as its controlling terminal (no fork:
        # the child is not a process group leader, so setsid execs the command directly)
        proc = subprocess.Popen(["setsid", "-c", *argv], stdin=slave, stdout=slave, stderr=slave)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{argv} did not finish within {timeout}s; it printed {bytes(out)!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: no one has the terminal open any more
                break
            if not data:
                break
            out += data
            if on_output is not None:
                on_output(bytes(out), master)
        status = proc.wait(max(deadline - time.monotonic(), 1.0))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return bytes(out), status


@contextlib.contextmanager
def watching(engine: Engine, token: str) -> Iterator[EventWatcher]:
    watcher = EventWatcher(engine, token)
    try:
        watcher.subscribed()
        yield watcher
    finally:
        watcher.close()


def set_window_size(fd: int, rows: int, cols: int) -> None:
    """TIOCSWINSZ: the foreground process group of the terminal gets SIGWINCH."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
