"""Legacy links (``docker run --link name[:alias]``) on a real dockyardd with the docker CLI 28.

On the default bridge a link gives the linking container a ``/etc/hosts`` line for the
target and Docker's link variables (not shown in ``Config.Env``), and needs the target to
exist at create and to run at start; on a user-defined network a link is a DNS alias that
only the linking container resolves. The expected texts below are what a private dockerd
20.10 printed for the same commands (its addresses and IDs replaced by the target's here):
``docker run --link db:web/al.ias-x busybox env`` and ``cat /etc/hosts``, the errors, and
``docker inspect``'s ``HostConfig.Links`` / ``NetworkSettings.Networks.<net>.Links``.
:func:`test_same_env_hosts_and_inspect_as_dockerd` runs the same commands on a private
dockerd (when the host has one: bench/engine_daemons, ``--iptables=false``, a bridge of its
own) and compares the process env, /etc/hosts and inspect fields.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import netcheck
from tests.support.engine import DOCKER, RunningEngine, dockyardd
from tests.support.fakedns import FakeDns
from tests.support.images import save_busybox_archive

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(DOCKER), reason="the docker CLI is not installed"),
]
pytest_plugins = ["tests.support.engine_fixtures"]

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOCAL_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
               "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
HTTPD = "mkdir -p /www && echo hello-linked > /www/index.html && exec busybox httpd -f -p 80 -h /www"
# dockerd 20.10: `docker run --link db:web/al.ias-x busybox env` for a target run with
# -e FOO=bar -e "WITH SPACE=x y" --expose 80 --expose 53/udp --expose 6379 (then HOME, from the runtime);
# target_env: AL.IAS_X_ENV_FOO=bar and AL.IAS_X_ENV_WITH SPACE=x y in the order of the target's
# Config.Env (which the docker CLI 28's run does not always send in the order of its -e options)
LINK_ENV = """\
AL.IAS_X_PORT=udp://{ip}:53
AL.IAS_X_PORT_53_UDP=udp://{ip}:53
AL.IAS_X_PORT_53_UDP_ADDR={ip}
AL.IAS_X_PORT_53_UDP_PORT=53
AL.IAS_X_PORT_53_UDP_PROTO=udp
AL.IAS_X_PORT_80_TCP=tcp://{ip}:80
AL.IAS_X_PORT_80_TCP_ADDR={ip}
AL.IAS_X_PORT_80_TCP_PORT=80
AL.IAS_X_PORT_80_TCP_PROTO=tcp
AL.IAS_X_PORT_6379_TCP=tcp://{ip}:6379
AL.IAS_X_PORT_6379_TCP_ADDR={ip}
AL.IAS_X_PORT_6379_TCP_PORT=6379
AL.IAS_X_PORT_6379_TCP_PROTO=tcp
AL.IAS_X_NAME=/{parent}/web/al.ias-x
{target_env}"""
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """The engine, its embedded DNS forwarding to a fake upstream on loopback (NXDOMAIN for all)."""
    base = tmp_path_factory.mktemp("engine")
    with FakeDns({}) as upstream, dockyardd(base, "--dns-upstream", upstream.address) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftovers(engine: RunningEngine) -> Iterator[None]:
    """After each test: no container, no user-defined network, no namespace bound."""
    yield
    left = engine.docker("ps", "-aq").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    for net in engine.docker("network", "ls", "-q", "--filter", "type=custom").stdout.split():
        engine.docker("network", "rm", net, check=False)
    netns = engine.exec_root / "netns"
    assert not (netns.exists() and list(netns.iterdir())), f"namespaces left: {list(netns.iterdir())}"


def _inspect(engine: RunningEngine, ref: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(engine.docker("inspect", ref).stdout)[0]
    return doc


def _bridge_ip(engine: RunningEngine, ref: str) -> str:
    return str(_inspect(engine, ref)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"])


def _failure(engine: RunningEngine, *args: str) -> str:
    out = engine.docker(*args, check=False)
    assert out.returncode != 0, out.stdout
    return out.stderr


def _nss_libs() -> list[str]:
    """The host's C library for busybox's wget (Debian's static busybox loads glibc's NSS
    modules to read /etc/hosts; see test_engine_dns)."""
    out: list[str] = []
    for directory in ("/lib/x86_64-linux-gnu", "/lib64"):
        if os.path.isdir(directory):
            out += ["-v", f"{directory}:{directory}:ro"]
    return out


def _addresses(nslookup_output: str) -> list[str]:
    answers = nslookup_output.split("Name:", 1)[1] if "Name:" in nslookup_output else ""
    return sorted(re.findall(r"Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)", answers))


# -- the default bridge ------------------------------------------------------------------------------
def test_default_bridge_link_env_hosts_and_inspect(engine: RunningEngine, engine_busybox: str) -> None:
    db = engine.docker("run", "-d", "--name", "dylk-db", "-e", "FOO=bar", "-e", "WITH SPACE=x y", "--expose", "80",
                       "--expose", "53/udp", "--expose", "6379", engine_busybox, "sleep", "300").stdout.strip()
    ip = _bridge_ip(engine, db)
    web = engine.docker("create", "--name", "dylk-web", "--link", "dylk-db:web/al.ias-x", engine_busybox,
                        "env").stdout.strip()
    engine.docker("start", "-a", web)
    out = engine.docker("logs", web).stdout
    own = _inspect(engine, web)
    target_env = "".join(f"AL.IAS_X_ENV_{e}\n" for e in _inspect(engine, db)["Config"]["Env"] if e != PATH)
    assert out == (f"{PATH}\nHOSTNAME={web[:12]}\n" + LINK_ENV.format(ip=ip, parent="dylk-web", target_env=target_env)
                   + "HOME=/root\n")
    # inspect: dockerd's form, and no link variable in Config.Env
    assert own["HostConfig"]["Links"] == ["/dylk-db:/dylk-web/web/al.ias-x"]
    assert own["Config"]["Env"] == [PATH]
    assert own["NetworkSettings"]["Networks"]["bridge"]["Links"] is None
    assert _inspect(engine, db)["HostConfig"]["Links"] is None
    # the container's own Env wins over a link's variable, in its place
    out = engine.docker("run", "--rm", "--link", "dylk-db", "-e", "ZZ=1", "-e", "DYLK_DB_NAME=mine", engine_busybox,
                        "env").stdout.splitlines()
    assert out.index("DYLK_DB_NAME=mine") == out.index("DYLK_DB_PORT_6379_TCP_PROTO=tcp") + 1
    assert out[-2:] == ["ZZ=1", "HOME=/root"] and "DYLK_DB_ENV_WITH SPACE=x y" in out
    # a renamed target keeps the link: inspect names it by its new name
    engine.docker("rename", "dylk-db", "dylk-db2")
    assert _inspect(engine, web)["HostConfig"]["Links"] == ["/dylk-db2:/dylk-web/web/al.ias-x"]


def test_default_bridge_hosts_lines_and_reach(engine: RunningEngine, engine_busybox: str) -> None:
    db = engine.docker("run", "-d", "--name", "dylk-httpd", engine_busybox, "sh", "-c", HTTPD).stdout.strip()
    hn = engine.docker("run", "-d", "--name", "dylk-hn", "--hostname", "myhost", engine_busybox,
                       "sleep", "300").stdout.strip()
    sharer = engine.docker("run", "-d", "--name", "dylk-sharer", "--network", "container:dylk-httpd", engine_busybox,
                           "sleep", "300").stdout.strip()
    assert sharer
    db_ip, hn_ip = _bridge_ip(engine, db), _bridge_ip(engine, hn)
    cid = engine.docker("run", "-d", "--add-host", "foo:1.2.3.4", "--link", "dylk-hn:dylk-hn", "--link",
                        "dylk-httpd:web", "--link", "dylk-sharer:sh", engine_busybox, "sleep", "300").stdout.strip()
    hosts = engine.docker("exec", cid, "cat", "/etc/hosts").stdout
    # as dockerd: ExtraHosts, the links (alias, hostname, name unless it is the alias), its own line
    # (dockerd orders several links at random; here they come in the order given)
    assert hosts == (LOCAL_HOSTS + "1.2.3.4\tfoo\n" + f"{hn_ip}\tdylk-hn myhost\n"
                     f"{db_ip}\tweb {db[:12]} dylk-httpd\n" + f"{db_ip}\tsh {db[:12]} dylk-httpd\n"
                     f"{_bridge_ip(engine, cid)}\t{cid[:12]}\n")
    # exec gets the link variables (the spec's env)
    env = engine.docker("exec", cid, "env").stdout.splitlines()
    assert "WEB_NAME=" + _inspect(engine, cid)["Name"] + "/web" in env and "SH_NAME=" + _inspect(engine, cid)[
        "Name"] + "/sh" in env
    # the alias reaches the target (busybox wget reads /etc/hosts through glibc's NSS)
    out = engine.docker("run", "--rm", "--link", "dylk-httpd:web", *_nss_libs(), engine_busybox, "busybox", "wget",
                        "-qO-", "http://web/").stdout
    assert out == "hello-linked\n"


def test_a_restarted_target_s_new_address_reaches_the_linkers_hosts(engine: RunningEngine,
                                                                    engine_busybox: str) -> None:
    """dockerd rewrites the running linkers' /etc/hosts when a target gets an endpoint again."""
    db = engine.docker("run", "-d", "--name", "dylk-moving", "--stop-timeout", "1", engine_busybox,
                       "sleep", "300").stdout.strip()
    cid = engine.docker("run", "-d", "--link", "dylk-moving:mv", engine_busybox, "sleep", "300").stdout.strip()
    old = _bridge_ip(engine, db)
    engine.docker("stop", db)
    filler = engine.docker("run", "-d", engine_busybox, "sleep", "300").stdout.strip()  # takes the old address
    engine.docker("start", db)
    new = _bridge_ip(engine, db)
    assert new != old
    hosts = engine.docker("exec", cid, "cat", "/etc/hosts").stdout
    assert f"{new}\tmv {db[:12]} dylk-moving\n" in hosts and f"{old}\tmv" not in hosts
    engine.docker("rm", "-f", cid, db, filler)


