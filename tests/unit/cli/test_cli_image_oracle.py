"""Differential tests: image and system commands of ``dockyard`` and ``docker`` on the same fake daemon.

Each case runs the real docker CLI 28 and ``dockyard`` against one fake engine serving the
payloads of ``image_engine``; stdout, stderr and the exit status must be the same byte for
byte (docker's name in usage messages aside). Both run within the same second, so relative
times (``2 years ago``) agree. Skipped where docker is not installed.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from tests.unit.cli import image_engine
from tests.unit.cli.fake_engine import VERSION, FakeEngine, Result
from tests.unit.cli.oracle import docker_run, needs_docker

from dockyard.cli.main import main

pytestmark = needs_docker


@pytest.fixture(scope="module")
def daemon() -> Iterator[FakeEngine]:
    with tempfile.TemporaryDirectory(prefix="dyimg") as path, FakeEngine(f"{path}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        image_engine.install(engine)
        yield engine
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()


class Terminal(io.StringIO):
    """A captured stdout that says it is a terminal of ``columns`` columns."""

    def __init__(self, columns: int) -> None:
        super().__init__()
        self.columns = columns

    def isatty(self) -> bool:
        return True


def dockyard_run(host: str, argv: list[str], stdin: str = "", config_dir: str | None = None,
                 tty_cols: int = 0) -> Result:
    out, err = (Terminal(tty_cols) if tty_cols else io.StringIO()), io.StringIO()
    from dockyard.cli.command import Cli

    original = Cli.__init__

    def init(self: Cli, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        self.inp = io.StringIO(stdin)

    Cli.__init__ = init  # type: ignore[method-assign]
    try:
        status = main(["-H", host, *(["--config", config_dir] if config_dir else []), *argv], out, err)
    finally:
        Cli.__init__ = original  # type: ignore[method-assign]
    return Result(status, out.getvalue(), err.getvalue())


def api_calls(daemon: FakeEngine) -> list[tuple[object, ...]]:
    """The requests since the last call (pings aside): what both clients must send alike."""
    calls = [(r.method, r.path, r.version, sorted(r.query.items()), r.headers.get("x-registry-auth"),
              r.headers.get("content-type") if r.body else None, r.body)
             for r in daemon.requests if r.path != "/_ping"]
    del daemon.requests[:]
    return calls


def client_version_line(text: str) -> str:
    """``info``'s lines that differ by nature made alike: the client's version, and the runtimes,
    which docker lists in Go's (random) map order and we sort."""
    head, sep, rest = text.partition("Client:\n Version:    ")
    text = head + sep + "X" + rest[rest.index("\n"):] if sep else text
    return "\n".join(" Runtimes: " + " ".join(sorted(line.split()[1:])) if line.startswith(" Runtimes: ") else line
                     for line in text.split("\n"))


def same(daemon: FakeEngine, argv: list[str], stdin: str = "", config_dir: str | None = None) -> None:
    config = config_dir or tempfile.mkdtemp(prefix="dycfg")
    try:
        del daemon.requests[:]
        theirs = docker_run(daemon.host, argv, stdin.encode(), config_dir=config)
        their_requests = api_calls(daemon)
        ours = dockyard_run(daemon.host, argv, stdin, config_dir=config)
        our_requests = api_calls(daemon)
    finally:
        if config_dir is None:
            shutil.rmtree(config, ignore_errors=True)
    assert our_requests == their_requests
    expected_err = theirs.err.replace("docker: 'docker ", "dockyard: 'dockyard ").replace(
        "Usage:  docker ", "Usage:  dockyard ").replace("Run 'docker ", "Run 'dockyard ").replace(
        "See 'docker ", "See 'dockyard ").replace(
        "\n\nSRun '", "\n\nRun '")  # docker 28's RequiresMaxArgs has a typo ("SRun") we do not copy
    assert (ours.status, client_version_line(ours.out), ours.err) == (
        theirs.status, client_version_line(theirs.out), expected_err)


