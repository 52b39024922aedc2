"""The init that ``--init`` (``HostConfig.Init``) runs as PID 1 of a container.

Like dockerd, the engine bind-mounts a statically linked init at ``/sbin/docker-init`` and
prepends it to the container's command. Which binary: the ``init-path`` setting
(daemon.json, ``--init-path``), else ``docker-init`` on ``PATH``, else Debian's
``tini-static`` (package ``tini``). Only a static binary works in any image, so the dynamic
``tini`` is never picked by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

CANDIDATES = ("docker-init", "tini-static")
SEARCH_PATH = os.pathsep.join(("/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/usr/libexec/docker"))


def find_init_binary(configured: str = "", path: str | None = None) -> str:
    """The host path of the init binary, or "" when there is none.

    A configured one must exist and be executable (InvalidArgument otherwise): a typo in
    the daemon's settings is reported at start, not at the first ``--init``.
    """
    if configured:
        found = shutil.which(configured, path=path or os.environ.get("PATH", "") + os.pathsep + SEARCH_PATH)
        if not found:
            raise InvalidArgument(f"init-path {configured}: no such executable")
        return os.path.abspath(found)
    search = (path if path is not None else os.environ.get("PATH", "")) + os.pathsep + SEARCH_PATH
    for name in CANDIDATES:
        found = shutil.which(name, path=search)
        if found:
            return os.path.abspath(found)
    return ""


@dataclass
class InitBinary:
    """The engine's init binary and, asked once, its version (``docker info``'s InitCommit)."""

    path: str
    _version: str | None = None

    def version(self) -> str:
        """``tini version 0.19.0`` -> ``0.19.0``; "N/A" when it cannot say."""
        if self._version is None:
            self._version = "N/A"
            if self.path:
                try:
                    out = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=5,
                                         check=False).stdout.split()
                except OSError:
                    out = []
                if out:
                    self._version = out[-1]
        return self._version
