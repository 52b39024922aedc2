"""OCI lifecycle hooks: run each with the container state on stdin, honouring timeouts.

prestart, createRuntime and poststart run in the runtime's namespaces, createContainer and
startContainer in the container's. A failing hook before the user process starts fails
the operation; a failing poststart or poststop hook is logged only (runtime spec).

Working directory, as runc 1.1: runc chdirs into the bundle for create and run, and runs
prestart, createRuntime and poststart from there; createContainer runs in its init, whose
working directory is the rootfs. So those hooks start in the bundle (the rootfs for
createContainer), and a relative ``path`` is resolved there; startContainer and poststop
keep the caller's working directory (runc delete's is its caller's).

Timeouts: ``timeout`` is in seconds; 0 or less fails at once ("hook ran past specified
timeout of 0.0s", as runc, whose timer has then already fired).
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath
import time

from dockyard.errors import Internal
from dockyard.oci import jsonio
from dockyard.runtime import ospath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PHASES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def hooks_of(config: dict[str, Any], phase: str) -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = (config.get("hooks") or {}).get(phase) or []
    return hooks


def run_hooks(config: dict[str, Any], phase: str, state: dict[str, Any]) -> None:
    """Run every hook of ``phase`` in order; raise Internal naming the first that fails."""
    hooks = hooks_of(config, phase)
    if not hooks:
        return
    payload = jsonio.dumps(state).encode()
    cwd = hook_cwd(config, phase, state)
    for index, hook in enumerate(hooks):
        try:
            run_hook(hook, payload, cwd)
        except Internal as exc:
            raise Internal(f"error running {phase} hook #{index}: {exc}") from None


def hook_cwd(config: dict[str, Any], phase: str, state: dict[str, Any]) -> str | None:
    """Where runc's process is when it runs ``phase`` hooks; None: keep the current one."""
    bundle = state.get("bundle")
    if not isinstance(bundle, str) or not bundle:
        return None
    if phase in ("prestart", "createRuntime", "poststart"):
        return bundle
    if phase == "createContainer":
        root = (config.get("root") or {}).get("path")
        return ospath.join(bundle, root) if isinstance(root, str) and root else None
    return None


def run_hook(hook: dict[str, Any], payload: bytes, cwd: str | None = None) -> None:
    """fork+exec one hook in ``cwd``, feed ``payload`` on stdin, wait with its timeout."""
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env") or []
    timeout = hook.get("timeout")
    env_map = dict(e.split("=", 1) for e in env if "=" in e)
    stdin_r, stdin_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.dup2(stdin_r, 0)
            os.dup2(err_w, 1)
            os.dup2(err_w, 2)
            os.setsid()
            if cwd is not None:
                try:
                    os.chdir(cwd)
                except OSError as exc:
                    os.write(2, f"chdir {cwd}: {exc.strerror}".encode())
                    os._exit(127)
            os.execve(path, args, env_map)
        except OSError as exc:
            os.write(2, f"exec {path}: {exc.strerror}".encode())
        os._exit(127)
    os.close(stdin_r)
    os.close(err_w)
    try:
        try:
            os.write(stdin_w, payload)
        except BrokenPipeError:
            pass
        os.close(stdin_w)
        os.set_blocking(err_r, False)
        chunks: list[bytes] = []
        status = _wait(pid, timeout, lambda: _drain(err_r, chunks))
        _drain(err_r, chunks)
        output = b"".join(chunks)[-4096:].decode(errors="replace").strip()
    finally:
        os.close(err_r)
    if status is None:
        raise Internal(f"{path}: hook ran past specified timeout of {float(timeout or 0):.1f}s")
    if status != 0:
        detail = f": {output.splitlines()[-1]}" if output else ""
        raise Internal(f"{path}: exit status {status}{detail}")


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            return
        chunks.append(data)
        del chunks[:-4]


def _wait(pid: int, timeout: int | None, poll: Callable[[], None]) -> int | None:
    """waitpid with an optional timeout; on timeout kill the hook's group and return None.

    A timeout of 0 or less has run out before the first look.
    """
    if timeout is not None and timeout <= 0:
        _kill(pid)
        return None
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        poll()
        if deadline is not None and time.monotonic() >= deadline:
            _kill(pid)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _kill(pid: int) -> None:
    """SIGKILL the hook's process group (or the hook alone before its setsid) and reap it."""
    try:
        os.killpg(pid, 9)
    except OSError:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
