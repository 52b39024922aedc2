"""Which OCI runtime a container's shim drives, from the container's ``runtime`` record.

containerd 1.6's clients name the runtime ``io.containerd.runc.v2`` (``ctr``'s default) and
may attach runc options (``containerd.runc.v1.Options``): ``binary_name`` picks a
runc-compatible binary (``ctr run --runc-binary runc``), ``root`` its state root. Without a
binary the daemon's default runtime runs: ``runtime`` in its config, else dockyard-runc.
Each binary keeps its state under ``<state>/runtime/<binary name>/<namespace>``, as
containerd's runc shim uses ``/run/containerd/runc/<namespace>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dockyard.containerd.metadata.containers import Runtime
from dockyard.containerd.server.metrics import runc_options
from dockyard.errors import InvalidArgument, NotFound

RUNC_V2 = "io.containerd.runc.v2"
KNOWN = (RUNC_V2, "io.containerd.runc.v1", "io.containerd.runtime.v1.linux")


@dataclass(frozen=True)
class RuntimeChoice:
    binary: str  # "" means the shim's default (dockyard-runc)
    root: str


def choose(runtime: Runtime, state: Path, namespace: str, default_binary: str = "") -> RuntimeChoice:
    if runtime.name not in KNOWN:
        raise NotFound(f"runtime {runtime.name!r}: not installed (known: {', '.join(KNOWN)})")
    binary = default_binary
    root = ""
    if runtime.options is not None:
        from google.protobuf import any_pb2

        options = runc_options(any_pb2.Any(type_url=runtime.options.type_url, value=runtime.options.value))
        if options is not None:
            binary = options.binary_name or binary
            root = options.root
            if options.systemd_cgroup:
                raise InvalidArgument("runtime options: systemd cgroups are not supported")
    name = os.path.basename(binary) if binary else "dockyard-runc"
    if not root:
        root = str(state / "runtime" / name)
    return RuntimeChoice(binary, os.path.join(root, namespace))
