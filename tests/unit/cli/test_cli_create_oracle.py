"""``create``/``run`` flags: the request body docker 28 sends for the same flags, field for field.

The real docker CLI and dockyard run against one fake engine; the create bodies must be
equal (lists docker builds from Go maps, whose order is random, are compared sorted), and
so must the query (name, platform), the exit status and the messages of bad flags.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.container_engine import Containers, docker, install, needs_docker, ours, requests_since
from tests.unit.cli.fake_engine import FakeEngine

pytestmark = needs_docker

UNORDERED = ("Env", "Binds", "Ulimits")

CASES = [
    [],
    ["--name", "web", "-e", "X=1", "-e", "Y", "-e", "Z=", "-w", "/app", "-u", "1000:1000", "--entrypoint", "/bin/sh",
     "-l", "a=b", "-l", "c", "--restart", "on-failure:3", "--runtime", "runc", "--init"],
    ["-v", "/tmp:/data:ro", "-v", "/vol", "-v", "./rel:/rel", "-v", "named:/n", "-v", "/vol"],
    ["--mount", "type=bind,src=/tmp,dst=/m,readonly", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777",
     "--mount", "type=volume,src=v,dst=/v,volume-nocopy",
     "--mount", "type=bind,source=/a,target=/b,bind-propagation=rshared",
     "--tmpfs", "/run:size=1m", "--tmpfs", "/x"],
    ["--network", "host", "-h", "hh", "--domainname", "dd"],
    ["--network", "none"],
    ["--network", "bridge", "--pids-limit", "-1", "--memory-swap", "-1"],
    ["--network", "mynet", "--network-alias", "x", "--ip", "10.0.0.2", "--ip6", "fd00::2", "--mac-address",
     "92:d0:c6:0a:29:33"],
    ["-m", "512m", "--memory-swap", "1g", "--memory-reservation", "100m", "--cpus", "1.5", "-c", "512",
     "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--pids-limit", "100", "--shm-size", "64m",
     "--oom-score-adj", "100", "--memory-swappiness", "10", "--oom-kill-disable", "--kernel-memory", "10m"],
    ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=10", "--ulimit", "nofile=1:2"],
    ["--cap-add", "net_admin", "--cap-add", "ALL", "--cap-drop", "chown", "--cap-drop", "CAP_NET_RAW",
     "--privileged", "--read-only", "--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined",
     "--security-opt", "label:disable", "--group-add", "10", "--group-add", "audio"],
    ["--security-opt", "systempaths=unconfined", "--userns", "host", "--uts", "host", "--ipc", "host",
     "--pid", "host", "--cgroupns", "private"],
    ["--device", "/dev/null:/dev/xnull:rw", "--device", "/dev/zero", "--device", "/dev/full:r",
     "--device-cgroup-rule", "c 1:3 rw", "--sysctl", "net.core.somaxconn=1024", "--sysctl", "kernel.shmmax=1"],
    ["--stop-signal", "SIGINT", "--stop-timeout", "5", "-t", "-i", "-a", "stdin"],
    ["-a", "stdout", "-a", "STDERR"],
    ["-i"],
    ["--stop-timeout", "0", "--init=false", "--entrypoint="],
    ["-p", "8080:80", "-p", "127.0.0.1::53/udp", "-p", "8000-8001:90-91", "-p", "7000-7001:70", "-p", "[::1]:9000:9000",
     "--expose", "100-101", "--expose", "200/udp", "-P"],
    ["-p", "published=8443,target=443,protocol=tcp"],
    ["--health-cmd", "true", "--health-interval", "5s", "--health-timeout", "1m", "--health-retries", "3",
     "--health-start-period", "1s", "--health-start-interval", "2s"],
    ["--no-healthcheck", "--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2"],
    ["--add-host", "a:1.2.3.4", "--dns", "1.1.1.1", "--dns-search", "x.com", "--dns-option", "ndots:1",
     "--link", "c:d", "--volumes-from", "other", "--volume-driver", "vd", "--cgroup-parent", "cp",
     "--isolation", "default", "--storage-opt", "size=1G", "--annotation", "a=b", "--annotation", "c"],
    ["--cpu-period", "1", "--cpu-quota", "2", "--cpu-rt-period", "3", "--cpu-rt-runtime", "4", "--blkio-weight", "100",
     "--device-read-bps", "/dev/sda:1m", "--device-write-bps", "/dev/sda:2k", "--device-read-iops", "/dev/sda:5",
     "--device-write-iops", "/dev/sda:10", "--blkio-weight-device", "/dev/sda:200", "--cidfile", ""],
    ["--gpus", "all", "--platform", "linux/arm64", "--rm"],
    ["--label-file", "{labels}", "--env-file", "{env}", "-e", "FROM_HOST", "-e", "UNSET_VAR"],
]

ERRORS = [
    ["--restart", "bogus:x"], ["--rm", "--restart", "always"], ["--pull", "bogus"], ["-m", "1x"], ["-m", "1kbb"],
    ["--cpus", "0.0000000001"], ["--cpus", "x"], ["-e", "=x"], ["--pid", "foo"], ["--uts", "x"], ["-p", "99999:80"],
    ["-p", "80/xyz"], ["-p", "1.2.3:80:80"], ["-p", "80-81:90-95"], ["--device", "rel"], ["--device", "/a:/b:xyz"],
    ["--network-alias", "x"], ["--expose", "80:90"], ["--health-cmd", "x", "--health-timeout", "-1s"],
    ["--no-healthcheck", "--health-cmd", "x"], ["--security-opt", "bogus"],
    ["--log-driver", "none", "--log-opt", "a=b"],
    ["--mac-address", "xx"], ["--memory-swappiness", "101"], ["--ulimit", "nofile"], ["--ulimit", "bogus=1"],
    ["--ulimit", "nofile=2:1"], ["--sysctl", "kernel.x=1"], ["--mount", "type=bind"],
    ["--mount", "src=/a,dst=/b,bogus=1"],
    ["--mount", "type=tmpfs,dst=/t,bind-propagation=shared"], ["-a", "bogus"], ["--label", "=x"],
    ["--blkio-weight", "x"], ["--storage-opt", "x"], ["--env-file", "/nonexistent/env"], ["--dns", "x"],
    ["--device-cgroup-rule", "x"], ["--restart", ":1"], ["--cgroupns", "bogus"],
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeEngine, Containers]]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dycr") as path, FakeEngine(f"{path}/e.sock") as fake:
        store = install(fake)
        yield fake, store


@pytest.fixture(autouse=True)
def _files(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "labels").write_text("a=1\n# comment\nb\n")
    (tmp_path / "env").write_text("\ufeffA=1\n  B=2 \nFROM_HOST\nNOT_SET\n")
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    monkeypatch.chdir(tmp_path)


def _argv(case: list[str], tmp: Any) -> list[str]:
    return [a.format(labels=tmp / "labels", env=tmp / "env") for a in case]


def _normalized(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    host = dict(body.pop("HostConfig"))
    for name in UNORDERED:
        for holder in (body, host):
            if isinstance(holder.get(name), list):
                holder[name] = sorted(holder[name], key=str)
    body["HostConfig"] = host
    return body


def _diff(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The fields that differ, as {name: (ours, docker's)}, HostConfig's by their own names."""
    out = {}
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key, "<absent>"), theirs.get(key, "<absent>")
        if key == "HostConfig" and isinstance(a, dict) and isinstance(b, dict):
            out.update({f"HostConfig.{k}": v for k, v in _diff(a, b).items()})
        elif a != b:
            out[key] = (a, b)
    return out


