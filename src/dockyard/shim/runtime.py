"""Driving the OCI runtime binary (dockyard-runc, runc, crun) through runc's command line.

Commands are built as containerd's runc shim builds them::

    <runtime> [runtime args] [--root ROOT] --log <state>/log.json --log-format json \\
        create --bundle B --pid-file <state>/init.pid [--console-socket S] <id>

Each command is started with ``posix_spawnp`` (no ``subprocess``: it is heavy to import)
— or, when the runtime is this installation's own dockyard-runc, forked from the shim and
run in-process (the shim is single-threaded, so forking it is safe, and the runtime skips
a fresh interpreter's start: ~7 ms of every command) — and waited for before the shim does
anything else: the shim is single-threaded, so a reap
of the event loop can never take a runtime command's exit away from its caller.
``create`` and ``exec`` give the runtime the container's stdio (the runtime hands it to the
process), so their errors are read from the JSON log: the last ``error``/``fatal`` entry
written during the command, as containerd does; other commands' output and stderr come
back through pipes.
"""

from __future__ import annotations

import os
import select

from dockyard.errors import (
    AlreadyExists,
    DockyardError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
)
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

_SIGCHLD = 17
_SIGPIPE = 13
_SIGXFSZ = 25


def error_for(verb: str, text: str) -> DockyardError:
    """The error class a runtime's failure text stands for (runc's wording, ours, crun's)."""
    lowered = text.lower()
    message = f"OCI runtime {verb} failed: {text}"
    if "does not exist" in lowered or "not exist" in lowered or "no such container" in lowered:
        return NotFound(message)
    if "already exists" in lowered:
        return AlreadyExists(message)
    if "not running" in lowered or "is paused" in lowered or "not paused" in lowered or (
        "cannot" in lowered and ("stopped" in lowered or "paused" in lowered)
    ):
        return FailedPrecondition(message)
    if "invalid" in lowered or "unknown signal" in lowered:
        return InvalidArgument(message)
    return Internal(message)


def last_log_error(path: str, offset: int) -> str:
    """The ``msg`` of the last error-level JSON entry written to ``path`` after ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return ""
    found = ""
    for line in data.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = jsonio.loads(line)
        except DockyardError:
            found = line.decode(errors="replace")  # a runtime that wrote text anyway
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic"):
            found = str(entry.get("msg") or "")
    return found


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _run_in_child(argv: list[str], fds: tuple[int, int, int]) -> None:
    """In a child forked from the shim: become ``dockyard-runc argv[1:]`` and exit."""
    status = 127
    try:
        import _signal  # type: ignore[import-not-found]

        _signal.set_wakeup_fd(-1)  # the shim's loop must not hear this process's signals
        _signal.signal(_SIGCHLD, 0)  # SIG_DFL: the runtime waits for its own children
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
            else:
                os.set_inheritable(fd, True)
        os.closerange(3, 1 << 20)  # nothing of the shim's reaches the container
        from dockyard.runtime.cli import main

        status = main(argv[1:])
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # the child must never return into the shim's code
        try:
            os.write(2, f"dockyard-runc: {exc}\n".encode())
        except OSError:
            pass
    os._exit(status)


def is_own_runtime(binary: str) -> bool:
    """True for this installation's dockyard-runc (the launcher next to our interpreter)."""
    from dockyard.shim.config import default_runtime

    own = default_runtime()
    return os.sep in own and binary == own


