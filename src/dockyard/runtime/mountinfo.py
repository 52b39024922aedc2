"""Parse /proc/self/mountinfo (proc(5)): one :class:`MountEntry` per line.

Used where the kernel's view matters: is a path a mount point (``os.path.ismount`` is
wrong for bind mounts on the same file system), which mount holds the rootfs, where the
host's cgroup hierarchies are.
"""

from __future__ import annotations

MOUNTINFO = "/proc/self/mountinfo"


class MountEntry:
    """One line: ``id parent major:minor root mountpoint options [optional...] - fstype
    source super_options``."""

    __slots__ = (
        "fstype", "mount_id", "mountpoint", "optional", "options", "parent_id", "root",
        "source", "super_options",
    )  # fmt: skip

    def __init__(
        self, mount_id: int, parent_id: int, root: str, mountpoint: str, options: str,
        optional: list[str], fstype: str, source: str, super_options: str,
    ) -> None:  # fmt: skip
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.root = root
        self.mountpoint = mountpoint
        self.options = options
        self.optional = optional
        self.fstype = fstype
        self.source = source
        self.super_options = super_options

    def __repr__(self) -> str:
        return f"MountEntry({self.mountpoint!r}, {self.fstype!r}, root={self.root!r})"


def unescape(field: str) -> str:
    r"""Undo the kernel's octal escapes (``\040`` for a space, ``\134`` for a backslash)."""
    if "\\" not in field:
        return field
    out = []
    i = 0
    while i < len(field):
        ch = field[i]
        digits = field[i + 1 : i + 4]
        if ch == "\\" and len(digits) == 3 and all(c in "01234567" for c in digits):
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 10 or "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        entries.append(
            MountEntry(
                int(fields[0]),
                int(fields[1]),
                unescape(fields[3]),
                unescape(fields[4]),
                fields[5],
                fields[6:sep],
                fields[sep + 1],
                unescape(fields[sep + 2]),
                fields[sep + 3] if len(fields) > sep + 3 else "",
            )
        )
    return entries


def read(path: str = MOUNTINFO) -> list[MountEntry]:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse(f.read())
