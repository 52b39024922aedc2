"""Container command output and parsing on their own (no docker needed): tables, stats math, values, cp rules."""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.container_engine import Containers, install, ours
from tests.unit.cli.fake_engine import FakeEngine, Reply, error_reply, json_reply

from dockyard.cli import ctr_archive, ctr_ports, ctr_stats, ctr_values
from dockyard.cli.commands.port import natural_key
from dockyard.cli.ctr_format import ContainerRow, ps_format
from dockyard.cli.gotemplate import Formatter
from dockyard.errors import DockyardError

NOW = 1_750_000_000.0


@pytest.fixture
def world() -> Iterator[tuple[FakeEngine, Containers]]:
    with tempfile.TemporaryDirectory(prefix="dyout") as path, FakeEngine(f"{path}/e.sock") as fake:
        yield fake, install(fake)


def _ps(rows: list[dict[str, Any]], fmt: str = "", quiet: bool = False, size: bool = False,
        trunc: bool = True) -> str:
    return Formatter(ps_format(fmt, quiet, size), ContainerRow.HEADER).render(
        ContainerRow(r, trunc, NOW) for r in rows)


SUMMARY = {"Id": "a" * 64, "Names": ["/web"], "Image": "nginx:1.25@sha256:" + "b" * 64, "ImageID": "sha256:" + "c" * 64,
           "Command": "/docker-entrypoint.sh nginx -g 'daemon off;'", "Created": NOW - 7200,
           "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                     {"PrivatePort": 443, "Type": "tcp"}],
           "SizeRw": 1234, "SizeRootFs": 187000000, "Labels": {"team": "x", "a": "b"}, "State": "running",
           "Status": "Up 2 hours", "NetworkSettings": {"Networks": {"bridge": {}, "alpha": {}}}, "Mounts": []}


def test_ps_default_table() -> None:
    assert _ps([SUMMARY]) == (
        "CONTAINER ID   IMAGE        COMMAND                  CREATED       STATUS       PORTS"
        "                           NAMES\n"
        "aaaaaaaaaaaa   nginx:1.25   \"/docker-entrypoint.…\"   2 hours ago   Up 2 hours   443/tcp, "
        "0.0.0.0:8080->80/tcp   web\n")


def test_ps_variants() -> None:
    assert _ps([SUMMARY], quiet=True) == "aaaaaaaaaaaa\n"
    assert _ps([SUMMARY], "{{.Size}}|{{.Labels}}|{{.Networks}}|{{.Label \"team\"}}") == \
        "1.23kB (virtual 187MB)|a=b,team=x|alpha,bridge|x\n"
    no_trunc = _ps([SUMMARY], "{{.ID}} {{.Image}} {{.Command}}", trunc=False)
    assert no_trunc == f"{'a' * 64} nginx:1.25@sha256:{'b' * 64} \"/docker-entrypoint.sh nginx -g 'daemon off;'\"\n"
    assert _ps([], size=True) == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES     SIZE\n"
    linked = dict(SUMMARY, Names=["/other/alias", "/web"], Image="sha256:" + "c" * 64)
    assert _ps([linked], "{{.Names}} {{.Image}}") == "web cccccccccccc\n"


def test_ps_queries(world: tuple[FakeEngine, Containers]) -> None:
    fake, _ = world
    fake.json("GET", "/containers/json", [SUMMARY])
    assert ours(fake, ["ps", "-q"]).out == "aaaaaaaaaaaa\n"
    ours(fake, ["ps", "-a", "-n", "2", "-f", "status=exited", "--format", "{{.Size}}"])
    assert fake.requests[-1].query == {"all": ["1"], "limit": ["2"], "size": ["1"],
                                       "filters": ['{"status":{"exited":true}}']}
    ours(fake, ["ps", "-l", "--size=false", "--format", "{{.Size}}"])
    assert fake.requests[-1].query == {"limit": ["1"]}
    bad = ours(fake, ["ps", "--format", "{{.Nope}}"])
    assert bad.status == 1 and bad.err.startswith("failed to execute template: template: :1:2: executing")


STATS = {"name": "/web", "id": "d" * 64, "pids_stats": {"current": 3},
         "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000, "percpu_usage": [1, 2, 3, 4]},
                       "system_cpu_usage": 20_000_000_000},
         "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}, "system_cpu_usage": 10_000_000_000},
         "memory_stats": {"usage": 50_000_000, "limit": 2_000_000_000, "stats": {"total_inactive_file": 1_000_000,
                                                                                  "inactive_file": 9}},
         "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 2500}},
         "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "write", "value": 1},
                                                        {"op": "sync", "value": 7}]}}


def test_stats_math() -> None:
    values = ctr_stats.entry(STATS)
    assert values["CPUPercentage"] == pytest.approx(40.0)  # 1s of 10s, four CPUs (from percpu_usage)
    assert values["Memory"] == 49_000_000  # cgroup v1: total_inactive_file left out
    assert values["MemoryPercentage"] == pytest.approx(2.45)
    assert (values["BlockRead"], values["BlockWrite"], values["PidsCurrent"]) == (4096, 1, 3)
    assert ctr_stats.cpu_percent({}, {}) == 0.0
    assert ctr_stats.memory_usage({"usage": 10, "stats": {"inactive_file": 20}}) == 10


