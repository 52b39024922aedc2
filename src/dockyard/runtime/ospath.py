"""The few ``os.path`` functions (and ``os.walk``) every runtime command needs, on ``posix``.

``import os`` costs ~1.1 ms of each command here: with ``-S`` nothing imports it before us,
so it brings ``_collections_abc``, ``posixpath`` and ``stat`` along. ``start``, ``state``
and ``delete`` need nothing else from it, so the modules on their path (``cli``,
``context``, ``log``, ``state``, ``lifecycle``, ``hooks``, ``channel``, ``cgroups``) do
``import posix as os`` (the same functions: ``os`` re-exports them) and take paths from
here. Results are those of ``posixpath`` for ``str`` paths.
"""

from __future__ import annotations

import posix

_IFMT = 0o170000
_IFDIR = 0o040000
_IFREG = 0o100000


def join(a: str, *p: str) -> str:
    path = a
    for b in p:
        if b.startswith("/"):
            path = b
        elif not path or path.endswith("/"):
            path += b
        else:
            path += "/" + b
    return path


def dirname(p: str) -> str:
    head = p[: p.rfind("/") + 1]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head


def basename(p: str) -> str:
    return p[p.rfind("/") + 1 :]


def normpath(path: str) -> str:
    if not path:
        return "."
    initial = 1 if path.startswith("/") else 0
    if initial and path.startswith("//") and not path.startswith("///"):
        initial = 2  # POSIX lets "//" mean something else: kept, as posixpath does
    comps: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp != ".." or (not initial and not comps) or (comps and comps[-1] == ".."):
            comps.append(comp)
        elif comps:
            comps.pop()
    return "/" * initial + "/".join(comps) or "."


def abspath(path: str) -> str:
    if not path.startswith("/"):
        path = join(posix.getcwd(), path)
    return normpath(path)


def _mode(path: str) -> int:
    try:
        return posix.stat(path).st_mode
    except (OSError, ValueError):
        return 0


def exists(path: str) -> bool:
    return _mode(path) != 0


def isdir(path: str) -> bool:
    return _mode(path) & _IFMT == _IFDIR


def isfile(path: str) -> bool:
    return _mode(path) & _IFMT == _IFREG


def walk_dirs(top: str) -> list[str]:
    """``top`` and every directory below it, each before its subdirectories (the
    ``dirpath`` order of ``os.walk``: symbolic links not followed, errors skipped)."""
    out = [top]
    try:
        with posix.scandir(top) as entries:
            subdirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    for sub in subdirs:
        out.extend(walk_dirs(sub))
    return out


def makedirs(name: str, mode: int = 0o777) -> None:
    """``os.makedirs(name, mode, exist_ok=True)``: parents with the default mode."""
    head, tail = dirname(name), basename(name)
    if not tail:
        head, tail = dirname(head), basename(head)
    if head and tail and not exists(head):
        try:
            makedirs(head)
        except FileExistsError:
            pass
        if tail == ".":
            return
    try:
        posix.mkdir(name, mode)
    except OSError:
        if not isdir(name):
            raise
