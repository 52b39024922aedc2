"""Files and byte streams of save, load, import and export, with docker's behaviour and error texts.

- ``go_open_error``: an OSError as Go's ``*PathError`` prints (``open x: no such file or
  directory``).
- ``validate_output_path`` / ``copy_to_file``: docker's ``ValidateOutputPath`` and
  ``CopyToFile`` (a temporary file beside the target, renamed over it at the end, so a
  failed save or export leaves nothing half-written; the client config is saved so too).
- ``binary_out`` / ``read_chunks``: the byte side of the command's text streams (``buffer``
  of stdout/stdin; a test's ``StringIO`` gets latin-1 text).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO, Any

CHUNK = 1 << 16


def go_error_text(exc: OSError) -> str:
    """How Go's syscall.Errno prints: ``no such file or directory``."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def go_open_error(path: str, exc: OSError) -> InvalidArgument:
    return InvalidArgument(f"open {path}: {go_error_text(exc)}")


def validate_output_path(path: str) -> None:
    """docker's ValidateOutputPath: the directory must exist, the target be no device."""
    import os
    import stat

    if not path:
        return
    directory = os.path.dirname(os.path.normpath(path))
    if directory and directory != ".":
        try:
            os.stat(directory)
        except FileNotFoundError as exc:
            raise InvalidArgument(f"invalid output path: stat {directory}: {go_error_text(exc)}") from None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISCHR(mode):
        raise InvalidArgument("cannot write to a character device file")
    if stat.S_ISBLK(mode):
        raise InvalidArgument("cannot write to a block device file")


def copy_to_file(path: str, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path`` through ``.docker_temp_*`` beside it (mode 0600) and a rename."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".docker_temp_", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def binary_out(stream: IO[str]) -> Callable[[bytes], Any]:
    """A writer of bytes to ``stream`` (its ``buffer``, after flushing the text side)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        return lambda data: stream.write(data.decode("latin-1"))
    stream.flush()
    return buffer.write  # type: ignore[no-any-return]


def read_chunks(stream: Any) -> Iterator[bytes]:
    """The bytes of an input stream (a file opened ``rb``, stdin's buffer, or text) in chunks."""
    source = getattr(stream, "buffer", stream)
    while True:
        data = source.read(CHUNK)
        if not data:
            return
        yield data.encode("latin-1") if isinstance(data, str) else data
