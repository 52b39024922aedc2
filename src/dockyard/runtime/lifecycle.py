"""The runtime's side of a container's life: create, start, signal, wait and delete.

``create`` forks the init (see :mod:`dockyard.runtime.init`), talks to it over a channel
until it reports ``ready``, records the state and returns; any failure on the way undoes
everything (processes, cgroups, the state directory). ``start`` opens the exec fifo, which
releases the waiting init into execve.
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath
import time

from dockyard.errors import FailedPrecondition, Internal, InvalidArgument, NotFound
from dockyard.runtime import hooks, ospath
from dockyard.runtime import state as st
from dockyard.runtime.channel import Channel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups import Manager
    from dockyard.runtime.context import Context
    from dockyard.runtime.log import Logger


class CreateOptions:
    """Flags of ``create``/``run`` that shape the new container."""

    def __init__(
        self,
        pid_file: str = "",
        console_socket: str = "",
        no_pivot: bool = False,
        no_new_keyring: bool = False,
        preserve_fds: int = 0,
        verb: str = "create",
    ) -> None:
        self.verb = verb  # names the command in errors: "runc run failed: ..."
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds


def load_config(bundle: str, log: Logger | None = None) -> dict[str, Any]:
    """The bundle's validated config.json; what runc would warn about goes to ``log``."""
    from dockyard.oci.runtime_spec import load_bundle_with_warnings

    config, warnings = load_bundle_with_warnings(bundle)
    if log is not None:
        for warning in warnings:
            log.warning(warning)
    return config


def create(
    ctx: Context,
    container_id: str,
    bundle: str,
    opts: CreateOptions,
    console_fd: int = -1,
) -> st.ContainerState:
    """Create a container whose init waits on the exec fifo; return its state record.

    The init is forked first, so that its imports run on the other CPU while this process
    validates the config and makes the cgroups; it waits for ``go``, which carries both.
    The init then joins its cgroups by itself, without the wait every cgroup.procs write
    pays after a quiet period (an RCU grace period, 5-30 ms here): it writes 0 to the v1
    ``tasks`` files, and its PID-namespace child is born in the cgroup2 directory (see
    :meth:`~dockyard.runtime.cgroups.Manager.thread_dirs`).
    """
    from dockyard.runtime.init import run_init

    bundle = ospath.abspath(bundle)
    st.validate_id(container_id)
    if opts.pid_file:
        opts.pid_file = ospath.abspath(opts.pid_file)
    if opts.console_socket:
        opts.console_socket = ospath.abspath(opts.console_socket)
    try:  # as runc: hooks with relative paths, and their working directory, are the bundle's
        os.chdir(bundle)
    except OSError as exc:
        raise NotFound(f"chdir {bundle}: {exc.strerror}") from None
    own_console = False
    if opts.console_socket:  # before the fork: the init inherits the connection
        from dockyard.runtime import console

        console_fd = console.connect(opts.console_socket)
        own_console = True
    parent, child_end = Channel.pair()
    child = os.fork()
    if child == 0:
        parent.close()
        run_init(child_end)
    child_end.close()
    store = st.StateStore(ctx.root)
    state: st.ContainerState | None = None
    manager: Manager | None = None
    init_pid = -1
    try:
        config = load_config(bundle, ctx.log)
        _check_console(config, console_fd, opts)
        planned = _plan_cgroups(container_id, config)
        state = store.reserve(
            container_id,
            {
                "bundle": bundle,
                "rootfs": _rootfs_of(bundle, config),
                "created": st.now_rfc3339(),
                "config": config,
                "cgroup": planned.to_state(),
                "complete": False,
            },
        )
        planned.create()
        manager = planned
        os.mkfifo(state.fifo_path, 0o622)
        os.chmod(state.fifo_path, 0o622)
        clone_into = manager.process_dir() if forks_into_cgroup(config) else ""
        init_opts = _init_options(state, manager, clone_into, console_fd, opts)
        parent.send({"type": "go", "config": config, "opts": init_opts})
        # while the init enters its namespaces; it waits for "cgroups" before building the root
        _set_resources(manager, config)
        if own_console:
            os.close(console_fd)
            own_console = False
        init_pid = _drive_init(parent, child, state, config, manager if not clone_into else None, opts.verb)
        state.data.update({"pid": init_pid, "pid_start": st.process_start_time(init_pid), "complete": True})
        state.save()
        if opts.pid_file:
            write_pid_file(opts.pid_file, init_pid)
    except BaseException:
        _undo(store, state, manager, child, init_pid)
        raise
    finally:
        parent.close()
        if own_console:
            os.close(console_fd)
    return state


