"""The image pull ``run`` and ``create`` make when the image is missing (``--pull missing|always``).

docker's ``pullImage``: ``POST /images/create?fromImage=<repository>&tag=<tag or digest>``
(with ``platform``), the registry credentials of the client config in ``X-Registry-Auth``
(``e30=``, an empty auth, when there are none), and the JSON progress stream rendered on
stderr (nothing with ``-q``). The renderer is ``dockyard.cli.jsonmessage`` when that
module exists (the pull command's), else the plain lines docker prints when stderr is not a
terminal (``latest: Pulling from library/busybox``, progress lines left out). An error in
the stream ends the pull with its message.
"""

from __future__ import annotations

from dockyard.errors import Internal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, TextIO

    from dockyard.cli.command import Cli
    from dockyard.oci.reference import Reference


def registry_auth(cli: Cli, ref: Reference) -> str:
    """The ``X-Registry-Auth`` header for the registry of ``ref``."""
    from dockyard.cli import dockerconfig
    from dockyard.cli.runflow import config_dir

    try:
        config = dockerconfig.ConfigFile(config_dir(cli))
        auth = config.auth_for(dockerconfig.server_key(ref.domain))
    except Exception:  # a broken config or helper: pull anonymously, as docker does
        auth = {}
    return dockerconfig.encode_auth(auth)


def _plain(messages: Iterator[Any], out: TextIO) -> None:
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        error = msg.get("errorDetail") or ({"message": msg["error"]} if msg.get("error") else None)
        if error:
            raise Internal(str(error.get("message") or msg.get("error") or "pull failed"))
        if msg.get("progress") or msg.get("progressDetail", {}).get("total"):
            continue
        line = (f"{msg['id']}: " if msg.get("id") else "") + str(msg.get("status") or "")
        if line:
            out.write(line + "\n")
    out.flush()


def render(messages: Iterator[Any], out: TextIO) -> None:
    """Show a pull's progress on ``out``, through the jsonmessage renderer if it is installed."""
    try:
        from dockyard.cli import jsonmessage
    except ImportError:
        _plain(messages, out)
        return
    jsonmessage.display_stream(messages, out)


def pull_image(cli: Cli, image: str, platform: str = "", quiet: bool = False) -> None:
    """Pull ``image`` (a reference as the user wrote it) with the progress on stderr."""
    from dockyard.oci.reference import parse_reference

    ref = parse_reference(image)
    query = {"fromImage": ref.name, "tag": ref.digest or ref.tag, "platform": platform or None}
    headers = {"X-Registry-Auth": registry_auth(cli, ref)}
    messages = cli.client.stream_json("POST", "/images/create", query, headers=headers)
    if quiet:
        for msg in messages:
            if isinstance(msg, dict) and (msg.get("error") or msg.get("errorDetail")):
                detail = msg.get("errorDetail") or {}
                raise Internal(str(detail.get("message") or msg.get("error")))
        return
    render(messages, cli.err)
