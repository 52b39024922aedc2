"""The container commands next to the real docker CLI 28: same engine, same requests, same output.

Each case runs ``docker ARGS`` and ``dockyard ARGS`` against one fake engine (its container
store: ``tests.unit.cli.container_engine``) and compares the exit status, stdout, stderr
and the requests made (as a set: docker runs per-container operations in parallel).
"""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.container_engine import Containers, docker, install, needs_docker, ours, requests_since
from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, error_reply, json_reply

pytestmark = needs_docker

NOW = int(time.time())
SUMMARIES = [
    {"Id": "a" * 64, "Names": ["/web", "/other/alias"], "Image": "nginx:1.25@sha256:" + "b" * 64,
     "ImageID": "sha256:" + "c" * 64, "Command": "/docker-entrypoint.sh nginx -g 'daemon off;'", "Created": NOW - 7200,
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
               {"PrivatePort": 443, "Type": "tcp"}, {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
     "SizeRw": 1234, "SizeRootFs": 187000000, "Labels": {"com.example.team": "x"}, "State": "running",
     "Status": "Up 2 hours", "HostConfig": {"NetworkMode": "bridge"}, "NetworkSettings": {"Networks": {"bridge": {}}},
     "Mounts": [{"Type": "volume", "Name": "averyveryverylongvolumename", "Source": "/var/lib", "Driver": "local"}]},
    {"Id": "d" * 64, "Names": ["/db"], "Image": "sha256:" + "e" * 64, "ImageID": "sha256:" + "e" * 64,
     "Command": "sh", "Created": NOW - 3 * 86400, "Ports": [], "Labels": {}, "State": "exited",
     "Status": "Exited (0) 5 seconds ago", "HostConfig": {}, "NetworkSettings": {"Networks": {}}, "Mounts": []},
]
STATS = {
    "read": "2025-05-30T12:00:01.000000000Z", "name": "/web", "pids_stats": {"current": 3},
    "cpu_stats": {"cpu_usage": {"total_usage": 2000000000}, "system_cpu_usage": 20000000000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1000000000}, "system_cpu_usage": 10000000000},
    "memory_stats": {"usage": 50000000, "limit": 2000000000, "stats": {"inactive_file": 1000000}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 2500}, "eth1": {"rx_bytes": 100, "tx_bytes": 0}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096}, {"op": "write", "value": 8192},
                                                   {"op": "Read", "value": 1}]},
}


def _found(store: Containers, name: str) -> dict[str, Any] | None:
    return store.find(name)


def _tarball() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        top = tarfile.TarInfo("etc")
        top.type, top.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(top)
        data = b"hello\n"
        member = tarfile.TarInfo("etc/hostname")
        member.size, member.mode = len(data), 0o644
        tar.addfile(member, io.BytesIO(data))
    return buf.getvalue()


def _path_stat(name: str, mode: int, link: str = "") -> str:
    return base64.b64encode(json.dumps({"name": name, "size": 6, "mode": mode, "mtime": "2025-01-01T00:00:00Z",
                                        "linkTarget": link}).encode()).decode()


STAT_HEADERS = {"/etc": _path_stat("etc", (1 << 31) | 0o755), "/etc/": _path_stat("etc", (1 << 31) | 0o755),
                "/link": _path_stat("link", (1 << 27) | 0o777, "/etc"), "/file": _path_stat("file", 0o644),
                "/dev/null": _path_stat("null", (1 << 26) | (1 << 21) | 0o666)}