def _rootfs_of(bundle: str, config: dict[str, Any]) -> str:
    rootfs = ospath.normpath(ospath.join(bundle, (config.get("root") or {}).get("path", "")))
    if not ospath.isdir(rootfs):
        raise InvalidArgument(f"rootfs ({rootfs}) does not exist")
    return rootfs


def _check_console(config: dict[str, Any], console_fd: int, opts: CreateOptions) -> None:
    terminal = bool((config.get("process") or {}).get("terminal"))
    if terminal and console_fd < 0:
        raise InvalidArgument("cannot allocate tty if runc will detach without setting console socket")
    if not terminal and opts.console_socket:
        raise InvalidArgument("cannot use console socket if runc will not detach or allocate tty")


def forks_into_cgroup(config: dict[str, Any]) -> bool:
    """Whether the init's child can be born in the cgroup2 directory: it forks only for a
    PID namespace, and inside a user namespace it may lack the right to write there."""
    kinds = {ns.get("type") for ns in (config.get("linux") or {}).get("namespaces") or []}
    return "pid" in kinds and "user" not in kinds


def _plan_cgroups(container_id: str, config: dict[str, Any]) -> Manager:
    """The container's cgroups, not made yet."""
    from dockyard.runtime.cgroups import open_manager

    return open_manager((config.get("linux") or {}).get("cgroupsPath") or "", container_id)


def _set_resources(manager: Manager, config: dict[str, Any]) -> None:
    """Write ``linux.resources``; on v1 with runc's default device rules (v2 device rules
    would need eBPF)."""
    from dockyard.runtime.device_rules import with_default_devices

    linux_cfg = config.get("linux") or {}
    resources = linux_cfg.get("resources") or {}
    if manager.version == 1:
        resources = with_default_devices(resources, linux_cfg.get("devices"))
    manager.set(resources)


def _init_options(
    state: st.ContainerState, manager: Manager, clone_into: str, console_fd: int, opts: CreateOptions
) -> dict[str, object]:
    from dockyard.runtime.init import InitOptions
    from dockyard.runtime.seccomp_cache import cache_dir_of

    return InitOptions(
        rootfs=str(state.data["rootfs"]),
        fifo_path=state.fifo_path,
        cgroup_paths=manager.to_state().get("paths") or {},
        cgroup_threads=manager.thread_dirs(),
        cgroup_clone_into=clone_into,
        console_fd=console_fd,
        no_pivot=opts.no_pivot,
        no_new_keyring=opts.no_new_keyring,
        preserve_fds=opts.preserve_fds,
        container_id=state.id,
        bundle=state.bundle,
        seccomp_cache=cache_dir_of(ospath.dirname(state.directory)),
    ).to_dict()


def _drive_init(
    chan: Channel,
    child: int,
    state: st.ContainerState,
    config: dict[str, Any],
    manager: Manager | None,
    verb: str,
) -> int:
    """Answer the init's requests until it is ready; return the init's pid. ``manager``, when
    given, moves the init into its cgroup2 directory as soon as its pid is known."""
    from dockyard.runtime.namespaces import write_id_maps

    linux_cfg = config.get("linux") or {}
    init_pid = -1
    reap = False  # the intermediate process, reaped once the init is not waiting for us
    # Messages come in order: "userns" (if any), "pid" (the init speaks only after it,
    # see channel.fork_reporting_pid), then the init's "cgroups"/"hooks" and "ready".
    while True:
        msg = chan.recv()
        kind = msg.get("type")
        if "error" in msg:
            raise Internal(f"runc {verb} failed: unable to start container process: {msg['error']}")
        if init_pid < 0 and kind not in ("userns", "pid"):
            raise Internal(f"runc {verb} failed: container init sent {kind!r} before its pid")
        if kind == "userns":
            write_id_maps(child, linux_cfg)
            chan.send({"type": "mapped"})
        elif kind == "pid":
            init_pid = int(msg["pid"])
            reap = init_pid != child  # the intermediate process exits at once
            state.data["pid"] = init_pid
            state.data["pid_start"] = st.process_start_time(init_pid)
            if manager is not None:
                manager.apply_process(init_pid)
        elif kind == "cgroups":
            chan.send({"type": "continue"})
            # while the init builds its root: reap, and record the pid (a create killed
            # from now on leaves a record that delete can clean up)
            if reap:
                os.waitpid(child, 0)
                reap = False
            state.save()
        elif kind == "hooks":
            hook_state = state.hook_state(st.CREATING)
            try:
                hooks.run_hooks(config, "prestart", hook_state)
                hooks.run_hooks(config, "createRuntime", hook_state)
            except Internal as exc:
                chan.send({"type": "abort"})
                raise Internal(f"runc {verb} failed: {exc}") from None
            chan.send({"type": "continue"})
        elif kind == "ready":
            return init_pid


