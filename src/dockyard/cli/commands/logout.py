"""``dockyard logout [SERVER]``: forget the stored credentials of a registry (Docker Hub by default).

As docker: the entry is erased under the name given and, for a server other than Docker Hub,
under its host name with and without ``http://``/``https://``, the file being rewritten even
when nothing was stored.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.dockerconfig import INDEX_SERVER, ConfigFile, hostname
from dockyard.cli.flags import Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[SERVER]"
DESCRIPTION = "Log out from a registry.\nIf no server is specified, the default is defined by the daemon."
FLAGS: list[Flag] = []
ARGS = command.max_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    server = args[0] if args else INDEX_SERVER
    names, shown = [server], server
    if args:
        shown = hostname(server)
        names += [shown, f"http://{shown}", f"https://{shown}"]
    cli.out.write(f"Removing login credentials for {shown}\n")
    config = ConfigFile(cli.config_dir)
    errors: dict[str, str] = {}
    for name in names:
        try:
            config.erase_auth(name)
        except (OSError, DockyardError) as exc:
            errors[name] = str(exc)
    if len(errors) == len(names):
        cli.err.write("WARNING: could not erase credentials:\n")
        for name, error in errors.items():
            cli.out.write(f"{name}: {error}\n")
    return 0
