"""The one door to the kernel calls Python's ``os`` lacks (namespaces, mounts, capabilities).

Runtime logic takes a :class:`Syscalls` object, so tests can pass
:class:`dockyard.runtime.recording.RecordingSyscalls` and check the sequence of calls
without root. :class:`LinuxSyscalls` does the real work through libc, with the few C types it needs built
on ``_ctypes`` (the ``ctypes`` package itself costs ~2 ms to import). Failures raise
``OSError`` with the errno and a message naming the call and its main argument.
"""

from __future__ import annotations

import os

from dockyard.runtime import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Syscalls:
    """Interface: every privileged call the runtime makes on the host or in a container."""

    def fork_into_cgroup(self, cgroup_fd: int) -> int:
        """fork, with the child born in the cgroup2 directory ``cgroup_fd``
        (clone3 + CLONE_INTO_CGROUP); returns 0 in the child, its pid in the parent.

        The kernel takes its threadgroup lock only for reading then, so the child's move
        costs no RCU grace period, unlike a cgroup.procs write. Only for single-threaded
        callers: the child continues in Python without the interpreter's fork handlers."""
        raise NotImplementedError

    def unshare(self, flags: int) -> None:
        raise NotImplementedError

    def setns(self, fd: int, nstype: int) -> None:
        raise NotImplementedError

    def mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        raise NotImplementedError

    def umount2(self, target: str, flags: int) -> None:
        raise NotImplementedError

    def pivot_root(self, new_root: str, put_old: str) -> None:
        raise NotImplementedError

    def sethostname(self, name: str) -> None:
        raise NotImplementedError

    def setdomainname(self, name: str) -> None:
        raise NotImplementedError

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        raise NotImplementedError

    def capget(self) -> tuple[int, int, int]:
        """(effective, permitted, inheritable) of the calling thread, as 64-bit masks."""
        raise NotImplementedError

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        raise NotImplementedError

    def join_session_keyring(self, name: str | None) -> None:
        raise NotImplementedError

    # plain file-system calls, routed here so a recording fake sees the whole sequence
    def mkdir_p(self, path: str, mode: int = 0o755) -> None:
        os.makedirs(path, mode=mode, exist_ok=True)

    def touch(self, path: str, mode: int = 0o644) -> None:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, mode)
        os.close(fd)

    def mknod(self, path: str, mode: int, device: int) -> None:
        os.mknod(path, mode, device)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(path, uid, gid, follow_symlinks=False)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

    def symlink(self, target: str, path: str) -> None:
        os.symlink(target, path)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def chroot(self, path: str) -> None:
        os.chroot(path)

    def write_file(self, path: str, data: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)


def _ffi() -> Any:
    """The few C types and the libc function class the calls need, built on ``_ctypes``.

    Not ``import ctypes``: its package defines every type and helper and imports ``struct``,
    ~2 ms of each ``create`` (more in the freshly forked init, whose every touched page is a
    copy-on-write fault). Built once per process."""
    global _FFI
    if _FFI is None:
        import _ctypes

        class Types:
            pass

        t: Any = Types()
        for name, code in (("c_int", "i"), ("c_long", "l"), ("c_ulong", "L"),
                           ("c_uint32", "I"), ("c_char_p", "z")):  # fmt: skip
            setattr(t, name, type(name, (_ctypes._SimpleCData,), {"_type_": code}))
        t.c_size_t = t.c_uint64 = t.c_ulong  # LP64
        t.Function = type(
            "Function",
            (_ctypes.CFuncPtr,),
            {"_flags_": _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO, "_restype_": t.c_int},
        )
        t.get_errno = _ctypes.get_errno
        t.sizeof = _ctypes.sizeof
        dlopen: Any = _ctypes.dlopen  # (typeshed wants a path; None is the program itself)
        t.handle = dlopen(None, 0)  # with its libc (RTLD_LOCAL, as CDLL)
        _FFI = t
    return _FFI


_FFI: Any = None


class _Libc:
    """libc's functions by name, like ``ctypes.CDLL(None, use_errno=True)``."""

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi
        self._handle = ffi.handle  # read by the function class's constructor

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        func = self._ffi.Function((name, self))
        setattr(self, name, func)
        return func


