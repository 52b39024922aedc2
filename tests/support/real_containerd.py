"""A private containerd 1.6 for side-by-side checks and benchmarks.

``Containerd.start(base)`` runs Debian's ``containerd`` with a config of its own (root,
state, gRPC and ttrpc sockets under ``base``; no CRI plugin, no Prometheus metrics; the
default cgroup layout) and returns once ``ctr version`` answers on its socket; its shims
are ``containerd-shim-runc-v2``. It is a :class:`~tests.support.ctrd.DaemonProcess`:
``stop()`` by PID, ``log()``, ``ctr(*args)``.

``private_containerd(base)``: one as a context manager, stopped at the end, when no mount
may be left under ``base`` (then removed), nor the directories its shims make on the host
whatever the config says (``/run/containerd/{runc/<namespace>,fifo,s}``): those it made
are removed when empty.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.support import hostcheck
from tests.support.ctrd import DaemonProcess, answers

CONTAINERD = "containerd"
CONFIG = """version = 2
root = "{dir}/root"
state = "{dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{dir}/containerd.sock"
[ttrpc]
  address = "{dir}/containerd.sock.ttrpc"
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
"""


@dataclass
class Containerd(DaemonProcess):
    name: ClassVar[str] = "containerd"

    @classmethod
    def start(cls, base: Path, binary: str = CONTAINERD) -> Containerd:
        base.mkdir(parents=True, exist_ok=True)
        config = base / "config.toml"
        config.write_text(CONFIG.format(dir=base))
        running = cls.launch(base, [binary, "--config", str(config)], "containerd.log")
        running.wait_ready(running.serves, interval=0.1)
        return running

    def serves(self) -> bool:
        """Its socket answers and so does ``ctr version``."""
        try:
            return answers(self.address) and self.ctr("version", check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False


HOST_RUN = Path("/run/containerd")  # containerd-shim-runc-v2's runc root, ctr's FIFOs, shim sockets


def host_dirs() -> set[Path]:
    """The directories under /run/containerd that the shims and ctr make, deepest first."""
    if not HOST_RUN.is_dir():
        return set()
    found = {HOST_RUN}
    for child in ("runc", "fifo", "s"):
        path = HOST_RUN / child
        if path.is_dir():
            found.add(path)
            found.update(p for p in path.iterdir() if p.is_dir() and child == "runc")
    return found


def remove_new_host_dirs(before: set[Path]) -> None:
    for path in sorted(host_dirs() - before, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()  # only when empty


@contextlib.contextmanager
def private_containerd(base: Path) -> Iterator[Containerd]:
    before = host_dirs()
    running = Containerd.start(base)
    try:
        yield running
    finally:
        running.stop()
        remove_new_host_dirs(before)
        left = hostcheck.mounts_under(base)
        assert not left, f"containerd left mounts: {left}"
        shutil.rmtree(base, ignore_errors=True)
