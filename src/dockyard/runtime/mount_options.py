"""Parse the ``options`` of an OCI mount into mount(2) flags, propagation and fs data.

Every name runc accepts is known here. An option either sets a ``MS_*`` bit (``ro``,
``nosuid``, ...) or clears one (``rw``, ``suid``, ...); the last word on a bit wins, as in
``mount(8)``. Propagation words (``private``, ``rshared``, ...) are kept apart, in order,
because the kernel takes them in a separate mount(2) call. Anything unknown is file system
data (``size=``, ``mode=``, ``newinstance``, ...) and is passed through comma-joined.

Recursive attributes (``rro``, ``rnosuid``, ...; mount_setattr(2) in runc) are recorded in
``recursive`` and their plain bit is applied to the top mount only. runc's extensions
``tmpcopyup``, ``idmap`` and ``ridmap`` are recorded in ``extensions``; the caller decides
what to do with them (rootfs.py ignores ``tmpcopyup`` and refuses the idmap ones).
"""

from __future__ import annotations

from dockyard.runtime import linux as L

# name -> (bit, True to set it / False to clear it)
_FLAGS: dict[str, tuple[int, bool]] = {
    "defaults": (0, True),
    "bind": (L.MS_BIND, True),
    "rbind": (L.MS_BIND | L.MS_REC, True),
    "ro": (L.MS_RDONLY, True),
    "rw": (L.MS_RDONLY, False),
    "nosuid": (L.MS_NOSUID, True),
    "suid": (L.MS_NOSUID, False),
    "nodev": (L.MS_NODEV, True),
    "dev": (L.MS_NODEV, False),
    "noexec": (L.MS_NOEXEC, True),
    "exec": (L.MS_NOEXEC, False),
    "sync": (L.MS_SYNCHRONOUS, True),
    "async": (L.MS_SYNCHRONOUS, False),
    "dirsync": (L.MS_DIRSYNC, True),
    "remount": (L.MS_REMOUNT, True),
    "mand": (L.MS_MANDLOCK, True),
    "nomand": (L.MS_MANDLOCK, False),
    "noatime": (L.MS_NOATIME, True),
    "atime": (L.MS_NOATIME, False),
    "nodiratime": (L.MS_NODIRATIME, True),
    "diratime": (L.MS_NODIRATIME, False),
    "relatime": (L.MS_RELATIME, True),
    "norelatime": (L.MS_RELATIME, False),
    "strictatime": (L.MS_STRICTATIME, True),
    "nostrictatime": (L.MS_STRICTATIME, False),
    "lazytime": (L.MS_LAZYTIME, True),
    "nolazytime": (L.MS_LAZYTIME, False),
    "iversion": (L.MS_I_VERSION, True),
    "noiversion": (L.MS_I_VERSION, False),
    "silent": (L.MS_SILENT, True),
    "loud": (L.MS_SILENT, False),
    "nosymfollow": (L.MS_NOSYMFOLLOW, True),
}

PROPAGATION: dict[str, int] = {
    "private": L.MS_PRIVATE,
    "rprivate": L.MS_PRIVATE | L.MS_REC,
    "shared": L.MS_SHARED,
    "rshared": L.MS_SHARED | L.MS_REC,
    "slave": L.MS_SLAVE,
    "rslave": L.MS_SLAVE | L.MS_REC,
    "unbindable": L.MS_UNBINDABLE,
    "runbindable": L.MS_UNBINDABLE | L.MS_REC,
}

# recursive attribute -> the plain option applied to the top mount
_RECURSIVE: dict[str, str] = {
    "rro": "ro",
    "rrw": "rw",
    "rnosuid": "nosuid",
    "rsuid": "suid",
    "rnodev": "nodev",
    "rdev": "dev",
    "rnoexec": "noexec",
    "rexec": "exec",
    "rnodiratime": "nodiratime",
    "rdiratime": "diratime",
    "rrelatime": "relatime",
    "rnorelatime": "norelatime",
    "rnoatime": "noatime",
    "ratime": "atime",
    "rstrictatime": "strictatime",
    "rnostrictatime": "nostrictatime",
    "rnosymfollow": "nosymfollow",
    "rsymfollow": "",
}

EXTENSIONS = frozenset({"tmpcopyup", "idmap", "ridmap"})


class MountOptions:
    """The parsed form of one mount's ``options`` list."""

    __slots__ = ("clear", "data", "extensions", "flags", "propagation", "recursive")

    def __init__(self) -> None:
        self.flags = 0  # MS_* bits to pass to mount(2)
        self.clear = 0  # MS_* bits an option explicitly turned off (rw, dev, suid, ...)
        self.propagation: list[int] = []  # MS_SHARED/SLAVE/PRIVATE/UNBINDABLE [| MS_REC]
        self.data = ""  # comma-joined file system options
        self.recursive: list[str] = []  # rro, rnosuid, ... (top mount only here)
        self.extensions: list[str] = []  # tmpcopyup, idmap, ridmap

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & L.MS_BIND)

    def __repr__(self) -> str:
        return (
            f"MountOptions(flags={self.flags:#x}, clear={self.clear:#x}, "
            f"propagation={self.propagation!r}, data={self.data!r}, "
            f"recursive={self.recursive!r}, extensions={self.extensions!r})"
        )


def _apply(opts: MountOptions, name: str) -> bool:
    known = _FLAGS.get(name)
    if known is None:
        return False
    bit, on = known
    if on:
        opts.flags |= bit
        opts.clear &= ~bit
    else:
        opts.flags &= ~bit
        opts.clear |= bit
    return True


def parse(options: list[str] | None) -> MountOptions:
    """Split ``options`` into flags, cleared flags, propagation, recursive attrs and data."""
    opts = MountOptions()
    data: list[str] = []
    for raw in options or ():
        name = raw.strip()
        if not name:
            continue
        if _apply(opts, name):
            continue
        prop = PROPAGATION.get(name)
        if prop is not None:
            opts.propagation.append(prop)
        elif name in _RECURSIVE:
            opts.recursive.append(name)
            if _RECURSIVE[name]:
                _apply(opts, _RECURSIVE[name])
        elif name in EXTENSIONS:
            opts.extensions.append(name)
        else:
            data.append(name)
    opts.data = ",".join(data)
    return opts


def propagation_flags(name: str) -> int:
    """The flags of one propagation word (``linux.rootfsPropagation``); ValueError if unknown."""
    try:
        return PROPAGATION[name]
    except KeyError:
        raise ValueError(name) from None
