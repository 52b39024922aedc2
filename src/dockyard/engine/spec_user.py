"""``Config.User`` and ``HostConfig.GroupAdd`` resolved against the container's own files.

The user is ``""`` (root), ``uid``, ``name``, ``uid:gid``, ``name:group`` (any mix),
looked up in the container's /etc/passwd and /etc/group as dockerd does:

* a name must have a passwd entry ("unable to find user X: no matching entries in passwd
  file"); a number need not (it runs as that uid, with gid 0); the first entry wins;
* a matched user brings its primary gid and, unless a group is given explicitly, its
  supplementary groups (every group file line listing the user's name);
* an explicit group is a group name (it must exist) or a gid (it need not);
* ``GroupAdd`` adds groups by name or gid, after the user's own;
* ids are 0 to 2147483647.

The process's additional gids are the primary gid, the supplementary groups and the
GroupAdd groups, in that order (dockerd lists the primary gid first since 20.10.24).
The files are read through a callable (``read("/etc/passwd") -> text or None``) or from
a rootfs directory with :func:`rootfs_reader`, which keeps symlinks inside the rootfs.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

MAX_ID = 2147483647
PASSWD = "/etc/passwd"
GROUP = "/etc/group"
_NUMBER = re.compile(r"^[+-]?[0-9]+$")
_MAX_FILE = 16 * 1024 * 1024
_MAX_LINKS = 40

Reader = Callable[[str], "str | None"]


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ResolvedUser:
    """What ``process.user`` needs, and the user's home (for HOME)."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str

    def to_spec(self) -> dict[str, object]:
        return {"uid": self.uid, "gid": self.gid, "additionalGids": list(self.additional_gids)}


def _number(text: str) -> int | None:
    return int(text) if _NUMBER.match(text) else None


def _id_field(text: str) -> int:
    value = _number(text.strip())
    return 0 if value is None else value  # as Go's Atoi with the error ignored


def _lines(text: str | None) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def parse_passwd(text: str | None) -> list[PasswdEntry]:
    """The entries of a passwd file (missing fields are empty or 0)."""
    entries = []
    for f in _lines(text):
        f += [""] * (7 - len(f))
        entries.append(PasswdEntry(f[0], _id_field(f[2]), _id_field(f[3]), f[5]))
    return entries


def parse_group(text: str | None) -> list[GroupEntry]:
    """The entries of a group file."""
    entries = []
    for f in _lines(text):
        f += [""] * (4 - len(f))
        members = tuple(m.strip() for m in f[3].split(",") if m.strip())
        entries.append(GroupEntry(f[0], _id_field(f[2]), members))
    return entries


def _in_range(value: int, what: str) -> int:
    if not 0 <= value <= MAX_ID:
        raise InvalidArgument(f"{what}: uids and gids must be in range 0-{MAX_ID}")
    return value


def resolve_user(
    user: str,
    passwd: str | None,
    group: str | None,
    group_add: Sequence[str] = (),
    *,
    what: str = "Config.User",
) -> ResolvedUser:
    """Resolve ``user`` (and ``group_add``) against the passwd and group file texts
    (None: the file does not exist)."""
    user_arg, _, group_arg = user.partition(":")
    group_arg = group_arg.split(":", 1)[0]
    uid_num, gid_num = _number(user_arg), _number(group_arg)
    uid, gid, home = 0, 0, "/"
    users = parse_passwd(passwd)
    if user_arg == "":
        match = next((u for u in users if u.uid == 0), None)
    elif uid_num is not None:
        match = next((u for u in users if u.uid == uid_num), None)
    else:
        match = next((u for u in users if u.name == user_arg), None)
    if match is not None:
        uid, gid, home = match.uid, match.gid, match.home or "/"
    elif user_arg:
        if uid_num is None:
            raise InvalidArgument(
                f"{what}: unable to find user {user_arg}: no matching entries in passwd file"
            )
        uid = _in_range(uid_num, what)
    groups = parse_group(group)
    supplementary: list[int] = []
    if group_arg:
        if gid_num is not None:
            found = next((g for g in groups if g.gid == gid_num), None)
        else:
            found = next((g for g in groups if g.name == group_arg), None)
        if found is not None:
            gid = found.gid
        elif gid_num is None:
            raise InvalidArgument(
                f"{what}: unable to find group {group_arg}: no matching entries in group file"
            )
        else:
            gid = _in_range(gid_num, what)
    elif match is not None:
        supplementary = [g.gid for g in groups if match.name in g.members]
    added = resolve_groups(group_add, groups)
    return ResolvedUser(uid, gid, (gid, *supplementary, *added), home)


def resolve_groups(names: Sequence[str], groups: Sequence[GroupEntry],
                   what: str = "HostConfig.GroupAdd") -> list[int]:
    """``GroupAdd``: each a group name or gid (a gid need not exist), without repeats."""
    result: list[int] = []
    for name in names:
        if not isinstance(name, str):
            raise InvalidArgument(f"{what}: must be a list of group names or ids")
        number = _number(name)
        found = next((g for g in groups if g.name == name or (number is not None and g.gid == number)), None)
        if found is not None:
            gid = found.gid
        elif number is None:
            raise InvalidArgument(f"{what}: Unable to find group {name}: no matching entries in group file")
        else:
            gid = _in_range(number, what)
        if gid not in result:
            result.append(gid)
    return result


def resolve_in_root(root: str, path: str) -> str:
    """``path`` inside ``root`` with every symlink resolved as if ``root`` were ``/``."""
    pending = [p for p in path.split("/") if p][::-1]
    done: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            done.append(part)
            continue
        if not stat.S_ISLNK(st.st_mode):
            done.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise InvalidArgument(f"{path}: too many levels of symbolic links in the container")
        target = os.readlink(candidate)
        if target.startswith("/"):
            done = []
        pending.extend([p for p in target.split("/") if p][::-1])
    return os.path.join(root, *done)


def rootfs_reader(root: str) -> Reader:
    """A reader of files in the container's rootfs (None when missing or not a file)."""

    def read(path: str) -> str | None:
        full = resolve_in_root(root, path)
        try:
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return f.read(_MAX_FILE).decode("utf-8", "replace")

    return read
