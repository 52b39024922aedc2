"""Benchmark: ``ctr run --rm <image> <id> true`` against dockyard-containerd and containerd 1.6.

Usage (as root): ``.venv/bin/python bench/ctr_run_latency.py [--runs 20] [--warmup 2]``

Both daemons run at once, each in its own temporary directory: dockyard-containerd with its
defaults (shims drive dockyard-runc, log level info) and a private containerd (its own
config, root, state and sockets; no CRI plugin) whose shims are containerd-shim-runc-v2
driving runc. The busybox docker-archive is imported into both with ``ctr images import``.
Then the runs alternate, the order swapping every iteration so neither side is always
first: each is one ``ctr run --rm`` (create the container and its snapshot, create and
start the task, wait for ``true`` to exit, delete the task and the container), timed as
the wall time of the ``ctr`` process. ``--warmup`` untimed runs per side come first.

It prints the median, p90, min and max per side (ms) and the ratio of the medians and of
the p90s, dockyard over containerd (below 1: dockyard is faster). At the end the image is
removed, both daemons are stopped by PID, and the bench checks that nothing is left (no
shims, no mounts under the temporary directory, no cgroups of the namespaces).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchstats import p90, summary_header, summary_row
from ctr_daemons import (
    IMAGE,
    BenchError,
    Daemon,
    build_archive,
    check_host,
    clean_up,
    exit_on_sigterm,
    mounts_under,
    start_containerd,
    start_dockyard,
    unique,
)


def timed_run(daemon: Daemon, ns: str, cid: str) -> float:
    """One ``ctr run --rm``; its wall time in ms."""
    argv = daemon.ctr_argv(ns, "run", "--rm", IMAGE, cid, "true")
    start = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=120, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise BenchError(f"{daemon.name}: {' '.join(argv)} exited {proc.returncode}\nstderr: {proc.stderr.strip()}\n"
                         f"daemon log (tail):\n{daemon.log()}")
    return elapsed


def report(times: dict[str, list[float]]) -> None:
    runs = len(next(iter(times.values())))
    print(f"\n`ctr run --rm busybox true`, {runs} runs per side, interleaved (ms)")
    print(summary_header(14))
    for side, values in times.items():
        print(summary_row(side, values, 14))
    d, c = times["dockyard"], times["containerd"]
    print(f"ratio dockyard/containerd: median {statistics.median(d) / statistics.median(c):.2f}, "
          f"p90 {p90(d) / p90(c):.2f}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0:
        parser.error("--runs must be at least 1, --warmup at least 0")
    exit_on_sigterm()
    try:
        check_host()
    except BenchError as exc:
        print(f"ctr_run_latency: {exc}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="dockyard-ctr-latency-"))
    daemons: dict[str, Daemon] = {}
    namespaces = {side: unique(f"bench-run-{side}") for side in ("dockyard", "containerd")}
    problems: list[str] = []
    failed = False
    try:
        archive = build_archive(work)
        daemons["dockyard"] = start_dockyard(work / "dockyard")
        daemons["containerd"] = start_containerd(work / "containerd")
        for side, daemon in daemons.items():
            daemon.import_image(namespaces[side], archive)
        times: dict[str, list[float]] = {side: [] for side in daemons}
        order = ["dockyard", "containerd"]
        for i in range(opts.warmup + opts.runs):
            for side in order:
                elapsed = timed_run(daemons[side], namespaces[side], f"r{i}")
                if i >= opts.warmup:
                    times[side].append(elapsed)
            order.reverse()
        report(times)
    except BenchError as exc:
        failed = True
        print(f"ctr_run_latency: failed:\n{exc}", file=sys.stderr)
    finally:
        for side, daemon in daemons.items():
            problems += clean_up(daemon, namespaces[side])
        mounted = mounts_under(work)
        if mounted:
            problems.append(f"still mounted: {mounted}")
        for problem in problems:
            print(f"ctr_run_latency: {problem}", file=sys.stderr)
        if daemons and not problems:
            print("cleaned up: no tasks, shims, mounts or cgroups left", file=sys.stderr)
        if mounted:  # never rm -rf through a mount
            print(f"ctr_run_latency: leaving {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
