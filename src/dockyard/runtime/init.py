"""The container's init, from fork to execve (the child side of ``create``).

Forked first thing in ``create``, it imports what it will need while the runtime validates
the config and makes the cgroups, then receives both with ``go``. Stage 1: enter the user
namespace (the parent writes the id maps), join or create the other namespaces, and fork
again when a PID namespace applies, so the grandchild is PID 1; the parent moves it into
the cgroups meanwhile (a cgroup namespace is created only after the move). Stage 2 (the
init): build the root filesystem, let the parent run prestart/createRuntime hooks, run
createContainer hooks, pivot_root, configure hostname, sysctls, masked and read-only paths,
drop privileges, report ``ready``, then block on the exec fifo until ``start`` opens it,
run startContainer hooks, load seccomp and execve the process.

Errors before ``ready`` travel to the parent as ``{"error": ...}`` and fail ``create``.
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError, Internal
from dockyard.runtime import hooks, linux
from dockyard.runtime.channel import child_main, describe, fork_reporting_pid
from dockyard.runtime.namespaces import NamespacePlan, bring_up_loopback, join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from dockyard.runtime.channel import Channel
    from dockyard.runtime.process import Resolved
    from dockyard.runtime.syscalls import Syscalls


class InitOptions:
    """What the parent hands the init besides the config."""

    def __init__(
        self,
        rootfs: str,
        fifo_path: str,
        cgroup_paths: dict[str, str],
        cgroup_threads: list[str] | None = None,
        cgroup_clone_into: str = "",
        console_fd: int = -1,
        no_pivot: bool = False,
        no_new_keyring: bool = False,
        preserve_fds: int = 0,
        container_id: str = "",
        bundle: str = "",
        seccomp_cache: str = "",
    ) -> None:
        self.rootfs = rootfs
        self.fifo_path = fifo_path
        self.cgroup_paths = cgroup_paths
        self.cgroup_threads = cgroup_threads or []  # v1 dirs the init joins by itself
        self.cgroup_clone_into = cgroup_clone_into  # cgroup2 dir its PID-namespace child is born in
        self.console_fd = console_fd
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.container_id = container_id
        self.bundle = bundle
        self.seccomp_cache = seccomp_cache  # compiled seccomp programs (seccomp_cache)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InitOptions:
        return cls(**data)

    def hook_state(self, status: str) -> dict[str, object]:
        return {
            "ociVersion": "1.0.2-dev",
            "id": self.container_id,
            "status": status,
            "pid": os.getpid(),
            "bundle": self.bundle,
        }


def run_init(chan: Channel) -> NoReturn:
    """Entry of the child forked at the start of ``create``. Never returns.

    It is forked before the runtime has even read config.json, so that its imports
    (ctypes, the root file system and security modules) run on the other CPU while the
    runtime validates the config and makes the cgroups; then it waits for ``go``, which
    carries the config and the :class:`InitOptions`.
    """

    def body() -> None:
        from dockyard.runtime.syscalls import LinuxSyscalls

        sys = LinuxSyscalls()
        preload_modules()
        go = chan.recv("runtime")
        if go.get("type") == "go":
            preload_for(go["config"])
            _stage1(sys, chan, go["config"], InitOptions.from_dict(go["opts"]))

    child_main(chan, body)


def _stage1(sys: Syscalls, chan: Channel, config: dict[str, Any], opts: InitOptions) -> None:
    from dockyard.runtime.cgroups.fs import join_self

    join_self(opts.cgroup_threads)  # as host root, before any namespace
    linux_cfg = config.get("linux") or {}
    plan = NamespacePlan(linux_cfg.get("namespaces") or [])
    # while still host root in the host's mount namespace: a mapped uid may not read the
    # interpreter's library (e.g. under /root), and the root changes later
    from dockyard.runtime import process

    seccomp_filter = process.compile_seccomp(config, opts.seccomp_cache)  # dlopen of libseccomp from the host
    # opened as host root: a mapped root may not traverse the state directory
    fifo_fd = os.open(opts.fifo_path, os.O_PATH | os.O_CLOEXEC)
    cgroup_fd = open_cgroup_dir(opts.cgroup_clone_into)
    joins = plan.open_joins()
    join(sys, joins, ("user",))
    if plan.new("user"):
        sys.unshare(linux.CLONE_NEWUSER)
        chan.send({"type": "userns"})
        chan.recv("runtime")  # maps written
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    join(sys, joins, tuple(k for k in linux.NAMESPACE_FLAGS if k != "user"))  # mount last
    # the cgroup namespace waits until the parent has moved the init into its cgroups
    flags = plan.unshare_flags(exclude=("user", "cgroup"))
    if flags:
        sys.unshare(flags)
    if plan.has("pid"):
        fork_reporting_pid(chan, cgroup_fork(sys, cgroup_fd))
    else:
        chan.send({"type": "pid", "pid": os.getpid()})
    _stage2(sys, chan, config, opts, plan, seccomp_filter, fifo_fd)


def open_cgroup_dir(directory: str) -> int:
    """An fd of the cgroup2 ``directory`` to fork into, or -1 for ""."""
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if directory else -1


def cgroup_fork(sys: Syscalls, cgroup_fd: int) -> Callable[[], int]:
    """A fork whose child is born in the cgroup ``cgroup_fd`` (plain fork for -1); the fd is
    closed on both sides once forked."""
    if cgroup_fd < 0:
        return os.fork

    def fork() -> int:
        try:
            return sys.fork_into_cgroup(cgroup_fd)
        finally:
            os.close(cgroup_fd)

    return fork


def preload_modules() -> None:
    """Import everything any init needs after the root changes: after pivot_root, or setns
    into the container's mount namespace, or in a user namespace whose root may not read the
    interpreter's library, the host's Python modules are out of reach. What only some
    configurations need comes from :func:`preload_for`, once the config is known."""
    import _socket  # noqa: F401  (loopback)
    import fcntl  # noqa: F401

    from dockyard.runtime import capabilities, process, rootfs  # noqa: F401

    capabilities.last_cap()


def preload_for(config: dict[str, Any]) -> None:
    """The modules only some configs need: the terminal's, the rlimits' and seccomp's
    (whose filter is loaded, after the root changed, by :func:`process.execute`)."""
    proc_cfg = config.get("process") or {}
    if proc_cfg.get("terminal"):
        import select  # noqa: F401

        from dockyard.runtime import console  # noqa: F401
    if proc_cfg.get("rlimits") or proc_cfg.get("oomScoreAdj") is not None:
        import resource  # noqa: F401

        from dockyard.runtime import rlimits  # noqa: F401
    if (config.get("linux") or {}).get("seccomp"):
        from dockyard.runtime import seccomp, seccomp_enosys  # noqa: F401


def preload(config: dict[str, Any], seccomp_cache: str = "") -> Any:
    """:func:`preload_modules` and :func:`preload_for`, then compile seccomp (libseccomp is
    dlopen'ed from the host). Returns the seccomp filter or None."""
    from dockyard.runtime import process

    preload_modules()
    preload_for(config)
    return process.compile_seccomp(config, seccomp_cache)


def _stage2(
    sys: Syscalls,
    chan: Channel,
    config: dict[str, Any],
    opts: InitOptions,
    plan: NamespacePlan,
    seccomp_filter: Any,
    fifo_fd: int,
) -> NoReturn:
    from dockyard.runtime import process

    prepared = setup_container(sys, chan, config, opts, plan, seccomp_filter)
    proc_cfg = config.get("process") or {}
    process.apply_identity(sys, proc_cfg, prepared.seccomp)
    process.change_dir(prepared.cwd)
    # a process that changed uid is not dumpable and could not reopen its own /proc/self/fd
    # entry; execve resets the flag anyway
    sys.prctl(linux.PR_SET_DUMPABLE, 1)
    chan.send({"type": "ready"})
    chan.close()
    # block until `start` opens the fifo for reading
    fd = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fd, b"0")
    os.close(fd)
    os.close(fifo_fd)
    try:
        hooks.run_hooks(config, "startContainer", opts.hook_state("created"))
        nnp = bool(proc_cfg.get("noNewPrivileges"))
        process.execute(prepared.path, prepared.args, prepared.env, prepared.seccomp, nnp)
    except BaseException as exc:
        os.write(2, f"dockyard-runc init: {describe(exc)}\n".encode())
    os._exit(127)