class LinuxSyscalls(Syscalls):
    """The real calls, through libc via ``_ctypes``."""

    def __init__(self) -> None:
        ct = _ffi()
        libc = _Libc(ct)
        self._ct: Any = ct
        self._libc: Any = libc
        libc.mount.argtypes = [ct.c_char_p, ct.c_char_p, ct.c_char_p, ct.c_ulong, ct.c_char_p]
        libc.umount2.argtypes = [ct.c_char_p, ct.c_int]
        libc.sethostname.argtypes = [ct.c_char_p, ct.c_size_t]
        libc.setdomainname.argtypes = [ct.c_char_p, ct.c_size_t]
        libc.prctl.argtypes = [ct.c_int, ct.c_ulong, ct.c_ulong, ct.c_ulong, ct.c_ulong]
        libc.syscall.restype = ct.c_long

    def _fail(self, what: str) -> OSError:
        err = self._ct.get_errno()
        return OSError(err, f"{what}: {os.strerror(err)}")

    def fork_into_cgroup(self, cgroup_fd: int) -> int:
        args = (self._ct.c_uint64 * 11)()  # struct clone_args, CLONE_ARGS_SIZE_VER2
        args[0] = linux.CLONE_INTO_CGROUP
        args[4] = linux.SIGCHLD  # exit_signal
        args[10] = cgroup_fd  # cgroup
        pid: int = self._libc.syscall(linux.SYS_CLONE3, args, self._ct.sizeof(args))
        if pid == -1:
            raise self._fail("clone3 into cgroup")
        return pid

    def unshare(self, flags: int) -> None:
        if self._libc.unshare(flags) == -1:
            raise self._fail("unshare")

    def setns(self, fd: int, nstype: int) -> None:
        if self._libc.syscall(linux.SYS_SETNS, fd, nstype) == -1:
            raise self._fail("setns")

    def mount(
        self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None
    ) -> None:
        enc = os.fsencode
        ret = self._libc.mount(
            enc(source) if source is not None else None,
            enc(target),
            enc(fstype) if fstype is not None else None,
            flags,
            enc(data) if data else None,
        )
        if ret == -1:
            raise self._fail(f"mount {source} on {target} ({fstype or 'no type'})")

    def umount2(self, target: str, flags: int) -> None:
        if self._libc.umount2(os.fsencode(target), flags) == -1:
            raise self._fail(f"umount {target}")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        ct = self._ct
        ret = self._libc.syscall(
            linux.SYS_PIVOT_ROOT, ct.c_char_p(os.fsencode(new_root)), ct.c_char_p(os.fsencode(put_old))
        )
        if ret == -1:
            raise self._fail(f"pivot_root {new_root}")

    def sethostname(self, name: str) -> None:
        data = name.encode()
        if self._libc.sethostname(data, len(data)) == -1:
            raise self._fail(f"sethostname {name!r}")

    def setdomainname(self, name: str) -> None:
        data = name.encode()
        if self._libc.setdomainname(data, len(data)) == -1:
            raise self._fail(f"setdomainname {name!r}")

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        result: int = self._libc.prctl(option, arg2, arg3, arg4, arg5)
        if result == -1:
            raise self._fail(f"prctl({option})")
        return result

    def _cap_buffers(self) -> tuple[Any, Any]:
        """(header, data) for capget/capset: version 3 header, two {eff, perm, inh} words."""
        ct = self._ct
        header = (ct.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        data = (ct.c_uint32 * 6)()
        return header, data

    def capget(self) -> tuple[int, int, int]:
        header, data = self._cap_buffers()
        if self._libc.syscall(linux.SYS_CAPGET, header, data) == -1:
            raise self._fail("capget")
        eff, perm, inh = (data[i] | (data[i + 3] << 32) for i in range(3))
        return eff, perm, inh

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header, data = self._cap_buffers()
        for i, value in enumerate((effective, permitted, inheritable)):
            data[i] = value & 0xFFFFFFFF
            data[i + 3] = (value >> 32) & 0xFFFFFFFF
        if self._libc.syscall(linux.SYS_CAPSET, header, data) == -1:
            raise self._fail("capset")

    def join_session_keyring(self, name: str | None) -> None:
        ct = self._ct
        arg = ct.c_char_p(name.encode()) if name else None
        if self._libc.syscall(linux.SYS_KEYCTL, linux.KEYCTL_JOIN_SESSION_KEYRING, arg) == -1:
            raise self._fail("keyctl(KEYCTL_JOIN_SESSION_KEYRING)")
