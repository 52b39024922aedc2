"""``dockyard pull NAME[:TAG|@DIGEST]``: ``POST /images/create?fromImage=...`` with docker's progress.

The reference is normalised as docker does (``busybox`` is ``docker.io/library/busybox``,
``Using default tag: latest``), the registry credentials of the config file go along in
``X-Registry-Auth``, the JSON progress stream is drawn by ``jsonmessage`` (per-layer lines
redrawn on a terminal, plain lines otherwise) and the full reference is printed at the end.
``-q`` prints only that; an error in the stream fails the command with its message.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NAME[:TAG|@DIGEST]"
FLAGS = [
    Flag("all-tags", "a", help="Download all tagged images in the repository"),
    Flag("disable-content-trust", kind=BOOL, default=True, help="Skip image verification"),
    Flag("platform", kind=STRING, help="Set platform if server is multi-platform capable"),
    Flag("quiet", "q", help="Suppress verbose output"),
]
ARGS = command.exact_args(1)


def default_platform(opts: Options) -> str:
    """``--platform``, else ``DOCKER_DEFAULT_PLATFORM`` (docker's flag default)."""
    if "platform" in opts.changed:
        return str(opts.platform)
    from dockyard.cli.client import getenv

    return getenv("DOCKER_DEFAULT_PLATFORM") or ""


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli import regauth
    from dockyard.cli.jsonmessage import display_stream

    ref = regauth.reference(cli, args[0], opts.all_tags, opts.quiet)
    platform = default_platform(opts)
    query = {"fromImage": ref.name, "tag": None if opts.all_tags else (ref.digest or ref.tag),
             "platform": platform.lower() or None}
    messages = regauth.stream(cli, "/images/create", query, ref)
    display_stream(messages, None if opts.quiet else cli.out)
    cli.out.write(f"{ref}\n")
    return 0
