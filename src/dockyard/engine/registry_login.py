"""``POST /auth``: check a user's registry credentials, as ``docker login`` asks the daemon.

The body is Docker's AuthConfig (``username``, ``password``, ``serveraddress``, or an
``identitytoken``). The engine sends ``GET /v2/`` to the registry with them (answering a
Basic or Bearer challenge through the registry client) and reports "Login Succeeded"; the
daemon keeps nothing: the client stores the credentials. Wrong credentials are
PermissionDenied, which the route answers with 401 as dockerd does. Docker Hub is not
reachable from this engine's hosts and gets a clear error rather than a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.credentials import Credentials
from dockyard.errors import InvalidArgument, PermissionDenied

DOCKER_HUB_NAMES = frozenset({"", "docker.io", "index.docker.io", "registry-1.docker.io"})


def registry_host(server: str) -> str:
    """``https://host:port/v1/`` -> ``host:port``; "" for Docker Hub."""
    rest = server.strip()
    for scheme in ("https://", "http://"):
        if rest.startswith(scheme):
            rest = rest[len(scheme):]
            break
    host = rest.split("/", 1)[0].lower()
    return "" if host in DOCKER_HUB_NAMES else host


def credentials_of(auth: Mapping[str, Any]) -> Credentials:
    """The credentials in an AuthConfig; InvalidArgument when a field is not a string."""
    values = {}
    for key in ("username", "password", "identitytoken", "registrytoken"):
        value = auth.get(key) or ""
        if not isinstance(value, str):
            raise InvalidArgument(f"auth config: {key}: must be a string")
        values[key] = value
    return Credentials(values["username"], values["password"], values["identitytoken"], values["registrytoken"])


def login(auth: Mapping[str, Any], insecure_registries: tuple[str, ...] = ()) -> dict[str, str]:
    """Check ``auth`` against its registry (blocking: run it in a thread)."""
    server = auth.get("serveraddress") or ""
    if not isinstance(server, str):
        raise InvalidArgument("auth config: serveraddress: must be a string")
    host = registry_host(server)
    if not host:
        raise InvalidArgument("login to Docker Hub is not supported by this engine: name a registry "
                              "(docker login HOST[:PORT])")
    credentials = credentials_of(auth)
    if credentials == Credentials():
        raise InvalidArgument("auth config: a username and password, or an identity token, are required")
    with RegistryClient(host, insecure=host in insecure_registries, credentials=credentials, retries=0) as client:
        try:
            client.ping()
        except PermissionDenied:  # dockerd's words
            raise PermissionDenied(f"login attempt to {client.transport.base_url}/v2/ failed with status: "
                                   "401 Unauthorized") from None
    return {"Status": "Login Succeeded", "IdentityToken": ""}