def _create(engine: tuple[FakeEngine, Containers], run: Any, argv: list[str]) -> tuple[Any, Any, Any]:
    fake, _ = engine
    start = len(fake.requests)
    result = run(fake, ["create", *argv, "busybox", "echo", "hi"])
    creates = [r for r in requests_since(fake, start) if r.path == "/containers/create"]
    body = _normalized(creates[0].json()) if creates else None
    query = creates[0].query if creates else None
    return result, body, query


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c)[:60] or "defaults")
def test_create_body_as_docker(engine: tuple[FakeEngine, Containers], case: list[str], tmp_path: Any) -> None:
    argv = _argv(case, tmp_path)
    theirs, their_body, their_query = _create(engine, docker, argv)
    mine, my_body, my_query = _create(engine, ours, argv)
    assert their_body is not None, theirs
    assert my_body is not None, mine
    assert _diff(my_body, their_body) == {}
    assert my_query == their_query
    assert (mine.status, mine.err) == (theirs.status, theirs.err)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: " ".join(c)[:60])
def test_bad_flags_as_docker(engine: tuple[FakeEngine, Containers], case: list[str], tmp_path: Any) -> None:
    for verb in ("create", "run"):
        fake, _ = engine
        theirs = docker(fake, [verb, *case, "busybox"])
        mine = ours(fake, [verb, *case, "busybox"])
        assert (mine.status, mine.out, mine.err) == (theirs.status, theirs.out, theirs.err)
        assert os.getcwd() == str(tmp_path)
