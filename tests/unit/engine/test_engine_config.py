"""dockyardd's configuration: daemon.json validation, flags against the file, hosts and
TLS, --add-runtime, the runtimes table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine import daemon
from dockyard.engine.config import RuntimeEntry, build, load_file, parse_add_runtime
from dockyard.engine.hosts import Host, parse_host
from dockyard.engine.runtimes import discover
from dockyard.errors import InvalidArgument, NotFound, NotImplementedYet


def write(tmp_path: Path, doc: Any) -> str:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def test_defaults() -> None:
    config = build({})
    assert config.hosts == (Host("unix", "/run/dockyard/dockyard.sock"),)
    assert (config.data_root, config.exec_root) == ("/var/lib/dockyard", "/run/dockyard")
    assert config.containerd_socket == "/run/dockyard/containerd/containerd.sock"
    assert config.containerd_root == "/var/lib/dockyard/containerd"
    assert config.default_runtime == "dockyard-runc"


def test_file_keys_use_dockerds_names(tmp_path: Path) -> None:
    path = write(tmp_path, {"hosts": ["unix:///tmp/x.sock"], "data-root": "/srv/dy", "exec-root": "/run/dy",
                            "log-level": "debug", "debug": True, "labels": ["a=b"], "default-runtime": "mine",
                            "runtimes": {"mine": {"path": "/bin/mine", "runtimeArgs": ["--x"]}},
                            "containerd": "unix:///run/c.sock", "group": "staff"})
    config = build({}, load_file(path), path)
    assert config.hosts == (Host("unix", "/tmp/x.sock"),)
    assert config.data_root == "/srv/dy" and config.exec_root == "/run/dy"
    assert config.runtimes == {"mine": RuntimeEntry("/bin/mine", ("--x",))}
    assert config.containerd == "/run/c.sock" and config.containerd_socket == "/run/c.sock"
    assert config.labels == ("a=b",) and config.group == "staff" and config.debug


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, {"debug": True, "storage-driver": "overlay2", "no-such-option": False})
    with pytest.raises(InvalidArgument, match="don't match any configuration option: no-such-option, storage-driver"):
        load_file(path)


@pytest.mark.parametrize(("doc", "message"), [
    ({"debug": "yes"}, "debug: must be true or false"),
    ({"hosts": "unix:///x"}, "hosts: must be a list of strings"),
    ({"data-root": 3}, "data-root: must be a string"),
    ({"runtimes": {"x": {}}}, "runtimes.x: must be an object with a \"path\""),
    ({"runtimes": {"x": {"path": "/x", "foo": 1}}}, "runtimes.x: unknown keys: foo"),
    ("{not json", "invalid JSON"),
    ("[1, 2]", "must be a JSON object"),
])
def test_bad_values_are_named(tmp_path: Path, doc: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_file(write(tmp_path, doc))


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_file(str(tmp_path / "nope.json"))
    assert load_file(write(tmp_path, "  \n")) == {}


def test_flag_and_file_may_not_both_set_a_key(tmp_path: Path) -> None:
    path = write(tmp_path, {"data-root": "/a", "debug": True})
    with pytest.raises(InvalidArgument) as info:
        build({"data_root": "/b", "debug": True, "exec_root": None}, load_file(path), path)
    assert "specified both as a flag and in the configuration file" in str(info.value)
    assert "data-root: (from flag: /b, from file: /a)" in str(info.value)
    assert "debug: (from flag: true, from file: true)" in str(info.value)


@pytest.mark.parametrize(("flags", "message"), [
    ({"log_level": "loud"}, "log level 'loud'"),
    ({"data_root": "relative"}, "--data-root 'relative': must be an absolute path"),
    ({"labels": ["nolabel"]}, "label 'nolabel': must be key=value"),
    ({"hosts": ["unix:///a", "unix:///a"]}, "an address is given twice"),
    ({"containerd": "sock"}, "--containerd 'sock'"),
])
def test_invalid_settings(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        build(flags)


@pytest.mark.parametrize(("text", "host"), [
    ("unix:///run/x.sock", Host("unix", "/run/x.sock")),
    ("unix://", Host("unix", "/run/dockyard/dockyard.sock")),
    ("tcp://127.0.0.1:2376", Host("tcp", "127.0.0.1", 2376)),
    ("tcp://0.0.0.0", Host("tcp", "0.0.0.0", 2376)),
    ("tcp://:3000", Host("tcp", "0.0.0.0", 3000)),
    ("tcp://[::1]:2376", Host("tcp", "::1", 2376)),
])
def test_parse_host(text: str, host: Host) -> None:
    assert parse_host(text) == host


@pytest.mark.parametrize(("text", "error"), [
    ("/run/x.sock", InvalidArgument), ("unix://relative", InvalidArgument), ("tcp://h:99999", InvalidArgument),
    ("http://h:1", InvalidArgument), ("fd://", NotImplementedYet), ("tcp://h:1/path", InvalidArgument),
])
def test_bad_hosts(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_host(text)


def test_tcp_needs_mutual_tls() -> None:
    with pytest.raises(InvalidArgument) as info:
        build({"hosts": ["tcp://0.0.0.0:2376"], "tls_cert": "/c"})
    assert "only with TLS and client verification" in str(info.value)
    assert "missing --tlsverify, --tlscacert, --tlskey" in str(info.value)
    config = build({"hosts": ["tcp://0.0.0.0:2376"], "tls_verify": True, "tls_ca": "/ca", "tls_cert": "/c",
                    "tls_key": "/k"})
    assert config.hosts[0].port == 2376


def test_add_runtime_parsing() -> None:
    assert parse_add_runtime(["a=/bin/a", "b=/x=y"]) == {"a": RuntimeEntry("/bin/a"), "b": RuntimeEntry("/x=y")}
    for bad in (["nopath"], ["=x"], ["a="]):
        with pytest.raises(InvalidArgument, match="must be name=path"):
            parse_add_runtime(bad)
    with pytest.raises(InvalidArgument, match="given twice"):
        parse_add_runtime(["a=/x", "a=/y"])


def test_runtimes_table() -> None:
    found = {"runc": "/usr/sbin/runc"}
    table = discover({"mine": RuntimeEntry("/opt/mine", ("--debug",))}, "dockyard-runc", found.get)
    assert sorted(table.entries) == ["dockyard-runc", "mine", "runc"]  # no crun on this fake host
    assert table.to_info()["runc"] == {"path": "/usr/sbin/runc"}
    assert table.to_info()["mine"] == {"path": "/opt/mine", "runtimeArgs": ["--debug"]}
    assert table.get("").path == table.entries["dockyard-runc"].path
    with pytest.raises(InvalidArgument, match="unknown or invalid runtime name: nope"):
        table.get("nope")
    with pytest.raises(InvalidArgument, match="runtime name 'runc' is reserved"):
        discover({"runc": RuntimeEntry("/x")}, "dockyard-runc", found.get)
    with pytest.raises(InvalidArgument, match="default runtime 'crun'"):
        discover({}, "crun", found.get)


def test_command_line(tmp_path: Path) -> None:
    config, version = daemon.configure(["-H", "unix:///tmp/a.sock", "-H", "unix:///tmp/b.sock", "--data-root",
                                        "/d", "--add-runtime", "x=/bin/x", "-D", "--config-file",
                                        write(tmp_path, {"exec-root": "/e"})])
    assert not version and config is not None
    assert [str(h) for h in config.hosts] == ["unix:///tmp/a.sock", "unix:///tmp/b.sock"]
    assert config.data_root == "/d" and config.exec_root == "/e" and config.debug
    assert config.runtimes == {"x": RuntimeEntry("/bin/x")}


def test_main_reports_errors_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert daemon.main(["-H", "tcp://0.0.0.0:2375"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dockyardd: tcp://0.0.0.0:2375: a TCP host is served only with TLS") and err.count("\n") == 1


def test_network_keys_of_the_file_and_flags(tmp_path: Path) -> None:
    path = write(tmp_path, {"bridge": "dyt0", "bip": "10.199.3.1/24",
                            "default-address-pools": [{"base": "10.199.0.0/16", "size": 24}]})
    config = build({}, load_file(path), str(path))
    assert (config.bridge, config.bip, config.default_address_pools) == (
        "dyt0", "10.199.3.1/24", (("10.199.0.0/16", 24),))
    bad = write(tmp_path, {"default-address-pools": [{"base": "10.199.0.0/16"}]})
    with pytest.raises(InvalidArgument, match="default-address-pools"):
        load_file(bad)
    from dockyard.engine.config import parse_address_pools

    assert parse_address_pools(["base=10.199.0.0/16,size=24"]) == (("10.199.0.0/16", 24),)
    with pytest.raises(InvalidArgument, match="base=CIDR,size=N"):
        parse_address_pools(["base=10.199.0.0/16"])
