"""The new mount API through ctypes: fsopen(2), fsconfig(2), fsmount(2), move_mount(2).

Why: mount(2) takes one page of options and silently drops the rest (an overlay of 60 layers
mounts as 44). With a file-system context every option is its own call, and overlayfs
(Linux >= 6.8) takes lower layers one at a time (``lowerdir+``), so a chain of any depth (up
to overlay's 500) mounts whole. fsconfig string values are limited to 255 bytes; a longer
path is passed as an ``O_PATH`` descriptor (``FSCONFIG_SET_FD``, newer kernels) or, failing
that, as ``/proc/self/fd/<n>``.

Errors raise ``OSError`` whose message carries the kernel's own explanation, read from the
context's message log (``e overlayfs: failed to resolve ...``).
"""

from __future__ import annotations

import errno
import os
from typing import Any

SYS_MOVE_MOUNT = 429
SYS_FSOPEN = 430
SYS_FSCONFIG = 431
SYS_FSMOUNT = 432

AT_FDCWD = -100
FSOPEN_CLOEXEC = 0x1
FSMOUNT_CLOEXEC = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4

FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_SET_FD = 5
FSCONFIG_CMD_CREATE = 6

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000

MAX_STRING = 255  # fsconfig copies at most 256 bytes of a string value, NUL included

_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        import ctypes

        lib = ctypes.CDLL(None, use_errno=True)
        lib.syscall.restype = ctypes.c_long
        _libc = lib
    return _libc


def _call(what: str, *args: Any) -> int:
    import ctypes

    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ret = int(_lib().syscall(*converted))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


class FsContext:
    """One file-system context (an ``fsopen`` descriptor); close it when done."""

    def __init__(self, fstype: str) -> None:
        self.fstype = fstype
        self.fd = _call(f"fsopen({fstype})", SYS_FSOPEN, fstype.encode(), FSOPEN_CLOEXEC)

    def log(self) -> str:
        """The kernel's messages about this context so far (one per line)."""
        lines = []
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # ENODATA: the log is empty
                break
            if not data:
                break
            lines.append(data.decode(errors="replace").strip())
        return "; ".join(lines)

    def _config(self, what: str, cmd: int, key: bytes | None, value: Any, aux: int) -> None:
        try:
            _call(what, SYS_FSCONFIG, self.fd, cmd, key, value, aux)
        except OSError as exc:
            detail = self.log()
            raise OSError(exc.errno, f"{self.fstype}: {exc.strerror}" + (f" ({detail})" if detail else "")) from None

    def set_flag(self, key: str) -> None:
        self._config(f"fsconfig {key}", FSCONFIG_SET_FLAG, key.encode(), None, 0)

    def set_string(self, key: str, value: str) -> None:
        self._config(f"fsconfig {key}={value}", FSCONFIG_SET_STRING, key.encode(), os.fsencode(value), 0)

    def set_path(self, key: str, path: str) -> None:
        """A path-valued option (``lowerdir+``, ``upperdir``, ``workdir``) of any length."""
        if len(os.fsencode(path)) <= MAX_STRING:
            self.set_string(key, path)
            return
        fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                self._config(f"fsconfig {key} fd", FSCONFIG_SET_FD, key.encode(), None, fd)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self.set_string(key, f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def create(self) -> None:
        self._config("fsconfig create", FSCONFIG_CMD_CREATE, None, None, 0)

    def mount(self, attrs: int = 0) -> int:
        """A detached mount of the created superblock; returns its descriptor."""
        try:
            return _call("fsmount", SYS_FSMOUNT, self.fd, FSMOUNT_CLOEXEC, attrs)
        except OSError as exc:
            detail = self.log()
            raise OSError(exc.errno, f"{self.fstype}: {exc.strerror}" + (f" ({detail})" if detail else "")) from None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FsContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def move_mount(mount_fd: int, target: str) -> None:
    """Attach the detached mount ``mount_fd`` at ``target``."""
    _call(
        f"move_mount to {target}", SYS_MOVE_MOUNT, mount_fd, b"", AT_FDCWD, os.fsencode(target),
        MOVE_MOUNT_F_EMPTY_PATH,
    )  # fmt: skip


_support: dict[tuple[str, str], bool] = {}


def supports(fstype: str, key: str) -> bool:
    """Does this kernel offer ``fsopen(fstype)`` and accept the path option ``key`` (e.g.
    overlay's ``lowerdir+``, Linux >= 6.8)? Probed once per process with ``/``."""
    probe = (fstype, key)
    if probe not in _support:
        try:
            with FsContext(fstype) as ctx:
                ctx.set_string(key, "/")
            _support[probe] = True
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENODEV, errno.EPERM, errno.EOPNOTSUPP):
                raise
            _support[probe] = False
    return _support[probe]
