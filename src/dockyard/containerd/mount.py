"""Mount what a snapshotter returns: ``mount_all``, ``unmount_all`` and ``mounted``.

A :class:`~dockyard.containerd.snapshots.Mount` is one mount(2) call in containerd's form
(``type``, ``source``, ``options``); options are parsed by
:mod:`dockyard.runtime.mount_options` (``ro``, ``rbind``, ``nosuid``, propagation, ...;
anything else is file-system data).

- ``bind`` (or any mount with ``bind``/``rbind``): a bind mount, then a remount for ``ro``
  and the other flags the first call ignores.
- ``overlay``: never through one page of mount(2) options, which the kernel cuts silently.
  With the new mount API (``fsopen``; overlay's ``lowerdir+``, Linux >= 6.8) every layer is
  its own ``fsconfig`` call. Without it, the options are written with paths relative to the
  layers' common directory when they would not fit, and a forked child that ``chdir``s there
  makes the mount(2) call. Either way /proc/self/mountinfo is read back and the mount is
  undone with an error unless the kernel reports every lower layer.
- anything else: mount(2), refused when its data would not fit in a page.

Several mounts stack on the same target in order (containerd's ``mount.All``); when one
fails, the ones made before are undone.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from dockyard.containerd import newmount as nm
from dockyard.containerd.snapshots import Mount
from dockyard.errors import Internal, InvalidArgument, NotImplementedYet
from dockyard.runtime import linux as L
from dockyard.runtime import mount_options, mountinfo
from dockyard.runtime.devices import error_from
from dockyard.runtime.rootfs import mount_flags_of
from dockyard.runtime.syscalls import LinuxSyscalls, Syscalls

PAGE_SIZE = os.sysconf("SC_PAGESIZE")
MAX_UNMOUNTS = 4096

# MS_* bit -> (fsconfig flag on the superblock or "", MOUNT_ATTR_* bit of the mount)
_NEW_API_FLAGS: dict[int, tuple[str, int]] = {
    L.MS_RDONLY: ("ro", nm.MOUNT_ATTR_RDONLY),
    L.MS_NOSUID: ("", nm.MOUNT_ATTR_NOSUID),
    L.MS_NODEV: ("", nm.MOUNT_ATTR_NODEV),
    L.MS_NOEXEC: ("", nm.MOUNT_ATTR_NOEXEC),
    L.MS_NOATIME: ("", nm.MOUNT_ATTR_NOATIME),
    L.MS_STRICTATIME: ("", nm.MOUNT_ATTR_STRICTATIME),
    L.MS_RELATIME: ("", nm.MOUNT_ATTR_RELATIME),
    L.MS_NODIRATIME: ("", nm.MOUNT_ATTR_NODIRATIME),
    L.MS_NOSYMFOLLOW: ("", nm.MOUNT_ATTR_NOSYMFOLLOW),
    L.MS_SYNCHRONOUS: ("sync", 0),
    L.MS_DIRSYNC: ("dirsync", 0),
    L.MS_LAZYTIME: ("lazytime", 0),
    L.MS_SILENT: ("", 0),
}

_syscalls: Syscalls | None = None


def _sys() -> Syscalls:
    global _syscalls
    if _syscalls is None:
        _syscalls = LinuxSyscalls()
    return _syscalls


def split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` unless backslash-escaped (overlay escapes ``:`` and ``,`` that way)."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


@dataclass
class OverlayPlan:
    """An overlay mount taken apart: layers, the rest of the fs options, and the flags."""

    lowers: list[str]
    upper: str = ""
    work: str = ""
    params: list[str] = field(default_factory=list)  # "key=value" or a bare word, in order
    flags: int = 0  # MS_* bits
    propagation: list[int] = field(default_factory=list)

    def legacy_data(self, base: str = "") -> str:
        """The mount(2) data string, paths made relative to ``base`` when given."""

        def rel(path: str) -> str:
            return os.path.relpath(path, base) if base else path

        opts = list(self.params)
        if self.work:
            opts.append(f"workdir={rel(self.work)}")
        if self.upper:
            opts.append(f"upperdir={rel(self.upper)}")
        opts.append("lowerdir=" + ":".join(rel(p) for p in self.lowers))
        return ",".join(opts)

    def common_dir(self) -> str:
        paths = [*self.lowers, *([self.upper] if self.upper else []), *([self.work] if self.work else [])]
        return os.path.commonpath([os.path.abspath(p) for p in paths])


def plan_overlay(m: Mount) -> OverlayPlan:
    """Take an overlay :class:`Mount` apart; InvalidArgument when it has no lower layer."""
    parsed = mount_options.parse(m.options)
    plan = OverlayPlan([], flags=parsed.flags, propagation=list(parsed.propagation))
    if parsed.flags & (L.MS_BIND | L.MS_REMOUNT):
        raise InvalidArgument(f"overlay mount: options {m.options!r}: bind/remount make no sense here")
    for opt in m.options:
        if not mount_options.parse([opt]).data:
            continue  # a flag or propagation word, in plan.flags
        key, _, value = opt.partition("=")
        if key == "lowerdir":
            if "::" in value:
                raise NotImplementedYet("overlay mount: data-only lower layers (::) are not supported")
            plan.lowers = [p for p in split_escaped(value, ":") if p]
        elif key == "upperdir":
            plan.upper = value
        elif key == "workdir":
            plan.work = value
        else:
            plan.params.append(opt)
    if not plan.lowers:
        raise InvalidArgument(f"overlay mount: no lowerdir in {m.options!r}")
    return plan


def overlay_layers(super_options: str) -> int:
    """How many lower layers a mountinfo line's super options name."""
    count = 0
    for opt in split_escaped(super_options, ","):
        key, _, value = opt.partition("=")
        if key in ("lowerdir+", "datadir+"):
            count += 1
        elif key == "lowerdir":
            count += len([p for p in split_escaped(value, ":") if p])
    return count