def test_stats_table_and_invalid_rows() -> None:
    rows = [ctr_stats.StatsRow({"Container": "web", **ctr_stats.entry(STATS)}),
            ctr_stats.StatsRow(ctr_stats.invalid("gone"))]
    out = Formatter(ctr_stats.stats_format(""), ctr_stats.StatsRow.HEADER).render(rows)
    assert out == (
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O         BLOCK I/O    PIDS\n"
        "dddddddddddd   web       40.00%    46.73MiB / 1.863GiB   2.45%     1.5kB / 2.5kB   4.1kB / 1B   3\n"
        "               --        --        -- / --               --        --              --           --\n")
    frame = ctr_stats.render("A\nB\n")
    assert frame == "\x1b[HA\nB\n\x1b[HA \x1b[K\nB \x1b[K\n \x1b[K\n\x1b[J"


def test_stats_no_stream(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    record = store.add("web")
    fake.routes.add("GET", "/containers/{id}/stats", lambda r, p: json_reply(dict(STATS, id=record["Id"]))
                    if store.find(p["id"]) else error_reply(404, f"No such container: {p['id']}"))
    result = ours(fake, ["stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", "web"])
    assert (result.status, result.out) == (0, "web 40.00% 3\n")
    assert fake.requests[-1].query == {"stream": ["0"]}
    missing = ours(fake, ["stats", "--no-stream", "nope"])
    assert (missing.status, missing.out) == (1, "")
    assert missing.err == "Error response from daemon: No such container: nope\n"


def test_top_table(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    store.add("web")
    fake.routes.add("GET", "/containers/{id}/top", lambda r, p: json_reply(
        {"Titles": ["PID", "COMMAND"], "Processes": [["1", "sleep 1000"], ["12345", "sh"]]}))
    result = ours(fake, ["top", "web", "-eo", "pid,comm"])
    assert result.out == "PID                 COMMAND\n1                   sleep 1000\n12345               sh\n"
    assert fake.requests[-1].query == {"ps_args": ["-eo pid,comm"]}


def test_logs_demultiplexed(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    plain = store.add("plain")
    store.output[plain["Id"]] = [(1, b"one\n"), (2, b"two\n"), (1, b"three")]
    tty = store.add("tty", tty=True)
    store.output[tty["Id"]] = [(1, b"raw\r\n")]
    result = ours(fake, ["logs", "-n", "2", "-t", "plain"])
    assert (result.out, result.err) == ("one\nthree", "two\n")
    assert fake.requests[-1].query == {"stderr": ["1"], "stdout": ["1"], "tail": ["2"], "timestamps": ["1"]}
    assert ours(fake, ["logs", "tty"]).out == "raw\r\n"


def test_port_natural_order() -> None:
    lines = ["80/tcp -> 0.0.0.0:8080", "9/tcp -> 0.0.0.0:9", "443/tcp -> [::]:443", "53/udp -> 127.0.0.1:5353"]
    assert sorted(lines, key=natural_key) == ["9/tcp -> 0.0.0.0:9", "53/udp -> 127.0.0.1:5353",
                                              "80/tcp -> 0.0.0.0:8080", "443/tcp -> [::]:443"]


@pytest.mark.parametrize(("text", "value"), [("512m", 512 << 20), ("1g", 1 << 30), ("1.5k", 1536), ("10", 10),
                                             ("2 MiB", 2 << 20), ("7b", 7), ("1KB", 1024)])
def test_ram_in_bytes(text: str, value: int) -> None:
    assert ctr_values.ram_in_bytes(text) == value


@pytest.mark.parametrize(("text", "message"), [("1x", "invalid suffix: 'x'"), ("1kbb", "invalid suffix: 'kbb'"),
                                               ("m", "invalid size: 'm'"), ("-1", "invalid size: '-1'")])
def test_ram_in_bytes_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ctr_values.ram_in_bytes(text)


def test_values() -> None:
    assert ctr_values.nano_cpus("1.5") == 1_500_000_000
    assert ctr_values.nano_cpus("3/2") == 1_500_000_000
    with pytest.raises(ValueError, match="too precise"):
        ctr_values.nano_cpus("0.0000000001")
    assert ctr_values.ulimit("nofile=1024:2048") == {"Name": "nofile", "Hard": 2048, "Soft": 1024}
    assert ctr_values.ulimit("nproc=-1") == {"Name": "nproc", "Hard": -1, "Soft": -1}
    assert ctr_values.mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777") == {
        "Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}}
    assert ctr_values.clean_path("a/../../b/./c/") == "../b/c"
    assert ctr_values.clean_path("/../x") == "/x"


def test_ports() -> None:
    assert ctr_ports.port_bindings(["8080:80", "127.0.0.1::53/udp", "[::1]:9000:9000/tcp"]) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "9000/tcp": [{"HostIp": "::1", "HostPort": "9000"}]}
    assert ctr_ports.exposed_ports(["1000-1001:80-81"], ["90/udp"]) == {"80/tcp": {}, "81/tcp": {}, "90/udp": {}}


def _tar_names(chunks: Any) -> list[str]:
    return [m.name for m in tarfile.open(fileobj=io.BytesIO(b"".join(chunks)))]


def test_archive_rules(tmp_path: Any) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "a").write_text("a")
    (tmp_path / "dir" / "sub" / "b").write_text("b")
    (tmp_path / "dir" / "z").write_text("z")
    src = ctr_archive.source_info(str(tmp_path / "dir"), False)
    assert _tar_names(ctr_archive.tar_stream(src, "dir")) == ["dir", "dir/a", "dir/sub", "dir/sub/b", "dir/z"]
    new = ctr_archive.CopyInfo("/new")
    assert ctr_archive.prepare(src, new) == ("/", "dir", "new")
    assert _tar_names(ctr_archive.tar_stream(src, "new"))[:2] == ["new", "new/a"]
    existing_dir = ctr_archive.CopyInfo("/etc", exists=True, is_dir=True)
    assert ctr_archive.prepare(src, existing_dir) == ("/etc", "dir", "dir")
    with pytest.raises(Exception, match="cannot copy directory"):
        ctr_archive.prepare(src, ctr_archive.CopyInfo("/file", exists=True))
    file_src = ctr_archive.source_info(str(tmp_path / "dir" / "a"), False)
    with pytest.raises(Exception, match="no such directory"):
        ctr_archive.prepare(file_src, ctr_archive.CopyInfo("/nothere/"))


def test_local_source_paths_as_docker_resolves_them(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "proc").write_text("not the root's")
    monkeypatch.chdir(tmp_path / "elsewhere")
    root_entry = ctr_archive.source_info("/proc", False)  # the parent "/" is not the working directory
    assert root_entry.is_dir and root_entry.path == "//proc"
    with pytest.raises(DockyardError, match=r"^lstat //nonexistent: no such file or directory$"):
        ctr_archive.source_info("/nonexistent", False)
    for follow in (False, True):  # the first element that is missing
        with pytest.raises(DockyardError, match=f"^lstat {tmp_path}/nodir: no such file or directory$"):
            ctr_archive.source_info(str(tmp_path / "nodir" / "x"), follow)


def _tar(*members: tuple[str, bytes | None, str]) -> list[bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return [buf.getvalue()]


def test_extract_refuses_to_leave_the_directory(tmp_path: Any) -> None:
    for members in ([("../evil", b"x", "")], [("/abs/../../evil", b"x", "")], [("ln", None, "../../etc")]):
        target = tmp_path / "t"
        target.mkdir(exist_ok=True)
        with pytest.raises(Exception, match=r"invalid|outside"):
            ctr_archive.extract(ctr_archive.ChunkReader(_tar(*members)), str(target), "x", "x")
    assert not (tmp_path / "evil").exists()


def test_extract_rebases_and_keeps_dirs(tmp_path: Any) -> None:
    ctr_archive.extract(ctr_archive.ChunkReader(_tar(("etc", None, ""), ("etc/hostname", b"h\n", ""),
                                                     ("etc/link", None, "hostname"))), str(tmp_path), "etc", "copy")
    assert (tmp_path / "copy" / "hostname").read_text() == "h\n"
    assert (tmp_path / "copy" / "link").is_symlink()
    (tmp_path / "dir").mkdir()
    with pytest.raises(Exception, match="cannot overwrite directory"):
        ctr_archive.extract(ctr_archive.ChunkReader(_tar(("dir", b"file now", ""))), str(tmp_path), "dir", "dir")


def test_stats_live_redraw(world: tuple[FakeEngine, Containers], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from dockyard.cli.commands import stats as stats_command

    fake, store = world
    record = store.add("web")
    sample = json.dumps(dict(STATS, id=record["Id"])).encode() + b"\n"
    def samples() -> Iterator[bytes]:
        yield sample
        threading.Event().wait(3)  # the stream stays open (time.sleep is the test's, below)
    fake.routes.add("GET", "/containers/{id}/stats", lambda r, p: Reply(200, chunks=samples()))
    ticks = []

    def sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) > 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(stats_command.time, "sleep", sleep)
    result = ours(fake, ["stats", "--format", "table {{.Name}}\t{{.MemPerc}}", "web"])
    assert result.status == 130 and ticks == [0.5, 0.5, 0.5]
    frame = "\x1b[HNAME      MEM %\nweb       2.45%\n"
    expected = frame + "".join(f"{line} \x1b[K\n" for line in frame.split("\n")) + "\x1b[J"
    assert result.out == expected * 2
    assert fake.requests[-1].query == {"stream": ["1"]}