def _routes(fake: FakeEngine, store: Containers, puts: list[Any]) -> None:
    routes = fake.routes
    known = store.find

    def per_container(reply: Any) -> Any:
        def handler(request: Request, params: dict[str, str]) -> Reply:
            record = known(params["id"])
            if record is None:
                return error_reply(404, f"No such container: {params['id']}")
            return reply(request, record)
        return handler

    top = {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
           "Processes": [["root", "4242", "4200", "0", "12:00", "?", "00:00:00", "sleep 1000"],
                         ["root", "4243", "4242", "0", "12:00", "pts/0", "00:00:01", "sh -c 'a long command line'"]]}
    routes.add("GET", "/containers/{id}/top", per_container(lambda r, c: json_reply(top)))
    routes.add("GET", "/containers/{id}/changes", per_container(lambda r, c: json_reply(
        [{"Kind": 0, "Path": "/etc"}, {"Kind": 1, "Path": "/etc/new"}, {"Kind": 2, "Path": "/tmp/gone"}])))
    routes.add("GET", "/containers/{id}/export", per_container(lambda r, c: Reply(200, b"tar\x00\x01")))
    routes.add("GET", "/containers/{id}/stats", per_container(lambda r, c: json_reply(dict(STATS, id=c["Id"]))))
    routes.add("POST", "/containers/{id}/exec", per_container(
        lambda r, c: (store.created.append(r.json()), json_reply({"Id": "e" * 64}, 201))[1]))

    def exec_start(request: Request, params: dict[str, str]) -> Reply:
        if json.loads(request.body).get("Detach"):
            return Reply(200)

        def talk(sock: Any) -> None:
            sock.sendall(b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x02e\n")
            sock.close()
        return Reply(hijack=talk)
    routes.add("POST", "/exec/{id}/start", exec_start)
    routes.add("GET", "/exec/{id}/json", lambda r, p: json_reply({"ExitCode": 7}))
    routes[("POST", "/commit")] = lambda r: json_reply({"Id": "sha256:" + "9" * 64}, 201)
    routes[("POST", "/containers/prune")] = lambda r: json_reply({"ContainersDeleted": ["a" * 64, "b" * 64],
                                                                  "SpaceReclaimed": 123456})
    routes[("GET", "/info")] = lambda r: json_reply({"Swarm": {"LocalNodeState": "inactive"}})
    routes[("GET", "/events")] = lambda r: Reply(200, chunks=iter([]))
    routes.add("GET", "/images/{id}/json", lambda r, p: json_reply({"Id": "sha256:" + "f" * 64})
               if p["id"] == "busybox" else error_reply(404, f"No such image: {p['id']}"))
    routes.add("GET", "/networks/{id}", lambda r, p: error_reply(404, f"network {p['id']} not found"))
    routes.add("GET", "/volumes/{id}", lambda r, p: error_reply(404, f"get {p['id']}: no such volume"))
    routes.add("GET", "/plugins/{id}/json", lambda r, p: error_reply(404, f"plugin {p['id']} not found"))

    def archive_head(request: Request, params: dict[str, str]) -> Reply:
        header = STAT_HEADERS.get(request.query["path"][0])
        return Reply(200, headers={"X-Docker-Container-Path-Stat": header}) if header else Reply(404)

    def archive_get(request: Request, params: dict[str, str]) -> Reply:
        path = request.query["path"][0]
        if path in ("/etc", "/etc/", "/link", "/etc/."):
            return Reply(200, _tarball(), {"X-Docker-Container-Path-Stat": STAT_HEADERS["/etc"],
                                           "Content-Type": "application/x-tar"})
        return error_reply(404, f"Could not find the file {path} in container {params['id']}")

    def archive_put(request: Request, params: dict[str, str]) -> Reply:
        members = []
        if request.body:
            with tarfile.open(fileobj=io.BytesIO(request.body)) as tar:
                members = [(m.name, m.type, m.linkname, m.size) for m in tar]
        puts.append((sorted(request.query.items()), members))
        return Reply(200)
    routes.add("HEAD", "/containers/{id}/archive", archive_head)
    routes.add("GET", "/containers/{id}/archive", archive_get)
    routes.add("PUT", "/containers/{id}/archive", archive_put)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[FakeEngine, Containers, list[Any]]]:
    with tempfile.TemporaryDirectory(prefix="dyor") as path, FakeEngine(f"{path}/e.sock") as fake:
        store = install(fake)
        web = store.add("web")
        web["NetworkSettings"]["Ports"] = {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "443/tcp": None, "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            "9/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9"}]}
        store.output[web["Id"]] = [(1, b"out1\n"), (2, b"err1\n"), (1, b"out2 no newline")]
        store.exit_codes[web["Id"]] = 4
        store.add("db", state="exited", exit_code=3)
        store.add("paused", state="paused")
        tty = store.add("tty", tty=True)
        store.output[tty["Id"]] = [(1, b"raw \x1b[1mbold\r\n")]
        puts: list[Any] = []
        _routes(fake, store, puts)
        yield fake, store, puts


def _compare(world: tuple[FakeEngine, Containers, list[Any]], argv: list[str], stdin: str = "") -> None:
    fake, _, _ = world
    results = []
    for runner in (docker, ours):
        start = len(fake.requests)
        result = runner(fake, argv, stdin.encode()) if runner is docker else runner(fake, argv, stdin)
        requests = sorted((r.method, r.path, json.dumps(sorted(r.query.items()))) for r in requests_since(fake, start)
                          if r.path != "/info")  # docker asks whether swarm is on; swarm kinds are not ours
        results.append((result.status, result.out, result.err, requests))
    assert results[1] == results[0]


SIMPLE = [
    "stop web nope db", "stop -t 3 -s KILL web", "stop", "kill -s HUP web nope", "kill web", "restart -t 0 web",
    "restart -s TERM nope", "pause web nope", "unpause web", "rm web nope", "rm -f -v -l web nope", "rm -f nope",
    "start web nope", "start web", "wait db nope", "rename nope new", "rename web", "kill --bogus",
    "container stop web", "container rm -f db", "rm /", "rm /web/", "start --checkpoint x web",
    "start --checkpoint-dir x web", "start -a web web",
]
LISTING = [
    "ps", "ps -a -s", "ps -q", "ps --no-trunc", "ps -n 3 -l", "ps -l", "ps --format json", "ps --format raw",
    "ps -f status=exited -f label=a=b -f name=web", "ps -f bogus", "ps x", "container ls -aq",
    ["ps", "--format", "table {{.ID}}\t{{.Labels}}\t{{.Label \"com.example.team\"}}\t{{.Mounts}}\t{{.Networks}}"
                       "\t{{.LocalVolumes}}\t{{.State}}\t{{.CreatedAt}}"],
    ["ps", "--format", "{{.Size}}"], ["ps", "--format", "{{json .}}"], ["ps", "--format", "{{.Nope}}"],
    ["ps", "--format", "{{.ID"], ["ps", "--format", "{{.Platform}} {{.Ports}}"],
]
INSPECT = [
    "inspect web", "container inspect nope web", "inspect --type bogus web", "inspect --type container -s web",
    "inspect busybox", "inspect nope", "inspect --type image web", "inspect -f json web", "container inspect -s db",
    ["inspect", "-f", "{{.State.Status}} {{.Name}}", "web", "db"], ["inspect", "-f", "{{.Nope}}", "web"],
]
STREAMS = [
    "logs web", "logs tty", "logs -f -t --details -n 5 --since 2025-01-01T00:00:00Z --until 1700000000.5 web",
    "logs --since bogus web", "logs --until bogus web", "logs nope", "logs", "logs -n x web",
    "exec -e A=1 -w /tmp -u 1:2 --privileged web sh -c echo", "exec -d -i --detach-keys ctrl-x web true",
    "exec -i web true", "exec -it web true", "exec nope true", "exec web", "attach web",
    "attach --no-stdin --sig-proxy=false --detach-keys ctrl-a web", "attach db", "attach paused", "attach nope",
    "attach -i web", "attach tty",
]
OTHERS = [
    "top web", "top web -o pid,comm aux", "top nope", "port web", "port web 80", "port web 53/udp", "port web 443",
    "port web x", "port web 99999", "diff web", "diff nope", "export -o /nonexistent/dir/x web",
    "export -o /etc/passwd/x web", "export nope",
    "update -m 10m --cpus 2 --restart always --pids-limit 5 web nope", "update web", "update --restart bogus:x web",
    "commit web", "commit web repo@sha256:" + "a" * 64, "container prune -f",
    "container prune -f --filter until=1h --filter label=a",
    ["commit", "-a", "me", "-m", "msg", "-c", "ENV A=1", "-c", 'CMD ["x"]', "--pause=false", "web", "repo:tag"],
    "stats --no-stream web", "stats --no-stream --no-trunc web", "stats --no-stream --format json web db",
    "stats --no-stream web nope", ["stats", "--no-stream", "--format", "table {{.Container}}\t{{.CPUPerc}}", "web"],
]


@pytest.mark.parametrize("argv", SIMPLE + LISTING + INSPECT + STREAMS + OTHERS, ids=lambda a: str(a)[:70])
def test_same_as_docker(world: tuple[FakeEngine, Containers, list[Any]], argv: Any) -> None:
    fake = world[0]
    fake.routes[("GET", "/containers/json")] = lambda r: json_reply(SUMMARIES)
    _compare(world, argv.split() if isinstance(argv, str) else argv)


def test_exec_bodies_as_docker(world: tuple[FakeEngine, Containers, list[Any]]) -> None:
    fake, store, _ = world
    for argv in (["exec", "-e", "A=1", "-w", "/tmp", "-u", "1:2", "--privileged", "web", "sh", "-c", "echo"],
                 ["exec", "-d", "-i", "--detach-keys", "ctrl-x", "web", "true"], ["exec", "-i", "web", "true"]):
        bodies = []
        for runner in (docker, ours):
            del store.created[:]
            runner(fake, argv)
            bodies.append(list(store.created))
        assert bodies[1] == bodies[0]


@pytest.mark.parametrize("argv", ["stats --no-stream", "stats --no-stream -a"])
def test_stats_of_all_as_docker(world: tuple[FakeEngine, Containers, list[Any]], argv: str) -> None:
    fake, store, _ = world
    fake.routes[("GET", "/containers/json")] = lambda r: json_reply(
        [{"Id": c["Id"], "Names": [c["Name"]]} for c in store.items.values()
         if r.query.get("all") or c["State"]["Running"]])
    _compare(world, argv.split())


CP = [
    "cp web:/etc out1", "cp web:/etc/ out2", "cp web:/etc existing", "cp web:/etc efile", "cp web:/etc/. existing",
    "cp web:/nope out3", "cp -L web:/link out4", "cp web:/etc -", "cp src web:/etc", "cp src web:/newdir",
    "cp src/a.txt web:/file", "cp src/a.txt web:/etc", "cp src/ web:/file", "cp - web:/file",
    "cp src web:/dev/null", "cp -a src/. web:/etc", "cp src/lnk web:/etc", "cp -L src/lnk web:/etc", "cp a b",
    "cp web:/a web:/b", "cp src/sub web:/link", "cp -q src/sub web:/link",
]


def _tree(root: str) -> list[Any]:
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                entries.append((rel, "->" + os.readlink(path)))
            elif os.path.isdir(path):
                entries.append((rel, "dir", oct(os.stat(path).st_mode & 0o7777)))
            else:
                with open(path, "rb") as fh:
                    entries.append((rel, fh.read(), oct(os.stat(path).st_mode & 0o7777)))
    return sorted(entries)


@pytest.mark.parametrize("argv", CP)
def test_cp_as_docker(world: tuple[FakeEngine, Containers, list[Any]], argv: str, tmp_path: Any,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _, puts = world
    results = []
    for runner in (docker, ours):
        work = tmp_path / runner.__name__
        (work / "src" / "sub").mkdir(parents=True)
        (work / "src" / "a.txt").write_text("x\n")
        (work / "src" / "a.txt").chmod(0o600)
        (work / "src" / "sub" / "b.txt").write_text("y\n")
        (work / "src" / "lnk").symlink_to("a.txt")
        (work / "existing").mkdir()
        (work / "efile").write_text("old")
        monkeypatch.chdir(work)
        del puts[:]
        result = runner(fake, argv.split())
        out = len(result.out) if argv.endswith(" -") else result.out
        results.append((result.status, out, result.err, _tree(str(work)), list(puts)))
    assert results[1] == results[0]
