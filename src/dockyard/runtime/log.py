"""runc-style logging: logrus text (``time=... level=... msg=...``) or JSON lines.

Errors go to the --log file when one is given (and the bare message to stderr, as runc
does), otherwise to stderr. containerd reads the last ``msg`` of a JSON log to report why
the runtime failed, so the JSON form matters.
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath
import sys
import time

from dockyard.oci import jsonio


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Logger:
    """Writes log entries to a file or stderr in text or json format."""

    def __init__(self, path: str = "", fmt: str = "text", debug: bool = False) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    @property
    def to_stderr(self) -> bool:
        return not self.path or self.path == "/dev/stderr"

    def format(self, level: str, msg: str) -> str:
        if self.fmt == "json":
            return jsonio.dumps({"level": level, "msg": msg, "time": _now()}) + "\n"
        return f'time="{_now()}" level={level} msg={jsonio.dumps(msg)}\n'

    def write(self, level: str, msg: str) -> None:
        line = self.format(level, msg)
        if self.to_stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            sys.stderr.write(line)
            return
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def error(self, msg: str) -> None:
        self.write("error", msg)

    def warning(self, msg: str) -> None:
        self.write("warning", msg)

    def debug(self, msg: str) -> None:
        if self.debug_enabled:
            self.write("debug", msg)

    def fatal(self, msg: str) -> None:
        """Log an error the way runc's fatal() does: the log, plus stderr if the log is a file."""
        self.error(msg)
        if not self.to_stderr:
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
