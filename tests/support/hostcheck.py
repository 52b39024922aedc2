"""Host-leak checks: what a test left behind in mounts, cgroups, processes and state dirs.

``take()`` snapshots the host; ``leaks(before, after)`` lists what is new; ``clean()``
removes what it safely can (kills marked processes, removes test cgroups, detaches mounts
under our own temporary directory, removes new state entries).

Processes are found by a marker: every runtime command and every container of a test
session carries ``DOCKYARD_TEST_SESSION=<token>`` in its environment, so a leftover
container init or runtime helper is found even after it was re-parented away from pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.bundles import CGROUP_PARENT, SESSION_ENV

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mountinfo(pid: str = "self") -> list[list[str]]:
    """The fields of each /proc/PID/mountinfo line."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return [line.split() for line in f]


def mount_key(fields: list[str]) -> str:
    """A mount without its ids (ids change when someone remounts the same thing)."""
    return " ".join(fields[2:])


def mount_point(key: str) -> str:
    return _unescape(key.split()[2])


def mounts_under(base: Path) -> list[str]:
    """Mount points at or below ``base`` in our mount namespace."""
    prefix = str(base).rstrip("/") + "/"
    points = (_unescape(fields[4]) for fields in mountinfo())
    return [p for p in points if p == str(base) or p.startswith(prefix)]


def cgroup_dirs(token: str) -> set[str]:
    """This session's test cgroups: dirs named with ``token`` below */dockyard-test/ or near
    the top of a hierarchy (other sessions' containers are not ours to judge or remove)."""
    found: set[str] = set()
    if not CGROUP_ROOT.is_dir():
        return found
    for hierarchy in CGROUP_ROOT.iterdir():
        parent = hierarchy / CGROUP_PARENT
        if parent.is_dir():
            for dirpath, dirnames, _ in os.walk(parent):
                found.update(os.path.join(dirpath, d) for d in dirnames if token in d)
        for dirpath, dirnames, _ in _walk(hierarchy, depth=3):
            found.update(os.path.join(dirpath, d) for d in dirnames if token in d)
    return found


def _walk(top: Path, depth: int) -> Iterator[tuple[str, list[str], list[str]]]:
    base = str(top).count(os.sep)
    for dirpath, dirnames, filenames in os.walk(top):
        yield dirpath, dirnames, filenames
        if dirpath.count(os.sep) - base >= depth - 1:
            dirnames[:] = []


def marked_processes(token: str) -> dict[int, str]:
    """Live processes (not zombies, not us) whose environment carries the session marker."""
    marker = f"{SESSION_ENV}={token}".encode()
    me = os.getpid()
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found[int(entry)] = cmdline
    return found


def live_children() -> dict[int, str]:
    """Our own live child processes (the runtime commands should all have finished)."""
    me = str(os.getpid())
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                after = f.read().rsplit(")", 1)[1].split()
            if after[1] != me or after[0] in ("Z", "X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
    return found


@dataclass(frozen=True)
class Snapshot:
    mounts: Counter[str]
    cgroups: frozenset[str]
    processes: dict[int, str]
    state: frozenset[str]


KEPT_STATE = frozenset({"seccomp@cache"})  # a runtime root's cache of compiled seccomp programs, not a container


def take(token: str, state_roots: Iterable[Path]) -> Snapshot:
    state: set[str] = set()
    for root in state_roots:
        if root.is_dir():
            state.update(str(root / name) for name in os.listdir(root) if name not in KEPT_STATE)
    return Snapshot(
        mounts=Counter(mount_key(fields) for fields in mountinfo()),
        cgroups=frozenset(cgroup_dirs(token)),
        processes={**live_children(), **marked_processes(token)},
        state=frozenset(state),
    )


@dataclass
class Leaks:
    mounts: list[str]
    cgroups: list[str]
    processes: dict[int, str]
    state: list[str]

    def __bool__(self) -> bool:
        return bool(self.mounts or self.cgroups or self.processes or self.state)

    def report(self) -> str:
        lines = [f"mount left: {m}" for m in self.mounts]
        lines += [f"cgroup left: {c}" for c in self.cgroups]
        lines += [f"process left: {pid} {cmd}" for pid, cmd in sorted(self.processes.items())]
        lines += [f"state left: {s}" for s in self.state]
        return "\n".join(lines)


def leaks(before: Snapshot, after: Snapshot) -> Leaks:
    return Leaks(
        mounts=sorted((after.mounts - before.mounts).elements()),
        cgroups=sorted(after.cgroups - before.cgroups),
        processes={p: c for p, c in after.processes.items() if p not in before.processes},
        state=sorted(after.state - before.state),
    )


def clean(found: Leaks, own_base: Path) -> list[str]:
    """Undo what can be undone safely; returns what could not be."""
    problems: list[str] = []
    for pid in found.processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{p}").exists() for p in found.processes):
        for pid in found.processes:  # reap our own children; others go to init
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > deadline:
            problems.append(f"processes still alive: {sorted(found.processes)}")
            break
        time.sleep(0.02)
    for key in found.mounts:
        point = mount_point(key)
        if point == str(own_base) or point.startswith(str(own_base).rstrip("/") + "/"):
            proc = subprocess.run(["umount", "-l", point], capture_output=True, text=True)
            if proc.returncode != 0:
                problems.append(f"umount -l {point}: {proc.stderr.strip()}")
        else:
            problems.append(f"not touching mount outside {own_base}: {point}")
    for path in sorted(found.cgroups, key=lambda p: p.count("/"), reverse=True):
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"rmdir {path}: {exc.strerror}")
    for path in found.state:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return problems


def remove_empty_parents() -> None:
    """rmdir the shared */dockyard-test parents if empty (runc leaves them behind)."""
    if not CGROUP_ROOT.is_dir():
        return
    for hierarchy in CGROUP_ROOT.iterdir():
        with contextlib.suppress(OSError):
            os.rmdir(hierarchy / CGROUP_PARENT)
