"""Acceptance (issue 5): the same user session with the real docker CLI 28 and with ``dockyard``.

Every test runs once per client (``docker``, then ``dockyard``) against one dockyardd, with
the seeded ``busybox:latest`` of a local ``docker-registry`` (``sh``, ``ls``, ``cat``,
``echo``, the rest through ``busybox APPLET``): version, info (Runtimes), pull/tag/push/
rmi/pull again, ``run --rm``, ``run -d``, ``ps``, ``logs -f``, ``exec -it`` on a pty,
``stop``, ``rm``, ``images``, ``history``, ``tag``, ``rmi``, ``save | load``,
``export | tar -t``, ``cp`` both ways, ``diff``, ``commit``, ``inspect``, ``events``,
``system df``. Where ``dockyard`` and docker differ, ``dockyard`` is wrong: the last test
runs commands whose output does not depend on the clock with both clients and compares
their bytes and exit statuses.

After each test no container is left (nor their files, fifos, snapshots or cgroups), the
images the test made are removed and the engine's log has no traceback; the engine fixture
checks at the end of the module that no process or mount is left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_engine_containers import cgroups_of, created_since, snapshots
from tests.support.clients import CLIENT_NAMES, Client, Typed, make_client
from tests.support.engine import DOCKER, RunningEngine
from tests.support.registry import Seeded

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

# PID 1 without a handler ignores SIGTERM: this one leaves at once on `stop`
SERVES = 'trap "exit 0" TERM; echo ready; while :; do busybox sleep 0.1; done'


@pytest.fixture(scope="module", params=CLIENT_NAMES)
def client(request: pytest.FixtureRequest, engine: RunningEngine,
           tmp_path_factory: pytest.TempPathFactory) -> Client:
    """The client under test, with a config directory of its own."""
    name: str = request.param
    return make_client(name, engine, tmp_path_factory.mktemp(f"config-{name}"))


@pytest.fixture
def clean(engine: RunningEngine) -> Iterator[None]:
    """Afterwards no container is left (with its files, snapshot, cgroups), the images are
    removed and the engine logged no traceback."""
    since = time.time()
    yield
    assert cgroups_of(created_since(engine, since)) == []
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    assert not left, f"containers left: {left}"
    for directory in (engine.data_root / "containers", engine.exec_root / "containers"):
        assert not directory.exists() or list(directory.iterdir()) == [], list(directory.iterdir())
    assert snapshots(engine) == []
    assert engine.ctr("-n", "dockyard", "containers", "ls", "-q").stdout.split() == []
    for image_id in dict.fromkeys(engine.docker("images", "-aq", "--no-trunc").stdout.split()):
        engine.docker("rmi", "-f", image_id, check=False)
    assert engine.docker("images", "-aq").stdout == ""
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "container job failed" not in log, log[-4000:]


@pytest.fixture
def cli(client: Client, clean: None) -> Client:
    """The client under test; what the test made is checked and removed afterwards (``clean``)."""
    return client


@pytest.fixture
def image(clean: None, engine: RunningEngine, seeded: Seeded) -> str:
    """The seeded busybox pulled into the engine (by the harness's docker); its reference."""
    ref = f"{seeded.registry.host}/busybox:latest"
    engine.docker("pull", "-q", ref)
    return ref


def name_for(cli: Client, what: str) -> str:
    return f"acc-{cli.name}-{what}"


def image_id(engine: RunningEngine, ref: str) -> str:
    return engine.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def columns(line: str) -> list[str]:
    """A table row's cells (docker's tabwriter pads with at least three spaces)."""
    return [cell for cell in re.split(r"\s{2,}", line.strip()) if cell]


def wait_for_log(cli: Client, container: str, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in cli.run("logs", container).stdout:
        if time.monotonic() > deadline:
            raise AssertionError(f"{container} never printed {text!r}")
        time.sleep(0.05)


# -- version, info ---------------------------------------------------------------------------------
def test_version_shows_client_and_server(cli: Client) -> None:
    out = cli.run("version").stdout
    assert out.startswith("Client:\n Version:")
    assert "\nServer: dockyard " in out and "\n Engine:\n" in out and "\n containerd:\n" in out
    assert re.search(r"\n  API version:\s+1\.\d+ \(minimum version 1\.\d+\)\n", out), out
    assert cli.run("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}").stdout == "linux/amd64\n"


def test_info_shows_the_runtimes(cli: Client, engine: RunningEngine) -> None:
    out = cli.run("info").stdout
    assert out.startswith("Client:\n") and "\nServer:\n Containers: 0\n" in out
    runtimes = re.search(r"\n Runtimes: (.*)\n", out)
    assert runtimes, out
    wanted = {"dockyard-runc"} | ({"runc"} if shutil.which("runc") else set())
    assert wanted <= set(runtimes.group(1).split()), runtimes.group(0)
    assert "\n Default Runtime: dockyard-runc\n" in out
    assert f"\n Docker Root Dir: {engine.data_root}\n" in out


# -- registry: pull, tag, push, rmi, pull again ----------------------------------------------------
def test_pull_tag_push_rmi_pull(cli: Client, engine: RunningEngine, seeded: Seeded) -> None:
    host = seeded.registry.host
    digest = seeded.single.manifest.desc.digest
    pulled = cli.run("pull", f"{host}/busybox:latest").stdout.splitlines()
    assert pulled[0] == "latest: Pulling from busybox"
    assert pulled[-3:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {host}/busybox:latest",
                           f"{host}/busybox:latest"]
    mine = f"{host}/accept-{cli.name}:v1"
    assert cli.run("tag", f"{host}/busybox:latest", mine).stdout == ""
    pushed = cli.run("push", mine).stdout.splitlines()
    assert pushed[0] == f"The push refers to repository [{host}/accept-{cli.name}]"
    assert pushed[-1].startswith(f"v1: digest: {digest} size: "), pushed
    assert cli.run("rmi", mine).stdout == f"Untagged: {mine}\n"
    assert cli.run("images", "-q", mine).stdout == ""
    again = cli.run("pull", mine).stdout.splitlines()
    assert again[0] == f"v1: Pulling from accept-{cli.name}"
    assert again[-2:] == [f"Status: Downloaded newer image for {mine}", mine]
    assert image_id(engine, mine) == seeded.single.config.desc.digest
    missing = cli.run("pull", f"{host}/accept-{cli.name}:nope", status=1)
    assert missing.stderr.startswith("Error response from daemon: ")


# -- containers: run, ps, logs, exec, stop, rm -----------------------------------------------------
def test_run_rm_echo(cli: Client, image: str) -> None:
    run = cli.run("run", "--rm", image, "echo", "hi")
    assert (run.stdout, run.stderr) == ("hi\n", "")
    assert cli.run("run", "--rm", image, "sh", "-c", "exit 7", status=7).stdout == ""
    assert cli.run("run", "-i", "--rm", image, "cat", input="piped\n", timeout=30).stdout == "piped\n"
    assert cli.run("run", "-i", "--rm", image, "cat", input="", timeout=30).stdout == ""  # EOF before the start
    missing = cli.run("run", "--rm", image, "nope", status=127).stderr.splitlines()
    not_found = 'exec: "nope": executable file not found in $PATH'
    assert re.fullmatch(r'time="[-0-9T:]+Z" level=error msg="Error waiting for container: .*"', missing[0]), missing
    assert missing[1:] == [f"{cli.name}: Error response from daemon: failed to create task for container: OCI runtime "
                           f"create failed: runc create failed: unable to start container process: {not_found}", "",
                           f"Run '{cli.name} run --help' for more information"], missing
    detached = cli.run("run", "-d", "--rm", image, "nope", status=127)  # the ID first, then the same story
    assert re.fullmatch(r"[0-9a-f]{64}\n", detached.stdout) and detached.stderr.splitlines()[1:] == missing[1:]
    assert detached.stderr.startswith('time="'), detached.stderr
    assert cli.run("ps", "-aq").stdout == ""


def test_run_detached_ps_logs_follow_rm(cli: Client, image: str) -> None:
    name = name_for(cli, "lines")
    script = "for i in 1 2 3 4 5; do echo line $i; busybox sleep 0.2; done; echo bye >&2"
    cid = cli.run("run", "-d", "--name", name, image, "sh", "-c", script).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
    rows = cli.run("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout.splitlines()
    assert len(rows) == 1 and rows[0].startswith(f"{cid[:12]} {name} Up "), rows
    table = cli.run("ps").stdout.splitlines()
    assert columns(table[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert columns(table[1])[0] == cid[:12] and columns(table[1])[-1] == name
    follow = cli.run("logs", "-f", name, timeout=30)  # streams everything, ends when the container does
    assert (follow.stdout, follow.stderr) == ("".join(f"line {i}\n" for i in range(1, 6)), "bye\n")
    assert cli.run("ps", "-q").stdout == ""
    exited = cli.run("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert exited.startswith(f"{name} Exited (0) "), exited
    assert cli.run("rm", name).stdout == f"{name}\n"
    assert cli.run("ps", "-aq").stdout == ""


def test_stop_and_rm(cli: Client, image: str) -> None:
    name = name_for(cli, "serve")
    cli.run("run", "-d", "--name", name, image, "sh", "-c", SERVES)
    wait_for_log(cli, name, "ready")
    busy = cli.run("rm", name, status=1)
    assert "container is running: stop the container before removing or force remove" in busy.stderr
    assert cli.run("stop", name).stdout == f"{name}\n"
    state = json.loads(cli.run("inspect", name).stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 0, False)
    assert cli.run("rm", name).stdout == f"{name}\n"
    gone = cli.run("stop", name, status=1)
    assert gone.stderr == f"Error response from daemon: No such container: {name}\n"


def test_exec_it_on_a_pty(cli: Client, image: str) -> None:
    name = name_for(cli, "exec")
    cli.run("run", "-d", "--name", name, image, "busybox", "sleep", "300")
    try:
        typed = Typed("# ", "echo TERM=$TERM; echo $((6*7)); exit 3\r")
        done = cli.on_pty(["exec", "-it", name, "sh"], [typed], timeout=30)
        assert done.status == 3, done.output
        assert "\r\nTERM=xterm\r\n42\r\n" in done.output, done.output
        lflag = done.attrs_before[3]
        assert isinstance(lflag, int) and lflag & termios.ICANON and lflag & termios.ECHO  # a cooked terminal
        assert done.attrs_after == done.attrs_before  # raw mode undone
        plain = cli.run("exec", name, "sh", "-c", "echo out; echo err >&2; exit 4", status=4)
        assert (plain.stdout, plain.stderr) == ("out\n", "err\n")
    finally:
        cli.run("rm", "-f", name)


# -- images: images, history, tag, rmi, save | load ------------------------------------------------
def test_images_history_tag_rmi(cli: Client, engine: RunningEngine, image: str) -> None:
    full_id = image_id(engine, image)
    repo = image.rsplit(":", 1)[0]
    table = cli.run("images").stdout.splitlines()
    assert columns(table[0]) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    assert [columns(row)[:3] for row in table[1:]] == [[repo, "latest", full_id[7:19]]]
    history = cli.run("history", image).stdout.splitlines()
    assert columns(history[0]) == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    assert len(history) == 2 and history[1].startswith(full_id[7:19]), history
    assert cli.run("history", "-q", "--no-trunc", image).stdout == f"{full_id}\n"
    tag = f"accept-{cli.name}:tagged"
    assert cli.run("tag", image, tag).stdout == ""
    assert cli.run("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", f"accept-{cli.name}").stdout == (
        f"{tag} {full_id[7:19]}\n")
    bad = cli.run("tag", image, "Bad:tag", status=1)
    assert "invalid reference format" in bad.stderr
    assert cli.run("rmi", tag).stdout == f"Untagged: {tag}\n"
    missing = cli.run("rmi", tag, status=1)
    assert missing.stderr == f"Error response from daemon: No such image: {tag}\n"
    assert image_id(engine, image) == full_id  # the other name still holds it


def test_save_pipe_load(cli: Client, engine: RunningEngine, image: str) -> None:
    tag = f"accept-{cli.name}-saved:1"
    cli.run("tag", image, tag)
    save, load = cli.pipe(["save", tag], [*cli.argv, "load"])
    assert save.returncode == 0, save.stderr
    assert (load.returncode, load.stdout, load.stderr) == (0, f"Loaded image: {tag}\n".encode(), b"")
    assert image_id(engine, tag) == image_id(engine, image)
    nothing = cli.run("save", "nosuch:1", status=1)
    assert nothing.stderr == "Error response from daemon: No such image: nosuch:1\n"


# -- a container's files: export, cp, diff, commit -------------------------------------------------
def test_export_pipe_tar(cli: Client, image: str) -> None:
    name = name_for(cli, "export")
    cli.run("create", "--name", name, image, "true")
    try:
        export, tar = cli.pipe(["export", name], ["tar", "-t"])
        assert export.returncode == 0 and tar.returncode == 0, export.stderr + tar.stderr
        listed = tar.stdout.decode().splitlines()
        assert {"bin/busybox", "bin/sh", "bin/ls"} <= set(listed), listed
    finally:
        cli.run("rm", name)


def test_cp_both_ways_and_diff(cli: Client, image: str, tmp_path: Path) -> None:
    name = name_for(cli, "cp")
    cli.run("run", "-d", "--name", name, image, "busybox", "sleep", "300")
    try:
        source = tmp_path / "hostfile"
        source.write_text(f"from the host via {cli.name}\n")
        assert cli.run("cp", str(source), f"{name}:/newfile").stdout == ""
        assert cli.run("exec", name, "cat", "/newfile").stdout == source.read_text()
        cli.run("exec", name, "sh", "-c", "echo made inside > /inside")
        back = tmp_path / "back"
        back.mkdir()
        cli.run("cp", f"{name}:/inside", str(back))
        assert (back / "inside").read_text() == "made inside\n"
        cli.run("cp", f"{name}:/newfile", str(back / "renamed"))
        assert (back / "renamed").read_text() == source.read_text()
        nowhere = cli.run("cp", "/nonexistent-accept", f"{name}:/", status=1)
        assert nowhere.stderr == "lstat //nonexistent-accept: no such file or directory\n"  # Go's path join
        missing = cli.run("cp", f"{name}:/nope", str(back), status=1)
        assert missing.stderr == f"Error response from daemon: Could not find the file /nope in container {name}\n"
        assert cli.run("diff", name).stdout == "A /inside\nA /newfile\n"
    finally:
        cli.run("rm", "-f", name)


def test_commit(cli: Client, engine: RunningEngine, image: str) -> None:
    name = name_for(cli, "commit")
    cli.run("run", "--name", name, image, "sh", "-c", "echo committed > /newfile")
    try:
        target = f"accept-{cli.name}-commit:1"
        new_id = cli.run("commit", name, target).stdout.strip()
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", new_id), new_id
        assert image_id(engine, target) == new_id
        assert cli.run("run", "--rm", target, "cat", "/newfile").stdout == "committed\n"
        top = cli.run("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", target).stdout.splitlines()[0]
        assert top == f"{new_id}|sh -c echo committed > /newfile", top
        assert cli.run("diff", name).stdout == "A /newfile\n"
    finally:
        cli.run("rm", name)


# -- inspect, events, system df --------------------------------------------------------------------
def test_inspect(cli: Client, engine: RunningEngine, image: str) -> None:
    name = name_for(cli, "inspect")
    cid = cli.run("create", "--name", name, "-e", "ACCEPT=1", image, "echo", "hi").stdout.strip()
    try:
        doc = json.loads(cli.run("inspect", name).stdout)
        assert len(doc) == 1 and doc[0]["Id"] == cid and doc[0]["Name"] == f"/{name}"
        assert doc[0]["State"]["Status"] == "created" and doc[0]["Config"]["Cmd"] == ["echo", "hi"]
        assert "ACCEPT=1" in doc[0]["Config"]["Env"] and doc[0]["Config"]["Image"] == image
        both = cli.run("inspect", "-f", "{{.Id}}", name, image).stdout.split()
        assert both == [cid, image_id(engine, image)]
        assert cli.run("inspect", "--type", "container", "-f", "{{.State.Status}}", name).stdout == "created\n"
        missing = cli.run("inspect", "nosuch", status=1)
        assert (missing.stdout, missing.stderr) == ("[]\n", "Error: No such object: nosuch\n")
    finally:
        cli.run("rm", name)


def test_events_since_until(cli: Client, image: str) -> None:
    name = name_for(cli, "events")
    since = time.time()
    assert cli.run("run", "--name", name, image, "echo", "x").stdout == "x\n"
    cid = cli.run("inspect", "-f", "{{.Id}}", name).stdout.strip()
    cli.run("rm", name)
    until = time.time() + 0.1
    time.sleep(0.2)
    window = ["--since", f"{since:.9f}", "--until", f"{until:.9f}"]
    actions = cli.run("events", *window, "--filter", f"container={name}", "--format",
                      "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").stdout.splitlines()
    assert [a for a in actions if a.split()[1] in ("create", "start", "die", "destroy")] == [
        f"container {action} {name}" for action in ("create", "start", "die", "destroy")], actions
    lines = cli.run("events", *window, "--filter", "type=container").stdout.splitlines()
    die = [line for line in lines if f" container die {cid} " in line]
    assert len(die) == 1 and die[0].endswith(f"(execDuration=0, exitCode=0, image={image}, name={name})"), lines
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", die[0]), die[0]


def test_system_df(cli: Client, image: str) -> None:
    name = name_for(cli, "df")
    cli.run("create", "--name", name, image, "true")
    try:
        rows = [columns(line) for line in cli.run("system", "df").stdout.splitlines()]
        assert rows[0] == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        by_type = {row[0]: row[1:] for row in rows[1:]}
        assert list(by_type) == ["Images", "Containers", "Local Volumes", "Build Cache"]
        assert by_type["Images"][:2] == ["1", "1"] and by_type["Images"][2].endswith("MB")
        assert by_type["Containers"][:2] == ["1", "0"]
        types = cli.run("system", "df", "--format", "{{.Type}} {{.TotalCount}}").stdout
        assert types == "Images 1\nContainers 1\nLocal Volumes 0\nBuild Cache 0\n"
    finally:
        cli.run("rm", name)


# -- the same bytes from both clients --------------------------------------------------------------
SAME_OUTPUT = [
    ["images"], ["images", "--digests", "--no-trunc"], ["images", "--format", "json"],
    ["history", "{image}"], ["history", "--no-trunc", "--format", "json", "{image}"],
    ["inspect", "{image}"], ["inspect", "{name}"],
    ["inspect", "-s", "--format", "{{.SizeRw}} {{.State.Status}} {{.State.ExitCode}}", "{name}"],
    ["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.Labels}} {{.Mounts}}"],
    ["ps", "-a", "--format", "json"], ["diff", "{name}"], ["logs", "{name}"], ["system", "df"],
    ["system", "df", "--format", "json"], ["version", "--format", "{{json .Server}}"],
    ["events", "--since", "{since}", "--until", "{until}"], ["inspect", "nosuch"], ["rmi", "nosuch"],
    ["logs", "nosuch"], ["export", "nosuch"], ["cp", "{name}:/nope", "-"], ["tag", "{image}", "Bad:tag"],
]


def test_same_output_as_docker(engine: RunningEngine, image: str, tmp_path: Path) -> None:
    """Commands whose output does not depend on the time: docker's bytes and exit status
    from ``dockyard`` too (the program's name aside)."""
    docker = make_client("docker", engine, tmp_path / "docker")
    ours = make_client("dockyard", engine, tmp_path / "dockyard")
    since = f"{time.time():.9f}"
    name = "acc-same"
    ours.run("run", "--name", name, image, "sh", "-c", "echo out; echo err >&2; echo new > /made")
    until = f"{time.time() + 0.1:.9f}"
    time.sleep(0.2)
    values = {"{image}": image, "{name}": name, "{since}": since, "{until}": until}
    try:
        for argv in SAME_OUTPUT:
            args = [values.get(a, a) for a in argv]
            theirs, mine = docker.run(*args, status=None), ours.run(*args, status=None)
            assert (mine.returncode, mine.stdout, mine.stderr.replace("dockyard", "docker")) == (
                theirs.returncode, theirs.stdout, theirs.stderr), args
    finally:
        ours.run("rm", name)
