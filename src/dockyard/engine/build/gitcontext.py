"""Build contexts from git repositories, cloned as docker's classic builder clones them.

Shared by ``dockyard build <git URL>`` (the docker CLI clones on the client) and the
engine's ``POST /build?remote=<git URL>`` (dockerd clones itself); light on purpose (the
CLI imports it): ``os``, ``re`` and ``subprocess``, ``urllib`` only for the shallow probe.

- :func:`is_git_url`: docker's ``urlutil.IsGitURL``: ``git://``, ``git@``, ``github.com/``,
  or an http(s) URL ending in ``.git`` (optionally with a non-empty ``#fragment``).
- :func:`parse_remote`: the remote and the ``#ref:subdir`` fragment; ``github.com/x``
  becomes ``https://github.com/x``; a ref starting with ``-`` is refused. Without a ref
  the remote's HEAD is fetched (docker 28 asks for ``master``, which fails on a repository
  whose default branch has another name).
- :func:`clone`: ``git init``, ``remote add origin``, ``fetch`` (``--depth 1`` where the
  server is a smart one), ``checkout`` (the ref by name, else ``FETCH_HEAD``), submodules
  recursed, then the subdirectory resolved inside the clone (symlinks followed in scope,
  ``..`` refused). Errors carry docker's wording; a failed clone leaves nothing behind.
  git runs without prompts (``GIT_TERMINAL_PROMPT=0``, no terminal: its own session, stdin
  from /dev/null); ``timeout`` bounds each git command (the process group is killed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dockyard.errors import FailedPrecondition, Internal, InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_GIT_PREFIXES = ("git://", "github.com/", "git@")
_GIT_SUFFIX = re.compile(r".git(?:#.+)?$")  # docker's pattern, the dot unescaped as there
NO_GIT = "unable to find 'git': exec: \"git\": executable file not found in $PATH"
TEMP_PREFIX = "docker-build-git"


def is_url(text: str) -> bool:
    """docker's ``urlutil.IsURL``: http(s) only."""
    return text.startswith(("http://", "https://"))


def is_git_url(text: str) -> bool:
    """Whether a build context argument (or ``remote``) names a git repository."""
    if is_url(text) and _GIT_SUFFIX.search(text):
        return True
    return text.startswith(_GIT_PREFIXES)


@dataclass(frozen=True)
class GitRemote:
    """What to fetch: the remote URL, the ref ("": the remote's HEAD), the context subdir."""

    remote: str
    ref: str = ""
    subdir: str = ""


def parse_remote(url: str) -> GitRemote:
    """The remote and fragment of a git context URL (``URL#ref:subdir``)."""
    if not (is_url(url) or url.startswith(("git://", "git@"))):
        url = "https://" + url
    remote, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    if ref.startswith("-"):
        raise InvalidArgument(f"invalid refspec: {ref}")
    return GitRemote(remote, ref, subdir)


