"""Benchmark: a 10-step Dockerfile built by ``dockyard build`` on dockyardd and by dockerd 20.10's
classic builder (``DOCKER_BUILDKIT=0``), cold, fully cached and after one source file changed.

Usage (as root): ``.venv/bin/python bench/build.py [--runs 5] [--warmup 1] [--docker-on-dockyardd]``

Both engines run at once in temporary directories (``engine_daemons``: dockyardd with its
own dockyard-containerd, ``--bridge none``; Debian's dockerd 20.10 with its own data root, containerd and
runc, ``--bridge=none --iptables=false``), each with the tests' busybox image loaded. Each
client builds its own copy of the same context (``Dockerfile``: FROM busybox, ENV, WORKDIR,
two COPYs of a few files, three RUNs, ENV, CMD; the first ENV names the client, so two
clients on one engine do not share a cache). Clients, each timed as the wall time of
the CLI process (``build -t bench-app:latest .``):

- ``dockyard``: dockyard's CLI on dockyardd;
- ``docker>dockerd``: the docker CLI 28 on dockerd 20.10 (``DOCKER_BUILDKIT=0``);
- with ``--docker-on-dockyardd``, ``docker>dockyardd`` too.

Every round, the clients interleaved per measurement with the order rotating:

1. cold: first (untimed) the image is removed (``rmi -f``, which takes the untagged parent
   chain, the classic builder's cache, with it), the dangling images of earlier rounds
   (``image prune -f``) and the build cache (``builder prune -af``); the build must then
   print no "Using cache";
2. cached: the same build again; every step must print "Using cache";
3. changed: one file under ``src/`` rewritten (new content), then the build; the steps up to
   the second COPY must come from the cache and that COPY onwards must not.

It prints median, p90, min and max (ms) per client and phase and the ratios of the medians
against ``docker>dockerd`` (below 1: faster than dockerd). When dockyardd does not start
or cannot build (its ``POST /build`` answers 404 or 501, or the probe build fails), it
says why and reports dockerd alone. At the end both
daemons are stopped by PID and the host is checked and restored as in ``engine_run``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
    start_dockerd,
    start_dockyardd,
)

TAG = "bench-app:latest"
PEER = "docker>dockerd"
WIDTH = 20
PHASES = ("cold", "cached", "changed")
DOCKERFILE = """\
FROM busybox:latest
ENV APP_HOME=/app MODE=bench SIDE={side}
WORKDIR /app
COPY a.txt b.txt ./
COPY src/ ./src/
RUN echo built > /app/built.txt
RUN mkdir -p /app/data && cp -r /app/src /app/data/
RUN ls -la /app /app/src > /app/listing.txt
ENV READY=1
CMD ["cat", "/app/built.txt"]
"""
STEPS = 10
CHANGED_STEP = 5  # COPY src/: cached before it, rebuilt from it on


class BuildClient(Client):
    """A client whose builds use the classic builder (docker 28 would look for buildx)."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["DOCKER_BUILDKIT"] = "0"
        return env

    def build(self, context: Path, timeout: float = 300.0) -> tuple[float, str]:
        """(wall ms, stdout) of ``build -t TAG context``; a failure is a BenchError."""
        argv = [self.argv0, "build", "-t", TAG, str(context)]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise BenchError(f"{self.label}: {' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout.strip()[-2000:]}\nstderr: {proc.stderr.strip()[-2000:]}")
        return elapsed, proc.stdout


@dataclass
class Side:
    client: BuildClient
    context: Path
    generation: int = 0


def make_context(path: Path, side: str) -> Path:
    """The context; ``side`` (in the first ENV) keeps two clients on one engine from sharing a cache."""
    (path / "src").mkdir(parents=True)
    (path / "Dockerfile").write_text(DOCKERFILE.format(side=side))
    (path / "a.txt").write_text("a\n" * 100)
    (path / "b.txt").write_text("b\n" * 100)
    for i in range(5):
        (path / "src" / f"file{i}.txt").write_text(f"source file {i}\n" * 200)
    (path / ".dockerignore").write_text("*.tmp\n")
    return path


def cached_steps(output: str) -> list[int]:
    """The step numbers (1-based) whose output says "Using cache"."""
    steps, current = [], 0
    for line in output.splitlines():
        if line.startswith("Step "):
            current = int(line.split()[1].split("/")[0])
        elif line.strip() == "---> Using cache":
            steps.append(current)
    return steps


def check(side: Side, phase: str, output: str) -> None:
    cached = cached_steps(output)
    if f"Step {STEPS}/{STEPS}" not in output or "Successfully built" not in output:
        raise BenchError(f"{side.client.label}: {phase} build printed no step {STEPS} or no success:\n{output[-1500:]}")
    wanted = {"cold": [], "cached": list(range(2, STEPS + 1)), "changed": list(range(2, CHANGED_STEP))}[phase]
    if cached != wanted:
        raise BenchError(f"{side.client.label}: {phase} build: steps from the cache {cached}, expected {wanted}:\n"
                         f"{output[-2500:]}")


def reset(side: Side) -> None:
    """Untimed, before a cold build: the image, the dangling images (the classic builder's
    cache: the chains of earlier builds) and the build cache gone."""
    side.client.run("rmi", "-f", TAG, check=False)
    side.client.run("image", "prune", "-f", check=False)
    side.client.run("builder", "prune", "-af", check=False)