def _undo(
    store: st.StateStore,
    state: st.ContainerState | None,
    manager: Manager | None,
    child: int,
    init_pid: int,
) -> None:
    """Take back everything a failed create did."""
    for pid in {child, init_pid}:
        if pid > 0:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    if child > 0:
        try:
            os.waitpid(child, 0)
        except ChildProcessError:
            pass
    if init_pid > 0 and init_pid != child:
        _wait_gone(init_pid, 2.0)
    if manager is not None:
        try:
            manager.kill_all(9)
        except Exception:
            pass
        manager.destroy()
    if state is not None:
        store.remove(state)


def write_pid_file(path: str, pid: int) -> None:
    tmp = ospath.join(ospath.dirname(ospath.abspath(path)), f".{ospath.basename(path)}.tmp")
    st.write_file(tmp, str(pid).encode())
    os.replace(tmp, path)


def start(ctx: Context, state: st.ContainerState) -> None:
    """Release a created container's init into its process; run poststart hooks."""
    status = state.status()
    if status != st.CREATED:
        raise FailedPrecondition(
            {
                st.STOPPED: "cannot start a container that has stopped",
                st.RUNNING: "cannot start an already running container",
                st.PAUSED: "cannot start a paused container",
            }.get(status, f"cannot start a container in the {status} state")
        )
    fd = os.open(state.fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        data = _read_fifo(fd, state)
    finally:
        os.close(fd)
    if data != b"0":
        raise Internal("cannot start an already running container")
    try:
        os.unlink(state.fifo_path)
    except FileNotFoundError:
        pass
    try:
        hooks.run_hooks(state.config, "poststart", state.hook_state(st.RUNNING))
    except Internal as exc:
        ctx.log.warning(str(exc))


def _read_fifo(fd: int, state: st.ContainerState) -> bytes:
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        if poller.poll(20):
            data = os.read(fd, 1)
            if data:
                return data
        if not state.init_alive():
            raise FailedPrecondition("cannot start a container that has stopped")


def _wait_gone(pid: int, timeout: float, start_time: int | None = None) -> bool:
    """Poll until ``pid`` is gone or a zombie; True if it went within ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        ps = st.process_state(pid)
        if ps is None or ps[0] in ("Z", "X"):
            return True
        if start_time is not None and st.process_start_time(pid) != start_time:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def signal(state: st.ContainerState, sig: int, all_processes: bool = False) -> None:
    """Send ``sig`` to the init (or every process of the container with ``all_processes``)."""
    status = state.status()
    if status in (st.STOPPED, st.CREATING) and not all_processes:
        raise FailedPrecondition("container not running")
    if all_processes:
        from dockyard.runtime.cgroups import manager_from_state

        manager = manager_from_state(state.cgroup)
        manager.kill_all(sig)
        if status == st.PAUSED and sig == 9:
            manager.thaw()
        return
    try:
        os.kill(state.pid, sig)
    except ProcessLookupError:
        raise FailedPrecondition("container not running") from None


def delete(ctx: Context, state: st.ContainerState, force: bool = False) -> None:
    """Remove a stopped (or created, or with ``force`` any) container and its resources."""
    status = state.status()
    if status in (st.RUNNING, st.PAUSED) and not force:
        raise FailedPrecondition(
            f"cannot delete container {state.id} that is not stopped: {status}"
        )
    cgroup_state = state.cgroup
    manager = None
    if cgroup_state:
        from dockyard.runtime.cgroups import manager_from_state

        manager = manager_from_state(cgroup_state)
    if status != st.STOPPED and state.pid > 0:
        if manager is not None:
            manager.kill_all(9)
            if status == st.PAUSED:
                manager.thaw()
        try:
            os.kill(state.pid, 9)
        except ProcessLookupError:
            pass
        _wait_gone(state.pid, 10.0, state.data.get("pid_start"))
    if manager is not None:
        if manager.pids():  # leftovers (no PID namespace): freeze, kill, thaw
            manager.kill_all(9)
        manager.destroy()
    poststop_state = state.hook_state(st.STOPPED)
    poststop_state.pop("pid", None)  # the process is gone: runc omits pid (0) here
    try:
        hooks.run_hooks(state.config, "poststop", poststop_state)
    except Internal as exc:
        ctx.log.warning(str(exc))
    st.StateStore(ctx.root).remove(state)
