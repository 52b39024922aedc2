"""Paths inside a root directory resolved the way a chroot would see them.

Both trees the builder works in hold symlinks that someone else made: the build context (a
client's tar) and the image's root filesystem. A symlink is followed as the process inside
would follow it: an absolute target restarts at the root, ``..`` never climbs above it
(like Docker's ``FollowSymlinkInScope`` and containerd's ``fs.RootPath``).

- :func:`resolve_in_scope` is path based (``lstat``/``readlink``): for reading the context,
  which nobody changes while the builder reads it. The result holds no symlink.
- :class:`ScopedRoot` walks with directory descriptors, ``O_NOFOLLOW`` at every step, and
  creates missing directories on the way: for writing into a root filesystem. The final
  name is left to the caller, who must create it with ``O_EXCL``/``O_NOFOLLOW`` semantics.
"""

from __future__ import annotations

import errno
import os
import stat

from dockyard.errors import InvalidArgument, NotFound

MAX_LINKS = 40  # as the kernel (ELOOP)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def split(path: str) -> list[str]:
    """The non-empty components of ``path``."""
    return [p for p in path.split("/") if p and p != "."]


def resolve_in_scope(root: str, path: str, follow_last: bool = True) -> str:
    """The host path of ``path`` under ``root`` with every symlink followed inside ``root``.

    Missing components are kept as they are (the result may not exist). With
    ``follow_last`` false a final symlink is not followed.
    """
    parts = split(path)
    done: list[str] = []
    links = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, name)
        try:
            st = os.lstat(host)
        except (FileNotFoundError, NotADirectoryError):
            done.append(name)
            for rest in parts:
                if rest == "..":
                    if done:
                        done.pop()
                else:
                    done.append(rest)
            break
        if stat.S_ISLNK(st.st_mode) and (parts or follow_last):
            links += 1
            if links > MAX_LINKS:
                raise InvalidArgument(f"too many levels of symbolic links: {path}")
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            parts = split(target) + parts
            continue
        done.append(name)
    return os.path.join(root, *done) if done else root


def is_inside(path: str) -> bool:
    """Whether a relative path, cleaned, stays inside its root (no leading ``..``)."""
    cleaned = os.path.normpath(path.lstrip("/") or ".")
    return cleaned != ".." and not cleaned.startswith("../")


class ScopedRoot:
    """An open root directory; paths below it are walked without ever leaving it."""

    def __init__(self, root: str, owner: tuple[int, int] | None = None, dir_mode: int = 0o755) -> None:
        self.root = root
        self.owner = owner
        self.dir_mode = dir_mode
        self.fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ScopedRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_dir(self, path: str, create: bool = False) -> int:
        """A descriptor of directory ``path`` (symlinks followed in scope; missing ones made
        when ``create``, with ``dir_mode`` and ``owner``). The caller closes it."""
        parts = split(path)
        stack = [os.dup(self.fd)]
        links = 0
        try:
            while parts:
                name = parts.pop(0)
                if name == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                fd, target = self._step(stack[-1], name, create, path)
                if target is not None:
                    links += 1
                    if links > MAX_LINKS:
                        raise InvalidArgument(f"too many levels of symbolic links: {path}")
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    parts = split(target) + parts
                    continue
                stack.append(fd)
            return stack.pop()
        finally:
            for fd in stack:
                os.close(fd)

    def _step(self, parent: int, name: str, create: bool, path: str) -> tuple[int, str | None]:
        """Open ``name`` below ``parent`` as a directory: (fd, None), or (-1, target) for a symlink."""
        for _ in range(2):
            try:
                return os.open(name, _DIR_FLAGS, dir_fd=parent), None
            except FileNotFoundError:
                if not create:
                    raise NotFound(f"no such file or directory: {path}") from None
                try:
                    os.mkdir(name, 0o700, dir_fd=parent)
                except FileExistsError:
                    continue
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
                self._finish_new_dir(fd)
                return fd, None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    return -1, os.readlink(name, dir_fd=parent)
                raise InvalidArgument(f"not a directory: {name} in {path}") from None
        raise InvalidArgument(f"cannot create directory {name} in {path}")

    def _finish_new_dir(self, fd: int) -> None:
        if self.owner is not None:
            chown_fd(fd, *self.owner)
        os.fchmod(fd, self.dir_mode)

    def open_parent(self, path: str, create: bool = False) -> tuple[int, str]:
        """(descriptor of the parent directory, final name) of ``path``; "" for the root."""
        parts = split(path)
        # "a/b/.." names "a": resolve such tails to a directory and its own name
        while parts and parts[-1] == "..":
            parts = parts[:-2]
        if not parts:
            return os.dup(self.fd), ""
        return self.open_dir("/".join(parts[:-1]), create), parts[-1]

    def lstat(self, path: str) -> os.stat_result | None:
        """``lstat`` of ``path`` (parents resolved in scope), None when it does not exist."""
        try:
            parent, name = self.open_parent(path)
        except (NotFound, InvalidArgument):
            return None
        try:
            return os.stat(name or ".", dir_fd=parent, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        finally:
            os.close(parent)

    def is_dir(self, path: str) -> bool:
        """Whether ``path``, symlinks followed in scope, is an existing directory."""
        try:
            fd = self.open_dir(path)
        except (NotFound, InvalidArgument):
            return False
        os.close(fd)
        return True

    def read_file(self, path: str) -> bytes | None:
        """The content of regular file ``path`` (symlinks followed in scope), None if missing."""
        links = 0
        while True:
            try:
                parent, name = self.open_parent(path)
            except (NotFound, InvalidArgument):
                return None
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(name, dir_fd=parent)
                    links += 1
                    if links > MAX_LINKS:
                        return None
                    base = path.rstrip("/").rsplit("/", 1)[0] if "/" in path.strip("/") else ""
                    path = target if target.startswith("/") else f"{base}/{target}"
                    continue
                if not stat.S_ISREG(st.st_mode):
                    return None
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                with os.fdopen(fd, "rb") as f:
                    return f.read()
            except (FileNotFoundError, NotADirectoryError):
                return None
            finally:
                os.close(parent)


def chown_fd(fd: int, uid: int, gid: int) -> None:
    """``fchown`` unless the owner is already right (so an unprivileged caller can copy too)."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.fchown(fd, uid, gid)


def chown_at(dir_fd: int, name: str, uid: int, gid: int) -> None:
    """``lchown`` of ``name`` below ``dir_fd``, unless the owner is already right."""
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
