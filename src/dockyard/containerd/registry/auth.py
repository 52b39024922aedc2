"""Authorization of one registry's requests: anonymous, basic, and bearer tokens.

The first request to a registry goes out without credentials. A 401 carries the challenges
(:mod:`.challenge`); the :class:`Authorizer` remembers the one it can answer (Bearer before
Basic) and the request is sent again:

- **Basic**: ``Authorization: Basic base64(user:password)`` on every later request.
- **Bearer** (distribution's token auth): a token is asked from the challenge's ``realm``
  with ``service`` and one ``scope`` per repository (``repository:<name>:pull`` or
  ``pull,push``), anonymously or with the user's basic credentials (``GET``), or with an
  OAuth refresh token (docker's ``identitytoken``: ``POST grant_type=refresh_token``).
  The answer's ``token`` (or ``access_token``) is cached per scope set until shortly
  before ``expires_in`` (default 60 s) runs out.

A second 401 for a request that was already answered with the challenge's credentials is
final: the transport raises PermissionDenied. The authorizer is shared by the threads of
one client; a lock makes one thread fetch a token while the others wait for it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dockyard.containerd.registry.challenge import Challenge, parse_challenges
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.registry.responses import Subject, describe, error_for
from dockyard.errors import InvalidArgument, PermissionDenied

DEFAULT_EXPIRY = 60.0  # seconds, when the token server does not say
EXPIRY_MARGIN = 10.0
CLIENT_ID = "dockyard"


def repository_scope(name: str, *actions: str) -> str:
    """``repository:<name>:<actions>`` (``pull`` when none are given)."""
    return f"repository:{name}:{','.join(actions or ('pull',))}"


class Reply(Protocol):
    """What the authorizer reads of an HTTP answer (a ``requests.Response`` fits)."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


# send(method, url, params, headers, data, subject) -> Reply; retries transient failures.
Sender = Callable[[str, str, Mapping[str, str | list[str]], Mapping[str, str], Mapping[str, str] | None, Subject],
                  Reply]


@dataclass
class _Token:
    value: str
    expires: float


class Authorizer:
    """The authorization state of registry ``host`` for one client."""

    def __init__(self, host: str, credentials: Credentials | None, send: Sender) -> None:
        self.host = host
        self.credentials = credentials
        self._send = send
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, str, tuple[str, ...]], _Token] = {}
        self._lock = threading.Lock()

    @property
    def scheme(self) -> str:
        """``bearer``, ``basic`` or "" (no challenge seen yet: anonymous)."""
        return self._challenge.scheme if self._challenge else ""

    def header(self, scopes: Sequence[str]) -> str | None:
        """The ``Authorization`` value for a request needing ``scopes``, None for anonymous."""
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            creds = self.credentials
            if creds is None or not creds.has_password:
                return None
            raw = f"{creds.username}:{creds.password}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return "Bearer " + self._token(challenge, scopes)

    def unauthorized(self, reply: Reply, scopes: Sequence[str], sent: str | None) -> bool:
        """Learn from a 401 answer to a request that carried ``sent``; True when sending it
        again with new authorization may succeed, False when the refusal is final."""
        challenges = parse_challenges(_header(reply.headers, "WWW-Authenticate"))
        chosen = _pick(challenges)
        if chosen is None:
            return False
        with self._lock:
            known = self._challenge
            changed = known is None or known.scheme != chosen.scheme or known.realm != chosen.realm \
                or known.service != chosen.service
            self._challenge = chosen
            if chosen.scheme == "bearer" and sent and sent.startswith("Bearer "):
                # The token was refused (expired or revoked): drop it and try once more.
                stale = sent[len("Bearer "):]
                dropped = [key for key, token in self._tokens.items() if token.value == stale]
                for key in dropped:
                    del self._tokens[key]
                return bool(dropped) and chosen.error != "insufficient_scope"
        if changed:
            return chosen.scheme == "bearer" or self.header(scopes) is not None
        return sent is None and self.header(scopes) is not None

    def _token(self, challenge: Challenge, scopes: Sequence[str]) -> str:
        key = (challenge.realm, challenge.service, tuple(sorted(set(scopes))))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached.value
            token = self._fetch_token(challenge, key[2])
            self._tokens[key] = token
            return token.value

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...]) -> _Token:
        realm = challenge.realm
        if not realm.startswith(("https://", "http://")):
            raise InvalidArgument(f"registry {self.host}: bearer challenge without a usable realm ({realm!r})")
        creds = self.credentials
        subject = Subject("token", f"{realm} for {self.host}")
        if creds is not None and creds.registry_token:
            return _Token(creds.registry_token, float("inf"))
        headers: dict[str, str] = {"Accept": "application/json"}
        if creds is not None and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "service": challenge.service, "scope": " ".join(scopes), "client_id": CLIENT_ID}
            reply = self._send("POST", realm, {}, headers, form, subject)
        else:
            params: dict[str, str | list[str]] = {"scope": list(scopes)}
            if challenge.service:
                params["service"] = challenge.service
            if creds is not None and creds.has_password:
                raw = f"{creds.username}:{creds.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
            reply = self._send("GET", realm, params, headers, None, subject)
        if reply.status_code in (401, 403):
            who = f"user {creds.username!r}" if creds is not None and creds.username else "anonymous access"
            detail = describe(reply.status_code, reply.reason, reply.content)
            raise PermissionDenied(f"registry {self.host}: authentication failed for {who}: {detail}")
        if reply.status_code != 200:
            raise error_for(reply.status_code, reply.reason, reply.content, subject, self.host)
        return _parse_token(reply.content, self.host)


def _pick(challenges: Sequence[Challenge]) -> Challenge | None:
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    return value if isinstance(value, str) else ""


def _parse_token(body: bytes, host: str) -> _Token:
    """The token of a token server's JSON answer, with its expiry on the monotonic clock."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise InvalidArgument(f"registry {host}: token server answered something other than JSON") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"registry {host}: token server answered {type(doc).__name__}, not an object")
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"registry {host}: token server answer has no token")
    expires_in = doc.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else DEFAULT_EXPIRY
    margin = min(EXPIRY_MARGIN, lifetime / 2)
    return _Token(value, time.monotonic() + lifetime - margin)
