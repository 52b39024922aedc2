"""Registry credentials and docker's ``config.json``.

:class:`DockerConfig` reads ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``;
the path can be given, for tests) as ``docker login`` writes it::

    {"auths": {"https://index.docker.io/v1/": {"auth": "<base64 user:password>"},
               "127.0.0.1:5000": {"username": "u", "password": "p"},
               "quay.io": {"identitytoken": "<OAuth refresh token>"}},
     "credsStore": "pass", "credHelpers": {"gcr.io": "gcloud"}}

:meth:`DockerConfig.lookup` finds the entry of a registry host the way docker does: keys are
compared without scheme and path (``https://host:5000/v1/`` is ``host:5000``), and Docker
Hub's names (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``) are one registry.
A credential helper (``credHelpers`` for the host, else ``credsStore``) is asked first by
running ``docker-credential-<name> get``; when it has nothing, ``auths`` is used.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = frozenset(("docker.io", "index.docker.io", "registry-1.docker.io"))
CONFIG_ENV = "DOCKER_CONFIG"
HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    """What to log in with: a username and password (or secret), or an OAuth refresh token
    (``identity_token``, docker's ``identitytoken``), or a ready bearer ``registry_token``."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(username={self.username!r})"

    @property
    def has_password(self) -> bool:
        return bool(self.username) and bool(self.password)


def normalize_host(key: str) -> str:
    """A config key or a registry host as a plain ``host[:port]`` (Docker Hub as docker.io)."""
    host = key.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme):]
            break
    host = host.split("/", 1)[0].lower()
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def server_url(host: str) -> str:
    """The server name credential helpers know a registry by (Docker Hub's legacy URL)."""
    normalized = normalize_host(host)
    return DOCKER_HUB_KEY if normalized == "docker.io" else normalized


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    environ = os.environ if env is None else env
    directory = environ.get(CONFIG_ENV)
    if directory:
        return Path(directory) / "config.json"
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker" / "config.json"


class DockerConfig:
    """The credentials of a docker ``config.json`` (empty when there is no file)."""

    def __init__(self, auths: Mapping[str, Credentials] | None = None, *, creds_store: str = "",
                 cred_helpers: Mapping[str, str] | None = None, path: Path | None = None) -> None:
        self.auths = {normalize_host(key): value for key, value in (auths or {}).items()}
        self.creds_store = creds_store
        self.cred_helpers = {normalize_host(key): value for key, value in (cred_helpers or {}).items()}
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None,
             env: Mapping[str, str] | None = None) -> DockerConfig:
        """Read ``path`` (default: :func:`default_config_path`). A missing file is an empty
        config; malformed JSON or a bad ``auth`` value is InvalidArgument naming the file."""
        config_path = Path(path) if path is not None else default_config_path(env)
        try:
            text = config_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path=config_path)
        except OSError as exc:
            raise InvalidArgument(f"docker config {config_path}: cannot read: {exc.strerror}") from None
        try:
            doc = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise InvalidArgument(f"docker config {config_path}: invalid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InvalidArgument(f"docker config {config_path}: expected a JSON object")
        return cls.from_dict(doc, config_path)

    @classmethod
    def from_dict(cls, doc: Mapping[str, object], path: Path | None = None) -> DockerConfig:
        where = f"docker config {path}" if path else "docker config"
        auths_doc = doc.get("auths")
        auths_doc = {} if auths_doc is None else auths_doc
        if not isinstance(auths_doc, dict):
            raise InvalidArgument(f"{where}: auths: expected an object")
        auths = {}
        for key, entry in auths_doc.items():
            credentials = _entry_credentials(entry, f"{where}: auths[{key!r}]")
            if credentials is not None:
                auths[key] = credentials
        store = doc.get("credsStore")
        store = "" if store is None else store
        helpers = doc.get("credHelpers")
        helpers = {} if helpers is None else helpers
        if not isinstance(store, str):
            raise InvalidArgument(f"{where}: credsStore: expected a string")
        if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
            raise InvalidArgument(f"{where}: credHelpers: expected an object of strings")
        return cls(auths, creds_store=store, cred_helpers=helpers, path=path)

    def lookup(self, host: str) -> Credentials | None:
        """The credentials for registry ``host`` (``host[:port]`` or a URL), None if none."""
        normalized = normalize_host(host)
        helper = self.cred_helpers.get(normalized) or self.creds_store
        if helper:
            found = helper_get(helper, server_url(normalized))
            if found is not None:
                return found
        return self.auths.get(normalized)


def _entry_credentials(entry: object, where: str) -> Credentials | None:
    """One ``auths`` entry; None when it holds nothing (as with a credential store)."""
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{where}: expected an object")
    username = _text(entry, "username", where)
    password = _text(entry, "password", where)
    encoded = _text(entry, "auth", where)
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidArgument(f"{where}: auth: invalid base64 of user:password") from None
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise InvalidArgument(f"{where}: auth: expected base64 of user:password")
    credentials = Credentials(
        username=username,
        password=password,
        identity_token=_text(entry, "identitytoken", where),
        registry_token=_text(entry, "registrytoken", where),
    )
    return credentials if credentials != Credentials() else None


def _text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key) or ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{where}: {key}: expected a string")
    return value


def helper_get(helper: str, server: str) -> Credentials | None:
    """Ask ``docker-credential-<helper>`` for ``server``; None when it has no entry or is missing."""
    program = f"docker-credential-{helper}"
    try:
        proc = subprocess.run([program, "get"], input=server.encode(), capture_output=True,
                              timeout=HELPER_TIMEOUT, check=False)
    except (FileNotFoundError, PermissionError):
        return None
    except subprocess.TimeoutExpired:
        raise InvalidArgument(f"credential helper {program}: no answer within {HELPER_TIMEOUT:.0f}s") from None
    if proc.returncode != 0:
        message = (proc.stdout or proc.stderr).decode(errors="replace").strip()
        if "credentials not found" in message.lower():
            return None
        raise InvalidArgument(f"credential helper {program}: {message or f'exit status {proc.returncode}'}")
    try:
        doc = json.loads(proc.stdout)
        username, secret = doc.get("Username") or "", doc.get("Secret") or ""
    except (ValueError, AttributeError):
        raise InvalidArgument(f"credential helper {program}: invalid answer (expected JSON)") from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    if username == "<token>":  # docker's marker for an identity token
        return Credentials(identity_token=secret)
    return Credentials(username=username, password=secret)
