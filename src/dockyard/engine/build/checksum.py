"""Content checksums of COPY/ADD sources, for the build cache and the layer's history.

The classic builder records a COPY as ``COPY <hash> in <dest>`` with ``file:<sha256>`` for a
single file, ``dir:<sha256>`` for a directory and ``multi:<sha256>`` (over the sources'
strings joined by ``,``) for several sources; the cache compares those strings. The hash
depends on what the copy produces: names, file types, permission bits, symlink targets
and contents. Not on times, owners (the copy sets them) or the host path of the context.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence

from dockyard.engine.build.copyplan import CopySource

_CHUNK = 1 << 20


def _content(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW | os.O_CLOEXEC)) as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def _record(name: str, path: str, st: os.stat_result) -> bytes:
    """One entry's line: name, type, permission bits, then the link target or content hash."""
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        kind, value = "l", os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        kind, value = "d", ""
    elif stat.S_ISREG(st.st_mode):
        kind, value = "f", _content(path)
    else:
        kind, value = "o", ""
    return b"\0".join(os.fsencode(v) for v in (name, kind, f"{mode:o}", value)) + b"\n"


def file_hash(path: str, name: str) -> str:
    """``file:<sha256>`` of one file (followed if a symlink), named ``name`` in the copy."""
    return "file:" + hashlib.sha256(_record(name, path, os.stat(path))).hexdigest()


def dir_hash(path: str) -> str:
    """``dir:<sha256>`` of a directory's contents (its own mode included, not its name)."""
    digest = hashlib.sha256(_record(".", path, os.stat(path)))

    def walk(host: str, rel: str) -> None:
        for name in sorted(os.listdir(host)):
            child, child_rel = os.path.join(host, name), f"{rel}{name}"
            st = os.lstat(child)
            digest.update(_record(child_rel, child, st))
            if stat.S_ISDIR(st.st_mode):
                walk(child, child_rel + "/")

    walk(path, "")
    return "dir:" + digest.hexdigest()


def source_hash(source: CopySource) -> str:
    """``file:…`` or ``dir:…`` of one resolved source."""
    return dir_hash(source.path) if source.is_dir else file_hash(source.path, source.basename)


def sources_hash(sources: Sequence[CopySource]) -> str:
    """The classic builder's string for a COPY's sources: ``file:``/``dir:`` for one,
    ``multi:<sha256 of the sources' strings joined by ",">`` for several."""
    if len(sources) == 1:
        return source_hash(sources[0])
    joined = ",".join(source_hash(s) for s in sources)
    return "multi:" + hashlib.sha256(joined.encode()).hexdigest()


def copy_comment(instruction: str, sources: Sequence[CopySource], dest: str) -> str:
    """The classic builder's COPY/ADD comment, ``COPY file:<hash> in /dst `` (trailing space
    included): the run config's command for the cache lookup, ``#(nop)`` history after
    ``/bin/sh -c``. ``dest`` is the normalized destination (:attr:`CopyPlan.dest`)."""
    return f"{instruction} {sources_hash(sources)} in {dest} "
