"""``dockyard push NAME[:TAG]``: ``POST /images/{name}/push`` with docker's progress display.

As docker: the reference is normalised (``Using default tag: latest``), a digest cannot be
pushed, ``-a`` pushes every tag of the repository, ``--platform`` pushes one platform's
manifest (with docker's note on stderr), the config file's credentials go in
``X-Registry-Auth``. ``-q`` prints only the reference once the push succeeded.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import BOOL, STRING, Flag
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NAME[:TAG]"
FLAGS = [
    Flag("all-tags", "a", help="Push all tags of an image to the repository"),
    Flag("disable-content-trust", kind=BOOL, default=True, help="Skip image signing"),
    Flag("platform", kind=STRING, help="Push a platform-specific manifest as a single-platform image to the "
                                       "registry.\nImage index won't be pushed, meaning that other manifests, "
                                       "including attestations won't be preserved.\n'os[/arch[/variant]]': "
                                       "Explicit platform (eg. linux/amd64)"),
    Flag("quiet", "q", help="Suppress verbose output"),
]
ARGS = command.exact_args(1)

PLATFORM_NOTE = ("Using --platform pushes only the specified platform manifest of a multi-platform image index.\n"
                 "Other components, like attestations, will not be included.\n"
                 "To push the complete multi-platform image, remove the --platform flag.\n")


def note(text: str) -> str:
    """docker's tui note: `` Info -> `` before the first line, the rest indented under it."""
    lines = text.split("\n")
    return "\n" + "\n".join((" Info -> " if i == 0 else "         ") + line for i, line in enumerate(lines)) + "\n"


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli import regauth
    from dockyard.cli.apiquery import path_escape
    from dockyard.cli.jsonmessage import display_stream

    platform = None
    if opts.platform:
        from dockyard.cli.platforms import platform_json

        try:
            platform = platform_json(opts.platform)
        except InvalidArgument:
            cli.err.write(f"Invalid platform {opts.platform}")
            raise
        cli.out.write(note(PLATFORM_NOTE))
    ref = regauth.reference(cli, args[0], opts.all_tags, opts.quiet)
    if ref.digest:
        raise InvalidArgument("cannot push a digest reference")
    query = {"tag": None if opts.all_tags else ref.tag, "platform": platform}
    messages = regauth.stream(cli, f"/images/{path_escape(ref.name)}/push", query, ref)
    display_stream(messages, None if opts.quiet else cli.out, aux=lambda _message: None)
    if opts.quiet:
        cli.out.write(f"{ref}\n")
    return 0
