"""What every runtime command receives: global flags resolved into one object."""

from __future__ import annotations

from dockyard.runtime import ospath
from dockyard.runtime.log import Logger

DEFAULT_ROOT = "/run/dockyard-runc"


class Context:
    """Global options of one ``dockyard-runc`` invocation (no global mutable state)."""

    def __init__(
        self,
        root: str = DEFAULT_ROOT,
        log: Logger | None = None,
        systemd_cgroup: bool = False,
        rootless: str = "auto",
    ) -> None:
        self.root = ospath.abspath(root)
        self.log = log or Logger()
        self.systemd_cgroup = systemd_cgroup
        self.rootless = rootless

    def container_dir(self, container_id: str) -> str:
        return ospath.join(self.root, container_id)
