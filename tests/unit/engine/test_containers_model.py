"""The container service's pure parts: names, times and statuses, the store, the config
merge and checks, signals, restart policies, json-file logs, detach keys, ps parsing and the
generated /etc files. No root, no daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest

from dockyard.containerd.snapshots import Mount
from dockyard.engine import container_config as cc
from dockyard.engine.api.containers_attach import DetachMatcher, detach_sequence
from dockyard.engine.api.containers_logs import fixed_time, frame
from dockyard.engine.container_files import hosts, resolv_conf
from dockyard.engine.container_lifecycle import start_error
from dockyard.engine.container_model import (
    ZERO_TIME,
    Container,
    State,
    format_time,
    human_duration,
    parse_time,
    status_text,
)
from dockyard.engine.container_names import normalize, random_name
from dockyard.engine.container_rootfs import lower_mounts
from dockyard.engine.container_stats import parse_ps
from dockyard.engine.container_store import ContainerStore, NameInUse
from dockyard.engine.logs_jsonfile import JsonFileWriter, Message, Rotation, parse_size, read_messages, rotation
from dockyard.errors import DockyardError, Internal, InvalidArgument

NS = 1_700_000_000_123_456_789


def container(cid: str = "a" * 64, name: str = "/box") -> Container:
    return Container(id=cid, name=name, created=format_time(NS), path="sh", args=["-c", "true"],
                     config={"Image": "busybox", "Labels": {"k": "v"}}, host_config={}, image_id="sha256:" + "b" * 64,
                     runtime="dockyard-runc")


# -- names --------------------------------------------------------------------------------------------
def test_names() -> None:
    assert normalize("web.1") == "/web.1" and normalize("/web") == "/web"
    for bad in ("a", "-x", "a b", "x/y", ""):
        with pytest.raises(InvalidArgument, match=r"Invalid container name"):
            normalize(bad)
    name = random_name()
    adjective, _, surname = name.partition("_")
    assert adjective and surname and name != "boring_wozniak"
    assert random_name(1)[-1].isdigit()


# -- times and statuses -----------------------------------------------------------------------------------
def test_times_round_trip() -> None:
    text = format_time(NS)
    assert text == "2023-11-14T22:13:20.123456789Z"
    assert parse_time(text) == NS
    assert format_time(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert parse_time("2023-11-14T22:13:20.5+01:00") == 1_700_000_000_000_000_000 - 3600 * 10**9 + 5 * 10**8
    assert parse_time(ZERO_TIME) == 0 and format_time(0) == ZERO_TIME


@pytest.mark.parametrize(("seconds", "text"), [
    (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (59 * 60, "59 minutes"), (3600, "About an hour"), (47 * 3600, "47 hours"), (3 * 86400, "3 days"),
    (20 * 86400, "2 weeks"), (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_status_text() -> None:
    s = State()
    assert status_text(s) == "Created"
    s.set_running(42, NS)
    assert status_text(s, NS + 3 * 10**9) == "Up 3 seconds"
    s.paused = True
    assert status_text(s, NS + 3 * 10**9) == "Up 3 seconds (Paused)"
    s.set_stopped(3, NS + 10**9)
    assert status_text(s, NS + 3 * 10**9) == "Exited (3) 2 seconds ago"
    s.set_restarting(1, NS + 10**9)
    assert s.running and status_text(s, NS + 3 * 10**9) == "Restarting (1) 2 seconds ago"


def test_finished_never_before_started() -> None:
    s = State()
    s.set_running(42, NS + 5000)
    s.set_stopped(0, NS + 1000)  # the shim's clock read a hair earlier
    assert s.finished_at == s.started_at


# -- store ------------------------------------------------------------------------------------------------
def test_store_names_are_unique(tmp_path: Path) -> None:
    store = ContainerStore(str(tmp_path))
    first = container()
    store.add(first)
    with pytest.raises(NameInUse, match=r'name "/box" is already in use by container "a{64}"'):
        store.add(container("c" * 64))
    second = container("c" * 64, "/other")
    store.add(second)
    with pytest.raises(NameInUse):
        store.rename(second, "/box")
    assert second.name == "/other"
    store.rename(second, "/renamed")
    first.state.set_running(7, NS)
    store.save(first)
    store.close()
    again = ContainerStore(str(tmp_path))
    loaded = {c.id: c for c in again.load()}
    assert loaded[first.id].state.pid == 7 and loaded[second.id].name == "/renamed"
    assert loaded[first.id].config == first.config
    again.delete(first.id)
    assert again.holder_of("/box") is None
    assert again.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_refuses_a_newer_schema(tmp_path: Path) -> None:
    store = ContainerStore(str(tmp_path))
    store.conn.execute("PRAGMA user_version=99")
    store.close()
    with pytest.raises(DockyardError, match="schema version 99 is newer"):
        ContainerStore(str(tmp_path))


# -- config ----------------------------------------------------------------------------------------------
IMAGE = {"Env": ["PATH=/bin", "A=image"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/w", "User": "1",
         "Labels": {"from": "image", "k": "image"}, "StopSignal": "SIGQUIT"}


def test_merge_config() -> None:
    merged = cc.merge_config({"Image": "busybox", "Env": ["A=mine"], "Labels": {"k": "v"}}, IMAGE, "f" * 64, "bridge")
    assert merged["Env"] == ["A=mine", "PATH=/bin"] and merged["Cmd"] == ["sh"] and merged["Entrypoint"] is None
    assert merged["Labels"] == {"from": "image", "k": "v"} and merged["WorkingDir"] == "/w"
    assert merged["User"] == "1" and merged["StopSignal"] == "SIGQUIT" and merged["Hostname"] == "f" * 12
    assert merged["Tty"] is False and merged["OpenStdin"] is False
    own = cc.merge_config({"Entrypoint": ["/bin/x"]}, IMAGE, "f" * 64, "host")
    assert own["Cmd"] is None and own["Entrypoint"] == ["/bin/x"]
    assert own["Hostname"] == socket.gethostname()  # host networking: the host's name, as dockerd shows it
    assert cc.path_and_args({"Entrypoint": ["a", "b"], "Cmd": ["c"]}) == ("a", ["b", "c"])
    assert cc.path_and_args({"Entrypoint": [""], "Cmd": ["c", "d"]}) == ("c", ["d"])
    with pytest.raises(InvalidArgument, match="No command specified"):
        cc.path_and_args({"Cmd": None})


def test_host_config_checks() -> None:
    hc = cc.host_config({"NetworkMode": "default"}, "json-file", {})
    assert hc["NetworkMode"] == "bridge" and hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    daemon = cc.host_config({}, "json-file", {"max-size": "1m"})
    assert daemon["LogConfig"]["Config"] == {"max-size": "1m"}
    with pytest.raises(InvalidArgument, match="can't create 'AutoRemove' container with restart policy"):
        cc.host_config({"AutoRemove": True, "RestartPolicy": {"Name": "always"}}, "json-file", {})
    with pytest.raises(InvalidArgument, match="only be used with 'on-failure'"):
        cc.restart_policy({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}})
    with pytest.raises(InvalidArgument, match="unknown policy 'sometimes'"):
        cc.restart_policy({"RestartPolicy": {"Name": "sometimes"}})
    with pytest.raises(InvalidArgument, match="logging driver 'syslog' is not supported"):
        cc.host_config({"LogConfig": {"Type": "syslog"}}, "json-file", {})
    cc.check_config({"Healthcheck": {"Test": ["CMD", "true"], "Interval": 10**9, "Retries": 2}})
    cc.check_config({"Healthcheck": {"Test": ["NONE"]}})
    with pytest.raises(InvalidArgument, match=r"Config\.Healthcheck\.Test: unknown type 'RUN'"):
        cc.check_config({"Healthcheck": {"Test": ["RUN", "true"]}})
    with pytest.raises(InvalidArgument, match=r"Interval in Healthcheck cannot be less than 1ms"):
        cc.check_config({"Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}})


def test_signals() -> None:
    assert cc.parse_signal("KILL") == cc.parse_signal("SIGKILL") == cc.parse_signal("9") == 9
    assert cc.parse_signal("SIGRTMIN+3") == signal.SIGRTMIN + 3
    assert cc.stop_signal({}) == signal.SIGTERM and cc.stop_signal({"StopSignal": "SIGQUIT"}) == signal.SIGQUIT
    assert cc.stop_timeout({}) == 10 and cc.stop_timeout({"StopTimeout": 3}) == 3
    for bad in ("NOPE", "0", "999"):
        with pytest.raises(InvalidArgument, match="Invalid signal"):
            cc.parse_signal(bad)


def test_start_errors_map_to_docker_exit_codes() -> None:
    missing = Internal('OCI runtime create failed: exec: "nope": executable file not found in $PATH')
    error, code = start_error("nope", missing)
    assert code == 127 and isinstance(error, InvalidArgument)
    assert error.message.startswith("failed to create task for container: OCI runtime create failed")
    assert start_error("/etc", Internal('exec: "/etc": permission denied'))[1] == 126
    other, code = start_error("x", Internal("cgroups: something"))
    assert code == 128 and other.http_status == 500


# -- logs -------------------------------------------------------------------------------------------------
def test_sizes_and_rotation_options() -> None:
    assert parse_size("10m", "x") == 10_000_000 and parse_size("1k", "x") == 1000 and parse_size("-1", "x") == -1
    assert rotation({}) == Rotation(10_000_000, 3)
    assert rotation({"max-size": "1k"}) == Rotation(1000, 1)
    with pytest.raises(InvalidArgument, match="max-file can only be used with max-size"):
        rotation({"max-size": "-1", "max-file": "2"})
    with pytest.raises(InvalidArgument, match="unknown log opt 'colour'"):
        rotation({"colour": "red"})


def test_json_file_rotates_and_reads_back(tmp_path: Path) -> None:
    path = str(tmp_path / "c-json.log")
    writer = JsonFileWriter(path, Rotation(200, 3))
    queue = writer.follow()
    for n in range(30):
        writer.write(Message("stdout" if n % 2 else "stderr", f"line {n}\n".encode(), NS + n))
    writer.close()
    files = sorted(os.listdir(tmp_path))
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    assert all(os.path.getsize(tmp_path / f) <= 200 for f in files)
    messages = list(read_messages(path))
    assert [m.data for m in messages] == [f"line {n}\n".encode() for n in range(30 - len(messages), 30)]
    doc = json.loads((tmp_path / "c-json.log").read_text().splitlines()[-1])
    assert doc == {"log": "line 29\n", "stream": "stdout", "time": format_time(NS + 29)}
    assert queue.qsize() == 30
    writer.end_followers()
    assert writer.followers == set()


def test_frames_and_times() -> None:
    assert frame("stderr", b"hi") == b"\x02\x00\x00\x00\x00\x00\x00\x02hi"
    assert fixed_time(1_700_000_000_000_000_000) == "2023-11-14T22:13:20.000000000Z"


# -- attach ------------------------------------------------------------------------------------------------
def test_detach_keys() -> None:
    assert detach_sequence("ctrl-p,ctrl-q") == b"\x10\x11"
    assert detach_sequence("a,ctrl-@,ctrl-_") == b"a\x00\x1f"
    with pytest.raises(InvalidArgument):
        detach_sequence("ctrl-pp")
    matcher = DetachMatcher(b"\x10\x11")
    assert matcher.feed(b"ab\x10") == (b"ab", False)
    assert matcher.feed(b"x") == (b"\x10x", False)
    assert matcher.feed(b"\x10") == (b"", False)
    assert matcher.feed(b"\x11rest") == (b"", True)


# -- top, files, mounts --------------------------------------------------------------------------------------
def test_parse_ps() -> None:
    out = ("UID PID PPID C STIME TTY TIME CMD\n"
           "root 10 1 0 12:00 ? 00:00:00 sleep 1000\n"
           "root 11 10 0 12:00 ? 00:00:00 other thing\n")
    doc = parse_ps(out, [10])
    assert doc["Titles"][:2] == ["UID", "PID"]
    assert doc["Processes"] == [["root", "10", "1", "0", "12:00", "?", "00:00:00", "sleep 1000"]]


def test_resolv_conf_and_hosts() -> None:
    host = "nameserver 127.0.0.53\nsearch lan\noptions edns0\n"
    # dockerd 20.10: loopback and IPv6 name servers removed, the rest kept as it is, Google's
    # appended when none is left
    assert resolv_conf(host, {}, False) == "search lan\noptions edns0\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4"
    assert resolv_conf(host, {}, True) == host
    kept = "# the host's\nnameserver 10.0.0.1\nnameserver ::1\nnameserver fe80::1\nsearch lan\n"
    assert resolv_conf(kept, {}, False) == "# the host's\nnameserver 10.0.0.1\nsearch lan\n"
    assert resolv_conf(host, {"Dns": ["1.1.1.1"], "DnsSearch": ["x"]}, False) == \
        "search x\nnameserver 1.1.1.1\noptions edns0\n"  # dockerd's order (libnetwork's resolvconf.Build)
    text = hosts({}, {"ExtraHosts": ["db:10.0.0.2"]}, False)
    assert text.startswith("127.0.0.1\tlocalhost\n") and text.endswith("10.0.0.2\tdb\n")


def test_lower_mounts() -> None:
    overlay = Mount("overlay", "overlay", ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"])
    assert lower_mounts([overlay]) == [Mount("overlay", "overlay", ["lowerdir=/l1:/l2", "ro"])]
    single = Mount("overlay", "overlay", ["workdir=/w", "upperdir=/u", "lowerdir=/l1"])
    assert lower_mounts([single]) == [Mount("bind", "/l1", ["rbind", "ro"])]
    assert lower_mounts([Mount("bind", "/s", ["rbind", "rw"])]) == [Mount("bind", "/s", ["rbind", "ro"])]


# -- views -----------------------------------------------------------------------------------------------
class _Live:
    def __init__(self, c: Container) -> None:
        self.container = c
        self.id = c.id


class _Service:
    def __init__(self, *containers: Container) -> None:
        self.lives = [_Live(c) for c in containers]

    def all(self) -> list[_Live]:
        return sorted(self.lives, key=lambda live: live.container.created, reverse=True)

    def get(self, ref: str) -> _Live:
        return next(live for live in self.lives if live.container.name == "/" + ref or live.id == ref)


def test_list_filters_and_summary() -> None:
    from dockyard.engine.container_views import inspect, select, summary
    from dockyard.engine.filters import Filters

    up = container("a" * 64, "/up")
    up.state.set_running(10, NS)
    down = container("b" * 64, "/down")
    down.created = format_time(NS + 10**9)
    down.config["Labels"] = {"tier": "db"}
    down.state.set_running(11, NS)
    down.state.set_stopped(4, NS + 2 * 10**9)
    fresh = container("c" * 64, "/fresh")
    fresh.created = format_time(NS + 2 * 10**9)
    service = _Service(up, down, fresh)

    def names(flt: dict[str, list[str]], all_: bool = True, limit: int = -1) -> list[str]:
        chosen = select(service, Filters.of(**flt), all_, limit)  # type: ignore[arg-type]
        return [live.container.short_name for live in chosen]

    assert names({}, all_=False) == ["up"]
    assert names({}) == ["fresh", "down", "up"]
    assert names({"status": ["exited"]}) == ["down"] and names({"status": ["created"]}) == ["fresh"]
    assert names({"exited": ["4"]}) == ["down"] and names({"exited": ["0"]}) == []
    assert names({"label": ["tier=db"]}) == ["down"] and names({"name": ["^/?u"]}) == ["up"]
    assert names({"id": ["bbb"]}) == ["down"] and names({"before": ["down"]}) == ["up"]
    assert names({"since": ["down"]}) == ["fresh"] and names({}, all_=False, limit=1) == ["fresh"]
    with pytest.raises(InvalidArgument, match="invalid filter 'status=sleeping'"):
        names({"status": ["sleeping"]})
    assert names({"health": ["healthy"]}) == [] and names({"health": ["none"]}) == ["fresh", "down", "up"]
    assert names({"is-task": ["true"]}) == [] and names({"is-task": ["false"]}) == ["fresh", "down", "up"]
    with pytest.raises(InvalidArgument, match="Unrecognised filter value for health: ok"):
        names({"health": ["ok"]})
    with pytest.raises(InvalidArgument, match="Invalid filter 'is-task=maybe'"):
        names({"is-task": ["maybe"]})
    down.host_config["Binds"] = ["/srv/data:/data:ro"]
    fresh.host_config["Mounts"] = [{"Type": "volume", "Source": "cache", "Target": "/cache"}]
    assert names({"volume": ["/data"]}) == ["down"] and names({"volume": ["/srv/data"]}) == ["down"]
    assert names({"volume": ["cache"]}) == ["fresh"] and names({"volume": ["/cache", "/data"]}) == ["fresh", "down"]
    assert names({"volume": ["/nowhere"]}) == []
    # publish: the host ports published now (as dockerd 20.10 matches it); expose: exposed ports
    up.config["ExposedPorts"] = {"80/tcp": {}, "53/udp": {}}
    published = {up.id: {"8080/tcp"}, fresh.id: {"32768/tcp"}}

    def by_port(flt: dict[str, list[str]]) -> list[str]:
        chosen = select(service, Filters.of(**flt), True, -1, None,  # type: ignore[arg-type]
                        lambda c: published.get(c.id, set()))
        return [live.container.short_name for live in chosen]

    assert by_port({"publish": ["8080"]}) == ["up"] and by_port({"publish": ["80"]}) == []
    assert by_port({"publish": ["8080/udp"]}) == [] and by_port({"expose": ["53/udp"]}) == ["up"]
    assert by_port({"publish": ["8000-40000/tcp"]}) == ["fresh", "up"] and by_port({"expose": ["1-100"]}) == ["up"]
    assert by_port({"expose": ["80/ip"]}) == []
    with pytest.raises(InvalidArgument, match="filter for 'publish' should not contain ':': 8080:80"):
        by_port({"publish": ["8080:80"]})
    with pytest.raises(InvalidArgument, match="invalid filter 'expose=x'"):
        by_port({"expose": ["x"]})
    doc = summary(down)
    assert doc["Names"] == ["/down"] and doc["State"] == "exited" and doc["Command"] == "sh -c true"
    assert doc["Status"].startswith("Exited (4) ") and doc["Created"] == (NS + 10**9) // 10**9
    full = inspect(up)
    assert full["State"]["Pid"] == 10 and full["Name"] == "/up" and full["Config"]["Image"] == "busybox"
    assert list(full["NetworkSettings"]["Networks"]) == ["bridge"]


def test_changes_of_an_upper_dir(tmp_path: Path) -> None:
    from dockyard.engine.container_fs import changes, overlay_dirs

    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in (lower / "etc", lower / "bin", upper / "etc", upper / "tmp", upper / "proc"):
        d.mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root\n")
    (upper / "etc" / "passwd").write_text("changed\n")
    (upper / "etc" / "hosts").write_text("engine's\n")
    (upper / "tmp" / "new").write_text("x")
    assert changes(str(upper), [str(lower)]) == [
        {"Path": "/etc", "Kind": 0}, {"Path": "/etc/passwd", "Kind": 0}, {"Path": "/tmp", "Kind": 1},
        {"Path": "/tmp/new", "Kind": 1}]
    bare = tmp_path / "bare"  # an image without /etc: the engine made it for /etc/hosts
    (bare / "etc").mkdir(parents=True)
    (bare / "etc" / "hosts").write_text("engine's\n")
    (bare / "newdir").mkdir()
    assert changes(str(bare), [str(lower / "bin")]) == [{"Path": "/newdir", "Kind": 1}]
    mounts = [Mount("overlay", "overlay", ["workdir=/w", "upperdir=/u", "lowerdir=/a:/b"])]
    assert overlay_dirs(mounts) == ("/u", ["/a", "/b"])


def test_exec_env_with_a_tty() -> None:
    from dockyard.engine.container_exec import tty_env

    assert tty_env(["PATH=/bin", "HOSTNAME=h", "A=1"]) == ["PATH=/bin", "HOSTNAME=h", "TERM=xterm", "A=1"]
    assert tty_env(["PATH=/bin", "TERM=vt100"]) == ["PATH=/bin", "TERM=vt100"]  # the container's wins
    assert tty_env([]) == ["TERM=xterm"]


def test_networks_from_net_dev() -> None:
    from dockyard.engine.container_stats import parse_net_dev

    text = ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
            "carrier compressed\n"
            "    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0"
            "       0          0\n"
            "  eth0:    3168      34    1    2    0     0          0         0     2518      27    3    4    0     0"
            "       0          0\n")
    assert parse_net_dev(text) == {"eth0": {"rx_bytes": 3168, "rx_packets": 34, "rx_errors": 1, "rx_dropped": 2,
                                            "tx_bytes": 2518, "tx_packets": 27, "tx_errors": 3, "tx_dropped": 4}}
    assert parse_net_dev("") == {}
