"""What ``run``, ``create`` and ``start -a`` share: create (pulling a missing image), attach, wait.

- ``create_container``: docker's ``createContainer``: the cid file, ``--pull always``,
  the console size, ``POST /containers/create?name=&platform=``, and on a 404 with
  ``--pull missing`` "Unable to find image 'busybox:latest' locally", a pull and one more
  try; daemon warnings are printed as ``WARNING: ...``.
- ``PendingWait``: ``POST /containers/{id}/wait?condition=...`` sent before the container
  starts (so a fast exit is not missed) and read when the session ends: the exit status,
  or 125 with "Error waiting for container: ..." (a logrus line) when the daemon says so.
- ``Session``: one attached container or exec: the hijacked connection, the local terminal
  in raw mode (``-it``), window sizes forwarded (at start and on every SIGWINCH), signals
  forwarded to the container (``--sig-proxy``), the streams pumped until the output ends
  or the detach keys are typed; the terminal is restored on every way out. ``attach``
  opens one on ``POST /containers/{id}/attach``; ``close_all`` is the way out of
  ``run``, ``start -a`` and ``attach`` (signals, terminal, the pending wait).
- ``start_error_status``: docker's ``runStartContainerErr``: 127 when the command was not
  found, 126 when it could not be run, else 125.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]

from dockyard.cli import httpio, logrus, streams, terminal
from dockyard.cli.client import USER_AGENT, raise_for_status
from dockyard.errors import DockyardError, NotFound
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from dockyard.cli.client import Client, Hijacked
    from dockyard.cli.command import Cli

# the signals --sig-proxy forwards (docker forwards all but SIGCHLD, SIGPIPE and the runtime's)
PROXIED = {"HUP": _signal.SIGHUP, "INT": _signal.SIGINT, "QUIT": _signal.SIGQUIT, "USR1": _signal.SIGUSR1,
           "USR2": _signal.SIGUSR2, "TERM": _signal.SIGTERM, "ALRM": _signal.SIGALRM}


def start_error_status(message: str) -> int:
    text = message.removeprefix("Error response from daemon: ")
    if any(s in text for s in ("executable file not found", "no such file or directory",
                               "system cannot find the file specified")):
        return 127
    if "permission denied" in text or "is a directory" in text:
        return 126
    return 125


def _cid_file(path: str) -> Any:
    if not path:
        return None
    try:
        import posix

        posix.stat(path)
    except OSError:
        pass
    else:
        raise DockyardError(f"container ID file found, make sure the other container isn't running or delete {path}")
    try:
        return open(path, "w")  # closed (or removed) by create_container
    except OSError as exc:
        raise DockyardError(f"failed to create the container ID file: {exc}") from None


def create_container(cli: Cli, body: dict[str, Any], name: str = "", platform: str = "", pull: str = "missing",
                     quiet: bool = False) -> str:
    """Create the container of ``body``; returns its ID."""
    cid_file = _cid_file(body["HostConfig"].get("ContainerIDFile", ""))
    written = False
    try:
        image = body["Image"]
        if pull == "always":
            from dockyard.cli import ctr_pull

            ctr_pull.pull_image(cli, image, platform, quiet)
        out_fd = streams.input_fd(cli.out)
        if out_fd is not None:
            body["HostConfig"]["ConsoleSize"] = list(terminal.size(out_fd))
        query = {"name": name or None, "platform": platform or None}
        try:
            reply = cli.client.post("/containers/create", query, body)
        except NotFound:
            named = _named(image)
            if named is None or pull != "missing":
                raise
            if not quiet:
                cli.err.write(f"Unable to find image '{named}' locally\n")
                cli.err.flush()
            from dockyard.cli import ctr_pull

            ctr_pull.pull_image(cli, image, platform, quiet)
            reply = cli.client.post("/containers/create", query, body)
        reply = reply or {}
        for warning in reply.get("Warnings") or []:
            cli.err.write(f"WARNING: {warning}\n")
        container_id = str(reply.get("Id", ""))
        if cid_file is not None:
            cid_file.write(container_id)
            written = True
        return container_id
    finally:
        if cid_file is not None:
            cid_file.close()
            if not written:
                import posix

                try:
                    posix.unlink(cid_file.name)
                except OSError:
                    pass


def _named(image: str) -> str | None:
    """The familiar ``name:tag`` of a reference, None for an image ID or a bad reference."""
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_reference

    if image.startswith("sha256:") or (len(image) == 64 and all(c in "0123456789abcdef" for c in image)):
        return None
    try:
        return parse_reference(image).familiar()
    except InvalidArgument:
        return None


class _Replay:
    """A socket whose first bytes were read already (``PendingWait.poll``)."""

    def __init__(self, data: bytes, sock: Any) -> None:
        self.data = data
        self.sock = sock

    def recv(self, size: int) -> bytes:
        if self.data:
            data, self.data = self.data[:size], self.data[size:]
            return data
        return bytes(self.sock.recv(size))

    def close(self) -> None:
        self.sock.close()


class PendingWait:
    """A wait request sent now, its answer read later (``status()``), or watched (``poll()``)."""

    def __init__(self, client: Client, container_id: str, condition: str) -> None:
        self.sock = client.connect()
        target = client.target(f"/containers/{container_id}/wait", {"condition": condition or None})
        headers = [("Host", "api.moby.localhost"), ("User-Agent", USER_AGENT), ("Connection", "close")]
        httpio.send_request(self.sock, "POST", target, headers, b"")
        self.buf = b""
        self.eof = False

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def poll(self) -> bool:
        """Read what arrived (without blocking); True once the whole answer is here."""
        import _socket

        try:
            data = self.sock.recv(65536, _socket.MSG_DONTWAIT)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data == b"":
            self.eof = True
        elif data:
            self.buf += data
        return self.eof or self._complete()

    def _complete(self) -> bool:
        head, sep, body = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return False
        lowered = head.lower()
        if b"transfer-encoding: chunked" in lowered:
            return body.startswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in body
        for line in lowered.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                return len(body) >= int(line.split(b":", 1)[1])
        return b" 204 " in head.split(b"\r\n", 1)[0] + b" "

    def status(self, err: TextIO | Any) -> int:
        try:
            sock = _Replay(self.buf, self.sock)
            resp = httpio.read_response(sock, "POST")  # type: ignore[arg-type]
            raise_for_status(resp)
            raw = resp.read()
            result = jsonio.loads(raw, "wait") if raw.strip() else {}
        except DockyardError as exc:
            logrus.error(err, f"error waiting for container: {exc}")
            return 125
        finally:
            self.close()
        error = (result or {}).get("Error") or {}
        if error.get("Message"):
            logrus.error(err, f"Error waiting for container: {error['Message']}")
            return 125
        return int((result or {}).get("StatusCode", 0))

    def close(self) -> None:
        self.sock.close()


class SignalProxy:
    """Forward the signals the CLI gets to the container (``--sig-proxy``) until ``stop()``."""

    def __init__(self, client: Client, container_id: str) -> None:
        self.client = client
        self.container_id = container_id
        self.previous: dict[int, Any] = {}
        names = {num: name for name, num in PROXIED.items()}
        for signum in names:
            try:
                self.previous[signum] = _signal.signal(signum, self._forward)
            except (OSError, ValueError):
                pass
        self.names = names

    def _forward(self, signum: int, frame: Any) -> None:
        try:
            self.client.post(f"/containers/{self.container_id}/kill", {"signal": self.names[signum]})
        except DockyardError:
            pass  # docker logs it at debug level

    def stop(self) -> None:
        for signum, handler in self.previous.items():
            try:
                _signal.signal(signum, handler)
            except (OSError, ValueError):
                pass
        self.previous = {}


class Session:
    """An attached container or exec: its streams, the terminal, resizes."""

    def __init__(self, cli: Cli, conn: Hijacked, tty: bool, stdin: bool, stdout: bool, stderr: bool,
                 detach_keys: str = "") -> None:
        self.cli = cli
        self.conn = conn
        self.tty = tty
        self.stdin = cli.inp if stdin else None
        self.out = streams.Sink(cli.out) if stdout else None
        self.err = streams.Sink(cli.out if tty else cli.err) if stderr else None
        self.keys = streams.detach_keys_or_default(detach_keys)
        in_fd = streams.input_fd(self.stdin)
        self.term = terminal.Terminal(in_fd) if (in_fd is not None and tty) else None
        self._undo_resize: Callable[[], None] | None = None

    def make_raw(self) -> None:
        """docker's setupInput: raw input terminal when the session has a tty and input."""
        if self.term is not None:
            self.term.make_raw()

    def monitor_size(self, resize: Callable[[int, int], None]) -> None:
        """Send the terminal size now (retrying briefly) and on every SIGWINCH."""
        out_fd = streams.input_fd(self.cli.out)
        if out_fd is None or not terminal.is_terminal(out_fd):
            return

        def send() -> bool:
            height, width = terminal.size(out_fd)
            if not height and not width:
                return True
            try:
                resize(height, width)
            except DockyardError:
                return False
            return True

        def send_ignoring() -> None:
            send()

        if not send():
            import time

            for retry in range(10):
                time.sleep((retry + 1) * 0.01)
                if send():
                    break
            else:
                self.cli.err.write("failed to resize tty, using default size\n")
        self._undo_resize = terminal.on_resize(send_ignoring)

    def follow_size(self, path: str) -> None:
        """``monitor_size`` sending ``POST {path}/resize`` (a container's or an exec's)."""
        client = self.cli.client
        self.monitor_size(lambda h, w: client.post(f"{path}/resize", {"h": h, "w": w}))

    def until_exit(self, wait: PendingWait, path: str, stop: bool = False) -> int:
        """``run``'s and ``start -a``'s end: sizes sent to ``path`` (with a tty), the streams, the
        container's exit status from ``wait`` (0 when the user detaches); ``stop``: end the
        streams when the wait answers."""
        if self.tty:
            self.follow_size(path)
        if self.pump(stop=wait if stop else None) == streams.DETACHED:
            return 0
        return wait.status(self.cli.err)

    def pump(self, stop: Any = None) -> str | None:
        """Stream until the output ends (None), the user detaches (``streams.DETACHED``) or
        ``stop`` (the pending wait's socket) answers (``streams.STOPPED``)."""
        restore = self.term.restore if self.term is not None else None
        try:
            return streams.pump(self.conn, self.stdin, self.out, self.err, self.tty,
                                self.keys if self.term is not None else None, restore, stop)
        finally:
            self.close()

    def close(self) -> None:
        if self.term is not None:
            self.term.restore()
        if self._undo_resize is not None:
            self._undo_resize()
            self._undo_resize = None
        self.conn.close()


