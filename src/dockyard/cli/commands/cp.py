"""``dockyard cp``: copy files between a container and the local filesystem, as docker does.

``CONTAINER:PATH`` names a container's path (a local path with a ``:`` must start with
``/`` or ``./``). From a container: ``GET /containers/{id}/archive?path=`` (its stat in
``X-Docker-Container-Path-Stat``), unpacked locally with docker's copy rules, or the raw tar
on stdout for ``-``; ``-L`` first asks for the path's stat (``HEAD``) and follows a symlink.
To a container: the destination's stat decides where the archive goes and what its top
entry is named, then ``PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=true``
(``copyUIDGID=true`` with ``-a``); ``-`` sends a tar stream from stdin as it is. On a
terminal the copy ends with "Successfully copied 2.05kB to ..." on stderr.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import Flag
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdockyard cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
DESCRIPTION = ("Copy files/folders between a container and the local filesystem\n\n"
               "Use '-' as the source to read a tar archive from stdin\n"
               "and extract it to a directory destination in a container.\n"
               "Use '-' as the destination to stream a tar archive of a\n"
               "container source to stdout.")
FLAGS = [
    Flag("archive", "a", help="Archive mode (copy all uid/gid information)"),
    Flag("follow-link", "L", help="Always follow symbol link in SRC_PATH"),
    Flag("quiet", "q", help="Suppress progress output during copy. Progress output is automatically suppressed "
                            "if no terminal is attached"),
]
ARGS = command.exact_args(2)


def split_arg(arg: str) -> tuple[str, str]:
    """splitCpArg: (container, path); container is "" for a local path."""
    if arg.startswith("/"):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep or container.startswith("."):
        return "", arg
    return container, path


def stat_path(cli: command.Cli, container: str, path: str) -> dict[str, Any]:
    """``HEAD /containers/{id}/archive?path=``: the decoded X-Docker-Container-Path-Stat."""
    resp = cli.client.request("HEAD", f"{path_of(container)}/archive", {"path": path})
    resp.read()
    return decode_stat(resp.header("x-docker-container-path-stat"))


def decode_stat(header: str) -> dict[str, Any]:
    import binascii

    from dockyard.oci import jsonio

    if not header:
        return {}
    try:
        return dict(jsonio.loads(binascii.a2b_base64(header), "path stat"))
    except (binascii.Error, DockyardError, ValueError, TypeError):
        raise DockyardError(f"unable to decode container path stat header: {header}") from None


def _join_link(path: str, target: str) -> str:
    if target.startswith("/"):
        return target
    import posixpath

    from dockyard.cli.ctr_archive import split_path_dir_entry

    return posixpath.normpath(posixpath.join(split_path_dir_entry(path)[0], target))


def _progress_done(cli: command.Cli, quiet: bool, size: int, target: str) -> None:
    if quiet:
        return
    from dockyard.cli.tables import human_size

    cli.err.write(f"\x1b8\x1b[2KSuccessfully copied {human_size(size, 3)} to {target}\n")


def _progress_start(cli: command.Cli, quiet: bool) -> None:
    if not quiet:
        from dockyard.cli.term import isatty

        if isatty(cli.err):
            cli.err.write("\x1b7Preparing to copy...")
            cli.err.flush()


def copy_from(cli: command.Cli, opts: Options, container: str, src: str, dst: str, quiet: bool) -> None:
    from dockyard.cli import ctr_archive as arch
    from dockyard.cli.commands.export import validate_output_path

    if dst != "-":
        dst = arch.resolve_local(dst)
    validate_output_path(dst)
    rebase = ""
    if opts.follow_link:
        try:
            info = stat_path(cli, container, src)
        except DockyardError:
            info = {}
        if int(info.get("mode") or 0) & arch.GO_SYMLINK:
            target = _join_link(src, str(info.get("linkTarget") or ""))
            src, rebase = arch.rebase_name(src, target)
    resp = cli.client.stream("GET", f"{path_of(container)}/archive", {"path": src})
    if dst == "-":
        from dockyard.cli.streams import Sink

        sink = Sink(cli.out)
        for chunk in resp.chunks():
            sink.write(chunk)
        return
    info = decode_stat(resp.header("x-docker-container-path-stat"))
    source = arch.CopyInfo(src, True, bool(int(info.get("mode") or 0) & arch.GO_DIR), rebase)
    _, src_base = arch.split_path_dir_entry(src)
    _progress_start(cli, quiet)
    reader = arch.ChunkReader(resp.chunks())
    destination = arch.destination_info(dst)
    dst_dir, _, new_base = arch.prepare(source, destination)
    arch.extract(reader, dst_dir, src_base, new_base)
    _progress_done(cli, quiet, reader.total, dst)


def copy_to(cli: command.Cli, opts: Options, container: str, src: str, dst: str, quiet: bool) -> None:
    from dockyard.cli import ctr_archive as arch

    if src != "-":
        src = arch.resolve_local(src)
    destination = arch.CopyInfo(dst)
    try:
        info = stat_path(cli, container, dst)
        if int(info.get("mode") or 0) & arch.GO_SYMLINK:
            destination.path = _join_link(dst, str(info.get("linkTarget") or ""))
            info = stat_path(cli, container, destination.path)
        found = True
    except NotFound:
        info, found = {}, False
    mode = int(info.get("mode") or 0)
    if mode & arch.GO_DEVICE or mode & arch.GO_IRREGULAR:
        kind = "a device" if mode & arch.GO_DEVICE else "an irregular file"
        raise DockyardError(f'destination "{container}:{dst}" must be a directory or a regular file: got {kind}')
    if found:
        destination.exists, destination.is_dir = True, bool(mode & arch.GO_DIR)
    query: dict[str, Any] = {"copyUIDGID": "true" if opts.archive else None, "noOverwriteDirNonDir": "true"}
    if src == "-":
        if not destination.is_dir:
            raise DockyardError(f'destination "{container}:{dst}" must be a directory')
        stdin = cli.inp.buffer if hasattr(cli.inp, "buffer") else None
        data: Any = iter(lambda: stdin.read(1 << 16), b"") if stdin is not None else cli.inp.read().encode()
        cli.client.request("PUT", f"{path_of(container)}/archive", {"path": destination.path, **query},
                           data=data).read()
        return
    source = arch.source_info(src, opts.follow_link)
    dst_dir, _, new_base = arch.prepare(source, destination)
    sent = [0]

    def counted() -> Any:
        for chunk in arch.tar_stream(source, new_base):
            sent[0] += len(chunk)
            yield chunk
    _progress_start(cli, quiet)
    cli.client.request("PUT", f"{path_of(container)}/archive", {"path": dst_dir, **query}, data=counted()).read()
    _progress_done(cli, quiet, sent[0], f"{container}:{destination.path}")


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not args[0]:
        raise DockyardError("source can not be empty")
    if not args[1]:
        raise DockyardError("destination can not be empty")
    quiet = opts.quiet
    if "quiet" not in opts.changed:
        from dockyard.cli.term import isatty

        quiet = not isatty(cli.out)
    src_container, src = split_arg(args[0])
    dst_container, dst = split_arg(args[1])
    if src_container and dst_container:
        raise DockyardError("copying between containers is not supported")
    if src_container:
        copy_from(cli, opts, src_container, src, dst, quiet)
    elif dst_container:
        copy_to(cli, opts, dst_container, src, dst, quiet)
    else:
        raise DockyardError("must specify at least one container source")
    return 0