def _wait_for_cgroups(chan: Channel) -> None:
    chan.send({"type": "cgroups"})
    chan.recv("runtime")


def setup_container(
    sys: Syscalls,
    chan: Channel,
    config: dict[str, Any],
    opts: InitOptions,
    plan: NamespacePlan,
    seccomp_filter: Any = None,
) -> Resolved:
    """Everything between entering the namespaces and ``ready``: root, hooks, host name,
    sysctls, masked paths, the terminal; then resolve the process. Every privileged step
    goes through ``sys``."""
    from dockyard.runtime import process, rootfs

    linux_cfg = config.get("linux") or {}
    proc_cfg = config.get("process") or {}
    if not opts.no_new_keyring:
        try:
            sys.join_session_keyring(f"_ses.{opts.container_id}")
        except OSError as exc:
            if exc.errno not in (38, 13):  # ENOSYS, EACCES: keyrings unavailable
                raise
    new_mount_ns = plan.new("mount")
    _wait_for_cgroups(chan)  # limits and device rules are written by now
    if plan.new("cgroup"):
        sys.unshare(linux.CLONE_NEWCGROUP)
    if new_mount_ns:
        rootfs.prepare_rootfs(
            sys,
            config,
            opts.rootfs,
            cgroup_paths=opts.cgroup_paths,
            cgroup_ns=plan.has("cgroup"),
            user_ns=plan.has("user"),
            bundle=opts.bundle,
        )
    # the parent answers once the init is in its cgroups and prestart/createRuntime ran
    chan.send({"type": "hooks"})
    if chan.recv("runtime").get("type") != "continue":  # a prestart/createRuntime hook failed
        raise Internal("create aborted by the runtime")
    hooks.run_hooks(config, "createContainer", opts.hook_state("creating"))
    if new_mount_ns:
        if opts.no_pivot:
            rootfs.chroot_root(sys, opts.rootfs)
        else:
            rootfs.pivot_root(sys, opts.rootfs)
    else:
        sys.chroot(opts.rootfs)
        sys.chdir("/")
    if plan.new("network"):
        bring_up_loopback()
    if plan.has("uts"):
        if config.get("hostname"):
            sys.sethostname(config["hostname"])
        if config.get("domainname"):
            sys.setdomainname(config["domainname"])
    for key, value in (linux_cfg.get("sysctl") or {}).items():
        try:
            sys.write_file("/proc/sys/" + key.replace(".", "/"), str(value))
        except OSError as exc:
            raise OSError(exc.errno, f"sysctl {key}={value}: {exc.strerror}") from None
    cwd = proc_cfg.get("cwd") or "/"
    if not os.path.isdir(cwd):  # runc creates a missing cwd before the root turns read-only
        sys.mkdir_p(cwd, 0o755)
    if proc_cfg.get("terminal"):
        if opts.console_fd < 0:
            raise DockyardError("process.terminal is set but no console socket was given")
        from dockyard.runtime import console  # preloaded for a terminal (preload_for)

        console.setup_pty(opts.console_fd, sys if new_mount_ns else None)
    if new_mount_ns:
        rootfs.finalize_rootfs(sys, config)
    return process.resolve(proc_cfg, seccomp_filter, opts.preserve_fds)
