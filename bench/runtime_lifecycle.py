"""Benchmark: create -> start -> wait -> delete of `true` under dockyard-runc, runc and crun.

Usage (as root): ``.venv/bin/python bench/runtime_lifecycle.py [--runs 20] [--warmup 2]
[--runtimes dockyard,runc,crun]``; ``LABEL=PATH`` in ``--runtimes`` adds another
dockyard-runc launcher (e.g. ``base=/tmp/base/dockyard-runc`` running an older tree's
``src``), to compare two trees in the same interleaved runs.

One busybox bundle per runtime (a shared read-only rootfs, its own cgroupsPath under
/dockyard-bench), its own temporary ``--root``; the runtimes are interleaved and the order
rotates every iteration so none is always first. Per step it prints the median wall time.

Peak RSS comes from a few extra, untimed runs (``--rss-runs``) in which every runtime
command runs under GNU ``/usr/bin/time -f %M``. Not ``wait4`` on our own children: a child
spawned from this Python process inherits our ~16 MB high-water mark at its first exec
(the kernel carries the old mm's hiwater into ``ru_maxrss``), so every runtime would look
at least as big as the bench. ``time`` is small and forks the runtime itself, so its
figure is the runtime's own (floor ~1 MB). "rss cmd" is the largest of create, start
and delete; "rss init" is the container init's ``ru_maxrss`` from our ``wait4``: the
runtime's init code before it execs ``true`` (``runc init``, crun's child, dockyard's
forked init), which includes what it inherited from the create process.

"wait": this process makes itself a child subreaper, so the container init (whose
parent, the create process, has exited) is re-parented to it and can be ``waitpid``ed
with the pid from ``--pid-file``. If the init is not our child (a runtime that keeps a
monitor process), the bench falls back to a pidfd and waits for the process to vanish.

crun refuses this host's hybrid cgroup layout (cgroup2 mounted at /sys/fs/cgroup/unified),
so ``crun create`` — the only verb that needs it — runs as
``unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun ...'``; start and delete
run crun directly. The wrapper's own cost (``unshare`` + ``sh`` + ``umount`` + exec) is
measured separately with ``true`` in place of crun and printed next to crun's numbers:
crun's create time includes it, subtract it to compare the runtime itself.

A runtime that fails prints its error once and is left out of the remaining runs.
Everything is removed at the end (containers, state roots, bundles, cgroups).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36
CGROUP_PARENT = "dockyard-bench"
STEPS = ("create", "start", "wait", "delete")
CRUN_WRAP = "umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\""


class StepFailed(Exception):
    pass


def set_child_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")


def config(cgroups_path: str, rootfs: Path) -> dict[str, object]:
    """A minimal runc-like config running `true`."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["true"],
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"],
            "cgroupsPath": cgroups_path,
        },
    }


@dataclass
class Runtime:
    name: str
    argv: list[str]
    root: Path
    bundle: Path
    create_prefix: list[str] = field(default_factory=list)  # the crun wrapper
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    cmd_rss: list[int] = field(default_factory=list)
    init_rss: list[int] = field(default_factory=list)
    failed: str | None = None

    def command(self, *args: str) -> list[str]:
        return [*self.argv, "--root", str(self.root), *args]


TIME = "/usr/bin/time"


