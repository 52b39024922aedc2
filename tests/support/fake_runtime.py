"""A stand-in OCI runtime with runc's command line and no privileges, for the shim's unit
tests: the "container" is a plain process running ``process.args`` of the bundle's
config.json, forked by ``create`` (and left to the shim, its subreaper, when this exits),
held on a fifo until ``start``. ``pause``/``resume`` are SIGSTOP/SIGCONT, ``ps`` lists the
init and the exec processes, ``events --stats`` prints a fixed document. An init whose
args[0] is ``fail`` makes ``create`` fail the way runc does: a JSON error in ``--log``.

Run as ``python fake_runtime.py [--root R] [--log L] [--log-format json] VERB ...``.
"""

from __future__ import annotations

import json
import os
import sys


def _globals(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    while argv and argv[0].startswith("--") and argv[0] != "--all":
        opts[argv[0][2:]] = argv[1]
        argv = argv[2:]
    return opts, argv


def _flags(argv: list[str], with_value: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        name = argv[i][2:] if argv[i].startswith("--") else ""
        if name in with_value:
            opts[name] = argv[i + 1]
            i += 2
        elif name:
            opts[name] = "true"
            i += 1
        else:
            rest.append(argv[i])
            i += 1
    return opts, rest


def _fork_process(args: list[str], gate: str, pid_file: str) -> None:
    pid = os.fork()
    if pid == 0:
        if gate:
            with open(gate) as f:
                f.read(1)
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    with open(pid_file, "w") as f:
        f.write(str(pid))


def main() -> int:
    opts, argv = _globals(sys.argv[1:])
    root, log = opts.get("root", "/tmp/fake-runtime"), opts.get("log", "")
    verb, argv = argv[0], argv[1:]
    flags, rest = _flags(argv, ("bundle", "pid-file", "console-socket", "process", "resources", "format"))
    cid = rest[0] if rest else ""
    state = os.path.join(root, cid)
    if verb == "create":
        with open(os.path.join(flags["bundle"], "config.json")) as f:
            args = json.load(f)["process"]["args"]
        if args[0] == "fail":
            with open(log, "a") as f:
                f.write(json.dumps({"level": "error", "msg": f"fake: cannot run {args[1:]}"}) + "\n")
            return 1
        os.makedirs(state)
        os.mkfifo(os.path.join(state, "gate"))
        _fork_process(args, os.path.join(state, "gate"), flags["pid-file"])
        with open(flags["pid-file"]) as src, open(os.path.join(state, "pid"), "w") as dst:
            dst.write(src.read())
        return 0
    if not os.path.isdir(state):
        sys.stderr.write(f"container {cid} does not exist\n")
        return 1
    with open(os.path.join(state, "pid")) as f:
        pid = int(f.read())
    if verb == "start":
        with open(os.path.join(state, "gate"), "w") as f:
            f.write("x")
    elif verb == "exec":
        with open(flags["process"]) as f:
            args = json.load(f)["args"]
        _fork_process(args, "", flags["pid-file"])
        with open(flags["pid-file"]) as src, open(os.path.join(state, "execs"), "a") as dst:
            dst.write(src.read() + "\n")
    elif verb == "kill":
        try:
            os.kill(pid, int(rest[1]))
        except ProcessLookupError:
            sys.stderr.write("container not running\n")
            return 1
    elif verb in ("pause", "resume"):
        os.kill(pid, 19 if verb == "pause" else 18)
    elif verb == "ps":
        execs: list[str] = []
        if os.path.exists(os.path.join(state, "execs")):
            with open(os.path.join(state, "execs")) as f:
                execs = f.read().split()
        alive = [p for p in [pid, *map(int, execs)] if os.path.exists(f"/proc/{p}")]
        print(json.dumps(alive))
    elif verb == "events":
        print(json.dumps({"type": "stats", "id": cid, "data": {"pids": {"current": 1}}}))
    elif verb == "update":
        json.load(sys.stdin)
    elif verb == "delete":
        if "force" in flags:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        for name in os.listdir(state):
            os.unlink(os.path.join(state, name))
        os.rmdir(state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
