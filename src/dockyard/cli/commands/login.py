"""``dockyard login [SERVER]``: check credentials with ``POST /auth`` and store them as docker does.

Docker Hub is ``https://index.docker.io/v1/``; another server is stored under its host name.
Without ``-u``/``-p`` the stored credentials are tried first ("Authenticating with existing
credentials..."), then the user is prompted (username, then the password without echo) when
stdin is a terminal. ``--password-stdin`` reads the password from stdin. Credentials go to
the config file (base64 ``auth``, mode 0600, with docker's warning about plain text) or to
the configured credential helper. Docker Hub's web sign-in is not offered: the prompt is.
"""

from __future__ import annotations

from dockyard.cli import command, term
from dockyard.cli.dockerconfig import INDEX_NAME, INDEX_SERVER, ConfigFile, hostname
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import DockyardError, InvalidArgument, PermissionDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] [SERVER]"
DESCRIPTION = "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified."
FLAGS = [
    Flag("password", "p", STRING, help="Password or Personal Access Token (PAT)"),
    Flag("password-stdin", help="Take the Password or Personal Access Token (PAT) from stdin"),
    Flag("username", "u", STRING, help="Username"),
]
ARGS = command.max_args(1)

UNENCRYPTED = ("\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
               "Configure a credential helper to remove this warning. See\n"
               "https://docs.docker.com/go/credential-store/\n\n")
REGISTER = ("Log in with your Docker ID or email address to push and pull images from Docker Hub. If you don't "
            "have a Docker ID, head over to https://hub.docker.com/ to create one.")
PAT = ("You can log in with your password or a Personal Access Token (PAT). Using a limited-scope PAT grants better "
       "security and is required for organizations using SSO. Learn more at https://docs.docker.com/go/access-tokens/")


def registry_login(cli: command.Cli, auth: dict[str, str]) -> dict[str, str]:
    """``POST /auth`` with the auth config (JSON as Go's encoder writes it); the daemon's answer."""
    from dockyard.oci import jsonio

    fields = ("username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken")
    body = (jsonio.dumps({k: auth[k] for k in fields if auth.get(k)}) + "\n").encode()
    return cli.client.call("POST", "/auth", data=body, headers={"Content-Type": "application/json"}) or {}


def store(cli: command.Cli, config: ConfigFile, auth: dict[str, str], response: dict[str, str],
          warn: bool = True) -> None:
    saved = dict(auth)
    if response.get("IdentityToken"):
        saved["password"] = ""
        saved["identitytoken"] = response["IdentityToken"]
    try:
        plain = config.store_auth(saved)
    except (OSError, DockyardError) as exc:
        raise InvalidArgument(f"Error saving credentials: {exc}") from None
    if plain and warn:
        cli.err.write(UNENCRYPTED.format(path=config.path))


def read_password(cli: command.Cli, prompt: str) -> str:
    """A line from stdin with the terminal's echo off (restored afterwards)."""
    fd = None
    try:
        fd = cli.inp.fileno()
    except (AttributeError, OSError, ValueError):
        pass
    saved = None
    if fd is not None and term.isatty(cli.inp):
        import termios

        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        cli.out.write(prompt)
        cli.out.flush()
        return (term.read_line(cli.inp) or "").strip()
    finally:
        if saved is not None and fd is not None:
            import termios

            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def prompt_credentials(cli: command.Cli, user: str, password: str, default_user: str, server: str) -> dict[str, str]:
    """docker's PromptUserForCredentials."""
    user = user.strip()
    if not user:
        if server == INDEX_SERVER:
            cli.out.write(f"{REGISTER}\n{PAT}\n\n")
        message = f"Username ({default_user.strip()}): " if default_user.strip() else "Username: "
        cli.out.write(message)
        cli.out.flush()
        user = (term.read_line(cli.inp) or "").strip() or default_user.strip()
        if not user:
            raise InvalidArgument("Error: Non-null Username Required")
    password = password.strip()
    if not password:
        password = read_password(cli, "Password: ")
        cli.out.write("\n")
        if not password:
            raise InvalidArgument("Error: Password Required")
    return {"username": user, "password": password, "serveraddress": server}


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    user, password = opts.username, opts.password
    if password and opts.password_stdin:
        raise InvalidArgument("conflicting options: cannot specify both --password and --password-stdin")
    if password:
        cli.err.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if opts.password_stdin:
        if not user:
            raise InvalidArgument("the --password-stdin option requires --username to be set")
        password = cli.inp.read().removesuffix("\n").removesuffix("\r")
    server = args[0] if args and args[0] != INDEX_NAME else INDEX_SERVER
    if server != INDEX_SERVER:
        server = hostname(server)
    config = ConfigFile(cli.config_dir)
    stored: dict[str, str] = {}
    if not user and not password:
        try:
            stored = config.auth_for(server)
        except DockyardError:
            stored = {}
    stored = {"username": stored.get("username", ""), "password": stored.get("password", ""),
              "serveraddress": server}
    status = ""
    failed = True
    if stored["username"] and stored["password"]:
        cli.err.write(f"Authenticating with existing credentials... [Username: {stored['username']}]\n")
        try:
            response = registry_login(cli, stored)
            status, failed = str(response.get("Status") or ""), False
            store(cli, config, stored, response, warn=False)
            cli.err.write("\n Info -> To login with a different account, run 'dockyard logout' followed by "
                          "'dockyard login'\n\n\n")
        except PermissionDenied:
            cli.err.write("Stored credentials invalid or expired\n")
        except DockyardError as exc:
            cli.err.write(f"Login did not succeed, error: {exc}\n")
    if failed:
        if (not user or not password) and not term.isatty(cli.inp):
            raise InvalidArgument("Error: Cannot perform an interactive login from a non TTY device")
        auth = prompt_credentials(cli, user, password, stored["username"], server)
        response = registry_login(cli, auth)
        status = str(response.get("Status") or "")
        store(cli, config, auth, response)
    if status:
        cli.out.write(status + "\n")
    return 0
