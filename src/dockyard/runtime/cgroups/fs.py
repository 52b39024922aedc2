"""cgroupfs plumbing shared by the v1 and v2 backends.

Finding the hierarchies (``/proc/self/mountinfo``), our own place in them
(``/proc/self/cgroup``), turning an OCI ``cgroupsPath`` into directories, and reading and
writing cgroup files with kernel errors mapped onto dockyard's error vocabulary.
"""

from __future__ import annotations

import errno
import posix as os  # not os: see dockyard.runtime.ospath

from dockyard.errors import (
    DockyardError,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from dockyard.runtime import ospath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# the v1 controllers a hierarchy may carry (anything else in the super options is a mount flag)
V1_CONTROLLERS = frozenset(
    (
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc",
    )
)


class Mount:
    """One cgroup mount: its mount point, the hierarchy path it shows, and what it carries."""

    __slots__ = ("controllers", "mountpoint", "root", "version")

    def __init__(self, mountpoint: str, root: str, version: int, controllers: list[str]) -> None:
        self.mountpoint = mountpoint
        self.root = root
        self.version = version
        self.controllers = controllers

    def __repr__(self) -> str:
        return f"Mount({self.mountpoint!r}, {self.root!r}, v{self.version}, {self.controllers})"


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts listed in a mountinfo document, in order."""
    from dockyard.runtime import mountinfo

    mounts = []
    for entry in mountinfo.parse(text):
        if entry.fstype == "cgroup2":
            mounts.append(Mount(entry.mountpoint, entry.root, 2, []))
        elif entry.fstype == "cgroup":
            opts = entry.super_options.split(",")
            ctrls = [o for o in opts if o in V1_CONTROLLERS or o.startswith("name=")]
            mounts.append(Mount(entry.mountpoint, entry.root, 1, ctrls))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` as {controller list joined by ',' (or '' for v2): path}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def join_path(base: str, sub: str) -> str:
    """``base`` + ``sub`` where ``sub`` is a cgroup path (may be absolute); no escaping out."""
    parts = [p for p in sub.split("/") if p and p != "."]
    if ".." in parts:
        raise InvalidArgument(f"cgroupsPath: must not contain '..': {sub}")
    return ospath.join(base, *parts) if parts else base


def cgroup_dir(mount: Mount, own: str, cgroups_path: str, container_id: str) -> str:
    """The directory for the container in one hierarchy.

    No cgroupsPath: ``<own cgroup>/<id>``; relative: ``<own cgroup>/<path>``; absolute:
    ``<hierarchy root>/<path>``. ``own`` is our path in the hierarchy (from /proc/self/cgroup).
    """
    if not cgroups_path:
        inner = join_path(own, container_id)
    elif cgroups_path.startswith("/"):
        inner = join_path("/", cgroups_path)
    else:
        inner = join_path(own, cgroups_path)
    # the mount shows the hierarchy from mount.root down
    root = mount.root.rstrip("/")
    if root and (inner == root or inner.startswith(root + "/")):
        inner = inner[len(root) :]
    return join_path(mount.mountpoint, inner)


# -- file access with errors mapped -------------------------------------------------------------

def os_error(exc: OSError, what: str, action: str, path: str, value: str | None = None) -> DockyardError:
    """Map a kernel error on a cgroup file to the error vocabulary, naming the resource."""
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    if value is not None:
        msg = f"{what}: cannot {action} {value.strip()!r} to {path}: {reason}"
    else:
        msg = f"{what}: cannot {action} {path}: {reason}"
    if exc.errno in (errno.EINVAL, errno.ERANGE, errno.EOVERFLOW):
        return InvalidArgument(msg)
    if exc.errno == errno.ENOENT:
        return Unavailable(msg)
    if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        return PermissionDenied(msg)
    if exc.errno == errno.ESRCH:
        return NotFound(msg)
    return Internal(msg)


def write(directory: str, name: str, value: str | int, what: str) -> None:
    """Write one value to a cgroup file; errors name ``what`` (the OCI resource)."""
    path = ospath.join(directory, name)
    text = str(value)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise Unavailable(
                f"{what}: {path} does not exist (controller not available on this host?)"
            ) from None
        raise os_error(exc, what, "open", path) from None
    try:
        os.write(fd, text.encode())
    except OSError as exc:
        raise os_error(exc, what, "write", path, text) from None
    finally:
        os.close(fd)


def join_self(directories: list[str]) -> None:
    """Move the calling thread into each v1 ``directory`` by writing 0 to its ``tasks``.

    For a single-threaded process this moves the whole process. Unlike a cgroup.procs write
    it does not take the kernel's global threadgroup lock, whose first writer after a quiet
    period waits for an RCU grace period (5-30 ms) while holding cgroup_mutex.
    """
    for directory in directories:
        try:
            write(directory, "tasks", 0, "cgroups")
        except DockyardError as exc:
            hint = ""
            if "cpuset" in directory and "No space left" in exc.message:
                hint = " (cpuset.cpus/cpuset.mems are empty)"
            raise type(exc)(f"cgroups: cannot join {directory}: {exc.message}{hint}") from None


def read(directory: str, name: str) -> str:
    """A cgroup file's content without the trailing newline; '' if it does not exist."""
    try:
        with open(ospath.join(directory, name)) as f:
            return f.read().strip()
    except (FileNotFoundError, NotADirectoryError):
        return ""


def read_int(directory: str, name: str, unlimited: int = 0) -> int:
    """An integer file; ``max`` reads as ``unlimited``; missing or empty reads as 0."""
    text = read(directory, name)
    if not text:
        return 0
    if text == "max":
        return unlimited
    try:
        return int(text)
    except ValueError:
        return 0


def read_keyed(directory: str, name: str) -> dict[str, int]:
    """A flat keyed file (``key value`` per line) such as memory.stat or cpu.stat."""
    out: dict[str, int] = {}
    for line in read(directory, name).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_list(text: str) -> list[int]:
    """A cpuset list such as ``0-3,8,10-11`` as a list of ints."""
    out: list[int] = []
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            if hi:
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(lo))
        except ValueError:
            continue
    return out