def top_mount(target: str) -> mountinfo.MountEntry | None:
    """The mount visible at ``target`` (the last one stacked there), from mountinfo."""
    path = os.path.realpath(target)
    found = [e for e in mountinfo.read() if e.mountpoint == path]
    return found[-1] if found else None


def _overlay_new_api(plan: OverlayPlan, target: str) -> None:
    attrs = 0
    with nm.FsContext("overlay") as ctx:
        ctx.set_string("source", "overlay")
        for bit, (flag, attr) in _NEW_API_FLAGS.items():
            if plan.flags & bit:
                attrs |= attr
                if flag:
                    ctx.set_flag(flag)
        for param in plan.params:
            key, eq, value = param.partition("=")
            if eq:
                ctx.set_string(key, value)
            else:
                ctx.set_flag(key)
        for lower in plan.lowers:
            ctx.set_path("lowerdir+", lower)
        if plan.upper:
            ctx.set_path("upperdir", plan.upper)
        if plan.work:
            ctx.set_path("workdir", plan.work)
        ctx.create()
        mount_fd = ctx.mount(attrs)
    try:
        nm.move_mount(mount_fd, target)
    finally:
        os.close(mount_fd)


def _mount_in(directory: str, sys: Syscalls, target: str, flags: int, data: str) -> None:
    """mount(2) of an overlay from a forked child whose working directory is ``directory``
    (relative layer paths resolve there; our own working directory is left alone)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.chdir(directory)
            sys.mount("overlay", target, "overlay", flags, data)
        except OSError as exc:
            code = exc.errno or 1
        except BaseException:
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise OSError(code, f"mount overlay on {target}: {os.strerror(code) if code < 255 else 'child failed'}")


def _overlay_legacy(plan: OverlayPlan, sys: Syscalls, target: str) -> None:
    data = plan.legacy_data()
    flags = plan.flags & ~L.MS_REC
    if len(os.fsencode(data)) < PAGE_SIZE:
        sys.mount("overlay", target, "overlay", flags, data)
        return
    base = plan.common_dir()
    data = plan.legacy_data(base)
    if len(os.fsencode(data)) >= PAGE_SIZE:
        raise InvalidArgument(
            f"overlay on {target}: {len(plan.lowers)} layers need {len(data)} bytes of options even with "
            f"relative paths (mount(2) takes {PAGE_SIZE - 1}) and this kernel lacks overlay's lowerdir+"
        )
    _mount_in(base, sys, target, flags, data)


def mount_overlay(m: Mount, target: str, sys: Syscalls | None = None, *, new_api: bool | None = None) -> None:
    """Mount overlay ``m`` on ``target`` whole, or raise and leave nothing mounted."""
    plan = plan_overlay(m)
    target = os.path.abspath(target)
    sys = sys or _sys()
    if new_api is None:
        new_api = nm.supports("overlay", "lowerdir+")
    try:
        if new_api:
            _overlay_new_api(plan, target)
        else:
            _overlay_legacy(plan, sys, target)
    except OSError as exc:
        raise error_from(f"mount overlay ({len(plan.lowers)} layers) on {target}", exc) from None
    top = top_mount(target)
    got = overlay_layers(top.super_options) if top and top.fstype == "overlay" else -1
    if got != len(plan.lowers):
        sys.umount2(target, L.MNT_DETACH)
        raise Internal(f"overlay on {target}: the kernel shows {got} lower layers, not {len(plan.lowers)}")
    _propagate(sys, target, plan.propagation)


def _propagate(sys: Syscalls, target: str, propagation: list[int]) -> None:
    """Set propagation (a mount(2) call of its own); on failure the mount is undone."""
    try:
        for prop in propagation:
            sys.mount(None, target, None, prop, None)
    except OSError as exc:
        sys.umount2(target, L.MNT_DETACH)
        raise error_from(f"set propagation of {target}", exc) from None


def _bind(m: Mount, sys: Syscalls, target: str) -> None:
    opts = mount_options.parse(m.options)
    rec = opts.flags & L.MS_REC
    sys.mount(m.source, target, None, L.MS_BIND | rec, None)
    extra = opts.flags & ~(L.MS_BIND | L.MS_REC | L.MS_REMOUNT)
    if extra:
        try:
            try:
                sys.mount(None, target, None, L.MS_REMOUNT | L.MS_BIND | extra, None)
            except PermissionError:  # flags locked by a user namespace (nosuid, ...) must stay
                sys.mount(None, target, None, L.MS_REMOUNT | L.MS_BIND | extra | mount_flags_of(target), None)
        except OSError:
            sys.umount2(target, L.MNT_DETACH)
            raise
    _propagate(sys, target, opts.propagation)


def _plain(m: Mount, sys: Syscalls, target: str) -> None:
    opts = mount_options.parse(m.options)
    if len(opts.data) >= PAGE_SIZE:
        raise InvalidArgument(
            f"mount {m.type} on {target}: {len(opts.data)} bytes of options (at most {PAGE_SIZE - 1})"
        )
    sys.mount(m.source, target, m.type, opts.flags, opts.data or None)
    _propagate(sys, target, opts.propagation)


def mount_one(m: Mount, target: str, sys: Syscalls | None = None) -> None:
    sys = sys or _sys()
    if m.type == "overlay":
        mount_overlay(m, target, sys)
        return
    try:
        if m.type == "bind" or mount_options.parse(m.options).is_bind:
            _bind(m, sys, target)
        else:
            _plain(m, sys, target)
    except OSError as exc:
        raise error_from(f"mount {m.type} {m.source} on {target}", exc) from None


def mount_all(mounts: Sequence[Mount], target: str, sys: Syscalls | None = None) -> None:
    """Mount each of ``mounts`` on ``target``, in order; on failure undo those made."""
    sys = sys or _sys()
    done = 0
    try:
        for m in mounts:
            mount_one(m, target, sys)
            done += 1
    except BaseException:
        for _ in range(done):
            sys.umount2(target, L.MNT_DETACH)
        raise


def unmount_all(target: str, sys: Syscalls | None = None) -> None:
    """Detach every mount stacked on ``target`` (and, with them, everything below them)."""
    sys = sys or _sys()
    for _ in range(MAX_UNMOUNTS):
        try:
            sys.umount2(target, L.MNT_DETACH)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):  # not (or no longer) a mount point
                return
            raise error_from(f"unmount {target}", exc) from None
    raise Internal(f"unmount {target}: still mounted after {MAX_UNMOUNTS} unmounts")


@contextmanager
def mounted(mounts: Sequence[Mount], *, parent_dir: str | None = None) -> Iterator[str]:
    """``with mounted(mounts) as path:`` the mounts on a private temporary directory, undone
    and the directory removed afterwards."""
    path = tempfile.mkdtemp(prefix="dockyard-mount-", dir=parent_dir)
    try:
        mount_all(mounts, path)
        try:
            yield path
        finally:
            unmount_all(path)
    finally:
        os.rmdir(path)
