"""Benchmark: what networking costs, dockyard (dockyardd) against dockerd 20.10.

Usage (as root): ``.venv/bin/python bench/network.py [--runs 7] [--warmup 1] [--requests 500] [--bulk-mb 50]``

Both engines run at once, each in its own temporary directory and each with a default
bridge of its own on a free test subnet (10.199.200+.0/24, away from the host's routes):

- dockyardd: ``--bridge dybn<hex> --bip 10.199.X.1/24 --ip-forward=false --firewall-table
  dybn<hex>``: it makes the bridge, its nft table (port publishing) is its own and is
  deleted at the end, net.ipv4.ip_forward stays as it is.
- dockerd 20.10: a bridge the bench makes with pyroute2 (``dybd<hex>``, 10.199.Y.1/24) given
  as ``--bridge=dybd<hex>``, with ``--iptables=false --ip-forward=false --ip-masq=false`` so
  that the host's firewall and sysctls are not touched (bench/engine_daemons.py). dockerd then
  writes no iptables rules at all, where dockyardd writes its nft rules: the comparison
  favours dockerd a little. Published ports on 127.0.0.1 still work on dockerd: its
  docker-proxy (userland proxy) serves them.

The same client, the docker CLI 28 (/usr/local/bin/docker), drives both; every measurement
is interleaved (one engine then the other, the order rotating), ``--warmup`` untimed rounds
first, medians reported with the ratio against dockerd (below 1: faster than dockerd):

(a) start latency: ``docker run --rm busybox true`` on the default bridge and with
    ``--network none``; the cost of networking = median(bridge) - median(none), per engine.
(b) through a published port: ``busybox httpd`` in a container published on
    ``127.0.0.1:<free port>``; from the host over loopback (``http.client``, a new connection
    per request: busybox httpd closes each), ``--requests`` sequential GETs of a small file,
    then one GET of a ``--bulk-mb`` MB file (MB/s). Skipped, with the engine's error, when
    dockyardd cannot publish ports yet.

At the end: containers removed, both daemons stopped by PID, the bridges the run made
deleted (dockyardd's default bridge stays after it stops, as docker0 does: the bench deletes
it), dockyardd's nft table deleted, work directories removed; what was left is reported
and the exit status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import ipaddress
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ctr_daemons import BenchError, build_archive, exit_on_sigterm
from engine_daemons import Client, Engine, HostState, check_host, finish, load_image, start_dockerd, start_dockyardd
from engine_run import interleaved, report
from tests.support.netcheck import host_routes

IMAGE = "busybox:latest"
PEER = "docker>dockerd"
MIB = 1024 * 1024


# -- the host's side: subnets, bridges, the nft table ---------------------------------------
def free_subnets(count: int, start: int = 200) -> list[ipaddress.IPv4Network]:
    """``count`` 10.199.X.0/24 subnets no host route overlaps."""
    routes = host_routes()
    out = []
    for x in range(start, 255):
        candidate = ipaddress.IPv4Network(f"10.199.{x}.0/24")
        if not any(candidate.overlaps(r) for r in routes):
            out.append(candidate)
            if len(out) == count:
                return out
    raise BenchError("no free test subnets in 10.199.200.0-10.199.254.0")


def make_bridge(name: str, subnet: ipaddress.IPv4Network) -> None:
    """A bridge with the subnet's first address, up (for dockerd's ``--bridge``)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        ipr.link("add", ifname=name, kind="bridge")
        idx = ipr.link_lookup(ifname=name)[0]
        ipr.addr("add", index=idx, address=str(subnet.network_address + 1), prefixlen=subnet.prefixlen)
        ipr.link("set", index=idx, state="up")


def delete_bridge(name: str) -> bool:
    """Delete the bridge ``name`` if it exists; whether it did."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            ipr.link("del", index=found[0])
    return bool(found)


def delete_nft_table(name: str) -> bool:
    """Delete ``table ip <name>`` if it exists; whether it did."""
    with contextlib.suppress(FileNotFoundError):
        if subprocess.run(["nft", "list", "table", "ip", name], capture_output=True, check=False).returncode == 0:
            subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True, check=False)
            return True
    return False


# -- (a) start latency -----------------------------------------------------------------------
def start_latency(clients: list[Client], runs: int, warmup: int) -> None:
    sides: dict[str, Callable[[], float]] = {}
    for client in clients:
        for mode in ("bridge", "none"):
            sides[f"{client.label} {mode}"] = functools.partial(client.timed, "run", "--rm", "--network", mode,
                                                                IMAGE, "true")
    times = interleaved(sides, runs, warmup)
    for mode in ("bridge", "none"):
        report(f"(a) `run --rm --network {mode} busybox true`",
               {c.label: times[f"{c.label} {mode}"] for c in clients})
    print(f"\n(a) the cost of networking: median(bridge) - median(none), {runs} runs (ms)")
    costs = {}
    for client in clients:
        bridge, none = (statistics.median(times[f"{client.label} {m}"]) for m in ("bridge", "none"))
        costs[client.label] = bridge - none
        print(f"{client.label:26}{bridge:9.1f} -{none:8.1f} ={costs[client.label]:8.1f}")
    if costs[PEER] > 0:
        print(f"{'ratio of the costs':26}{costs[clients[0].label] / costs[PEER]:26.2f}")
    sys.stdout.flush()


# -- (b) through a published port -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(port: int, path: str, timeout: float = 30.0) -> tuple[int, int]:
    """One GET on 127.0.0.1:``port``: (status, bytes of the body read)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        size = 0
        while chunk := resp.read(MIB):
            size += len(chunk)
        return resp.status, size
    finally:
        conn.close()


def start_server(client: Client, bulk_mb: int) -> tuple[str, int]:
    """busybox httpd in a container on the default bridge, published on 127.0.0.1:<free
    port>, answering; (its ID, the port)."""
    port = free_port()
    script = (f"mkdir -p /www && echo hello > /www/index.html && busybox dd if=/dev/zero of=/www/bulk bs=1M "
              f"count={bulk_mb} 2>/dev/null && exec busybox httpd -f -p 80 -h /www")
    cid = client.run("run", "-d", "-p", f"127.0.0.1:{port}:80", IMAGE, "sh", "-c", script).stdout.strip()
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(port, "/index.html", timeout=2.0) == (200, 6):
                return cid, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            logs = client.run("logs", cid, check=False)
            raise BenchError(f"{client.label}: httpd on 127.0.0.1:{port} never answered\n{logs.stdout}{logs.stderr}")
        time.sleep(0.1)


def requests_ms(port: int, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        status, size = get(port, "/index.html")
        if (status, size) != (200, 6):
            raise BenchError(f"127.0.0.1:{port}: GET /index.html gave {status} with {size} bytes")
    return (time.perf_counter() - start) * 1000


def bulk_ms(port: int, bulk_mb: int) -> float:
    start = time.perf_counter()
    status, size = get(port, "/bulk", timeout=120.0)
    if (status, size) != (200, bulk_mb * MIB):
        raise BenchError(f"127.0.0.1:{port}: GET /bulk gave {status} with {size} bytes")
    return (time.perf_counter() - start) * 1000


def published_port(clients: list[Client], opts: argparse.Namespace) -> None:
    ours = clients[0]
    probe = ours.run("create", "-p", f"127.0.0.1:{free_port()}:80", IMAGE, "true", check=False)
    if probe.returncode != 0:
        print(f"\n(b) skipped: dockyardd cannot publish ports yet: {probe.stderr.strip()}")
        return
    ours.run("rm", "-f", probe.stdout.strip(), check=False)
    ports = {c.label: start_server(c, opts.bulk_mb)[1] for c in clients}
    requests = interleaved({c.label: functools.partial(requests_ms, ports[c.label], opts.requests)
                            for c in clients}, opts.runs, opts.warmup)
    report(f"(b) {opts.requests} GETs of a 6-byte file through 127.0.0.1:<published port>, one connection each",
           requests)
    for label, values in requests.items():
        print(f"{label:26}{opts.requests * 1000 / statistics.median(values):9.0f} requests/s (median)")
    bulk = interleaved({c.label: functools.partial(bulk_ms, ports[c.label], opts.bulk_mb) for c in clients},
                       opts.runs, opts.warmup)
    report(f"(b) one GET of a {opts.bulk_mb} MB file through the published port", bulk)
    for label, values in bulk.items():
        print(f"{label:26}{opts.bulk_mb * 1000 / statistics.median(values):9.0f} MB/s (median)")
    sys.stdout.flush()


def measure_all(engines: dict[str, Engine], archive: Path, opts: argparse.Namespace, bridges: dict[str, str]) -> None:
    clients = [engines["dockyardd"].client("docker>dockyardd"), engines["dockerd"].client(PEER)]
    for client in clients:
        load_image(client, archive)
    print(f"dockyardd: default bridge {bridges['dockyardd']}, its nft rules; dockerd 20.10: bridge "
          f"{bridges['dockerd']} (made by the bench), --iptables=false --ip-forward=false --ip-masq=false. "
          "Both driven by the docker CLI 28. Other work on this machine makes the figures noisy: compare within "
          "one run.")
    start_latency(clients, opts.runs, opts.warmup)
    published_port(clients, opts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--bulk-mb", type=int, default=50)
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0 or opts.requests < 1 or not 1 <= opts.bulk_mb <= 1024:
        parser.error("--runs and --requests must be at least 1, --warmup at least 0, --bulk-mb 1 to 1024")
    exit_on_sigterm()
    try:
        check_host()
    except BenchError as exc:
        print(f"network: {exc}", file=sys.stderr)
        return 2
    host = HostState.take()
    work = Path(tempfile.mkdtemp(prefix="dockyard-network-"))
    engines: dict[str, Engine] = {}
    tag = secrets.token_hex(3)
    bridges = {"dockyardd": f"dybn{tag}", "dockerd": f"dybd{tag}"}
    made: list[str] = []
    problems: list[str] = []
    failed = False
    try:
        archive = build_archive(work)
        ours, theirs = free_subnets(2)
        make_bridge(bridges["dockerd"], theirs)
        made.append(bridges["dockerd"])
        made.append(bridges["dockyardd"])  # dockyardd makes it; it stays after dockyardd stops
        engines["dockyardd"] = start_dockyardd(work / "dockyardd", "--bridge", bridges["dockyardd"], "--bip",
                                               f"{ours.network_address + 1}/24", "--ip-forward=false",
                                               "--firewall-table", bridges["dockyardd"])
        engines["dockerd"] = start_dockerd(work / "dockerd", bridge=bridges["dockerd"])
        measure_all(engines, archive, opts, bridges)
    except BenchError as exc:
        failed = True
        print(f"network: failed:\n{exc}", file=sys.stderr)
        for engine in engines.values():
            print(f"{engine.name} log (tail):\n{engine.log(3000)}", file=sys.stderr)
    finally:
        problems += finish("network", engines, host, work)
        for name in made:
            delete_bridge(name)
        delete_nft_table(bridges["dockyardd"])
        for name in sorted(set(made) & {p.name for p in Path("/sys/class/net").iterdir()}):
            problems.append(f"bridge {name} left")
            print(f"network: bridge {name} could not be deleted", file=sys.stderr)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
