"""dockyard-shim: one small process per container, between the daemon and the OCI runtime.

The shim creates the container with the runtime (dockyard-runc by default, runc or crun
when configured), owns its stdio (the client's fifos, or a pty relayed to them), reaps its
processes as a child subreaper, keeps their exit status and time until ``delete``, and
publishes task events. It is detached from the daemon, so containers outlive a daemon that
restarts or is killed; the daemon reconnects to the socket and asks again.

Modules: :mod:`~dockyard.shim.protocol` (wire format), :mod:`~dockyard.shim.server`
(socket, dispatch), :mod:`~dockyard.shim.task` (lifecycle), :mod:`~dockyard.shim.runtime`
(runtime commands), :mod:`~dockyard.shim.stdio` / :mod:`~dockyard.shim.relay` (fifos,
pty), :mod:`~dockyard.shim.events` (the Publisher seam), :mod:`~dockyard.shim.statefile`,
:mod:`~dockyard.shim.daemon` (detach, serve), :mod:`~dockyard.shim.launcher` (forking
shims from one lean process), :mod:`~dockyard.shim.cleanup` (after a shim died),
:mod:`~dockyard.shim.client` (the daemon's side), :mod:`~dockyard.shim.main` (CLI).

Protocol
========

Newline-delimited JSON over the unix socket ``<state dir>/shim.sock`` (details and error
codes in :mod:`dockyard.shim.protocol`). A request is ``{"id": ID, "op": OP, ...args}``;
the answer ``{"id": ID, "result": {...}}`` or ``{"id": ID, "error": {"code", "message"}}``.
``exec_id`` "" (or absent) means the init. Times are nanoseconds since the epoch.

==============  ==========================================  ===================================
op              arguments                                   result
==============  ==========================================  ===================================
connect, ping   -                                           version, shim_pid, container_id,
                                                            namespace, bundle, runtime, pid,
                                                            status
create          terminal, stdin, stdout, stderr (paths),    pid
                no_pivot, no_new_keyring
start           exec_id                                     pid
state           exec_id                                     container_id, exec_id, pid, status,
                                                            terminal, stdin, stdout, stderr,
                                                            exit_status, exited_at, bundle
kill            exec_id, signal (number or name; 15), all   -
exec            exec_id, spec (an OCI process), terminal,   -   (start it with start+exec_id)
                stdin, stdout, stderr
resize_pty      exec_id, width, height                      -
close_io        exec_id, stdin (true)                       -
pause, resume   -                                           -
update          resources (OCI linux.resources)             -
pids            -                                           processes: [{pid, exec_id}]
stats           -                                           stats (runc events --stats data)
wait            exec_id                                     pid, exit_status, exited_at (when
                                                            the process has exited)
delete          exec_id                                     pid, exit_status, exited_at
subscribe       since (replay logged events after it)       seq; then {"event": {...}} lines
shutdown        now (exit even if the task is not deleted)  -   (then the shim exits)
==============  ==========================================  ===================================

Status values: created, running, paused, stopped. Error codes: NOT_FOUND (no such process,
or it already finished, for kill), ALREADY_EXISTS, INVALID_ARGUMENT, FAILED_PRECONDITION
(wrong state: delete of a running process, exec in a stopped task, shutdown of an undeleted
task), UNIMPLEMENTED (unknown op), INTERNAL (the runtime failed: its own message, read from
its JSON log, e.g. ``OCI runtime create failed: ... exec: "nope": executable file not found in
$PATH``).
"""
