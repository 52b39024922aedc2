"""The build context ``dockyard build`` sends, prepared as the docker CLI's classic build does.

- A directory: its tar with ``.dockerignore`` applied (``engine.build.sendcontext``;
  ``<Dockerfile>.dockerignore`` beside a named Dockerfile wins, as with BuildKit), the
  Dockerfile named relative to it (``-f`` is relative to the working directory; without
  it ``Dockerfile``, else ``dockerfile``). A Dockerfile outside the directory, or ``-f -``
  (read from stdin), is added to the tar as ``.dockerfile.<20 hex digits>`` and named so.
- ``-``: stdin is a context when it starts an archive (sent as it is), else a Dockerfile
  (sent alone in a tar as ``Dockerfile``).
- A git URL (``engine.build.gitcontext``'s rule): cloned by the client into a temporary
  directory, ``#ref:subdir`` picking the ref and the context directory in it, then taken as
  a directory, except that ``-f`` is relative to that context directory and must stay in it.
  :meth:`Context.close` removes the clone (``dockyard build`` calls it however it ends).
- An ``http(s)://`` URL: downloaded by the client with docker's progress line
  ("Downloading build context from remote url: ..."), then taken as stdin is.

As docker, an existing local path is a directory context even if it looks like a URL.

``sending`` wraps the body with docker's "Sending build context to Docker daemon  5.632kB"
progress (every 512 KiB on a terminal, the total once elsewhere, then ``\\r\\n``).
"""

from __future__ import annotations

from dockyard.cli import buildtar
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO, Any

SENDING = "Sending build context to Docker daemon"
DOWNLOADING = "Downloading build context from remote url"
_EVERY = 512 * 1024
_PIECE = 32 * 1024
_STDIN_BOTH = "invalid argument: can't use stdin for both build context and dockerfile"
_AMBIGUOUS = "unable to prepare context: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles"


class Context:
    """What goes to ``POST /build``: the tar's chunks, the ``dockerfile`` parameter (None: not
    sent) and whether the "Sending build context" progress is shown for it."""

    def __init__(self, chunks: Iterable[bytes], dockerfile: str | None, show_progress: bool = True) -> None:
        self.chunks = chunks
        self.dockerfile = dockerfile
        self.show_progress = show_progress
        self.cleanup: Callable[[], None] | None = None

    def close(self) -> None:
        """Remove what the context was made from (a git clone); safe to call twice."""
        cleanup, self.cleanup = self.cleanup, None
        if cleanup is not None:
            cleanup()


def random_dockerfile_name() -> str:
    import posix  # not secrets: its hmac/hashlib imports cost ~5 ms

    return f".dockerfile.{posix.urandom(10).hex()}"


def _missing_part(path: str) -> str:
    """The first component of ``path`` that does not exist (what Go's EvalSymlinks lstat-s)."""
    import os

    parts = path.split("/")
    for end in range(2, len(parts) + 1):
        prefix = "/".join(parts[:end])
        if not os.path.lexists(prefix):
            return prefix
    return path