def test_errors_as_dockerd_gives_them(engine: RunningEngine, engine_busybox: str) -> None:
    err = _failure(engine, "run", "--rm", "--link", "dylk-nope:x", engine_busybox, "true")
    assert "could not get container for dylk-nope: No such container: dylk-nope" in err
    engine.docker("create", "--name", "dylk-stopped", engine_busybox, "true")
    cid = engine.docker("create", "--name", "dylk-lstop", "--link", "dylk-stopped:x", engine_busybox,
                        "true").stdout.strip()
    err = _failure(engine, "start", cid)
    assert "Cannot link to a non running container: /dylk-stopped AS /dylk-lstop/x" in err
    err = _failure(engine, "run", "--rm", "--network", "host", "--link", "dylk-stopped:x", engine_busybox, "true")
    assert "conflicting options: host type networking can't be used with links. This would result in undefined " \
           "behavior" in err
    err = _failure(engine, "run", "--rm", "--network", "container:dylk-stopped", "--link", "dylk-stopped:x",
                   engine_busybox, "true")
    assert "conflicting options: container type network can't be used with links. This would result in " \
           "undefined behavior" in err
    # a removed target: still named in inspect, and the start refused, as dockerd does
    engine.docker("run", "-d", "--name", "dylk-tgt", engine_busybox, "sleep", "300")
    par = engine.docker("create", "--name", "dylk-par", "--link", "dylk-tgt:t", engine_busybox, "true").stdout.strip()
    status, _, reply = engine.request("GET", "/v1.41/containers/json?all=1")
    names = {c["Id"]: c["Names"] for c in json.loads(reply)}
    assert names[par] == ["/dylk-par"]
    assert names[_inspect(engine, "dylk-tgt")["Id"]] == ["/dylk-par/t", "/dylk-tgt"]  # sorted, as dockerd
    engine.docker("rm", "-f", "dylk-tgt")
    assert "Cannot link to a non running container: /dylk-tgt AS /dylk-par/t" in _failure(engine, "start", par)
    assert _inspect(engine, par)["HostConfig"]["Links"] == ["/dylk-tgt:/dylk-par/t"]
    # --network none: the link is kept (the target checked at create), nothing given at start
    engine.docker("run", "--rm", "--network", "none", "--link", "dylk-stopped:x", engine_busybox, "true")
    for links, message in ((["a:b:c"], "bad format for links: a:b:c"), ([""], "empty string specified for links")):
        body = json.dumps({"Image": engine_busybox, "HostConfig": {"Links": links}}).encode()
        status, _, reply = engine.request("POST", "/v1.41/containers/create", body)
        assert status >= 400 and json.loads(reply)["message"] == message


