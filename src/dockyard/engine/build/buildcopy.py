"""COPY, ADD and WORKDIR steps: what they copy or make, prepared before the snapshot.

:func:`prepare_copy` resolves a COPY/ADD's sources (in the build context, in another
stage's or an image's mounted root for ``--from``, in a temporary directory for ADD's URLs
and heredocs) and hashes them (:mod:`.checksum`) for the cache and ``created_by``; its
``apply(root)`` does the copy inside the new snapshot's root (:mod:`.copyapply`, scoped
paths). ADD of a local tar archive (plain, gzip, bzip2, xz) extracts it into the
destination directory instead, with the context extractor's rules (no absolute names, no
``..``, no writing through symlinks). :func:`make_workdir` is WORKDIR's ``mkdir -p``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tarfile
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine.build import instructions as ins
from dockyard.engine.build.buildsteps import StepWorker
from dockyard.engine.build.checksum import sources_hash
from dockyard.engine.build.context import extract_context
from dockyard.engine.build.copyapply import apply_plan, parse_chmod, parse_chown
from dockyard.engine.build.copyplan import CopyPlan, normalize_dest, plan_copy
from dockyard.engine.build.runconfig import StageState
from dockyard.engine.build.shellwords import Lexer
from dockyard.engine.scoped import ScopedRoot
from dockyard.errors import InvalidArgument, NotFound, Unavailable

CHUNK = 1 << 20


@dataclass
class PreparedCopy:
    """A COPY/ADD ready to apply: its plan, the sources' hash, temporary files to remove."""

    plan: CopyPlan
    hash: str
    chown: str = ""
    chmod: str = ""
    extract: set[str] = field(default_factory=set)  # host paths of tars ADD extracts
    temp_dirs: list[str] = field(default_factory=list)

    def apply(self, root: str) -> None:
        owner = parse_chown(self.chown, root) if self.chown else (0, 0)
        mode = parse_chmod(self.chmod) if self.chmod else None
        plain = [item for item in self.plan.items if item.source not in self.extract]
        if plain:
            apply_plan(root, plain, owner, mode)
        for item in self.plan.items:
            if item.source in self.extract:
                with ScopedRoot(root, owner=owner) as scoped:
                    fd = scoped.open_dir(item.dest, create=True)
                    try:
                        with open(item.source, "rb") as stream:
                            extract_context(stream, f"/proc/self/fd/{fd}")
                    finally:
                        os.close(fd)

    def cleanup(self) -> None:
        for directory in self.temp_dirs:
            shutil.rmtree(directory, ignore_errors=True)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def is_archive(path: str) -> bool:
    """A local file ADD extracts: a tar, possibly compressed."""
    try:
        with tarfile.open(path, "r:*") as tar:
            return tar.next() is not None
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return False
    except Exception:  # lzma/zlib errors on garbage
        return False


async def _download(url: str, directory: str) -> str:
    """``url`` saved in ``directory`` under its path's base name; the name."""
    import aiohttp

    name = posixpath.basename(urllib.parse.urlparse(url).path) or "download"
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            if answer.status != 200:
                raise InvalidArgument(f"failed to GET {url} with status {answer.status}: {answer.reason}")
            with open(os.path.join(directory, name), "wb") as out:
                async for chunk in answer.content.iter_chunked(CHUNK):
                    out.write(chunk)
    except aiohttp.ClientError as exc:
        raise Unavailable(f"failed to GET {url}: {exc}") from None
    return name


async def prepare_copy(command: ins.CopyCommand, root: str, state: StageState, *, from_image: bool,
                       temp_parent: str, escape: str = "\\") -> PreparedCopy:
    """The plan and hash of ``command`` with sources in ``root`` (see the module doc); a
    heredoc source whose delimiter is not quoted has its variables substituted."""
    workdir = state.workdir or "/"
    temp_dirs: list[str] = []
    try:
        sources = list(command.sources)
        source_root = root
        if command.heredocs or (command.keyword == "ADD" and any(is_url(s) for s in sources)):
            if from_image:
                raise InvalidArgument(f"{command.keyword} failed: --from cannot be used with URLs or heredocs")
            if any(not is_url(s) and not s.startswith("<<") for s in sources):
                raise InvalidArgument(f"{command.keyword} failed: mixing URLs or heredocs with local files "
                                      "is not supported here")
            source_root = tempfile.mkdtemp(prefix="dockyard-build-src-", dir=temp_parent)
            temp_dirs.append(source_root)
            names = []
            heredocs = {doc.name: doc for doc in command.heredocs}
            for source in sources:
                if is_url(source):
                    names.append(await _download(source, source_root))
                else:
                    doc = heredocs.get(source.lstrip("<").lstrip("-").strip("'\""))
                    if doc is None:
                        raise NotFound(f"{command.keyword} failed: no heredoc named {source}")
                    content = Lexer(escape).process_heredoc(doc.content, state.substitution_env()) \
                        if doc.expand else doc.content
                    with open(os.path.join(source_root, doc.name), "w") as out:
                        out.write(content)
                    names.append(doc.name)
            sources = names
        plan = plan_copy(source_root, sources, command.dest, workdir, command.keyword)
        extract: set[str] = set()
        if command.keyword == "ADD" and source_root == root and not from_image:
            extract = {s.path for s in plan.sources if not s.is_dir and is_archive(s.path)}
            if extract:
                plan.items = [item if item.source not in extract else
                              type(item)(item.source, _dir_dest(plan.dest), False, item.name) for item in plan.items]
        return PreparedCopy(plan, sources_hash(plan.sources), command.chown, command.chmod, extract, temp_dirs)
    except BaseException:
        for directory in temp_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _dir_dest(dest: str) -> str:
    return dest.rstrip("/") or "/"


@contextlib.asynccontextmanager
async def source_root(worker: StepWorker, context_dir: str, doc: Mapping[str, Any] | None) -> AsyncIterator[str]:
    """Where a COPY's sources are: the context, or the mounted image of ``--from``."""
    if doc is None:
        yield context_dir
        return
    async with worker.image_root(doc) as root:
        yield root


def make_workdir(path: str) -> Callable[[str], None]:
    """WORKDIR's work: create ``path`` (and its parents, root's, 0755) in the root if missing."""
    def work(root: str) -> None:
        with ScopedRoot(root, owner=(0, 0)) as scoped:
            os.close(scoped.open_dir(normalize_dest("/", path), create=True))

    return work
