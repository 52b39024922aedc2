"""Registry credentials for one image reference: the ``X-Registry-Auth`` of pull and push.

docker's ``ResolveAuthConfig``: the config file's entry for the reference's registry
(``https://index.docker.io/v1/`` for Docker Hub, ``host[:port]`` otherwise), base64url JSON;
``e30=`` (``{}``) when there is none.
"""

from __future__ import annotations

from dockyard.cli import dockerconfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.command import Cli


def auth_header(cli: Cli, domain: str) -> str:
    config = dockerconfig.load(cli)
    return dockerconfig.encode_auth(config.auth_for(dockerconfig.server_key(domain)))