# -- user-defined networks ---------------------------------------------------------------------------
def test_user_network_link_is_a_dns_alias_for_the_linker_only(engine: RunningEngine, engine_busybox: str) -> None:
    subnet = str(netcheck.free_test_subnet(10))
    engine.docker("network", "create", "--subnet", subnet, "dylk-net")
    db = engine.docker("run", "-d", "--name", "dylk-udb", "--network", "dylk-net", "-e", "FOO=bar", "--expose", "80",
                       engine_busybox, "sleep", "300").stdout.strip()
    address = _inspect(engine, db)["NetworkSettings"]["Networks"]["dylk-net"]["IPAddress"]
    cid = engine.docker("run", "-d", "--network", "dylk-net", "--link", "dylk-udb:dbalias", engine_busybox,
                        "sleep", "300").stdout.strip()
    for name in ("dbalias", "dbalias.dylk-net"):
        assert _addresses(engine.docker("exec", cid, "busybox", "nslookup", name).stdout) == [address]
    # no variables and no hosts line, as dockerd
    assert not [e for e in engine.docker("exec", cid, "env").stdout.splitlines() if e.startswith("DBALIAS_")]
    assert engine.docker("exec", cid, "cat", "/etc/hosts").stdout == (
        LOCAL_HOSTS + f"{_inspect(engine, cid)['NetworkSettings']['Networks']['dylk-net']['IPAddress']}\t{cid[:12]}\n")
    doc = _inspect(engine, cid)
    assert doc["HostConfig"]["Links"] is None
    assert doc["NetworkSettings"]["Networks"]["dylk-net"]["Links"] == ["dylk-udb:dbalias"]
    # another container on the network does not know the alias
    out = engine.docker("run", "--rm", "--network", "dylk-net", engine_busybox, "busybox", "nslookup", "dbalias",
                        check=False)
    assert not _addresses(out.stdout)
    # docker network connect --link: an alias on that network, for the connected container alone
    other = engine.docker("run", "-d", engine_busybox, "sleep", "300").stdout.strip()
    engine.docker("network", "connect", "--link", "dylk-udb:zz", "dylk-net", other)
    assert _addresses(engine.docker("exec", other, "busybox", "nslookup", "zz").stdout) == [address]
    assert _inspect(engine, other)["NetworkSettings"]["Networks"]["dylk-net"]["Links"] == ["dylk-udb:zz"]
    assert not _addresses(engine.docker("exec", cid, "busybox", "nslookup", "zz", check=False).stdout)
    # on a user-defined network the target is not checked at create, as with dockerd
    engine.docker("run", "--rm", "--network", "dylk-net", "--link", "dylk-nope:x", engine_busybox, "true")