def touch_source(side: Side) -> None:
    side.generation += 1
    (side.context / "src" / "file2.txt").write_text(f"changed, generation {side.generation}\n" * 200)


def measure(sides: list[Side], runs: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {phase: {s.client.label: [] for s in sides} for phase in PHASES}
    order = list(sides)
    for i in range(warmup + runs):
        for side in order:
            reset(side)
        for phase in PHASES:
            for side in order:
                if phase == "changed":
                    touch_source(side)
                elapsed, output = side.client.build(side.context)
                check(side, phase, output)
                if i >= warmup:
                    times[phase][side.client.label].append(elapsed)
        order = order[1:] + order[:1]
        print(f"round {i + 1}/{warmup + runs} done" + (" (warm-up)" if i < warmup else ""), file=sys.stderr)
    return times


def report(phase: str, times: dict[str, list[float]]) -> None:
    runs = len(next(iter(times.values())))
    print(f"\n{phase} build, {runs} runs per client, interleaved (ms)")
    peer = PEER if PEER in times and len(times) > 1 else None
    print(summary_header(WIDTH) + ("   ratio" if peer else ""))
    base = statistics.median(times[peer]) if peer else 0.0
    for label, values in times.items():
        ratio = f"{statistics.median(values) / base:8.2f}" if peer and label != peer else ""
        print(summary_row(label, values, WIDTH) + ratio)
    sys.stdout.flush()


def dockyardd_builds(client: BuildClient, context: Path) -> str | None:
    """None when dockyardd builds; else why not (its POST /build answers 404 or 501, or fails)."""
    proc = subprocess.run([client.argv0, "build", "-q", "-t", "bench-probe:latest", str(context)], capture_output=True,
                          text=True, env=client.env(), timeout=300, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode == 0:
        client.run("rmi", "-f", "bench-probe:latest", check=False)
        return None
    return "`dockyard build` failed: " + (proc.stderr.strip()[-1500:] or f"exit status {proc.returncode}")


def measure_all(engines: dict[str, Engine], archive: Path, work: Path, opts: argparse.Namespace,
                why_not: str | None) -> None:
    """``why_not``: why dockyardd is not measured (it did not start), else None."""
    dd = engines["dockerd"]
    load_image(dd.client(PEER), archive)

    def side(engine: Engine, label: str, argv0: str) -> Side:
        client = BuildClient(label, argv0, engine.host, engine.base / f"config-{Path(argv0).name}")
        name = label.replace(">", "-")
        return Side(client, make_context(work / f"ctx-{name}", name))

    sides = [side(dd, PEER, DOCKER)]
    dy = engines.get("dockyardd")
    if dy is not None:
        load_image(dy.client("docker>dockyardd"), archive)
        ours = side(dy, "dockyard", DOCKYARD)
        why_not = dockyardd_builds(ours.client, ours.context)
        if why_not is None:
            sides.insert(0, ours)
            if opts.docker_on_dockyardd:
                sides.insert(1, side(dy, "docker>dockyardd", DOCKER))
            else:
                ours.client.run("rmi", "-f", TAG, check=False)
    if why_not is not None:
        print(f"dockyardd is not measured, only dockerd: {why_not}")
    print(f"A {STEPS}-step Dockerfile (FROM busybox, ENV, WORKDIR, 2 COPY, 3 RUN, ENV, CMD), context of "
          f"{sum(f.stat().st_size for f in sides[0].context.rglob('*') if f.is_file())} bytes. dockyardd: "
          "--bridge none; dockerd 20.10: DOCKER_BUILDKIT=0, --bridge=none. Other work on this machine makes the "
          "figures noisy: compare within one run.")
    times = measure(sides, opts.runs, opts.warmup)
    for phase in PHASES:
        report(phase, times[phase])
    for s in sides:
        s.client.run("rmi", "-f", TAG, check=False)
        s.client.run("image", "prune", "-f", check=False)
        s.client.run("builder", "prune", "-af", check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--docker-on-dockyardd", action="store_true",
                        help="also time the docker CLI 28 building on dockyardd")
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0:
        parser.error("--runs must be at least 1, --warmup at least 0")
    exit_on_sigterm()
    try:
        check_host()
    except BenchError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    host = HostState.take()
    work = Path(tempfile.mkdtemp(prefix="dockyard-build-bench-"))
    engines: dict[str, Engine] = {}
    problems: list[str] = []
    failed = False
    try:
        archive = build_archive(work)
        engines["dockerd"] = start_dockerd(work / "dockerd")
        why_not = None
        try:
            engines["dockyardd"] = start_dockyardd(work / "dockyardd", "--bridge", "none")
        except BenchError as exc:  # the engine's tree may be broken mid-change: measure dockerd still
            why_not = f"dockyardd did not start: {str(exc)[-1500:]}"
        measure_all(engines, archive, work, opts, why_not)
    except BenchError as exc:
        failed = True
        print(f"build: failed:\n{exc}", file=sys.stderr)
        for engine in engines.values():
            print(f"{engine.name} log (tail):\n{engine.log(3000)}", file=sys.stderr)
    finally:
        problems += finish("build", engines, host, work)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