IMAGES = [
    ["images"],
    ["image", "ls", "-a"],
    ["image", "list", "--digests"],
    ["images", "--no-trunc"],
    ["images", "-q"],
    ["images", "-q", "--no-trunc"],
    ["images", "--format", "json"],
    ["images", "--format", "{{json .}}"],
    ["images", "--format", "table {{.Repository}}:{{.Tag}}\t{{.Containers}}\t{{.SharedSize}}\t{{.UniqueSize}}"],
    ["images", "--format", "table {{.ID}}\t{{.CreatedAt}}", "--digests"],
    ["images", "--format", "{{.Repository}} {{.Digest}}"],
    ["images", "--format", "raw"],
    ["images", "--format", "raw", "-q"],
    ["images", "--format", "{{.Nope}}"],
    ["images", "--format", "{{.ID"],
    ["images", "--filter", "nope"],
    ["images", "-f", "dangling=true", "-f", "label=a=b", "busybox"],
    ["images", "a", "b"],
    ["images", "--nope"],
]


@pytest.mark.parametrize("argv", IMAGES, ids=" ".join)
def test_images(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


HISTORY = [
    ["history", "busybox"],
    ["image", "history", "-H=false", "busybox"],
    ["history", "--no-trunc", "-q", "busybox"],
    ["history", "-q", "busybox"],
    ["history", "--format", "json", "busybox"],
    ["history", "--format", "table {{.ID}}\t{{.CreatedBy}}", "--no-trunc", "busybox"],
    ["history", "--format", "{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}", "-H=false", "busybox"],
    ["history", "--format", "{{.Nope}}", "busybox"],
    ["history", "--platform", "linux/arm64", "busybox"],
    ["history", "nope"],
    ["history"],
    ["history", "-H=maybe", "busybox"],
]


@pytest.mark.parametrize("argv", HISTORY, ids=" ".join)
def test_history(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


TAG_RMI = [
    ["tag", "busybox", "localhost:5000/x:y"],
    ["image", "tag", "busybox", "x"],
    ["tag", "nope", "x"],
    ["tag", "busybox", "BAD:x"],
    ["tag", "Bad", "x"],
    ["tag", "busybox", f"x@{image_engine.BUSYBOX_DIGEST}"],
    ["tag", image_engine.BUSYBOX_ID[7:], "x"],
    ["tag", "busybox"],
    ["rmi", "busybox", "alpine:3.21", "nope", "inuse"],
    ["rmi", "-f", "--no-prune", "busybox"],
    ["image", "rm", "-f", "nope"],
    ["image", "remove", "-f", "nope", "inuse"],
    ["rmi", "--platform", "linux/amd64,linux/arm64/v8", "busybox"],
    ["image", "rm"],
]


@pytest.mark.parametrize("argv", TAG_RMI, ids=" ".join)
def test_tag_and_rmi(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


INSPECT = [
    ["image", "inspect", "busybox"],
    ["image", "inspect", "busybox", "alpine:3.21"],
    ["image", "inspect", "busybox", "nope", "--format", "{{.Id}}"],
    ["image", "inspect", "--format", "{{json .RootFS}} {{index .RepoTags 1}} {{.Size}} {{.Config.Cmd}}", "busybox"],
    ["image", "inspect", "nope"],
    ["image", "inspect", "nope", "other"],
    ["image", "inspect", "busybox", "alpine:3.21", "--format", "json"],
    ["image", "inspect", "-f", "{{.Nope}}", "busybox"],
    ["image", "inspect", "-f", "{{.Config.Nope}}", "busybox"],
    ["image", "inspect", "-f", "{{.Id", "busybox"],
    ["image", "inspect", "--platform", "linux/arm64", "busybox"],
]


@pytest.mark.parametrize("argv", INSPECT, ids=" ".join)
def test_image_inspect(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


PULL_PUSH = [
    ["pull", "busybox"],
    ["image", "pull", "-q", "busybox"],
    ["pull", "busybox:nope"],
    ["pull", "private"],
    ["pull", "--platform", "linux/ARM64", "localhost:5000/team/app:v1.2"],
    ["pull", "-a", "busybox"],
    ["pull", "-a", "busybox:1.36"],
    ["pull", f"busybox@{image_engine.BUSYBOX_DIGEST}"],
    ["pull", "Bad"],
    ["pull"],
    ["push", "localhost:5000/team/app:v1.2"],
    ["image", "push", "-q", "localhost:5000/team/app:v1.2"],
    ["push", "busybox"],
    ["push", "-a", "localhost:5000/team/app"],
    ["push", "-a", "localhost:5000/team/app:v1.2"],
    ["push", "--platform", "linux/amd64", "localhost:5000/team/app"],
    ["push", f"busybox@{image_engine.BUSYBOX_DIGEST}"],
    ["push", "a", "b"],
]


@pytest.mark.parametrize("argv", PULL_PUSH, ids=" ".join)
def test_pull_and_push(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


@pytest.mark.parametrize("cols", [120, 80, 40])
@pytest.mark.parametrize("argv", [["pull", "busybox"], ["push", "localhost:5000/team/app:v1.2"],
                                  ["pull", "busybox:nope"], ["load", "-i", "/dev/null"]], ids=" ".join)
def test_progress_on_a_terminal(daemon: FakeEngine, argv: list[str], cols: int) -> None:
    theirs = docker_run(daemon.host, argv, tty=True, cols=cols)
    ours = dockyard_run(daemon.host, argv, tty_cols=cols)
    assert (ours.status, ours.out, ours.err) == (theirs.status, theirs.out, theirs.err)


@pytest.fixture
def tar_file(tmp_path: object) -> Iterator[str]:
    path = tempfile.mktemp(prefix="dyimg", suffix=".tar")
    with open(path, "wb") as f:
        f.write(b"TARDATA" * 10)
    yield path
    os.unlink(path)


def test_save_to_a_file(daemon: FakeEngine, tmp_path: object) -> None:
    out_dir = tempfile.mkdtemp(prefix="dysave")
    try:
        same(daemon, ["save", "busybox", "alpine:3.21", "-o", f"{out_dir}/x.tar"])
        with open(f"{out_dir}/x.tar", "rb") as f:
            assert f.read() == b"TARDATA" * 10
        assert os.stat(f"{out_dir}/x.tar").st_mode & 0o777 == 0o600
        assert os.listdir(out_dir) == ["x.tar"]
        same(daemon, ["save", "busybox", "-o", f"{out_dir}/nodir/x.tar"])
        same(daemon, ["save", "busybox", "-o", "/dev/null"])
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


SAVE_LOAD_IMPORT = [
    ["save", "busybox"],
    ["image", "save", "--platform", "linux/amd64", "busybox"],
    ["save", "--platform", "linux/nope/x/y", "busybox"],
    ["save"],
    ["load", "-i", "TAR"],
    ["image", "load", "-q", "-i", "TAR"],
    ["load", "--platform", "linux/arm64", "--platform", "linux/amd64", "-i", "TAR"],
    ["load", "-i", "/nonexistent.tar"],
    ["load", "x"],
    ["import", "TAR", "myimg:1", "-c", "ENV A=b", "-c", 'CMD ["sh"]', "-m", "hello world"],
    ["image", "import", "http://example.com/x.tar", "repo"],
    ["import", "--platform", "linux/ARM64", "TAR"],
    ["import", "/nonexistent.tar"],
    ["import", "TAR", "BAD"],
    ["import"],
]


@pytest.mark.parametrize("argv", SAVE_LOAD_IMPORT, ids=" ".join)
def test_save_load_import(daemon: FakeEngine, argv: list[str], tar_file: str) -> None:
    same(daemon, [tar_file if arg == "TAR" else arg for arg in argv])


def test_load_and_import_from_stdin(daemon: FakeEngine) -> None:
    same(daemon, ["load"], stdin="TARDATA" * 10)
    same(daemon, ["import", "-"], stdin="TARDATA" * 10)


PRUNE = [
    (["image", "prune"], "y\n"),
    (["image", "prune", "-a"], "n\n"),
    (["image", "prune", "-a"], ""),
    (["image", "prune", "-f", "--filter", "until=24h", "--filter", "label=a"], ""),
    (["image", "prune", "-a", "-f", "--filter", "label!=a"], ""),
    (["image", "prune", "x"], ""),
    (["system", "prune"], "y\n"),
    (["system", "prune"], "Y\n"),
    (["system", "prune", "-a", "--volumes"], "\n"),
    (["system", "prune", "-a", "-f", "--volumes", "--filter", "label=x"], ""),
    (["system", "prune", "--filter", "label=x", "--filter", "label!=y", "--filter", "until=10h"], "y\n"),
    (["system", "prune", "-f", "--volumes", "--filter", "until=1h"], ""),
    (["system", "prune", "x"], ""),
]


@pytest.mark.parametrize(("argv", "answer"), PRUNE, ids=lambda v: " ".join(v) if isinstance(v, list) else repr(v))
def test_prune(daemon: FakeEngine, argv: list[str], answer: str) -> None:
    same(daemon, argv, stdin=answer)


def test_prune_filters_of_the_config_file(daemon: FakeEngine) -> None:
    config = tempfile.mkdtemp(prefix="dycfg")
    try:
        with open(f"{config}/config.json", "w") as f:
            f.write('{"pruneFilters": ["label=keep", "label!=tmp", "until=48h", "bad"]}')
        same(daemon, ["system", "prune"], stdin="y\n", config_dir=config)
        same(daemon, ["image", "prune", "-f", "--filter", "label!=keep"], config_dir=config)
    finally:
        shutil.rmtree(config, ignore_errors=True)


INFO = [
    ["info"],
    ["system", "info"],
    ["-D", "info"],
    ["info", "--format", "{{.ServerVersion}} {{.DefaultRuntime}} {{.Swarm.LocalNodeState}} {{len .Runtimes}}"],
    ["info", "--format", "{{.Nope}}"],
    ["info", "-f", "{{.ServerVersion"],
    ["info", "-f", "{{json .ClientInfo.Plugins}} {{.ClientInfo.Context}} {{.ClientInfo.Debug}}"],
    ["info", "-f", "{{.ServerErrors}}|{{.ClientErrors}}|{{.Containers}}|{{.DriverStatus}}"],
    ["info", "x"],
]


@pytest.mark.parametrize("argv", INFO, ids=" ".join)
def test_info(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


def test_info_with_a_hub_login(daemon: FakeEngine) -> None:
    config = tempfile.mkdtemp(prefix="dycfg")
    try:
        with open(f"{config}/config.json", "w") as f:
            f.write('{"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}}}')
        same(daemon, ["info"], config_dir=config)
    finally:
        shutil.rmtree(config, ignore_errors=True)


DF = [
    ["system", "df"],
    ["system", "df", "-v"],
    ["system", "df", "--format", "json"],
    ["system", "df", "--format", "raw"],
    ["system", "df", "--format", "table {{.Type}}\t{{.Reclaimable}}"],
    ["system", "df", "--format", "{{.Type}} {{.Nope}}"],
    ["system", "df", "-v", "--format", "json"],
    ["system", "df", "-v", "--format", "raw"],
    ["system", "df", "-v", "--format", "{{range .Images}}{{.ID}} {{end}}|{{len .Containers}}"],
    ["system", "df", "-v", "--format", "{{range .Containers}}{{.Mounts}};{{.Labels}};{{.Networks}} {{end}}"],
    ["system", "df", "-v", "--format", "{{.Nope}}"],
    ["system", "df", "x"],
]


@pytest.mark.parametrize("argv", DF, ids=" ".join)
def test_system_df(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


EVENTS = [
    ["events"],
    ["system", "events", "--format", "{{.Type}} {{.Status}} {{.Actor.Attributes}} {{.Time}} {{.TimeNano}}"],
    ["events", "--format", "json"],
    ["events", "--format", "{{json .}}|{{json .Actor}}"],
    ["events", "--format", "{{.Nope}}"],
    ["events", "--format", "{{.Type"],
    ["events", "--since", "1764334800.5", "--until", "2025-11-28"],
    ["events", "--since", "2025-11-28T13:00:00.5Z", "--until", "2025-11-28T14:00+01:00"],
    ["events", "--since", "2025-11-28T13", "--until", "2025-11-28T13:04:05"],
    ["events", "--since", "xyz"],
    ["events", "--since", "2025-13-45"],
    ["events", "--until", "2025-02-30"],
    ["events", "--since", "2025-1-2"],
    ["events", "--since", "2025-11-28T25:00:00Z"],
    ["events", "--since", "2025-11-28T13:00:00+0100"],
    ["events", "--since", "2025-11-28 13:00:00"],
    ["events", "--filter", "type=container", "--filter", "event=start", "-f", "Label = a=b"],
    ["events", "x"],
]


@pytest.mark.parametrize("argv", EVENTS, ids=" ".join)
def test_events(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


def test_login_and_logout(daemon: FakeEngine) -> None:
    config = tempfile.mkdtemp(prefix="dycfg")
    try:
        def both(argv: list[str], stdin: str = "") -> None:
            """Each client on a copy of the same config; the files must end up alike."""
            shutil.copytree(config, f"{config}.theirs", dirs_exist_ok=True)
            theirs = docker_run(daemon.host, argv, stdin.encode(), config_dir=f"{config}.theirs")
            ours = dockyard_run(daemon.host, argv, stdin, config_dir=config)
            expected_err = theirs.err.replace(f"{config}.theirs", config).replace(
                "run 'docker logout' followed by 'docker login'", "run 'dockyard logout' followed by 'dockyard login'")
            assert (ours.status, ours.out, ours.err) == (theirs.status, theirs.out, expected_err)
            for name in ("config.json",):
                ours_file, theirs_file = f"{config}/{name}", f"{config}.theirs/{name}"
                assert os.path.exists(ours_file) == os.path.exists(theirs_file)
                if os.path.exists(ours_file):
                    with open(ours_file) as mine, open(theirs_file) as reference:
                        assert mine.read() == reference.read()
                    assert os.stat(ours_file).st_mode & 0o777 == os.stat(theirs_file).st_mode & 0o777
            shutil.rmtree(f"{config}.theirs")

        both(["login", "-u", "alice", "--password-stdin", "localhost:5000"], "s3cret\n")
        both(["login", "-u", "bob", "-p", "pw"])
        both(["login", "localhost:5000"])
        both(["login", "https://localhost:5000/v2/"])
        both(["login"])
        both(["login", "-u", "x", "-p", "wrong", "localhost:5000"])
        both(["login", "other:5000"])
        both(["login", "-u", "x", "-p", "y", "--password-stdin"])
        both(["login", "--password-stdin"])
        both(["login", "-u", "x", "--password-stdin"], "\n")
        both(["logout", "localhost:5000"])
        both(["logout", "https://localhost:5000/v2/"])
        both(["logout"])
    finally:
        shutil.rmtree(config, ignore_errors=True)


def test_times_in_another_zone(daemon: FakeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        for argv in (["events"], ["events", "--since", "2025-11-28T18:30", "--until", "2025-11-28"],
                     ["history", "-H=false", "busybox"], ["images", "--format", "{{.CreatedAt}}"]):
            del daemon.requests[:]
            theirs = docker_run(daemon.host, argv, env={"TZ": "Asia/Kolkata"})
            their_requests = api_calls(daemon)
            ours = dockyard_run(daemon.host, argv)
            assert (ours.status, ours.out, ours.err) == (theirs.status, theirs.out, theirs.err)
            assert api_calls(daemon) == their_requests
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
