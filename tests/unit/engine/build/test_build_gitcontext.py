"""Git build contexts: docker's URL rule and ``#ref:subdir`` fragment (pure), and clones of a
repository served over dumb HTTP on 127.0.0.1 (refs, subdirectories, submodules, errors
with docker's wording, nothing left behind)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.gitserve import ServedRepo, git_temp_dirs, served_repo

from dockyard.engine.build import gitcontext
from dockyard.engine.build.gitcontext import GitRemote, is_git_url, parse_remote
from dockyard.errors import FailedPrecondition, Internal, InvalidArgument

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.mark.parametrize(("text", "wanted"), [
    ("git://example.com/repo", True),
    ("git@github.com:docker/cli.git", True),
    ("github.com/docker/cli", True),
    ("https://example.com/repo.git", True),
    ("http://127.0.0.1:8080/repo.git#main:sub", True),
    ("https://example.com/repo.git#", False),  # an empty fragment: a plain URL, as docker's pattern
    ("https://example.com/repo", False),
    ("https://example.com/context.tar", False),
    ("https://example.com/repo.git/Dockerfile", False),
    ("https://example.com/repoxgit", True),  # docker's unescaped dot
    ("ftp://example.com/repo.git", False),
    ("./repo.git", False),
    ("-", False),
])
def test_is_git_url(text: str, wanted: bool) -> None:
    assert is_git_url(text) is wanted


@pytest.mark.parametrize(("url", "wanted"), [
    ("https://h/repo.git", GitRemote("https://h/repo.git")),
    ("https://h/repo.git#dev", GitRemote("https://h/repo.git", "dev")),
    ("https://h/repo.git#dev:docker/app", GitRemote("https://h/repo.git", "dev", "docker/app")),
    ("https://h/repo.git#:sub", GitRemote("https://h/repo.git", "", "sub")),
    ("https://h/repo.git#v1.0:a:b", GitRemote("https://h/repo.git", "v1.0", "a:b")),
    ("github.com/docker/cli#main", GitRemote("https://github.com/docker/cli", "main")),
    ("git@github.com:docker/cli.git#main:sub", GitRemote("git@github.com:docker/cli.git", "main", "sub")),
    ("git://h/repo#abc123", GitRemote("git://h/repo", "abc123")),
])
def test_parse_remote(url: str, wanted: GitRemote) -> None:
    assert parse_remote(url) == wanted


def test_a_ref_like_an_option_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"^invalid refspec: --upload-pack=x$"):
        parse_remote("https://h/repo.git#--upload-pack=x")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRepo]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    with served_repo(tmp_path_factory.mktemp("git"), default="main", submodule=True) as served:
        yield served


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[str]:
    """Where the clones go; empty again after each test."""
    yield str(tmp_path)
    assert git_temp_dirs(str(tmp_path)) == set()


def read(checkout: gitcontext.Checkout, name: str) -> str:
    with open(os.path.join(checkout.context_dir, name)) as f:
        return f.read()


@needs_git
@pytest.mark.parametrize(("fragment", "which", "sub"), [
    ("", "main\n", "sub-main\n"),  # no ref: the remote's HEAD (main here)
    ("#feature", "feature\n", "sub-feature\n"),
    ("#v1", "feature\n", "sub-feature\n"),
    ("#main", "main\n", "sub-main\n"),
])
def test_clone_refs(repo: ServedRepo, parent: str, fragment: str, which: str, sub: str) -> None:
    checkout = gitcontext.clone(repo.url + fragment, parent=parent, timeout=60)
    try:
        assert checkout.context_dir == checkout.root
        assert os.path.dirname(checkout.root) == os.path.realpath(parent)
        assert os.path.basename(checkout.root).startswith("docker-build-git")
        assert read(checkout, "which.txt") == which and read(checkout, "sub/s.txt") == sub
        assert os.path.isdir(os.path.join(checkout.root, ".git"))
    finally:
        checkout.remove()


@needs_git
def test_clone_subdir_and_submodules(repo: ServedRepo, parent: str) -> None:
    checkout = gitcontext.clone(repo.url + "#feature:sub", parent=parent, isolated=True, cancelled=lambda: False)
    try:
        assert checkout.context_dir == os.path.join(checkout.root, "sub")
        assert sorted(os.listdir(checkout.context_dir)) == ["Dockerfile", "s.txt"]
        assert read(checkout, "s.txt") == "sub-feature\n"
    finally:
        checkout.remove()
    for fragment in ("#:/sub", "#main:sub/", "#:up/sub"):  # "/sub" is below the root; "up" links to "/"
        checkout = gitcontext.clone(repo.url + fragment, parent=parent)
        assert read(checkout, "s.txt") == "sub-main\n"
        checkout.remove()
    checkout = gitcontext.clone(repo.url, parent=parent, isolated=True)  # dumb HTTP: no --depth, submodules work
    try:
        assert read(checkout, "mod/inner.txt") == "inner\n"
    finally:
        checkout.remove()


@needs_git
@pytest.mark.parametrize(("fragment", "error", "message"), [
    ("#nope", Internal, r"^error fetching: fatal: couldn't find remote ref nope\n: exit status 128$"),
    ("#main:../x", InvalidArgument,
     r'^error setting git context, "\.\./x" not within git root: evalSymlinksInScope: /\S+/x is not in '
     r"/\S+/docker-build-git"),
    ("#main:nosub", InvalidArgument, r"^stat /.*/docker-build-git\w+/nosub: no such file or directory$"),
    ("#main:which.txt", InvalidArgument, r"^error setting git context, not a directory: /.*/which\.txt$"),
    ("#-x", InvalidArgument, r"^invalid refspec: -x$"),
])
def test_clone_errors_leave_nothing(repo: ServedRepo, parent: str, fragment: str, error: type[Exception],
                                    message: str) -> None:
    with pytest.raises(error, match=message):
        gitcontext.clone(repo.url + fragment, parent=parent, isolated=True)


@needs_git
def test_missing_repository(repo: ServedRepo, parent: str) -> None:
    with pytest.raises(Internal, match=r"^error fetching: fatal: repository '.*/missing\.git/' not found"):
        gitcontext.clone(f"{repo.base}/missing.git", parent=parent)


def _slow_runner(parent: str, timeout: float | None, cancelled: object = None) -> gitcontext._Runner:
    runner = gitcontext._Runner(parent, timeout, isolated=True, cancelled=cancelled)  # type: ignore[arg-type]
    runner.env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="alias.slow",
                      GIT_CONFIG_VALUE_0=f"!echo $$ > {parent}/shell.pid; exec sleep 30")
    return runner


def _gone(pid_file: str) -> bool:
    with open(pid_file) as f:
        pid = int(f.read())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1].startswith("Z")


@needs_git
def test_cancel_and_timeout_kill_git(parent: str) -> None:
    import time

    started = time.monotonic()
    with pytest.raises(Internal, match=r"^git slow: timed out after 0\.3s$"):
        _slow_runner(parent, 0.3).run("slow")
    assert time.monotonic() - started < 5 and _gone(f"{parent}/shell.pid")
    with pytest.raises(Internal, match=r"^git slow: cancelled$"):
        _slow_runner(parent, None, lambda: True).run("slow")
    assert _gone(f"{parent}/shell.pid")
    os.unlink(f"{parent}/shell.pid")


def test_no_git(monkeypatch: pytest.MonkeyPatch, parent: str) -> None:
    monkeypatch.setenv("PATH", parent)
    with pytest.raises(FailedPrecondition, match=r"^unable to find 'git': exec: \"git\": executable file not found"):
        gitcontext.clone("https://h/repo.git", parent=parent)
