"""The OCI runtimes containers can use, by name: what ``/info`` lists as ``Runtimes`` and
what ``HostConfig.Runtime`` may name.

``dockyard-runc`` (ours, the default) is always there; ``runc`` and ``crun`` when their
binaries are installed; then the ``--add-runtime`` / daemon.json ones. The built-in names
are reserved. ``--default-runtime`` must name one of them.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.engine.config import DEFAULT_RUNTIME, RuntimeEntry
from dockyard.errors import InvalidArgument

BUILTIN = (DEFAULT_RUNTIME, "runc", "crun")


def own_runtime_path() -> str:
    """dockyard-runc next to this interpreter (the venv's bin), else on PATH, else its name."""
    beside = os.path.join(os.path.dirname(sys.executable), DEFAULT_RUNTIME)
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which(DEFAULT_RUNTIME) or DEFAULT_RUNTIME


@dataclass(frozen=True)
class Runtimes:
    entries: Mapping[str, RuntimeEntry]
    default: str

    def get(self, name: str) -> RuntimeEntry:
        """The runtime ``name`` ("" = the default); InvalidArgument naming the known ones."""
        entry = self.entries.get(name or self.default)
        if entry is None:
            raise InvalidArgument(f"unknown or invalid runtime name: {name}")
        return entry

    def to_info(self) -> dict[str, dict[str, object]]:
        """``Runtimes`` of ``GET /info``."""
        out: dict[str, dict[str, object]] = {}
        for name, entry in sorted(self.entries.items()):
            doc: dict[str, object] = {"path": entry.path}
            if entry.args:
                doc["runtimeArgs"] = list(entry.args)
            out[name] = doc
        return out


def discover(added: Mapping[str, RuntimeEntry], default: str,
             which: Callable[[str], str | None] = shutil.which) -> Runtimes:
    """The table for this host: built-ins found, plus ``added``; the default checked."""
    reserved = sorted(set(added) & set(BUILTIN))
    if reserved:
        raise InvalidArgument(f"runtime name '{reserved[0]}' is reserved")
    entries: dict[str, RuntimeEntry] = {DEFAULT_RUNTIME: RuntimeEntry(own_runtime_path())}
    for name in ("runc", "crun"):
        path = which(name)
        if path:
            entries[name] = RuntimeEntry(path)
    entries.update(added)
    if default not in entries:
        raise InvalidArgument(f"default runtime {default!r}: no such runtime (known: {', '.join(sorted(entries))})")
    return Runtimes(entries, default)