def test_rm_link_forgets_a_link(engine: RunningEngine, engine_busybox: str) -> None:
    engine.docker("create", "--name", "dylk-t", engine_busybox, "true")
    engine.docker("create", "--name", "dylk-p", "--link", "dylk-t:x", "--link", "dylk-t:y", engine_busybox, "true")
    assert engine.docker("rm", "--link", "/dylk-p/x").stdout.strip() == "/dylk-p/x"
    assert _inspect(engine, "dylk-p")["HostConfig"]["Links"] == ["/dylk-t:/dylk-p/y"]
    engine.docker("rm", "--link", "dylk-p/y")
    assert _inspect(engine, "dylk-p")["HostConfig"]["Links"] is None
    # dockerd's errors
    assert "Conflict, cannot remove the default link name of the container" in _failure(engine, "rm", "--link",
                                                                                        "dylk-t")
    assert "No such container: dylk-p/zz" in _failure(engine, "rm", "--link", "/dylk-p/zz")
    assert "No such container: dylk-nope/x" in _failure(engine, "rm", "--link", "dylk-nope/x")


# -- the same commands on a private dockerd 20.10 ----------------------------------------------------
DOCKERD = "/usr/sbin/dockerd"
BENCH = Path(__file__).resolve().parents[2] / "bench"