def procs(directory: str) -> list[int]:
    """Every pid in ``directory`` and the cgroups below it."""
    pids: list[int] = []
    for dirpath in ospath.walk_dirs(directory):
        for line in read(dirpath, "cgroup.procs").split():
            try:
                pids.append(int(line))
            except ValueError:
                continue
    return pids


def make_dirs(directory: str, before_mkdir: Callable[[str], None] | None = None) -> list[str]:
    """mkdir -p for a cgroup; returns the directories made, outermost first. ``before_mkdir``
    gets each new directory's parent first (v2 enables controllers there). A failure takes
    back what was made."""
    missing: list[str] = []
    current = directory
    while not ospath.isdir(current):
        missing.append(current)
        parent = ospath.dirname(current)
        if parent == current:
            break
        current = parent
    made: list[str] = []
    try:
        for d in reversed(missing):
            if before_mkdir is not None:
                before_mkdir(ospath.dirname(d))
            try:
                os.mkdir(d, 0o755)
            except FileExistsError:
                continue
            except OSError as exc:
                raise os_error(exc, "cgroups", "create", d) from None
            made.append(d)
    except BaseException:
        remove_made(made)
        raise
    return made


def remove_made(made: list[str]) -> None:
    """Undo a partial create: rmdir what was made, deepest last-made first, quietly."""
    for directory in reversed(made):
        try:
            os.rmdir(directory)
        except OSError:
            pass


def remove_tree(directory: str, retries: int = 50) -> None:
    """rmdir ``directory`` and its sub-cgroups, deepest first; gone already is fine.

    EBUSY (tasks still exiting) is retried for about a second with a growing delay.
    """
    try:  # the usual case: a leaf whose processes are gone (no walk of its ~40 files)
        os.rmdir(directory)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    import time

    delay = 0.002
    for attempt in range(retries + 1):
        try:
            subdirs = ospath.walk_dirs(directory)
        except OSError:
            subdirs = []
        busy: OSError | None = None
        for sub in reversed(subdirs):
            try:
                os.rmdir(sub)
            except FileNotFoundError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.EAGAIN):
                    busy = exc
                    continue
                raise os_error(exc, "cgroup", "remove", sub) from None
        if busy is None:
            return
        if attempt == retries:
            raise os_error(busy, "cgroup", "remove", directory)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue
