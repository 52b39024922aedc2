"""Benchmark: ``run --rm busybox true`` end to end, dockyard (CLI and dockyardd) against dockerd 20.10.

Usage (as root): ``.venv/bin/python bench/engine_run.py [--runs 20] [--warmup 2] [--containers 100]``

Both engines run at once, each in its own temporary directory: dockyardd (with its own
dockyard-containerd, whose shims drive dockyard-runc) and Debian's dockerd 20.10 (docker.io;
its own containerd 1.6, containerd-shim-runc-v2 and runc; started with ``--bridge=none
--iptables=false --ip-forward=false --ip-masq=false``, so it leaves the host's networking
alone). The busybox docker-archive of the tests is loaded into both with ``docker load``.
Three clients, interleaved in every round with the order rotating so none is always
first, each timed as the wall time of the CLI process:

- ``dockyard``: dockyard's CLI (the venv's console script) on dockyardd;
- ``docker>dockyardd``: the docker CLI 28 (/usr/local/bin/docker) on dockyardd;
- ``docker>dockerd``: the same docker CLI on dockerd 20.10.

Measurements (``--warmup`` untimed rounds first, then ``--runs``):

1. ``run --rm --network none busybox:latest true``: create, attach, start, wait, remove.
   ``--network none`` on both engines (dockerd has no bridge here, dockyardd's ``none``
   is the same: a new, empty network namespace).
   Then the same through the Engine API without a CLI (``/v1.41``, one engine then the
   other): ``POST /containers/create`` (AutoRemove), ``wait?condition=removed`` sent, then
   ``start``; timed apart: create, start, and from the start's reply until the wait
   answers (the exit handled and the container removed).
2. CLI start-up, no daemon: ``dockyard --version``, ``docker --version`` (28 and Debian's
   20.10 /usr/bin/docker when installed); and ``version`` (one round trip to the engine
   after the CLI's version negotiation) for the three clients.
3. ``ps -a`` with ``--containers`` created containers on each engine (made first with
   ``docker create --network none busybox:latest true``, one per engine in turn, their
   times printed as well, and removed afterwards).

It prints the median, p90, min and max per client (ms) and the ratios of the medians
against ``docker>dockerd`` (below 1: faster than dockerd). At the end both daemons are
stopped by PID and the bench checks and restores the host: no processes under its
directories (shims included), no mounts, no new ``/sys/fs/cgroup/*/docker`` or dockyard
parent cgroups, no /run/docker it made, no docker0, ip_forward unchanged.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchstats import summary_header, summary_row
from ctr_daemons import BenchError, build_archive, exit_on_sigterm
from engine_daemons import (
    DOCKER,
    DOCKYARD,
    Client,
    Engine,
    HostState,
    check_host,
    finish,
    load_image,
    remove_all_containers,
    start_dockerd,
    start_dockyardd,
)
from tests.support.engine import unix_request

IMAGE = "busybox:latest"
API = "/v1.41"  # dockerd 20.10's version; dockyardd serves it too
DEBIAN_DOCKER = "/usr/bin/docker"  # docker.io's CLI, 20.10
PEER = "docker>dockerd"
WIDTH = 26

Timings = dict[str, list[float]]


def interleaved(sides: dict[str, Callable[[], float]], runs: int, warmup: int) -> Timings:
    """Every side's measurement in every round, the order rotating; ``warmup`` rounds untimed."""
    times: Timings = {label: [] for label in sides}
    order = list(sides)
    for i in range(warmup + runs):
        for label in order:
            elapsed = sides[label]()
            if i >= warmup:
                times[label].append(elapsed)
        order = order[1:] + order[:1]
    return times


def timing(clients: list[Client], *args: str) -> dict[str, Callable[[], float]]:
    """``client.timed(*args)`` per client, by label."""
    return {c.label: functools.partial(c.timed, *args) for c in clients}


def _post(socket: str, target: str, body: dict[str, Any] | None = None) -> bytes:
    status, _, data = unix_request(socket, "POST", target, json.dumps(body).encode() if body is not None else None,
                                   timeout=60)
    if status >= 300:
        raise BenchError(f"{socket}: POST {target}: {status} {data[:500]!r}")
    return data


def api_steps(engine: Engine) -> tuple[float, float, float]:
    """One container through the Engine API as ``docker run --rm`` drives it, no CLI: (create,
    start, from the start's reply until ``wait?condition=removed`` answers) in ms."""
    t0 = time.perf_counter()
    cid = json.loads(_post(engine.socket, f"{API}/containers/create", {
        "Image": IMAGE, "Cmd": ["true"], "AttachStdout": True, "AttachStderr": True,
        "HostConfig": {"NetworkMode": "none", "AutoRemove": True}}))["Id"]
    t1 = time.perf_counter()
    removed: list[float] = []

    def wait_removed() -> None:
        _post(engine.socket, f"{API}/containers/{cid}/wait?condition=removed")
        removed.append(time.perf_counter())

    waiter = threading.Thread(target=wait_removed)
    waiter.start()
    time.sleep(0.02)  # the wait is registered before the start (the CLI sends it first too)
    t2 = time.perf_counter()
    _post(engine.socket, f"{API}/containers/{cid}/start")
    t3 = time.perf_counter()
    waiter.join(60)
    if not removed:
        raise BenchError(f"{engine.name}: container {cid} was not removed")
    return (t1 - t0) * 1000, (t3 - t2) * 1000, (removed[0] - t3) * 1000


def api_breakdown(engines: list[Engine], runs: int, warmup: int) -> None:
    steps = ("create", "start", "start reply -> removed")
    times: dict[str, Timings] = {step: {e.name: [] for e in engines} for step in steps}
    order = list(engines)
    for i in range(warmup + runs):
        for engine in order:
            result = api_steps(engine)
            if i >= warmup:
                for step, elapsed in zip(steps, result, strict=True):
                    times[step][engine.name].append(elapsed)
        order.reverse()
    for step in steps:
        report(f"API step (no CLI): {step}", times[step], peer="dockerd")


def report(title: str, times: Timings, peer: str | None = PEER) -> None:
    runs = len(next(iter(times.values())))
    print(f"\n{title}, {runs} runs per client, interleaved (ms)")
    print(summary_header(WIDTH) + ("   ratio" if peer else ""))
    base = statistics.median(times[peer]) if peer else 0.0
    for label, values in times.items():
        ratio = f"{statistics.median(values) / base:8.2f}" if peer and label != peer else ""
        print(summary_row(label, values, WIDTH) + ratio)
    sys.stdout.flush()


def check_ps(client: Client, count: int) -> None:
    lines = client.run("ps", "-a").stdout.splitlines()
    if len(lines) != count + 1 or not lines[0].startswith("CONTAINER ID"):
        raise BenchError(f"{client.label}: ps -a printed {len(lines)} lines, expected {count + 1}:\n"
                         + "\n".join(lines[:5]))


def measure_all(engines: dict[str, Engine], archive: Path, opts: argparse.Namespace) -> None:
    dy, dd = engines["dockyardd"], engines["dockerd"]
    clients = [dy.client("dockyard", DOCKYARD), dy.client("docker>dockyardd"), dd.client(PEER)]
    loaders = clients[1:]
    for client in loaders:
        load_image(client, archive)
    print("Both engines: --network none; dockyardd log level info; dockerd 20.10 --bridge=none --iptables=false."
          " Other work on this machine makes the figures noisy: compare within one run.")

    run_args = ("run", "--rm", "--network", "none", IMAGE, "true")
    report("`run --rm --network none busybox true`", interleaved(timing(clients, *run_args), opts.runs, opts.warmup))
    api_breakdown([dy, dd], opts.runs, opts.warmup)

    version_clients = [Client("dockyard --version", DOCKYARD, dy.host, dy.base / "config-dockyard"),
                       Client("docker 28 --version", DOCKER, dy.host, dy.base / "config-docker")]
    if os.access(DEBIAN_DOCKER, os.X_OK):
        version_clients.append(Client("docker 20.10 --version", DEBIAN_DOCKER, dy.host, dy.base / "config-docker"))
    report("CLI start-up: `--version` (no daemon)",
           interleaved(timing(version_clients, "--version"), opts.runs, opts.warmup), peer=None)
    report("`version` (client and server)", interleaved(timing(clients, "version"), opts.runs, opts.warmup))

    create_args = ("create", "--network", "none", IMAGE, "true")
    report(f"`docker create --network none busybox true` (the {opts.containers} for ps)",
           interleaved(timing(loaders, *create_args), opts.containers, 0))
    for client in clients:
        check_ps(client, opts.containers)
    report(f"`ps -a` with {opts.containers} containers",
           interleaved(timing(clients, "ps", "-a"), opts.runs, opts.warmup))
    for client in loaders:
        remove_all_containers(client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--containers", type=int, default=100)
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0 or opts.containers < 1:
        parser.error("--runs and --containers must be at least 1, --warmup at least 0")
    exit_on_sigterm()
    try:
        check_host()
    except BenchError as exc:
        print(f"engine_run: {exc}", file=sys.stderr)
        return 2
    host = HostState.take()
    work = Path(tempfile.mkdtemp(prefix="dockyard-engine-run-"))
    engines: dict[str, Engine] = {}
    problems: list[str] = []
    failed = False
    try:
        archive = build_archive(work)
        engines["dockyardd"] = start_dockyardd(work / "dockyardd")
        engines["dockerd"] = start_dockerd(work / "dockerd")
        measure_all(engines, archive, opts)
    except BenchError as exc:
        failed = True
        print(f"engine_run: failed:\n{exc}", file=sys.stderr)
        for engine in engines.values():
            print(f"{engine.name} log (tail):\n{engine.log(3000)}", file=sys.stderr)
    finally:
        problems += finish("engine_run", engines, host, work)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