@contextlib.contextmanager
def _private_dockerd(work: Path) -> Iterator[Any]:
    """dockerd 20.10 under ``work`` (bench/engine_daemons: its own data and exec roots,
    ``--iptables=false``, no ip_forward), its default bridge one made here on a free test
    subnet; the busybox test image loaded. A client for it; all of it gone afterwards."""
    sys.path.insert(0, str(BENCH))
    daemons = importlib.import_module("engine_daemons")
    network = importlib.import_module("network")
    host = daemons.HostState.take()
    bridge = "dylk" + secrets.token_hex(3)
    engines: dict[str, Any] = {}
    network.make_bridge(bridge, netcheck.free_test_subnet(200))
    try:
        engines["dockerd"] = daemons.start_dockerd(work / "dockerd", bridge=bridge)
        client = engines["dockerd"].client("docker>dockerd")
        daemons.load_image(client, save_busybox_archive(work / "image")[0])
        yield client
    finally:
        problems = daemons.finish("links", engines, host, work)
        network.delete_bridge(bridge)
        sys.path.remove(str(BENCH))
        assert not problems, problems


def _scenario(run: Any, image: str) -> str:
    """A target with ports and env, two containers linked to it (one link each: dockerd
    orders several links at random): their process env and /etc/hosts with the addresses and
    IDs of this engine replaced by names, and the inspect fields."""
    run("run", "-d", "--name", "dylk-diff-db", "-e", "FOO=bar", "--expose", "8000-8002", "--expose", "8001/udp",
        "--expose", "53/udp", image, "sleep", "300")
    run("run", "-d", "--name", "dylk-diff-web", "--link", "dylk-diff-db:web/al.ias-x", "--add-host",
        "foo:10.199.9.9", image, "sleep", "300")
    run("run", "-d", "--name", "dylk-diff-web2", "-t", "--link", "dylk-diff-db", image, "sleep", "300")
    out = "".join(run("exec", web, "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ; echo; cat /etc/hosts").stdout
                  for web in ("dylk-diff-web", "dylk-diff-web2"))
    docs = json.loads(run("inspect", "dylk-diff-db", "dylk-diff-web", "dylk-diff-web2").stdout)
    for doc in docs:
        out = out.replace(doc["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], "<" + doc["Name"] + " ip>")
        out = out.replace(doc["Id"][:12], "<" + doc["Name"] + " id>")
    inspect = [json.dumps([d["HostConfig"]["Links"], d["Config"]["Env"]]) for d in docs]
    run("rm", "-f", "dylk-diff-db", "dylk-diff-web", "dylk-diff-web2")
    return out + "\n".join(inspect)


@pytest.mark.skipif(not os.path.exists(DOCKERD), reason="no dockerd to compare with")
@pytest.mark.skipif(os.path.exists("/run/containerd/containerd.sock"),
                    reason="dockerd would use the host's containerd, not its own")
def test_same_env_hosts_and_inspect_as_dockerd(engine: RunningEngine, engine_busybox: str,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    ours = _scenario(lambda *args: engine.docker(*args), engine_busybox)
    with _private_dockerd(tmp_path_factory.mktemp("dockerd")) as dockerd:
        theirs = _scenario(lambda *args: dockerd.run(*args), "busybox:latest")
    assert "DB_PORT_8000_TCP_START" in ours and "al.ias-x </dylk-diff-db id> dylk-diff-db" in ours
    assert ours == theirs
