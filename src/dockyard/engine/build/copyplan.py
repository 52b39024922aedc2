"""COPY/ADD sources resolved in the build context, with the classic builder's rules.

- A source is relative to the context root: a leading ``/`` and a leading ``./`` are
  dropped; one that climbs out with ``..`` is ``forbidden path outside the build context:
  <src> ()``; symlinks are followed inside the context (never out of it).
- A source with wildcards (``*``, ``?``, ``[``, ``\\``) is Go's ``filepath.Match`` against
  every path of the context (walked in lexical order; no ``**``); a matched directory is one
  source. No match at all is ``no source files were specified``.
- A missing source is ``file not found in build context or excluded by .dockerignore:
  stat <src>: file does not exist``.
- A relative destination is relative to WORKDIR; a trailing ``/`` is kept. More than one
  source (after wildcard expansion) needs a destination ending in ``/``.
- A directory is copied as its contents; a file into ``<dest>/<name>`` when the destination
  ends in ``/`` or is an existing directory in the image (decided when the plan is applied,
  :mod:`dockyard.engine.build.copyapply`), else as ``<dest>``.

Errors carry dockerd's ``<INSTRUCTION> failed: `` prefix.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from dockyard.engine.build.globs import compile_glob, has_magic
from dockyard.engine.scoped import is_inside, resolve_in_scope
from dockyard.errors import InvalidArgument, NotFound


@dataclass(frozen=True)
class CopySource:
    """One source: ``path`` on the host (in the context, no symlink left), ``name`` as
    matched or written (relative to the context root, "." for the root), ``is_dir``."""

    path: str
    name: str
    is_dir: bool

    @property
    def basename(self) -> str:
        return posixpath.basename(self.name.rstrip("/")) or "."


@dataclass(frozen=True)
class CopyItem:
    """One step of a plan: copy ``source`` (a file, or a directory's contents) to ``dest``
    (absolute in the image; a trailing ``/`` means "into this directory")."""

    source: str
    dest: str
    is_dir: bool
    name: str  # the source's base name, for a file copied into a directory


@dataclass
class CopyPlan:
    """The sources of one COPY/ADD and where each goes."""

    sources: list[CopySource]
    dest: str
    items: list[CopyItem] = field(default_factory=list)


def normalize_dest(workdir: str, dest: str) -> str:
    """``dest`` made absolute against ``workdir`` (dockerd's normalizeDest: a relative path
    is joined and cleaned, a trailing ``/`` kept; an absolute one is taken as written)."""
    if dest.startswith("/"):
        return dest
    joined = posixpath.normpath(posixpath.join("/", workdir or "/", dest))
    if joined.startswith("//"):
        joined = "/" + joined.lstrip("/")
    if dest.endswith("/") and joined != "/":
        joined += "/"
    return joined


def trim_source(src: str) -> str:
    """A source as dockerd reads it: one leading ``/`` and then one leading ``./`` dropped."""
    if src.startswith("/"):
        src = src[1:]
    if src.startswith("./"):
        src = src[2:]
    return src


def _failed(instruction: str, message: str) -> str:
    return f"{instruction} failed: {message}"


def walk_context(context_dir: str) -> Iterator[tuple[str, bool]]:
    """(relative path, is a directory) of every entry below the context root, in Go's
    ``filepath.Walk`` order (lexical, a directory before its contents; links not followed)."""
    def walk(rel: str) -> Iterator[tuple[str, bool]]:
        host = os.path.join(context_dir, rel) if rel else context_dir
        for name in sorted(os.listdir(host)):
            child = f"{rel}/{name}" if rel else name
            is_dir = stat.S_ISDIR(os.lstat(os.path.join(context_dir, child)).st_mode)
            yield child, is_dir
            if is_dir:
                yield from walk(child)
    yield from walk("")


def _one(context_dir: str, src: str, instruction: str) -> CopySource:
    if not is_inside(src):
        raise InvalidArgument(_failed(instruction, f"forbidden path outside the build context: {src} ()"))
    host = resolve_in_scope(context_dir, src)
    try:
        st = os.stat(host)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(_failed(
            instruction,
            f"file not found in build context or excluded by .dockerignore: stat {src}: file does not exist",
        )) from None
    return CopySource(host, src or ".", stat.S_ISDIR(st.st_mode))


def _wildcard(context_dir: str, src: str, instruction: str) -> list[CopySource]:
    regex = compile_glob(src)
    found: list[CopySource] = []
    skip: str | None = None
    for rel, is_dir in walk_context(context_dir):
        if skip is not None and rel.startswith(skip):
            continue
        skip = None
        if regex.match(rel):
            found.append(_one(context_dir, rel, instruction))
            if is_dir:
                skip = rel + "/"
    return found


def resolve_sources(context_dir: str, sources: Sequence[str], instruction: str = "COPY",
                    allow_wildcards: bool = True) -> list[CopySource]:
    """The sources of one COPY/ADD in the context (see the module docstring)."""
    found: list[CopySource] = []
    for raw in sources:
        src = trim_source(raw)
        if allow_wildcards and has_magic(src):
            found.extend(_wildcard(context_dir, src, instruction))
        else:
            found.append(_one(context_dir, src, instruction))
    if not found:
        raise InvalidArgument(_failed(instruction, "no source files were specified"))
    return found


def plan_copy(context_dir: str, sources: Sequence[str], dest: str, workdir: str = "/",
              instruction: str = "COPY", allow_wildcards: bool = True) -> CopyPlan:
    """The plan of ``<instruction> sources... dest`` run with WORKDIR ``workdir``."""
    if not sources:
        raise InvalidArgument(_failed(instruction, "no source files were specified"))
    resolved = resolve_sources(context_dir, sources, instruction, allow_wildcards)
    target = normalize_dest(workdir, dest)
    if len(resolved) > 1 and not target.endswith("/"):
        raise InvalidArgument(f"When using {instruction} with more than one source file, "
                              "the destination must be a directory and end with a /")
    items = [CopyItem(s.path, target, s.is_dir, s.basename) for s in resolved]
    return CopyPlan(resolved, target, items)
