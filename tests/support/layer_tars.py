"""Helpers for the layer tests: build layer tars in memory, describe directory trees.

- ``E(name, kind="file", data=b"", ...)`` describes one entry; ``build(entries)`` makes the
  tar bytes (PAX format unless told), ``gz``/``zst`` compress them.
- ``apply_bytes(data, root, **options)`` applies a tar held in memory.
- ``view(root)`` describes a tree as the layer code must reproduce it (type, mode, owner,
  whole-second mtime, content or target, device number, user xattrs, hardlink groups).
- ``state(top, skip)`` fingerprints everything under ``top`` (ctime and link counts
  included) to prove that a hostile layer changed nothing outside its root.
- ``jailed(jail, fn)`` runs ``fn()`` in a forked child chrooted into ``jail`` (in a new
  user namespace when not root), so that code under test which fails to contain a hostile
  layer can only ever write inside the jail, never on the host; the result or exception
  comes back pickled.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import select
import signal
import stat
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import zstandard

from dockyard.containerd.archive.apply import ApplyResult, apply_layer

KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
}


@dataclass
class E:
    name: str
    kind: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    link: str = ""
    major: int = 0
    minor: int = 0
    pax: dict[str, str] = field(default_factory=dict)

    def info(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.name)
        info.type = KINDS[self.kind]
        info.mode = self.mode if self.mode is not None else (0o755 if self.kind == "dir" else 0o644)
        info.uid, info.gid, info.mtime = self.uid, self.gid, self.mtime
        info.linkname = self.link
        info.devmajor, info.devminor = self.major, self.minor
        info.size = len(self.data) if self.kind == "file" else 0
        info.pax_headers = dict(self.pax)
        return info


def build(entries: list[E], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tf:
        for e in entries:
            info = e.info()
            tf.addfile(info, io.BytesIO(e.data) if e.kind == "file" else None)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def apply_bytes(data: bytes, root: str | os.PathLike[str], **options: Any) -> ApplyResult:
    return apply_layer(io.BytesIO(data), root, **options)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _user_xattrs(path: str) -> tuple[tuple[str, bytes], ...]:
    try:
        keys = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    return tuple(sorted((k, os.getxattr(path, k, follow_symlinks=False)) for k in keys if k.startswith("user.")))


def view(root: str | os.PathLike[str], *, times: bool = True) -> dict[str, tuple[Any, ...]]:
    """``rel -> facts`` for every entry under ``root`` (not root itself), plus hardlink groups
    under the key ``"<links>"``."""
    top = os.fspath(root)
    out: dict[str, tuple[Any, ...]] = {}
    inodes: dict[int, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, top)
            st = os.lstat(path)
            mode = st.st_mode
            extra: Any = None
            if stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(mode):
                extra = os.readlink(path)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                extra = (os.major(st.st_rdev), os.minor(st.st_rdev))
            mtime = st.st_mtime_ns // 10**9 if times and not stat.S_ISLNK(mode) else None
            out[rel] = (stat.S_IFMT(mode), stat.S_IMODE(mode), st.st_uid, st.st_gid, mtime, extra, _user_xattrs(path))
    out["<links>"] = tuple(sorted(tuple(sorted(v)) for v in inodes.values() if len(v) > 1))
    return out


def state(top: str | os.PathLike[str], skip: str | os.PathLike[str] | None = None) -> dict[str, tuple[Any, ...]]:
    """Fingerprint of ``top`` and everything below it except the ``skip`` subtree."""
    base = os.fspath(top)
    skipped = os.fspath(skip) if skip is not None else None
    out: dict[str, tuple[Any, ...]] = {}

    def record(path: str) -> None:
        st = os.lstat(path)
        facts: list[Any] = [st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink]
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                facts.append(hashlib.sha256(f.read()).hexdigest())
        elif stat.S_ISLNK(st.st_mode):
            facts.append(os.readlink(path))
        out[os.path.relpath(path, base)] = tuple(facts)

    record(base)
    for dirpath, dirnames, filenames in os.walk(base):
        if skipped is not None and skipped in [os.path.join(dirpath, d) for d in dirnames]:
            dirnames.remove(os.path.basename(skipped))
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if path != skipped:
                record(path)
    return out


class _NoJail(Exception):
    pass


def _enter_user_namespace() -> None:
    from dockyard.runtime import linux
    from dockyard.runtime.syscalls import LinuxSyscalls

    uid, gid = os.geteuid(), os.getegid()
    LinuxSyscalls().unshare(linux.CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def jailed(jail: str | os.PathLike[str], fn: Callable[[], Any], timeout: float = 300) -> Any:
    """``fn()`` in a forked child chrooted into ``jail``; its result, or its exception raised.
    A child still running after ``timeout`` seconds is killed and the test fails."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            try:
                if os.geteuid() != 0:
                    _enter_user_namespace()
                os.chroot(jail)
                os.chdir("/")
            except OSError as exc:
                raise _NoJail(f"cannot chroot into a jail: {exc}") from None
            outcome: tuple[str, Any] = ("ok", fn())
        except BaseException as exc:
            outcome = ("err", exc)
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:
            data = pickle.dumps(("err", AssertionError(f"unpicklable outcome {outcome!r}: {exc}")))
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout
    with os.fdopen(r, "rb", buffering=0) as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([f], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"the jailed child ran for more than {timeout} s")
            chunk = f.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the jailed child died"
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    if isinstance(value, _NoJail):
        pytest.skip(str(value))
    raise value
