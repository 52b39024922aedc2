"""The stdio of one container process: the client's fifos, or a pty relayed to them.

Fifos are opened as containerd's shim opens them, so the client may open its ends before or
after the shim and may come and go (a daemon restart) without the container seeing EOF:

- stdout/stderr: the shim opens a *reader* first (``O_RDONLY|O_NONBLOCK``, never read; it
  keeps the fifo alive so the writer's open does not block and a write never fails with
  EPIPE while no client reads), then the writer.
- stdin: the shim opens the reader, then keeps a *writer* of its own until ``close_io``, so
  the process sees EOF only once the client closed its end and asked for it.

Without a terminal the process gets the fifos themselves as its stdio (zero copies: output
does not pass through the shim, and survives the shim's death); the shim only holds the
keeper ends. A path that is not a fifo is opened as a file (stdout appended). No path means
/dev/null.

With a terminal the runtime sends the pty master over a console socket
(:class:`ConsoleSocket`, in a short temporary directory as containerd's runc shim makes it)
and :class:`~dockyard.shim.relay.PtyRelay` copies stdin fifo -> master -> stdout fifo.
"""

from __future__ import annotations

import os
import stat

from dockyard.errors import Internal, InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.shim.loop import Loop
    from dockyard.shim.relay import PtyRelay

TIOCSWINSZ = 0x5414


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise InvalidArgument(f"stdio {path}: {exc.strerror}") from None


def _open(path: str, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise InvalidArgument(f"cannot open stdio {path}: {exc.strerror}") from None


def winsize(width: int, height: int) -> bytes:
    """``struct winsize`` (rows, cols, xpixel, ypixel) for TIOCSWINSZ."""
    if not (0 <= width < 1 << 16 and 0 <= height < 1 << 16):
        raise InvalidArgument(f"resize_pty: width and height must be 0..65535, not {width}x{height}")
    return height.to_bytes(2, "little") + width.to_bytes(2, "little") + bytes(4)


class Stdio:
    """The fds of one process's stdio; :meth:`open` before the runtime, :meth:`close` at delete."""

    def __init__(self, stdin: str, stdout: str, stderr: str, terminal: bool) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.terminal = terminal
        self.child: list[int] = []  # the fds given to the runtime (closed once it ran)
        self.keep: list[int] = []  # keeper ends held for the life of the process
        self.stdin_keeper = -1  # our writer on the stdin fifo, closed by close_io
        self.in_fd = -1  # terminal: the stdin fifo we read
        self.out_fd = -1  # terminal: the stdout fifo we write
        self.relay: PtyRelay | None = None

    # -- opening --------------------------------------------------------------------------
    def _reader(self, path: str) -> int:
        """stdin: our reader (the process's stdin, or the relay's source) and our keeper writer."""
        if not _is_fifo(path):
            return _open(path, os.O_RDONLY)
        fd = _open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self.stdin_keeper = _open(path, os.O_WRONLY | os.O_NONBLOCK)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _writer(self, path: str) -> int:
        """stdout/stderr: a keeper reader (held, never read) and the writer."""
        if not _is_fifo(path):
            return _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self.keep.append(_open(path, os.O_RDONLY | os.O_NONBLOCK))
        return _open(path, os.O_WRONLY | os.O_NONBLOCK)

    def open(self) -> tuple[int, int, int]:
        """Open the client's paths; return the (stdin, stdout, stderr) to give the runtime."""
        try:
            return self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> tuple[int, int, int]:
        null = _open(os.devnull, os.O_RDWR)
        self.child.append(null)
        if self.terminal:
            if self.stdin:
                self.in_fd = self._reader(self.stdin)
            if self.stdout:
                self.out_fd = self._writer(self.stdout)
            return null, null, null
        fds = [null, null, null]
        if self.stdin:
            fds[0] = self._reader(self.stdin)
            os.set_blocking(fds[0], True)
            self.child.append(fds[0])
        if self.stdout:
            fds[1] = self._writer(self.stdout)
            os.set_blocking(fds[1], True)
            self.child.append(fds[1])
        if self.stderr:
            if self.stderr == self.stdout:
                fds[2] = fds[1]
            else:
                fds[2] = self._writer(self.stderr)
                os.set_blocking(fds[2], True)
                self.child.append(fds[2])
        return fds[0], fds[1], fds[2]

    def ran(self) -> None:
        """The runtime has handed the fds to the process: drop our copies."""
        for fd in self.child:
            os.close(fd)
        self.child = []

    # -- terminal -------------------------------------------------------------------------
    def attach(self, master: int, loop: Loop) -> None:
        """Relay the pty ``master`` to and from the fifos."""
        from dockyard.shim.relay import PtyRelay

        self.relay = PtyRelay(loop, master, self.in_fd, self.out_fd)
        self.in_fd = self.out_fd = -1  # the relay owns them now

    def resize(self, width: int, height: int) -> None:
        import fcntl

        if self.relay is None:
            raise InvalidArgument("resize_pty: the process has no terminal")
        try:
            fcntl.ioctl(self.relay.master, TIOCSWINSZ, winsize(width, height))
        except OSError as exc:
            raise Internal(f"resize_pty: {exc.strerror}") from None

    # -- closing --------------------------------------------------------------------------
    def close_stdin(self) -> None:
        """``close_io``: drop our keeper writer, so stdin ends when the client closes its end."""
        if self.stdin_keeper >= 0:
            os.close(self.stdin_keeper)
            self.stdin_keeper = -1

    def drain(self) -> None:
        """The process exited: copy what the pty still holds before the exit is reported."""
        if self.relay is not None:
            self.relay.drain()

    def close(self) -> None:
        self.ran()
        self.close_stdin()
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        for fd in (self.in_fd, self.out_fd, *self.keep):
            if fd >= 0:
                os.close(fd)
        self.in_fd = self.out_fd = -1
        self.keep = []


class ConsoleSocket:
    """A listening unix socket the runtime connects to and sends the pty master over."""

    def __init__(self, tmp: str = "/tmp") -> None:
        import _socket

        self.dir = os.path.join(tmp, f"dockyard-pty-{os.getpid()}-{os.urandom(4).hex()}")
        os.mkdir(self.dir, 0o700)
        self.path = os.path.join(self.dir, "pty.sock")
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            self.sock.bind(self.path)
            self.sock.listen(1)
        except OSError:
            self.close()
            raise

    def receive(self, timeout: float = 10.0) -> int:
        """The master fd the runtime sent (it connected while it ran, or does so soon)."""
        import select

        from dockyard.runtime import console
        from dockyard.shim import sockets

        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            raise Internal("the runtime did not send the terminal over the console socket")
        conn = sockets.accept(self.sock)
        try:
            if not select.select([conn], [], [], timeout)[0]:
                raise Internal("the runtime connected to the console socket but sent nothing")
            master = console.recv_fd(conn)
        except OSError as exc:
            raise Internal(f"console socket: {exc.strerror or exc}") from None
        finally:
            os.close(conn)
        os.set_inheritable(master, False)
        return master

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
