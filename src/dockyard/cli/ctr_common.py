"""Helpers the container commands share: one operation over many containers, bytes out, files out.

- ``for_each``: docker's pattern for ``stop``/``kill``/``rm``/``pause``...: the operation on
  each container in turn, the name printed on success, every error printed (one per
  line, in order) and the command failing (exit 1) when any did.
- ``Batch.errors`` joins like Go's ``errors.Join`` (one message per line).
- ``write_stream``: a streamed reply to a file (``-o``) or stdout, refusing a terminal as
  docker does for binary output.
"""

from __future__ import annotations

from dockyard.cli.client import quote
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from dockyard.cli.command import Cli


def path_of(container: str) -> str:
    """``/containers/<name>``, the name percent-encoded."""
    return "/containers/" + quote(container)


def for_each(cli: Cli, containers: Iterable[str], operation: Callable[[str], object],
             forgive: Callable[[DockyardError], bool] | None = None) -> int:
    """Run ``operation(name)`` for each container; print names, then the errors; 1 if any failed."""
    errors: list[str] = []
    for name in containers:
        try:
            operation(name)
        except DockyardError as exc:
            if forgive is not None and forgive(exc):
                cli.err.write(f"{exc}\n")
                continue
            errors.append(str(exc))
            continue
        cli.out.write(f"{name}\n")
    if errors:
        from dockyard.cli.command import StatusError

        raise StatusError(1, "\n".join(errors))
    return 0


def not_found(exc: DockyardError) -> bool:
    return isinstance(exc, NotFound)


def write_stream(cli: Cli, chunks: Iterable[bytes], output: str, what: str) -> None:
    """Write a binary stream to ``output`` (a file path) or, if empty, to stdout (not a terminal)."""
    if output:
        try:
            fh = open(output, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise DockyardError(f"failed to export {what}: open {output}: {(exc.strerror or '').lower()}") from None
        with fh:
            for chunk in chunks:
                fh.write(chunk)
        return
    from dockyard.cli.streams import Sink

    sink = Sink(cli.out)
    for chunk in chunks:
        sink.write(chunk)


def refuse_terminal(cli: Cli, message: str) -> None:
    """docker refuses to write an archive to a terminal."""
    from dockyard.cli import terminal
    from dockyard.cli.streams import input_fd

    fd = input_fd(cli.out)
    if fd is not None and terminal.is_terminal(fd):
        raise DockyardError(message)
