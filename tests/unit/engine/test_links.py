"""Legacy links without a daemon: parsing, the variables and hosts lines (dockerd 20.10's,
as a private dockerd printed them), the process env they join, and the DNS alias scoped to
the linking container on a user-defined network."""

from __future__ import annotations

import pytest

from dockyard.engine.links import hosts_line, link_env, link_name, parse_link
from dockyard.engine.network_dns_names import NameTable, entry
from dockyard.engine.spec import process_env
from dockyard.errors import InvalidArgument

IP = "10.199.230.2"


def test_parse_link() -> None:
    assert parse_link("db") == ("db", "db")
    assert parse_link("db:alias") == ("db", "alias")
    assert parse_link("db:web/al.ias-x") == ("db", "web/al.ias-x")
    assert parse_link("/db:/web/alias") == ("/db", "alias")  # inspect's form
    assert parse_link("db:") == ("db", "")
    with pytest.raises(InvalidArgument, match=r"^bad format for links: a:b:c$"):
        parse_link("a:b:c")
    with pytest.raises(InvalidArgument, match=r"^empty string specified for links$"):
        parse_link("")


def test_link_name() -> None:
    assert link_name("/web", "db") == "/web/db"
    assert link_name("/web", "x/y") == "/web/x/y"


def test_env_ports_name_and_target_env() -> None:
    env = link_env("/web/db-1", IP, {"80/tcp": {}, "53/udp": {}}, ["FOO=bar", "PATH=/bin", "HOME=/", "EMPTY="])
    assert env == [
        f"DB_1_PORT=udp://{IP}:53",
        f"DB_1_PORT_53_UDP=udp://{IP}:53", f"DB_1_PORT_53_UDP_ADDR={IP}", "DB_1_PORT_53_UDP_PORT=53",
        "DB_1_PORT_53_UDP_PROTO=udp",
        f"DB_1_PORT_80_TCP=tcp://{IP}:80", f"DB_1_PORT_80_TCP_ADDR={IP}", "DB_1_PORT_80_TCP_PORT=80",
        "DB_1_PORT_80_TCP_PROTO=tcp",
        "DB_1_NAME=/web/db-1", "DB_1_ENV_FOO=bar", "DB_1_ENV_EMPTY="]


def test_env_alias_keeps_characters_other_than_dash() -> None:
    assert link_env("/web/x/al.ias-x", IP, {}, []) == ["AL.IAS_X_NAME=/web/x/al.ias-x"]


def test_env_tcp_first_on_the_same_port() -> None:
    assert link_env("/p/a", IP, ["53/udp", "53/tcp"], [])[0] == f"A_PORT=tcp://{IP}:53"


def test_env_runs_of_ports() -> None:
    """What dockerd 20.10 gave for a target run with --expose 8000-8002 --expose 8001/udp --expose 9000."""
    env = link_env("/p/r", IP, ["8000/tcp", "8001/tcp", "8001/udp", "8002/tcp", "9000/tcp"], [])
    runs = [f"R_PORT=tcp://{IP}:8000", f"R_PORT_8000_TCP_START=tcp://{IP}:8000", f"R_PORT_8000_TCP_ADDR={IP}",
            "R_PORT_8000_TCP_PROTO=tcp", "R_PORT_8000_TCP_PORT_START=8000", f"R_PORT_8000_TCP_END=tcp://{IP}:8002",
            "R_PORT_8000_TCP_PORT_END=8002", f"R_PORT_8000_TCP=tcp://{IP}:8000", "R_PORT_8000_TCP_PORT=8000"]
    each = [[f"R_PORT_{n}_{p.upper()}={p}://{IP}:{n}", f"R_PORT_{n}_{p.upper()}_ADDR={IP}",
             f"R_PORT_{n}_{p.upper()}_PORT={n}", f"R_PORT_{n}_{p.upper()}_PROTO={p}"]
            for n, p in ((8001, "tcp"), (8001, "udp"), (8002, "tcp"), (9000, "tcp"))]
    assert env == [*runs, *(e for port in each for e in port), "R_NAME=/p/r"]
    # two ports in a row are not a run
    assert not [e for e in link_env("/p/r", IP, ["80/tcp", "81/tcp"], []) if "_START" in e]


def test_hosts_line() -> None:
    assert hosts_line(IP, "x", "e2e041ba14d6", "/db") == f"{IP}\tx e2e041ba14d6 db\n"
    assert hosts_line(IP, "db", "e2e041ba14d6", "/db") == f"{IP}\tdb e2e041ba14d6\n"
    assert hosts_line(IP, "web/al.ias-x", "myhost", "/db") == f"{IP}\tal.ias-x myhost db\n"


def test_process_env_links_after_defaults_and_before_the_containers() -> None:
    env = process_env(["ZZ=1", "DB_NAME=mine"], hostname="h", tty=True, linked=["DB_PORT=x", "DB_NAME=/w/db"])
    assert env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=h",
                   "TERM=xterm", "DB_PORT=x", "DB_NAME=mine", "ZZ=1"]


def test_dns_link_alias_is_the_linkers_alone() -> None:
    table = NameTable((
        entry("a" * 64, "net", "10.0.0.2", "db", []),
        entry("b" * 64, "net", "10.0.0.3", "web", [], links=[("DbAlias", "db")]),
        entry("c" * 64, "net", "10.0.0.4", "other", []),
        entry("b" * 64, "net2", "10.0.1.3", "web", []),
    ))
    assert table.lookup("b" * 64, "dbalias") == ["10.0.0.2"]
    assert table.lookup("b" * 64, "dbalias.net") == ["10.0.0.2"]
    assert table.lookup("c" * 64, "dbalias") is None
    assert table.lookup("b" * 64, "dbalias.net2") is None  # on the network of the link only
