"""Terminals: a pty made inside the container, its master passed out over a unix socket.

runc's --console-socket protocol: the runtime connects to the socket and sends one message
whose SCM_RIGHTS ancillary data carries the pty master. The container process gets the
slave as its stdio and controlling terminal.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.syscalls import Syscalls

TIOCSCTTY = 0x540E
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414


def connect(path: str) -> int:
    """Connect to a console socket; return the (inheritable) fd of the connection."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"connect to console socket {path}: {exc.strerror}") from None
    return sock.detach()


def send_fd(sock_fd: int, fd: int, name: str) -> None:
    """Send ``fd`` over the connected unix socket ``sock_fd`` with SCM_RIGHTS."""
    import _socket

    sock = _socket.socket(fileno=sock_fd)
    try:
        payload = fd.to_bytes(4, "little", signed=True)
        sock.sendmsg([name.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, payload)])
    finally:
        sock.detach()


def recv_fd(sock_fd: int) -> int:
    """Receive one fd sent with :func:`send_fd`."""
    import _socket

    sock = _socket.socket(fileno=sock_fd)
    try:
        _msg, ancdata, _flags, _addr = sock.recvmsg(4096, _socket.CMSG_SPACE(4))
    finally:
        sock.detach()
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
            return int.from_bytes(data[:4], "little", signed=True)
    raise OSError(0, "console socket: no file descriptor received")


def make_controlling_tty(slave_fd: int) -> None:
    """setsid, make ``slave_fd`` the controlling terminal and stdio 0-2."""
    import fcntl

    os.setsid()
    fcntl.ioctl(slave_fd, TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave_fd, target)
    if slave_fd > 2:
        os.close(slave_fd)


def setup_pty(console_fd: int, sys: Syscalls | None = None) -> None:
    """Inside the container: open a pty, send its master, make the slave our terminal and,
    given ``sys`` (a private mount namespace), bind it onto /dev/console as runc does."""
    master, slave = os.openpty()
    if sys is not None:
        from dockyard.runtime.linux import MS_BIND

        if not os.path.exists("/dev/console"):
            sys.touch("/dev/console", 0o600)
        sys.mount(os.ttyname(slave), "/dev/console", None, MS_BIND, None)
    try:
        send_fd(console_fd, master, "/dev/ptmx")
    finally:
        os.close(master)
        os.close(console_fd)
    make_controlling_tty(slave)


def copy_winsize(src_fd: int, dst_fd: int) -> None:
    import fcntl

    try:
        size = fcntl.ioctl(src_fd, TIOCGWINSZ, bytes(8))
        fcntl.ioctl(dst_fd, TIOCSWINSZ, size)
    except OSError:
        pass


def proxy(master: int) -> None:
    """Copy our stdin to ``master`` and ``master`` to our stdout until the pty closes."""
    import select
    import termios
    import tty

    stdin_tty = os.isatty(0)
    saved = None
    if stdin_tty:
        copy_winsize(0, master)
        saved = termios.tcgetattr(0)
        tty.setraw(0)
    try:
        inputs = [master, 0]
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    return
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    inputs.remove(0)
                    continue
                os.write(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