def _no_dockerfile(path: str) -> InvalidArgument:
    return InvalidArgument("unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                           f"lstat {_missing_part(path)}: no such file or directory")


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise InvalidArgument(f"read {path}: is a directory") from None  # the path as given
    except OSError as exc:
        from dockyard.cli.fileio import go_open_error

        raise go_open_error(path, exc) from None


def _ignore_patterns(context_dir: str, dockerfile: str = "") -> Any:
    """The patterns of the build's ignore file: ``<Dockerfile>.dockerignore`` beside the
    Dockerfile (host path ``dockerfile``) when there is one, else ``<context>/.dockerignore``."""
    from dockyard.engine.build.dockerignore import load

    return load(context_dir, dockerfile or "Dockerfile")


def from_directory(spec: str, dockerfile: str, stdin: Any) -> Context:
    import os

    from dockyard.engine.build import sendcontext
    from dockyard.engine.build.dockerignore import keep_build_files

    if not os.path.lexists(spec):
        raise InvalidArgument(f'unable to prepare context: path "{spec}" not found')
    context_dir = os.path.realpath(spec)
    if not os.path.isdir(context_dir):
        raise InvalidArgument(f"unable to prepare context: context must be a directory: {os.path.abspath(spec)}")
    extra: dict[str, bytes] = {}
    if dockerfile == "-":
        from dockyard.cli.fileio import read_chunks

        name = random_dockerfile_name()
        extra[name] = b"".join(read_chunks(stdin))
    else:
        if dockerfile:
            wanted = os.path.abspath(dockerfile)
        else:
            wanted = os.path.join(os.path.abspath(spec), "Dockerfile")
            if not os.path.lexists(wanted) and os.path.lexists(os.path.join(os.path.abspath(spec), "dockerfile")):
                wanted = os.path.join(os.path.abspath(spec), "dockerfile")
        if not os.path.lexists(wanted):
            raise _no_dockerfile(wanted)
        real = os.path.realpath(wanted)
        if real.startswith(context_dir.rstrip("/") + "/"):
            name = os.path.relpath(real, context_dir)
        else:
            name = random_dockerfile_name()
            extra[name] = _read_file(dockerfile or wanted)
    patterns = keep_build_files(_ignore_patterns(context_dir, "" if dockerfile == "-" else real), name)
    chunks = sendcontext.context_chunks(context_dir, name, patterns)
    if extra:
        ((added, data),) = extra.items()
        return Context(buildtar.with_dockerfile(chunks, added, data), name)
    return Context(buildtar.go_tar(chunks), name)


def _head(chunks: Iterator[bytes]) -> bytes:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= buildtar.BLOCK:
            break
    return head


def _rest(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from chunks


def from_stream(chunks: Iterator[bytes], dockerfile: str, stdin: Any, url: bool = False) -> Context:
    """A context read from stdin or downloaded: an archive as it is, or a lone Dockerfile."""
    head = _head(chunks)
    if buildtar.is_archive(head):
        if dockerfile == "-":
            if not url:
                raise InvalidArgument(_STDIN_BOTH)
            from dockyard.cli.fileio import read_chunks

            data = b"".join(read_chunks(stdin))
            name = random_dockerfile_name()
            return Context(buildtar.with_dockerfile(buildtar.decompressed(_rest(head, chunks)), name, data), name)
        return Context(_rest(head, chunks), dockerfile or None, show_progress=not url)
    if dockerfile == "-" and not url:
        raise InvalidArgument(_STDIN_BOTH)
    if dockerfile:
        raise InvalidArgument(_AMBIGUOUS)
    return Context([buildtar.single_file_tar("Dockerfile", b"".join(_rest(head, chunks)))], "Dockerfile")


def download(url: str, out: IO[str], width: int) -> Iterator[bytes]:
    """The body at ``url`` in chunks, each read reported on ``out`` as docker's download line."""
    import urllib.error
    import urllib.request

    from dockyard.cli.jsonmessage import progress_string

    fail = f"unable to prepare context: unable to download remote context {url}"
    try:
        resp = urllib.request.urlopen(url, timeout=60)
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        raise InvalidArgument(f"{fail}: failed to GET {url} with status {exc.code} {exc.reason}: {body}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InvalidArgument(f'{fail}: Get "{url}": {getattr(reason, "strerror", None) or reason}') from None
    total = int(resp.headers.get("Content-Length") or 0)
    current = 0
    with resp:
        while True:
            data = resp.read(32 * 1024)
            if not data:
                return
            current += len(data)
            bar = progress_string({"current": current, "total": total}, width)
            out.write(f"{DOWNLOADING}: {url} {bar}\r")
            out.flush()
            yield data


def sending(chunks: Iterable[bytes], out: IO[str], tty: bool) -> Iterator[bytes]:
    """``chunks`` as they go, with docker's upload progress on ``out``."""
    from dockyard.cli.tables import human_size

    sent = shown = 0
    for chunk in chunks:
        for start in range(0, len(chunk), _PIECE):  # a file may come whole: report as it goes
            piece = chunk[start:start + _PIECE]
            yield piece
            sent += len(piece)
            if tty and sent - shown >= _EVERY:
                out.write(f"{SENDING} {human_size(sent):>8}\r")
                out.flush()
                shown = sent
    if shown != sent or not sent:
        out.write(f"{SENDING} {human_size(sent):>8}\r")
    out.write("\r\n")
    out.flush()


def from_git(url: str, dockerfile: str, stdin: Any) -> Context:
    """A clone of the repository at ``url`` as a directory context (removed by ``close``)."""
    import os

    from dockyard.engine.build import gitcontext
    from dockyard.errors import DockyardError

    try:
        gitcontext.require_git()
    except DockyardError as exc:
        raise type(exc)(f"unable to prepare context: {exc}") from None
    try:
        checkout = gitcontext.clone(url)
    except DockyardError as exc:
        raise type(exc)(f"unable to prepare context: unable to 'git clone' to temporary context directory: "
                        f"{exc}") from None
    try:
        context_dir = checkout.context_dir
        if dockerfile and dockerfile != "-":
            wanted = os.path.join(context_dir, dockerfile)  # an absolute -f stays absolute
            if not os.path.lexists(wanted):
                raise _no_dockerfile(wanted)
            real = os.path.realpath(wanted)
            if not real.startswith(os.path.realpath(context_dir).rstrip("/") + "/"):
                raise InvalidArgument(f"unable to prepare context: the Dockerfile ({dockerfile}) "
                                      "must be within the build context")
            dockerfile = real
        context = from_directory(context_dir, dockerfile, stdin)
    except BaseException:
        checkout.remove()
        raise
    context.cleanup = checkout.remove
    return context


def prepare(spec: str, dockerfile: str, stdin: Any, progress: IO[str], width: int) -> Context:
    """The context of ``dockyard build SPEC`` (``-``, a directory, a git URL or a URL)."""
    import os

    from dockyard.cli.fileio import read_chunks

    if spec == "-":
        return from_stream(iter(read_chunks(stdin)), dockerfile, stdin)
    if not os.path.exists(spec):
        from dockyard.engine.build.gitcontext import is_git_url

        if is_git_url(spec):
            return from_git(spec, dockerfile, stdin)
    if spec.startswith(("http://", "https://")) and not os.path.exists(spec):
        context = from_stream(download(spec, progress, width), dockerfile, stdin, url=True)
        if context.dockerfile == "Dockerfile" and context.show_progress:  # a lone Dockerfile: the line ends
            progress.write("\r\n")
        return context
    return from_directory(spec, dockerfile, stdin)
