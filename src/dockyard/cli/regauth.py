"""What pull and push share: the image reference as docker takes it, and the registry
credentials that go with the request.

- ``reference``: ``-a`` takes a repository without a tag; without it a bare name gets
  ``latest`` (``Using default tag: latest`` unless ``-q``).
- ``auth_header``: docker's ``ResolveAuthConfig``: the config file's entry for the
  reference's registry (``https://index.docker.io/v1/`` for Docker Hub, ``host[:port]``
  otherwise), base64url JSON; ``e30=`` (``{}``) when there is none.
- ``stream``: ``POST`` with that ``X-Registry-Auth``, the JSON progress messages.
"""

from __future__ import annotations

from dockyard.cli import dockerconfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from dockyard.cli.command import Cli
    from dockyard.oci.reference import Reference


def reference(cli: Cli, name: str, all_tags: bool, quiet: bool) -> Reference:
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_reference

    ref = parse_reference(name, default_tag=False)
    if all_tags and not ref.is_name_only():
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if not all_tags and ref.is_name_only():
        ref = ref.with_tag("latest")
        if not quiet:
            cli.out.write("Using default tag: latest\n")
    return ref


def auth_header(cli: Cli, domain: str) -> str:
    config = dockerconfig.load(cli)
    return dockerconfig.encode_auth(config.auth_for(dockerconfig.server_key(domain)))


def stream(cli: Cli, path: str, query: Mapping[str, Any], ref: Reference) -> Iterator[Any]:
    headers = {"X-Registry-Auth": auth_header(cli, ref.domain)}
    return cli.client.stream_json("POST", path, query, headers=headers)