def spawn_wait(argv: list[str], err_path: Path, rss_path: Path | None = None) -> float:
    """Run ``argv`` with stdio on /dev/null (stderr to ``err_path``); returns ms.

    With ``rss_path`` the command runs under ``/usr/bin/time``, which writes its peak RSS
    (KiB) there.
    """
    if rss_path is not None:
        argv = [TIME, "-f", "%M", "-o", str(rss_path), *argv]
    exe = shutil.which(argv[0]) or argv[0]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(err_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(exe, argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        message = err_path.read_text(errors="replace").strip() or "(no message)"
        raise StepFailed(f"{' '.join(argv)}: exit {code}: {message}")
    return elapsed


def read_rss(path: Path) -> int:
    """The last line /usr/bin/time wrote (KiB)."""
    return int(path.read_text().split()[-1])


def wait_exit(pid: int, timeout: float = 10.0) -> int:
    """Wait for the container init: waitpid when it is our child, else a pidfd. Peak RSS."""
    try:
        usage = os.wait4(pid, 0)[2]
        return usage.ru_maxrss
    except ChildProcessError:
        pass
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return 0
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise StepFailed(f"container init {pid} did not exit within {timeout}s")
    finally:
        os.close(fd)
    return 0


def lifecycle(rt: Runtime, cid: str, scratch: Path, *, record: bool, rss: bool) -> None:
    """One create -> start -> wait -> delete; records times (or, with ``rss``, RSS)."""
    pid_file = scratch / f"{cid}.pid"
    err = scratch / f"{cid}.err"
    rss_files: list[Path | None] = [
        scratch / f"{cid}.{step}.rss" if rss else None for step in ("create", "start", "delete")
    ]
    create = [*rt.create_prefix, *rt.command("create", "--bundle", str(rt.bundle),
                                             "--pid-file", str(pid_file), cid)]
    ms_create = spawn_wait(create, err, rss_files[0])
    init_pid = int(pid_file.read_text())
    ms_start = spawn_wait(rt.command("start", cid), err, rss_files[1])
    start = time.perf_counter()
    init_rss = wait_exit(init_pid)
    ms_wait = (time.perf_counter() - start) * 1000
    ms_delete = spawn_wait(rt.command("delete", cid), err, rss_files[2])
    if rss:
        rt.cmd_rss.append(max(read_rss(p) for p in rss_files if p is not None))
        rt.init_rss.append(init_rss)
    elif record:
        for step, ms in zip(STEPS, (ms_create, ms_start, ms_wait, ms_delete), strict=True):
            rt.times[step].append(ms)


def force_delete(rt: Runtime, cid: str) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(rt.command("delete", "--force", cid), capture_output=True, timeout=30)
    # a created-but-never-started init may be our child now: reap it
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def wrapper_overhead(runs: int, scratch: Path) -> float:
    """Median ms of the crun wrapper around `true` (unshare + sh + umount + exec)."""
    argv = ["unshare", "-m", "sh", "-c", CRUN_WRAP, "true"]
    samples = [spawn_wait(argv, scratch / "wrap.err") for _ in range(runs)]
    return statistics.median(samples)


def make_runtimes(names: list[str], work: Path, rootfs: Path) -> list[Runtime]:
    runtimes = []
    for name in names:
        if name == "dockyard":
            script = Path(sys.prefix) / "bin" / "dockyard-runc"
            argv = [str(script)] if script.exists() else [sys.executable, "-m",
                                                          "dockyard.runtime.cli"]
            prefix: list[str] = []
        elif name == "runc":
            argv, prefix = ["runc"], []
        elif name == "crun":
            argv, prefix = ["crun"], ["unshare", "-m", "sh", "-c", CRUN_WRAP]
        elif "=" in name:  # LABEL=PATH: another dockyard-runc launcher (e.g. an older tree's)
            name, path = name.split("=", 1)
            argv, prefix = [path], []
        else:
            raise SystemExit(f"unknown runtime {name!r} (dockyard, runc, crun, LABEL=PATH)")
        bundle = work / f"bundle-{name}"
        bundle.mkdir()
        cfg = config(f"/{CGROUP_PARENT}/{name}", rootfs)
        (bundle / "config.json").write_text(json.dumps(cfg, indent=1))
        root = work / f"root-{name}"
        root.mkdir(mode=0o700)
        rt = Runtime(name, argv, root, bundle, prefix)
        if shutil.which(argv[0]) is None:
            rt.failed = f"{argv[0]} not found"
            print(f"{name}: {rt.failed}", file=sys.stderr)
        runtimes.append(rt)
    return runtimes


def remove_cgroups(names: list[str]) -> None:
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        for name in names:
            with contextlib.suppress(OSError):
                (hierarchy / CGROUP_PARENT / name).rmdir()
        with contextlib.suppress(OSError):
            (hierarchy / CGROUP_PARENT).rmdir()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(runtimes: list[Runtime], runs: int, wrap_ms: float | None) -> None:
    print(f"\nmedians over {runs} runs (ms); peak RSS in MiB")
    header = f"{'runtime':<10}" + "".join(f"{s:>9}" for s in (*STEPS, "total"))
    print(header + f"{'rss cmd':>9}{'rss init':>10}")
    totals: dict[str, float] = {}
    for rt in runtimes:
        if not rt.times["create"]:
            print(f"{rt.name:<10} failed: {rt.failed}")
            continue
        per_run = [sum(v) for v in zip(*(rt.times[s] for s in STEPS), strict=True)]
        totals[rt.name] = median(per_run)
        cells = "".join(f"{median(rt.times[s]):9.1f}" for s in STEPS)
        rss_c = median([float(r) for r in rt.cmd_rss]) / 1024
        rss_i = median([float(r) for r in rt.init_rss]) / 1024
        note = f"  ({len(per_run)} runs)" if len(per_run) != runs else ""
        print(f"{rt.name:<10}{cells}{totals[rt.name]:9.1f}{rss_c:9.1f}{rss_i:10.1f}{note}")
    if wrap_ms is not None and "crun" in totals:
        print(f"crun create includes the unshare/umount wrapper: {wrap_ms:.1f} ms "
              f"(crun total without it ~{totals['crun'] - wrap_ms:.1f} ms)")
    if "dockyard" in totals and "runc" in totals:
        print(f"dockyard-runc / runc (total): {totals['dockyard'] / totals['runc']:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per runtime")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    parser.add_argument("--rss-runs", type=int, default=3, help="untimed runs under time(1)")
    parser.add_argument("--runtimes", default="dockyard,runc,crun",
                        help="comma-separated: dockyard, runc, crun, LABEL=PATH")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("runtime_lifecycle: needs root", file=sys.stderr)
        return 2
    names = [n for n in opts.runtimes.split(",") if n]
    set_child_subreaper()
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    runtimes: list[Runtime] = []
    try:
        rootfs = work / "rootfs"
        subprocess.run([str(REPO / "scripts" / "busybox-rootfs.sh"), str(rootfs)], check=True)
        runtimes = make_runtimes(names, work, rootfs)
        wrap_ms = wrapper_overhead(max(5, opts.runs // 2), work) if "crun" in names else None
        rss_runs = opts.rss_runs if os.access(TIME, os.X_OK) else 0
        if not rss_runs:
            print(f"runtime_lifecycle: no {TIME} (apt-get install time): no RSS figures",
                  file=sys.stderr)
        total = opts.warmup + opts.runs + rss_runs
        for i in range(total):
            order = runtimes[i % len(runtimes):] + runtimes[: i % len(runtimes)]
            for rt in order:
                if rt.failed:
                    continue
                cid = f"bench-{rt.name}-{i}"
                try:
                    lifecycle(rt, cid, work, record=i >= opts.warmup,
                              rss=i >= opts.warmup + opts.runs)
                except (StepFailed, OSError, ValueError) as exc:
                    rt.failed = str(exc)
                    print(f"{rt.name}: failed, left out from now on: {exc}", file=sys.stderr)
                    force_delete(rt, cid)
        report(runtimes, opts.runs, wrap_ms)
    finally:
        for rt in runtimes:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                listing = subprocess.run(rt.command("list", "-q"), capture_output=True,
                                         text=True, timeout=30)
                for cid in listing.stdout.split():
                    force_delete(rt, cid)
        remove_cgroups([n.split("=", 1)[0] for n in names])
        with open("/proc/self/mountinfo") as f:
            mounted = [line.split()[4] for line in f if line.split()[4].startswith(str(work))]
        if mounted:  # never rm -rf through a mount
            print(f"runtime_lifecycle: leaving {work}: still mounted: {mounted}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
