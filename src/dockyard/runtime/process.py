"""The last steps before the container's process runs, shared by init and exec.

Order (runc's): rlimits and oom_score_adj while still privileged, no_new_privs, the
capability bounding set, supplementary groups, gid and uid (keeping capabilities across the
uid change), the effective/permitted/inheritable sets, ambient capabilities, umask and the
working directory, then seccomp as the very last step before execve.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound
from dockyard.runtime import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.syscalls import Syscalls

def environment(process: dict[str, Any]) -> dict[str, str]:
    """process.env as a dict, with HOME filled in from /etc/passwd when missing (as runc)."""
    env: dict[str, str] = {}
    for item in process.get("env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    if "HOME" not in env:
        uid = int((process.get("user") or {}).get("uid", 0))
        env["HOME"] = _home_of(uid)
    return env


def _home_of(uid: int) -> str:
    try:
        with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def lookup_executable(name: str, env: dict[str, str], cwd: str = "/") -> str:
    """Resolve args[0] like exec.LookPath in the current root; NotFound as runc words it."""
    if "/" in name:
        path = name if name.startswith("/") else os.path.join(cwd, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return name
        if not os.path.exists(path):
            raise NotFound(f'exec: "{name}": stat {name}: no such file or directory')
        raise NotFound(f'exec: "{name}": permission denied')
    search_path = env.get("PATH", "")  # like Go's exec.LookPath in runc: no default PATH
    for directory in search_path.split(":") if search_path else []:
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise NotFound(f'exec: "{name}": executable file not found in $PATH')


def apply_limits(process: dict[str, Any]) -> None:
    """rlimits and oom_score_adj, applied while the process is still privileged."""
    if process.get("rlimits"):
        from dockyard.runtime import rlimits

        rlimits.apply(process["rlimits"])
    if process.get("oomScoreAdj") is not None:
        from dockyard.runtime import rlimits

        rlimits.apply_oom_score_adj(int(process["oomScoreAdj"]))


def apply_identity(sys: Syscalls, process: dict[str, Any], seccomp_filter: Any = None) -> None:
    """Capabilities, uid/gid/groups, no_new_privs of ``process`` on the calling process.

    Without noNewPrivileges the seccomp filter must be loaded while CAP_SYS_ADMIN is still
    effective (the kernel refuses it otherwise), so it is loaded here, first; with
    noNewPrivileges it is loaded by :func:`execute`, as the last step.
    """
    from dockyard.runtime import capabilities as caps

    user = process.get("user") or {}
    uid = int(user.get("uid", 0))
    gid = int(user.get("gid", 0))
    groups = [int(g) for g in user.get("additionalGids") or []]
    nnp = bool(process.get("noNewPrivileges"))
    if seccomp_filter is not None and not nnp:
        seccomp_filter.load()
    sets = caps.from_config(process.get("capabilities"))

    def change_user() -> None:
        try:
            os.setgroups(groups)
        except OSError as exc:
            if groups or exc.errno != 1:  # EPERM in a user namespace with setgroups denied
                raise
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)

    caps.apply_all(sys, sets, change_user)
    if nnp:
        sys.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    if user.get("umask") is not None:
        os.umask(int(user["umask"]))


def change_dir(cwd: str) -> None:
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise InvalidArgument(f"chdir to cwd ({cwd!r}) set in config.json failed: {exc.strerror}") from None


def compile_seccomp(config: dict[str, Any], cache_dir: str = "") -> Any:
    """Compile linux.seccomp (before privileges drop); None when there is none. With
    ``cache_dir``, through the cache of compiled programs there (seccomp_cache)."""
    section = (config.get("linux") or {}).get("seccomp")
    if not section:
        return None
    from dockyard.runtime import seccomp

    return seccomp.compile_filter(section, cache_dir)


def execute(path: str, args: list[str], env: dict[str, str], seccomp_filter: Any, nnp: bool) -> None:
    """With noNewPrivileges load seccomp now, as the last step, then execve. Raises on failure."""
    if seccomp_filter is not None and nnp:
        seccomp_filter.load()
    os.execve(path, args, env)


class Resolved:
    """The process, resolved inside the container, ready for execve."""

    def __init__(self, path: str, args: list[str], env: dict[str, str], cwd: str, seccomp: Any) -> None:
        self.path = path
        self.args = args
        self.env = env
        self.cwd = cwd
        self.seccomp = seccomp


def resolve(process: dict[str, Any], seccomp_filter: Any, preserve_fds: int) -> Resolved:
    """Inside the container, still privileged: environment, working directory, the
    executable, rlimits and oom_score_adj, and the extra fds to pass on (3..3+N-1)."""
    env = environment(process)
    cwd = process.get("cwd") or "/"
    change_dir(cwd)
    args = list(process.get("args") or [])
    path = lookup_executable(args[0], env, cwd)
    apply_limits(process)
    for fd in range(3, 3 + preserve_fds):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    return Resolved(path, args, env, cwd, seccomp_filter)
