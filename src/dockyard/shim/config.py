"""What a shim is started with: the task, its bundle, its state dir and the runtime to drive.

The same settings arrive as command-line flags (``dockyard-shim start --id ...``) or as the
arguments of a launcher ``spawn`` request; both become a :class:`ShimConfig`. Paths are made
absolute here, once, because the shim changes its working directory to its state dir.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SOCKET_NAME = "shim.sock"
STATE_NAME = "shim.json"
EVENTS_NAME = "events.jsonl"
LOG_NAME = "log.json"  # the runtime's --log (JSON lines), as containerd's runc shim uses
SHIM_LOG_NAME = "shim.log"  # the shim's own stderr


def default_runtime() -> str:
    """dockyard-runc: the lean launcher next to our interpreter (the venv's bin), else PATH."""
    import sys

    candidate = os.path.join(os.path.dirname(sys.executable), "dockyard-runc")
    if os.access(candidate, os.X_OK):
        return candidate
    return "dockyard-runc"


class ShimConfig:
    """The settings of one shim (one container)."""

    __slots__ = (
        "bundle", "container_id", "namespace", "publish", "runtime", "runtime_args",
        "runtime_root", "socket", "state_dir",
    )  # fmt: skip

    def __init__(
        self,
        container_id: str,
        bundle: str,
        state_dir: str,
        *,
        namespace: str = "default",
        runtime: str = "",
        runtime_root: str = "",
        runtime_args: list[str] | None = None,
        socket: str = "",
        publish: list[str] | None = None,
    ) -> None:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise InvalidArgument(f"shim: invalid container id {container_id!r}")
        if not bundle:
            raise InvalidArgument("shim: a bundle directory is required")
        if not state_dir:
            raise InvalidArgument("shim: a state directory is required")
        self.container_id = container_id
        self.bundle = os.path.abspath(bundle)
        self.state_dir = os.path.abspath(state_dir)
        self.namespace = namespace or "default"
        self.runtime = runtime or default_runtime()
        if os.sep in self.runtime:
            self.runtime = os.path.abspath(self.runtime)
        self.runtime_root = os.path.abspath(runtime_root) if runtime_root else ""
        self.runtime_args = list(runtime_args or [])
        self.socket = os.path.abspath(socket) if socket else self.path(SOCKET_NAME)
        self.publish = list(publish or [])

    def path(self, name: str) -> str:
        """A file in the state dir."""
        return os.path.join(self.state_dir, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "container_id": self.container_id,
            "bundle": self.bundle,
            "state_dir": self.state_dir,
            "namespace": self.namespace,
            "runtime": self.runtime,
            "runtime_root": self.runtime_root,
            "runtime_args": list(self.runtime_args),
            "socket": self.socket,
            "publish": list(self.publish),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShimConfig:
        def text(key: str) -> str:
            value = data.get(key) or ""
            if not isinstance(value, str):
                raise InvalidArgument(f"shim config: {key}: must be a string")
            return value

        def strings(key: str) -> list[str]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidArgument(f"shim config: {key}: must be a list of strings")
            return list(value)

        return cls(
            text("container_id"),
            text("bundle"),
            text("state_dir"),
            namespace=text("namespace"),
            runtime=text("runtime"),
            runtime_root=text("runtime_root"),
            runtime_args=strings("runtime_args"),
            socket=text("socket"),
            publish=strings("publish"),
        )