class Runtime:
    """One runtime binary with its state root and log file."""

    def __init__(self, binary: str, root: str, log_path: str, extra_args: Sequence[str] = (),
                 in_process: bool = False) -> None:
        self.binary = binary
        self.root = root
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.in_process = in_process  # only ever in a single-threaded process (the shim)

    def argv(self, *args: str) -> list[str]:
        """The full command line for one verb (``args`` start with the verb)."""
        argv = [self.binary, *self.extra_args]
        if self.root:
            argv += ["--root", self.root]
        argv += ["--log", self.log_path, "--log-format", "json"]
        return [*argv, *args]

    # -- running --------------------------------------------------------------------------
    def _spawn(self, argv: list[str], fds: tuple[int, int, int]) -> int:
        if self.in_process:
            pid = os.fork()
            if pid == 0:
                _run_in_child(argv, fds)
            return pid
        actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(fds)]
        try:
            return os.posix_spawnp(
                argv[0], argv, os.environ, file_actions=actions, setsigdef=(_SIGPIPE, _SIGXFSZ)
            )
        except OSError as exc:
            raise Internal(f"cannot run the runtime {argv[0]}: {exc.strerror}") from None

    def run_with_stdio(self, verb: str, args: Sequence[str], fds: tuple[int, int, int]) -> None:
        """Run a command that hands ``fds`` (stdin, stdout, stderr) to the container."""
        offset = _size(self.log_path)
        pid = self._spawn(self.argv(verb, *args), fds)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status != 0:
            text = last_log_error(self.log_path, offset) or f"exit status {status}"
            raise error_for(verb, text)

    def run(self, verb: str, *args: str, input: bytes = b"") -> bytes:
        """Run a command and return its stdout; its errors (log, then stderr) are raised."""
        offset = _size(self.log_path)
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid = self._spawn(self.argv(verb, *args), (in_r, out_w, err_w))
        finally:
            os.close(in_r)
            os.close(out_w)
            os.close(err_w)
        try:
            out, err = _communicate(in_w, input, out_r, err_r)
        finally:
            status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status != 0:
            text = last_log_error(self.log_path, offset) or err.decode(errors="replace").strip()
            raise error_for(verb, text or f"exit status {status}")
        return out

    # -- verbs ----------------------------------------------------------------------------
    def create(
        self,
        cid: str,
        bundle: str,
        pid_file: str,
        fds: tuple[int, int, int],
        console_socket: str = "",
        extra: Sequence[str] = (),
    ) -> None:
        args = ["--bundle", bundle, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        self.run_with_stdio("create", [*args, *extra, cid], fds)

    def exec(
        self, cid: str, process_file: str, pid_file: str, fds: tuple[int, int, int], console_socket: str = ""
    ) -> None:
        args = ["--process", process_file, "--detach", "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        self.run_with_stdio("exec", [*args, cid], fds)

    def start(self, cid: str) -> None:
        self.run("start", cid)

    def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        self.run("kill", *(["--all"] if all_processes else []), cid, str(signal))

    def delete(self, cid: str, force: bool = False) -> None:
        self.run("delete", *(["--force"] if force else []), cid)

    def pause(self, cid: str) -> None:
        self.run("pause", cid)

    def resume(self, cid: str) -> None:
        self.run("resume", cid)

    def update(self, cid: str, resources: dict[str, Any]) -> None:
        self.run("update", "--resources", "-", cid, input=jsonio.dumps(resources).encode())

    def ps(self, cid: str) -> list[int]:
        value = jsonio.loads(self.run("ps", "--format", "json", cid), "runtime ps output")
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(p, int) for p in value):
            raise Internal("runtime ps: output is not a list of pids")
        return list(value)

    def stats(self, cid: str) -> dict[str, Any]:
        """``events --stats``: the ``data`` of its one stats event."""
        for line in self.run("events", "--stats", cid).splitlines():
            event = jsonio.loads(line, "runtime events output")
            if isinstance(event, dict) and event.get("type") == "stats":
                data = event.get("data")
                return data if isinstance(data, dict) else {}
        raise Internal("runtime events --stats: no stats event in the output")


def _communicate(in_w: int, data: bytes, out_r: int, err_r: int) -> tuple[bytes, bytes]:
    """Write ``data`` to the child's stdin and read its stdout and stderr until both close."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    readers = [out_r, err_r]
    pending = memoryview(data)
    writers = [in_w] if pending else []
    if not writers:
        os.close(in_w)
    try:
        while readers or writers:
            ready_r, ready_w, _ = select.select(readers, writers, [])
            if ready_w:
                try:
                    sent = os.write(in_w, pending[:65536])
                except BrokenPipeError:
                    sent = len(pending)
                pending = pending[sent:]
                if not pending:
                    writers = []
                    os.close(in_w)
            for fd in ready_r:
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    readers.remove(fd)
                    os.close(fd)
    finally:
        if writers:
            os.close(in_w)
        for fd in readers:
            os.close(fd)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])
