"""The runtime's record of one container: ``<root>/<id>/state.json`` and its status.

The record holds what later commands need without the bundle: the init's pid and start
time (guarding against pid reuse), the bundle, the config it was created from, the cgroup
paths and the creation time. Status is derived, as runc derives it, from the process and
the exec fifo: ``creating`` until the record is complete, ``created`` while init waits on
the fifo, ``running``, ``paused`` (freezer) and ``stopped``.
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath
import time

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci import jsonio
from dockyard.runtime import ospath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"
EXIT_FILE = "exit-status"
OCI_VERSION = "1.0.2-dev"

CREATING = "creating"
CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"


def _encoder() -> Any:
    """Compact JSON as :func:`dockyard.oci.jsonio.dumps` writes it (UTF-8 kept, Go's
    separators), from ``_json``'s C encoder."""
    import _json

    return _json.make_encoder(
        None, _unencodable, _json.encode_basestring, None, ":", ",", False, False, False
    )


def _unencodable(value: object) -> object:
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def write_file(path: str, data: bytes) -> None:
    """Create (or truncate) ``path`` and write ``data`` with plain system calls."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def validate_id(container_id: str) -> None:
    """runc's rule: non-empty, only [A-Za-z0-9_+.-], not '.' or '..'."""
    if not container_id:
        raise InvalidArgument("container id cannot be empty")
    ok = all(c.isascii() and (c.isalnum() or c in "_+-.") for c in container_id)
    if not ok or container_id in (".", ".."):
        raise InvalidArgument(f"invalid container ID format: {container_id}")


def now_rfc3339() -> str:
    """UTC time with nanoseconds, as Go's time.RFC3339Nano prints it."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    frac_s = f"{frac:09d}".rstrip("0")
    return f"{base}.{frac_s}Z" if frac_s else f"{base}Z"


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19])


def process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, exit_code field) of /proc/<pid>/stat, or None if the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    exit_code = int(fields[49]) if len(fields) > 49 else 0
    return fields[0].decode(), exit_code


class ContainerState:
    """The persisted record of one container plus helpers to derive its status."""

    def __init__(self, directory: str, data: dict[str, Any]) -> None:
        self.directory = directory
        self.data = data

    # -- persisted fields -------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def pid(self) -> int:
        return int(self.data.get("pid", 0))

    @property
    def bundle(self) -> str:
        return str(self.data.get("bundle", ""))

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.data.get("config", {})
        return config

    @property
    def cgroup(self) -> dict[str, Any]:
        cgroup: dict[str, Any] = self.data.get("cgroup", {})
        return cgroup

    @property
    def fifo_path(self) -> str:
        return ospath.join(self.directory, EXEC_FIFO)

    def save(self) -> None:
        """Write the record through a temporary file and a rename (as ``jsonio`` would,
        with its C encoder and no text-file layer: ``create`` saves three times)."""
        path = ospath.join(self.directory, STATE_FILE)
        tmp = f"{path}.tmp{os.getpid()}"
        write_file(tmp, "".join(_encoder()(self.data, 0)).encode())
        os.replace(tmp, path)

    # -- derived status ---------------------------------------------------------------------
    def init_alive(self) -> bool:
        """True while the init process exists and is not a zombie (same start time)."""
        pid = self.pid
        if pid <= 0:
            return False
        st = process_state(pid)
        if st is None or st[0] in ("Z", "X"):
            return False
        return process_start_time(pid) == self.data.get("pid_start")

    def status(self) -> str:
        if not self.data.get("complete"):
            return CREATING if self.pid <= 0 or self.init_alive() else STOPPED
        if not self.init_alive():
            return STOPPED
        if ospath.exists(self.fifo_path):
            return CREATED
        if self._frozen():
            return PAUSED
        return RUNNING

    def _frozen(self) -> bool:
        freezer = self.cgroup.get("paths", {}).get("freezer")
        if freezer:
            try:
                with open(ospath.join(freezer, "freezer.state")) as f:
                    return f.read().strip() in ("FROZEN", "FREEZING")
            except OSError:
                return False
        unified = self.cgroup.get("unified")
        if unified:
            try:
                with open(ospath.join(unified, "cgroup.freeze")) as f:
                    return f.read().strip() == "1"
            except OSError:
                return False
        return False

    def exit_status(self) -> int | None:
        """The init's exit status if anyone recorded it, or if it is still a zombie."""
        try:
            with open(ospath.join(self.directory, EXIT_FILE)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
        if self.pid > 0 and process_start_time(self.pid) == self.data.get("pid_start"):
            st = process_state(self.pid)
            if st is not None and st[0] == "Z":
                raw = st[1]
                return (raw >> 8) & 0xFF if raw & 0x7F == 0 else 128 + (raw & 0x7F)
        return None

    def record_exit_status(self, status: int) -> None:
        path = ospath.join(self.directory, EXIT_FILE)
        with open(path + ".tmp", "w") as f:
            f.write(f"{status}\n")
        os.replace(path + ".tmp", path)

    def oci_state(self) -> dict[str, Any]:
        """The OCI state document that ``state`` prints."""
        status = self.status()
        state: dict[str, Any] = {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": 0 if status == STOPPED else self.pid,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.data.get("rootfs", ""),
            "created": self.data.get("created", ""),
        }
        annotations = self.config.get("annotations")
        if annotations:
            state["annotations"] = dict(sorted(annotations.items()))  # as Go encodes a map
        state["owner"] = ""
        exit_status = self.exit_status() if status == STOPPED else None
        if exit_status is not None:
            state["exitStatus"] = exit_status
        return state

    def hook_state(self, status: str | None = None) -> dict[str, Any]:
        """The state document passed to hooks on stdin (OCI runtime spec)."""
        state: dict[str, Any] = {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status or self.status(),
            "pid": self.pid,
            "bundle": self.bundle,
        }
        annotations = self.config.get("annotations")
        if annotations:
            state["annotations"] = dict(sorted(annotations.items()))  # as Go encodes a map
        return state


class StateStore:
    """The directory of container records under the runtime's --root."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, container_id: str) -> str:
        return ospath.join(self.root, container_id)

    def reserve(self, container_id: str, data: dict[str, Any]) -> ContainerState:
        """Create the record for a new id atomically; AlreadyExists if it is taken."""
        validate_id(container_id)
        ospath.makedirs(self.root, 0o711)
        directory = self.path(container_id)
        try:
            os.mkdir(directory, 0o711)
        except FileExistsError:
            raise AlreadyExists("container with given ID already exists") from None
        state = ContainerState(directory, {"id": container_id, **data})
        state.save()
        return state

    def load(self, container_id: str) -> ContainerState:
        validate_id(container_id)
        directory = self.path(container_id)
        try:
            data = jsonio.load_file(ospath.join(directory, STATE_FILE))
        except FileNotFoundError:
            raise NotFound("container does not exist") from None
        except NotADirectoryError:
            raise NotFound("container does not exist") from None
        return ContainerState(directory, data)

    def ids(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if ospath.isfile(ospath.join(self.root, n, STATE_FILE))]

    def remove(self, state: ContainerState) -> None:
        """Delete the record directory and everything in it."""
        directory = state.directory
        for name in os.listdir(directory):
            os.unlink(ospath.join(directory, name))
        os.rmdir(directory)
