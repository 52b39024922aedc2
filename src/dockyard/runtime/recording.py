"""A :class:`Syscalls` that records every call instead of making it (for unit tests)."""

from __future__ import annotations

from dockyard.runtime.syscalls import Syscalls


class RecordingSyscalls(Syscalls):
    """Appends ``(name, *args)`` to ``calls`` for each call; performs nothing.

    ``fail`` maps a call name to an ``OSError`` to raise, to test error paths.
    """

    def __init__(self, fail: dict[str, OSError] | None = None) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.fail = fail or {}
        self.caps = (0, 0, 0)

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def names(self) -> list[str]:
        return [str(c[0]) for c in self.calls]

    def fork_into_cgroup(self, cgroup_fd: int) -> int:
        self._record("fork_into_cgroup", cgroup_fd)
        return 4321

    def unshare(self, flags: int) -> None:
        self._record("unshare", flags)

    def setns(self, fd: int, nstype: int) -> None:
        self._record("setns", fd, nstype)

    def mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        self._record("mount", source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        self._record("umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._record("pivot_root", new_root, put_old)

    def sethostname(self, name: str) -> None:
        self._record("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._record("setdomainname", name)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        self._record("prctl", option, arg2, arg3, arg4, arg5)
        return 0

    def capget(self) -> tuple[int, int, int]:
        self._record("capget")
        return self.caps

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self._record("capset", effective, permitted, inheritable)
        self.caps = (effective, permitted, inheritable)

    def join_session_keyring(self, name: str | None) -> None:
        self._record("join_session_keyring", name)

    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        self._record("mkdir_p", path, mode)

    def touch(self, path: str, mode: int = 0o644) -> None:
        self._record("touch", path, mode)

    def mknod(self, path: str, mode: int, device: int) -> None:
        self._record("mknod", path, mode, device)

    def chown(self, path: str, uid: int, gid: int) -> None:
        self._record("chown", path, uid, gid)

    def chmod(self, path: str, mode: int) -> None:
        self._record("chmod", path, mode)

    def symlink(self, target: str, path: str) -> None:
        self._record("symlink", target, path)

    def chdir(self, path: str) -> None:
        self._record("chdir", path)

    def chroot(self, path: str) -> None:
        self._record("chroot", path)

    def write_file(self, path: str, data: str) -> None:
        self._record("write_file", path, data)