def attach(cli: Cli, path: str, tty: bool, stdin: bool, stdout: bool, stderr: bool, detach_keys: str) -> Session:
    """The session of ``POST {path}/attach`` (hijacked); the detach keys are ``detach_keys``
    (the flag), else the client config's."""
    keys = config_detach_keys(cli, detach_keys)
    conn = cli.client.hijack("POST", f"{path}/attach", attach_query(stdin, stdout, stderr, keys))
    return Session(cli, conn, tty, stdin, stdout, stderr, keys)


def close_all(proxy: SignalProxy | None, session: Session | None, wait: PendingWait | None) -> None:
    """The way out of an attached ``run``, ``start`` or ``attach``: signals back to the
    CLI's handlers, the terminal restored, the wait request closed."""
    if proxy is not None:
        proxy.stop()
    if session is not None:
        session.close()
    if wait is not None:
        wait.close()


def attach_query(stdin: bool, stdout: bool, stderr: bool, detach_keys: str) -> dict[str, Any]:
    """The query of ``POST /containers/{id}/attach`` (Go's sorted order)."""
    query: dict[str, Any] = {"detachKeys": detach_keys or None}
    for name, wanted in (("stderr", stderr), ("stdin", stdin), ("stdout", stdout)):
        if wanted:
            query[name] = True
    query["stream"] = True
    return query


def check_tty(cli: Cli, attach_stdin: bool, tty: bool) -> None:
    """docker's CheckTty: ``-t`` with input needs a terminal on stdin."""
    if tty and attach_stdin:
        fd = streams.input_fd(cli.inp)
        if fd is None or not terminal.is_terminal(fd):
            raise DockyardError("the input device is not a TTY")


def config_dir(cli: Cli) -> str:
    """``--config``, else ``DOCKER_CONFIG``, else ``~/.docker`` (without importing ``os``)."""
    from dockyard.cli.client import getenv

    if cli.config:
        return cli.config
    return getenv("DOCKER_CONFIG") or (getenv("HOME") or "").rstrip("/") + "/.docker"


def config_value(cli: Cli, key: str) -> Any:
    """A setting of the client's ``config.json`` (``detachKeys``, ``psFormat``...), None if unset."""
    try:
        from dockyard.cli import dockerconfig

        return dockerconfig.ConfigFile(config_dir(cli)).get(key)
    except Exception:  # a missing or broken config file is no config
        return None


def config_detach_keys(cli: Cli, flag: str) -> str:
    """``--detach-keys``, else the client config's ``detachKeys``."""
    return flag or str(config_value(cli, "detachKeys") or "")
