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
    from dockyard.cli.apiquery import path_escape
    from dockyard.cli.jsonmessage import display_stream
    from dockyard.cli.regauth import auth_header
    from dockyard.oci.reference import parse_reference

    platform = None
    if opts.platform:
        from dockyard.cli.platforms import platform_json

        try:
            platform = platform_json(opts.platform)
        except InvalidArgument:
            cli.err.write(f"Invalid platform {opts.platform}")
            raise
        cli.out.write(note(PLATFORM_NOTE))
    ref = parse_reference(args[0], default_tag=False)
    if opts.all_tags and not ref.is_name_only():
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if not opts.all_tags and ref.is_name_only():
        ref = ref.with_tag("latest")
        if not opts.quiet:
            cli.out.write("Using default tag: latest\n")
    if ref.digest:
        raise InvalidArgument("cannot push a digest reference")
    query = {"tag": None if opts.all_tags else ref.tag, "platform": platform}
    headers = {"X-Registry-Auth": auth_header(cli, ref.domain)}
    messages = cli.client.stream_json("POST", f"/images/{path_escape(ref.name)}/push", query, headers=headers)
    display_stream(messages, None if opts.quiet else cli.out, aux=lambda _message: None)
    if opts.quiet:
        cli.out.write(f"{ref}\n")
    return 0
