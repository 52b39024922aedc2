"""Resolve a container path inside a root directory without ever leaving it.

The rootfs comes from untrusted image layers: a symlink ``/etc -> /`` or
``/x -> ../../../../host`` must be followed as if ``root`` were ``/``, the way the
container itself would see it after pivot_root. :func:`resolve_in_root` walks the path one
component at a time with ``lstat``: ``..`` never climbs above the root, an absolute
symlink target restarts at the root, a relative one is spliced into the remaining path.
Components that do not exist (yet) are taken literally, so the result can be created with
``mkdir -p``. The result is a host path that names the same file the container will see.

This is a check at one moment: the caller must not let the container's processes run in
the rootfs between resolution and use (true while the init process prepares its mounts).
"""

from __future__ import annotations

import os
import stat

from dockyard.errors import InvalidArgument

MAX_SYMLINKS = 255  # the kernel gives ELOOP after 40; be more lenient, but finite


def resolve_in_root(root: str, path: str) -> str:
    """Return the host path of container path ``path`` under ``root``, symlinks resolved."""
    if "\0" in path:
        raise InvalidArgument(f"path {path!r}: contains a NUL byte")
    root = os.path.abspath(root)
    prefix = "" if root == "/" else root
    parts: list[str] = []  # resolved components below root
    pending = path.split("/")
    pending.reverse()  # a stack: the next component is at the end
    links = 0
    while pending:
        comp = pending.pop()
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        candidate = prefix + "/" + "/".join([*parts, comp])
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            parts.append(comp)
            continue
        except OSError as exc:
            raise InvalidArgument(
                f"path {path!r} in {root}: {candidate}: {(exc.strerror or str(exc)).lower()}"
            ) from None
        if not stat.S_ISLNK(st.st_mode):
            parts.append(comp)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise InvalidArgument(f"path {path!r} in {root}: too many levels of symbolic links")
        target = os.readlink(candidate)
        if target.startswith("/"):
            parts = []
        more = target.split("/")
        more.reverse()
        pending.extend(more)
    if not parts:
        return root
    return prefix + "/" + "/".join(parts)


def is_within(root: str, path: str) -> bool:
    """True if host path ``path`` is ``root`` or below it (lexically)."""
    root = os.path.abspath(root)
    path = os.path.abspath(path)
    return root == "/" or path == root or path.startswith(root + "/")
