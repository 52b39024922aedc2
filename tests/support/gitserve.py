"""A git repository served over git's "dumb HTTP" protocol on 127.0.0.1, for git build contexts.

:func:`served_repo` makes a work repository (``default`` branch: Dockerfile ``COPY . /ctx/``,
``which.txt``, ``sub/`` with its own Dockerfile, a ``.dockerignore`` leaving out ``*.log``;
branch ``feature`` and tag ``v1`` change ``which.txt`` and ``sub/s.txt``; optionally a
submodule ``mod`` from a second repository), clones it bare into a served directory,
runs ``git update-server-info`` and serves the directory with ``http.server`` on a free
port: ``<url>/repo.git#feature:sub`` then works with no network. Nothing is started but a
thread of this process, stopped when the context ends.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = "FROM busybox\nCOPY . /ctx/\n"
SUB_DOCKERFILE = "FROM busybox\nCOPY . /sub/\n"


@dataclass(frozen=True)
class ServedRepo:
    base: str  # http://127.0.0.1:<port>
    work: Path  # the work repository (push more with :func:`publish`)

    @property
    def url(self) -> str:
        return f"{self.base}/repo.git"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _bare(work: Path, served: Path, name: str) -> None:
    git(served, "clone", "-q", "--bare", str(work), name)
    git(served / name, "update-server-info")


def make_repos(base: Path, default: str = "master", submodule: bool = False) -> Path:
    """The served directory (``repo.git``, and ``sub.git`` with ``submodule``) under ``base``."""
    served, work = base / "served", base / "work"
    served.mkdir(parents=True)
    work.mkdir()
    git(work, "init", "-q", "-b", default)
    _write(work, {"Dockerfile": DOCKERFILE, "which.txt": f"{default}\n", "sub/Dockerfile": SUB_DOCKERFILE,
                  "sub/s.txt": f"sub-{default}\n", ".dockerignore": "*.log\n", "x.log": "ignored\n"})
    os.symlink("/", work / "up")  # followed inside the clone: ``#:up`` is the clone's root
    if submodule:
        inner = base / "inner"
        inner.mkdir()
        git(inner, "init", "-q", "-b", "main")
        _write(inner, {"inner.txt": "inner\n"})
        git(inner, "add", "-A")
        git(inner, "commit", "-qm", "inner")
        _bare(inner, served, "sub.git")
        git(work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(served / "sub.git"), "mod")
        _write(work, {".gitmodules": '[submodule "mod"]\n\tpath = mod\n\turl = ../sub.git\n'})
    git(work, "add", "-A")
    git(work, "commit", "-qm", "one")
    git(work, "checkout", "-q", "-b", "feature")
    _write(work, {"which.txt": "feature\n", "sub/s.txt": "sub-feature\n"})
    git(work, "commit", "-qam", "two")
    git(work, "tag", "v1")
    git(work, "checkout", "-q", default)
    _bare(work, served, "repo.git")
    return served


@contextlib.contextmanager
def served_repo(base: Path, default: str = "master", submodule: bool = False) -> Iterator[ServedRepo]:
    """The repositories of :func:`make_repos` served on 127.0.0.1 (a free port)."""
    served = make_repos(base, default, submodule)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ServedRepo(f"http://127.0.0.1:{server.server_address[1]}", base / "work")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def git_temp_dirs(parent: str = "/tmp") -> set[str]:
    """The clones (``docker-build-git*``) under ``parent``: none may be left by a test."""
    return {name for name in os.listdir(parent) if name.startswith("docker-build-git")}
