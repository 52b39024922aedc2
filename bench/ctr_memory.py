"""Benchmark: memory per running container, dockyard-containerd against containerd 1.6.

Usage (as root): ``.venv/bin/python bench/ctr_memory.py [--containers 50] [--warmup 1]
[--settle 2] [--sides containerd,dockyard]``

Each side in turn (memory is not time-sensitive, so one after the other, in a fresh
temporary directory): start the daemon (dockyard-containerd with its defaults, so its
shims drive dockyard-runc; a private containerd whose shims are containerd-shim-runc-v2
driving runc), ``ctr images import`` the busybox docker-archive, run ``--warmup``
containers with ``ctr run --rm ... true`` (one-off lazy start-up costs, e.g. dockyard's
shim launcher and containerd's first shim, stay out of the per-container figure), wait
``--settle`` seconds and read the daemon's ``/proc/<pid>/smaps_rollup``. Then
``ctr run -d <image> cN sleep 100000`` ``--containers`` times, wait again and read:

- the daemon's growth (after minus before);
- its helpers, counted whole: the daemon's live descendants (dockyard's
  ``dockyard-shim launcher``; containerd has none);
- every shim: dockyard's from ``shim_pid`` in ``<state>/io.containerd.runtime.v2.task/<ns>/<id>/shim.json``,
  containerd's from ``shim.pid`` there when written (1.6.20 does not) or by a /proc scan
  for ``containerd-shim-runc-v2`` with ``-address <our socket> -namespace <ns>``.

The container processes (``sleep``) are the same on both sides and are not counted. Per
container = (daemon growth + helpers + shims) / N, as RSS (pages shared between the shims
count once per shim), PSS (shared pages split among their users: the real cost) and USS
(private pages only). The "shims only" lines leave out the daemon and helpers. Ratios are
dockyard over containerd (below 1: dockyard uses less).

At the end of each side every task is killed and deleted, the containers and image are
removed, the daemon is stopped by PID, and the bench checks that no shim or container
process, no mount under the temporary directory and no cgroup of the namespace is left.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ctr_daemons import (
    IMAGE,
    BenchError,
    Daemon,
    Mem,
    alive,
    build_archive,
    check_host,
    clean_up,
    exit_on_sigterm,
    memory,
    mounts_under,
    start_containerd,
    start_dockyard,
    unique,
)

SIDES = {"dockyard": start_dockyard, "containerd": start_containerd}


@dataclass
class Result:
    side: str
    count: int
    before: Mem
    after: Mem
    helpers: Mem
    helper_count: int
    shims: Mem
    shim_count: int

    @property
    def total(self) -> Mem:
        return (self.after - self.before) + self.helpers + self.shims

    def per_container(self) -> tuple[float, float, float]:
        t = self.total
        return t.rss / self.count, t.pss / self.count, t.uss / self.count

    def per_shim(self) -> tuple[float, float, float]:
        return self.shims.rss / self.count, self.shims.pss / self.count, self.shims.uss / self.count


def total_memory(pids: list[int]) -> Mem:
    out = Mem()
    for pid in pids:
        out += memory(pid)
    return out


def measure(side: str, daemon: Daemon, ns: str, archive: Path, count: int, warmup: int, settle: float) -> Result:
    daemon.import_image(ns, archive)
    for i in range(warmup):
        daemon.ctr(ns, "run", "--rm", IMAGE, f"warmup{i}", "true")
    time.sleep(settle)
    before = memory(daemon.pid)
    for i in range(count):
        daemon.ctr(ns, "run", "-d", IMAGE, f"c{i}", "sleep", "100000")
    time.sleep(settle)
    tasks = daemon.task_pids(ns)
    shims = daemon.shim_pids(ns)
    daemon.seen_pids.update(tasks.values())
    daemon.seen_pids.update(shims.values())
    if len(tasks) != count or len(shims) != count:
        raise BenchError(f"{daemon.name}: {len(tasks)} tasks and {len(shims)} shims for {count} containers")
    dead = [cid for cid, pid in shims.items() if not alive(pid)]
    if dead:
        raise BenchError(f"{daemon.name}: the shims of {dead} are not running\n{daemon.log()}")
    if len(set(shims.values())) != count:
        raise BenchError(f"{daemon.name}: containers share shims: {shims}")
    # read everything at once, so PSS splits the shared pages among the same processes
    after = memory(daemon.pid)
    excluded = set(tasks.values()) | set(shims.values())
    helpers = [p for p in daemon.helpers() if p not in excluded]
    return Result(side, count, before, after, total_memory(helpers), len(helpers),
                  total_memory(sorted(set(shims.values()))), len(shims))


def run_side(side: str, base: Path, archive: Path, opts: argparse.Namespace) -> Result:
    daemon = SIDES[side](base)
    ns = unique(f"bench-mem-{side}")
    problems: list[str] = []
    try:
        return measure(side, daemon, ns, archive, opts.containers, opts.warmup, opts.settle)
    finally:
        problems = clean_up(daemon, ns)
        if mounts_under(base):
            problems.append(f"{side}: still mounted under {base}: {mounts_under(base)}")
        for problem in problems:
            print(f"ctr_memory: {problem}", file=sys.stderr, flush=True)
        if not problems:
            print(f"{daemon.name}: cleaned up (no tasks, shims, mounts or cgroups left)", file=sys.stderr, flush=True)


def kib(value: float) -> str:
    return f"{value:9.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:9.2f}" if b else "        -"


def report(results: dict[str, Result]) -> None:
    count = next(iter(results.values())).count
    print(f"\n{count} `sleep` containers per side; KiB; dockyard = dockyard-containerd + dockyard-shim + dockyard-runc,"
          " containerd = containerd 1.6 + containerd-shim-runc-v2 + runc")
    print(f"{'':28}{'before':>9}{'after':>9}{'growth':>9}   (daemon RSS / PSS)")
    for r in results.values():
        for label in ("rss", "pss"):
            before, after = getattr(r.before, label), getattr(r.after, label)
            print(f"{r.side + ' daemon ' + label.upper():28}{kib(before)}{kib(after)}{kib(after - before)}")
    print(f"\n{'totals':28}{'RSS':>9}{'PSS':>9}{'USS':>9}")
    for r in results.values():
        print(f"{r.side + f' helpers ({r.helper_count})':28}{kib(r.helpers.rss)}{kib(r.helpers.pss)}"
              f"{kib(r.helpers.uss)}")
        print(f"{r.side + f' shims ({r.shim_count})':28}{kib(r.shims.rss)}{kib(r.shims.pss)}{kib(r.shims.uss)}")
    print(f"\n{'per container':28}{'RSS':>9}{'PSS':>9}{'USS':>9}   (daemon growth + helpers + shims) / N")
    for r in results.values():
        print(f"{r.side:28}" + "".join(kib(v) for v in r.per_container()))
    print(f"{'per container, shims only':28}")
    for r in results.values():
        print(f"{r.side:28}" + "".join(kib(v) for v in r.per_shim()))
    if "dockyard" in results and "containerd" in results:
        d, c = results["dockyard"], results["containerd"]
        print(f"\n{'ratio dockyard/containerd':28}{'RSS':>9}{'PSS':>9}{'USS':>9}")
        print(f"{'  per container':28}" + "".join(ratio(a, b) for a, b in zip(d.per_container(), c.per_container(),
                                                                                   strict=True)))
        print(f"{'  shims only':28}" + "".join(ratio(a, b) for a, b in zip(d.per_shim(), c.per_shim(), strict=True)))
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", "-n", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=1, help="`ctr run --rm` before the baseline (default 1)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each reading")
    parser.add_argument("--sides", default="containerd,dockyard")
    opts = parser.parse_args()
    sides = opts.sides.split(",")
    if not sides or any(s not in SIDES for s in sides) or opts.containers < 1:
        parser.error(f"--sides: a list of {', '.join(SIDES)}; --containers: at least 1")
    exit_on_sigterm()
    try:
        check_host()
    except BenchError as exc:
        print(f"ctr_memory: {exc}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="dockyard-ctr-memory-"))
    results: dict[str, Result] = {}
    failed = False
    try:
        archive = build_archive(work)
        for side in sides:
            try:
                results[side] = run_side(side, work / side, archive, opts)
            except BenchError as exc:
                failed = True
                print(f"ctr_memory: {side} failed:\n{exc}", file=sys.stderr)
        if results:
            report(results)
    finally:
        mounted = mounts_under(work)
        if mounted:  # never rm -rf through a mount
            print(f"ctr_memory: leaving {work}: still mounted: {mounted}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
