"""The client's config file (``~/.docker/config.json``, or ``--config DIR``) as docker reads it.

Registry credentials live under ``auths`` keyed by the registry (``https://index.docker.io/v1/``
for Docker Hub, ``host[:port]`` for others), each as ``auth``: base64 of ``user:password``
(and ``identitytoken`` when the registry gave one); a ``credsStore`` or per-registry
``credHelpers`` entry hands them to ``docker-credential-<name>`` instead (``get``, ``store``,
``erase``, as docker's credential helper protocol). ``encode_auth`` builds the
``X-Registry-Auth`` header of pull and push: the auth config as JSON, base64url.

The file is rewritten as docker writes it (tab-indented JSON, mode 0600, through a rename);
keys this module does not know are kept as they were.
"""

from __future__ import annotations

import binascii

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.command import Cli

INDEX_SERVER = "https://index.docker.io/v1/"
INDEX_NAME = "docker.io"
_AUTH_FIELDS = ("username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken")
_TOKEN_USER = "<token>"


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def encode_auth(auth: dict[str, str]) -> str:
    """``X-Registry-Auth``: the auth config as JSON (empty fields left out), base64url with padding."""
    fields = {name: auth[name] for name in _AUTH_FIELDS if auth.get(name)}
    return _b64(jsonio.dumps(fields).encode()).replace("+", "-").replace("/", "_")


def server_key(domain: str) -> str:
    """The ``auths`` key of a registry domain: Docker Hub's index URL, else the domain itself."""
    if domain in ("docker.io", "index.docker.io", "registry-1.docker.io", INDEX_SERVER):
        return INDEX_SERVER
    return domain


def hostname(server: str) -> str:
    """docker's ConvertToHostname: ``https://host:5000/v1/`` is ``host:5000``."""
    for scheme in ("http://", "https://"):
        if server.startswith(scheme):
            server = server[len(scheme):]
            break
    return server.split("/", 1)[0]


class ConfigFile:
    """One config directory's ``config.json``; a missing file is an empty config."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = f"{directory}/config.json"
        try:
            self.raw: dict[str, Any] = jsonio.load_file(self.path)
        except FileNotFoundError:
            self.raw = {}
        except (OSError, InvalidArgument) as exc:
            raise InvalidArgument(f"parsing config file ({self.path}): {exc}") from None
        if not isinstance(self.raw, dict):
            raise InvalidArgument(f"parsing config file ({self.path}): not a JSON object")

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @property
    def auths(self) -> dict[str, Any]:
        auths = self.raw.get("auths")
        return auths if isinstance(auths, dict) else {}

    def helper_for(self, server: str) -> str:
        """The credential helper for ``server``: its ``credHelpers`` entry, else ``credsStore``."""
        helpers = self.raw.get("credHelpers") or {}
        return str(helpers.get(hostname(server)) or helpers.get(server) or self.raw.get("credsStore") or "")

    # --- reading ---
    def auth_for(self, server: str) -> dict[str, str]:
        """The stored credentials of ``server`` (``{}`` when there are none)."""
        helper = self.helper_for(server)
        if helper:
            return _helper_get(helper, server)
        entry = self.auths.get(server)
        if entry is None:
            wanted = hostname(server)
            entry = next((v for k, v in self.auths.items() if hostname(k) == wanted), None)
        if not isinstance(entry, dict):
            return {}
        auth = {k: str(v) for k, v in entry.items() if k in _AUTH_FIELDS and v}
        encoded = auth.pop("auth", "")
        if encoded:
            try:
                user, _, password = binascii.a2b_base64(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidArgument(f"parsing config file ({self.path}): bad auth for {server}") from None
            auth["username"], auth["password"] = user, password
        auth["serveraddress"] = server
        return auth

    # --- writing ---
    def store_auth(self, auth: dict[str, str]) -> bool:
        """Store credentials (under ``auth["serveraddress"]``); True when saved in plain text."""
        server = auth["serveraddress"]
        helper = self.helper_for(server)
        if helper:
            secret = auth.get("identitytoken") or auth.get("password", "")
            user = _TOKEN_USER if auth.get("identitytoken") else auth.get("username", "")
            _helper_call(helper, "store", jsonio.dumps({"ServerURL": server, "Username": user, "Secret": secret}))
            return False
        entry: dict[str, str] = {}
        if auth.get("username") or auth.get("password"):
            entry["auth"] = _b64(f"{auth.get('username', '')}:{auth.get('password', '')}".encode())
        for name in ("email", "identitytoken", "registrytoken"):
            if auth.get(name):
                entry[name] = auth[name]
        auths = dict(self.auths)
        auths[server] = entry
        self._set_auths(auths)
        self.save()
        return bool(auth.get("password"))

    def erase_auth(self, server: str) -> None:
        helper = self.helper_for(server)
        if helper:
            _helper_call(helper, "erase", server)
        auths = dict(self.auths)
        if server in auths or not helper:
            auths.pop(server, None)
            self._set_auths(auths)
            self.save()

    def _set_auths(self, auths: dict[str, Any]) -> None:
        auths = dict(sorted(auths.items()))  # Go writes a map's keys in order
        if "auths" in self.raw:
            self.raw["auths"] = auths  # keeps its place among the keys
        else:
            self.raw = {"auths": auths, **self.raw}  # docker writes it first

    def save(self) -> None:
        """Write the file as docker does: tab-indented, mode 0600, replaced through a rename."""
        import os

        from dockyard.cli.fileio import copy_to_file

        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        copy_to_file(self.path, [jsonio.dumps(self.raw, "\t").encode("utf-8")])


def load(cli: Cli) -> ConfigFile:
    """The command's config file; a broken one is docker's warning on stderr and an empty config."""
    try:
        return ConfigFile(cli.config_dir)
    except InvalidArgument as exc:
        cli.err.write(f"WARNING: Error {exc}\n")
        empty = ConfigFile.__new__(ConfigFile)
        empty.directory, empty.path, empty.raw = cli.config_dir, f"{cli.config_dir}/config.json", {}
        return empty


# --- credential helpers (docker-credential-<name>) -------------------------------------------

def _helper_call(helper: str, verb: str, payload: str) -> str:
    import subprocess

    program = f"docker-credential-{helper}"
    try:
        proc = subprocess.run([program, verb], input=payload.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        raise Unavailable(f"error getting credentials - err: exec: \"{program}\": executable file not found "
                          "in $PATH, out: ``") from None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise _HelperError(out or proc.stderr.decode("utf-8", "replace").strip())
    return out


class _HelperError(Unavailable):
    pass


def _helper_get(helper: str, server: str) -> dict[str, str]:
    try:
        out = _helper_call(helper, "get", server)
    except _HelperError as exc:
        if "credentials not found" in str(exc):
            return {}
        raise Unavailable(f"error getting credentials - err: exit status 1, out: `{exc}`") from None
    found = jsonio.loads(out, f"docker-credential-{helper} get")
    user, secret = str(found.get("Username") or ""), str(found.get("Secret") or "")
    if user == _TOKEN_USER:
        return {"identitytoken": secret, "serveraddress": server}
    return {"username": user, "password": secret, "serveraddress": server}