def supports_shallow(remote: str, timeout: float = 30.0) -> bool:
    """docker's probe: an http(s) server is smart (shallow fetches work) when its
    ``info/refs?service=git-upload-pack`` answers with the upload-pack advertisement."""
    if not is_url(remote):
        return True
    import urllib.error
    import urllib.request

    wanted = "application/x-git-upload-pack-advertisement"
    target = remote + "/info/refs?service=git-upload-pack"
    for method in ("HEAD", "GET"):
        try:
            with urllib.request.urlopen(urllib.request.Request(target, method=method), timeout=timeout) as answer:
                if answer.status == 200:
                    return bool(answer.headers.get("Content-Type") == wanted)
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def _git_env(isolated: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if isolated:  # the engine: no user or system config (dockerd's WithIsolatedConfig)
        env.update(GIT_CONFIG_NOSYSTEM="1", HOME="/dev/null", LC_ALL="C")
        env.pop("XDG_CONFIG_HOME", None)
    return env


class _Runner:
    """git commands in one directory, each bounded by ``timeout`` seconds (None: no bound)
    and stopped when ``cancelled()`` turns true (checked twice a second)."""

    def __init__(self, cwd: str, timeout: float | None, isolated: bool,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.cwd = cwd
        self.timeout = timeout
        self.cancelled = cancelled
        self.env = _git_env(isolated)
        self.config = ["-c", "protocol.file.allow=never", "-c", "protocol.ext.allow=never"] if isolated else []

    def run(self, *args: str) -> tuple[int, str]:
        """(exit status, combined output) of ``git args``."""
        import signal
        import subprocess
        import time

        proc = subprocess.Popen(["git", *self.config, *args], cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            while True:
                try:
                    out, _ = proc.communicate(timeout=0.5 if self.cancelled else self.timeout)
                    break
                except subprocess.TimeoutExpired:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise Internal(f"git {args[0]}: timed out after {self.timeout:g}s") from None
                    if self.cancelled is not None and self.cancelled():
                        raise Internal(f"git {args[0]}: cancelled") from None
        except BaseException:  # a timeout, Ctrl-C, a cancelled build: git and its helpers go
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            raise
        return proc.returncode, out.decode("utf-8", "replace")

    def check(self, what: str, *args: str) -> None:
        status, out = self.run(*args)
        if status:
            raise Internal(f"{what}: {out}: exit status {status}")


@dataclass
class Checkout:
    """A clone: ``root`` (the temporary directory to remove) and ``context_dir`` in it."""

    root: str
    context_dir: str

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def require_git() -> None:
    import shutil

    if shutil.which("git") is None:
        raise FailedPrecondition(NO_GIT)


def _context_dir(root: str, subdir: str) -> str:
    """``subdir`` of the clone, symlinks followed inside it (docker's FollowSymlinkInScope)."""
    if not subdir:
        return root
    from dockyard.engine.scoped import resolve_in_scope

    joined = os.path.normpath(root + "/" + subdir)  # Go's filepath.Join: "/sub" is below root too
    if joined != root and not joined.startswith(root + "/"):
        raise InvalidArgument(f'error setting git context, "{subdir}" not within git root: '
                              f"evalSymlinksInScope: {joined} is not in {root}")
    path = resolve_in_scope(root, os.path.relpath(joined, root))
    if not os.path.lexists(path):
        raise InvalidArgument(f"stat {path}: no such file or directory")
    if not os.path.isdir(path):
        raise InvalidArgument(f"error setting git context, not a directory: {path}")
    return path


def _checkout(git: _Runner, ref: str) -> None:
    """The ref by name (a branch gets its local branch), else what was fetched."""
    if not ref:
        git.check("error checking out HEAD", "checkout", "FETCH_HEAD")
        return
    status, out = git.run("checkout", ref)
    if status and git.run("checkout", "FETCH_HEAD")[0]:
        raise Internal(f"error checking out {ref}: {out}: exit status {status}")


def clone(url: str, parent: str | None = None, timeout: float | None = None, isolated: bool = False,
          cancelled: Callable[[], bool] | None = None) -> Checkout:
    """Clone the repository of a git context URL into a new directory under ``parent``
    (the system's temporary directory by default). ``isolated`` (the engine): no user or
    system git config, no ``file``/``ext`` transports (a submodule cannot reach the host)."""
    import tempfile

    repo = parse_remote(url)
    require_git()
    root = os.path.realpath(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
    try:
        git = _Runner(root, timeout, isolated, cancelled)
        git.check(f"failed to init repo at {root}", "init")
        git.check(f"failed add origin repo at {repo.remote}", "remote", "add", "origin", repo.remote)
        shallow = supports_shallow(repo.remote)
        depth = ["--depth", "1"] if shallow else []
        git.check("error fetching", "fetch", *depth, "origin", "--", repo.ref or "HEAD")
        _checkout(git, repo.ref)
        git.check("error initializing submodules", "submodule", "update", "--init", "--recursive",
                  *(["--depth=1"] if shallow else []))
        return Checkout(root, _context_dir(root, repo.subdir))
    except BaseException:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        raise
