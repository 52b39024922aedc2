"""``dockyard tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]``: ``POST /images/{source}/tag``.

As docker's client: the source may be any reference or image ID, the target is normalised
(``x`` is ``docker.io/library/x:latest``; the query gets ``repo`` and ``tag`` apart) and may
not carry a digest. Nothing is printed on success.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import Flag
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"
FLAGS: list[Flag] = []
ARGS = command.exact_args(2)


def check_any_reference(text: str) -> None:
    """distribution's ParseAnyReference: an image ID, a digest or a reference; InvalidArgument if none."""
    from dockyard.oci.reference import is_image_id, parse_reference

    algorithm, _, encoded = text.partition(":")
    if is_image_id(text) or (algorithm == "sha256" and is_image_id(encoded)):
        return
    parse_reference(text, default_tag=False)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.apiquery import path_escape
    from dockyard.oci.reference import parse_reference

    source, target = args
    for name in (source, target):
        try:
            if name is source:
                check_any_reference(name)
                continue
            ref = parse_reference(name, default_tag=False)
        except InvalidArgument as exc:
            raise InvalidArgument(f"Error parsing reference: \"{name}\" is not a valid repository/tag: {exc}") from None
    if ref.digest:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    cli.client.post(f"/images/{path_escape(source)}/tag", {"repo": ref.name, "tag": ref.tag or "latest"})
    return 0
