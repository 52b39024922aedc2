"""HTTP to one registry: the scheme, a pooled session, timeouts, retries and authorization.

**Scheme.** HTTPS, verified, for every registry but two kinds: loopback hosts
(``localhost``, ``127.0.0.0/8``, ``::1``) and hosts the caller lists as insecure speak
plain HTTP, and switch to HTTPS (unverified) when the server answers that it wants TLS.
An HTTPS registry whose TLS fails gets Unavailable naming the way out (list it as insecure).

**Retries.** Connection errors, timeouts, 408, 429 and 5xx are tried again with
exponential backoff (``backoff`` doubling up to ``max_backoff``) up to ``retries`` more
times; ``Retry-After`` is honoured (up to ``max_retry_after`` seconds, beyond that the
answer is final). A request with a body that cannot be sent twice opts out.

**Timeouts.** ``timeout`` bounds the connection and every wait for data (not a whole
transfer): a registry that stops answering fails after ``timeout`` seconds per attempt.

**Authorization.** Each request names the scopes it needs; the :class:`Authorizer` adds
``Authorization`` and answers 401 challenges (at most twice per request).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from dockyard.containerd.registry.auth import Authorizer
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.registry.responses import TRANSIENT_STATUSES, Subject, error_for, retry_after
from dockyard.errors import InvalidArgument, Unavailable

USER_AGENT = "dockyard/0.1"
HTTPS_WANTED = "HTTP request to an HTTPS server"
# Errors of the connection or of reading a body: worth another try.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.x.y.z`` or ``::1``, with or without a port."""
    name = host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """``host[:port]`` without the port (and without the brackets of an IPv6 address)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    if host.count(":") > 1:  # a bare IPv6 address
        return host.lower()
    return host.split(":", 1)[0].lower()


class _Auth(requests.auth.AuthBase):
    """Sets our Authorization value (or none); passing an auth object also keeps requests
    from adding ~/.netrc credentials behind our back."""

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __call__(self, request: Any) -> Any:
        if self.value:
            request.headers["Authorization"] = self.value
        return request


class Transport:
    """Requests to registry ``host`` (``host[:port]``) through one pooled session."""

    def __init__(self, host: str, *, insecure: bool = False, credentials: Credentials | None = None,
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 max_retry_after: float = 60.0, pool_size: int = 10,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not host or "/" in host:
            raise InvalidArgument(f"invalid registry host {host!r}")
        if timeout <= 0 or retries < 0:
            raise InvalidArgument(f"registry {host}: timeout must be positive and retries not negative")
        self.host = host
        self.plain_http_allowed = insecure or is_loopback(host)
        self.scheme = "http" if self.plain_http_allowed else "https"
        self.verify = not self.plain_http_allowed
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self._scheme_lock = threading.Lock()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.authorizer = Authorizer(host, credentials, self._send_plain)

    def close(self) -> None:
        self.session.close()

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (``/v2/...``); absolute URLs are returned as they are."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path

    # -- requests --------------------------------------------------------------------

    def request(self, method: str, path: str, subject: Subject, *, scopes: Sequence[str] = (),
                params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                data: Any = None, stream: bool = False,
                ok: Iterable[int] = (200,), retry: bool = True) -> Any:
        """Send until a final answer; return it when its status is in ``ok``, else raise the
        mapped error (after closing it). ``data`` is bytes, a body object, or a callable
        making a fresh body per attempt. ``retry=False``: transient failures are raised at once (Unavailable)."""
        accepted = frozenset(ok)
        attempts = auth_rounds = 0
        while True:
            attempts += 1
            url = self.url(path)
            sent = self.authorizer.header(scopes)
            body = data() if callable(data) else data
            try:
                response = self.session.request(
                    method, url, params=params, headers=dict(headers or {}), data=body, stream=stream,
                    timeout=(self.timeout, self.timeout), verify=self.verify, auth=_Auth(sent),
                )
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(exc, subject) from None
            except TRANSIENT_ERRORS as exc:
                if retry and attempts <= self.retries:
                    self.sleep(self.delay(attempts))
                    continue
                raise self._network_error(exc, subject, attempts) from None
            status = response.status_code
            if status in accepted:
                return response
            if status == 400 and self._wants_https(response):
                continue
            if status == 401 and auth_rounds < 2:
                auth_rounds += 1
                if self.authorizer.unauthorized(response, scopes, sent):
                    response.close()
                    attempts -= 1  # an authorization round is not a failed attempt
                    continue
            if status in TRANSIENT_STATUSES and retry and attempts <= self.retries:
                wait = self._wait_for(response, attempts)
                if wait is not None:
                    response.close()
                    self.sleep(wait)
                    continue
            raise self._status_error(response, subject, attempts, sent)

    def _send_plain(self, method: str, url: str, params: Mapping[str, str | list[str]], headers: Mapping[str, str],
                    form: Mapping[str, str] | None, subject: Subject) -> Any:
        """A request without our authorization (the token server's), with retries. TLS is
        verified unless the token server is loopback or this insecure registry itself."""
        attempts = 0
        realm_host = urlsplit(url).netloc
        verify = not (is_loopback(realm_host) or (realm_host == self.host and self.plain_http_allowed))
        while True:
            attempts += 1
            try:
                response = self.session.request(
                    method, url, params=params, headers=dict(headers), data=form,
                    timeout=(self.timeout, self.timeout), verify=verify, auth=_Auth(None),
                )
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(exc, subject) from None
            except TRANSIENT_ERRORS as exc:
                if attempts <= self.retries:
                    self.sleep(self.delay(attempts))
                    continue
                raise self._network_error(exc, subject, attempts) from None
            if response.status_code in TRANSIENT_STATUSES and attempts <= self.retries:
                wait = self._wait_for(response, attempts)
                if wait is not None:
                    self.sleep(wait)
                    continue
            return response

    # -- helpers ---------------------------------------------------------------------

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * (2 ** (attempt - 1))))

    def _wait_for(self, response: Any, attempt: int) -> float | None:
        """How long to wait before trying again, None if the answer is final."""
        if response.status_code in (429, 503):
            after = retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return after if after <= self.max_retry_after else None
        return self.delay(attempt)

    def _wants_https(self, response: Any) -> bool:
        """A plain-HTTP request answered by a TLS server: switch this client to HTTPS."""
        if self.scheme != "http":
            return False
        try:
            text = response.content[:200].decode("ascii", errors="replace")
        finally:
            response.close()
        if HTTPS_WANTED not in text:
            return False
        with self._scheme_lock:
            self.scheme = "https"
        return True

    def _status_error(self, response: Any, subject: Subject, attempts: int, sent: str | None) -> Exception:
        try:
            body = response.content[:65536]
        except TRANSIENT_ERRORS:
            body = b""
        finally:
            response.close()
        return error_for(response.status_code, response.reason or "", body, subject, self.host,
                         attempts=attempts, authenticated=sent is not None or self.authorizer.credentials is not None)

    def _network_error(self, exc: BaseException, subject: Subject, attempts: int) -> Unavailable:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, (requests.Timeout, TimeoutError, urllib3.exceptions.TimeoutError)):
            return Unavailable(f"registry {self.host} timed out after {self.timeout:g}s for {subject}{tries}")
        return Unavailable(f"cannot reach registry {self.host} for {subject}: {reason(exc)}{tries}")

    def _tls_error(self, exc: BaseException, subject: Subject) -> Unavailable:
        hint = "" if self.plain_http_allowed else \
            f"; if it serves plain HTTP, list {self.host} as an insecure registry"
        return Unavailable(f"registry {self.host}: TLS failed for {subject}: {reason(exc)}{hint}")


def reason(exc: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 exception, on one line."""
    inner = exc
    for _ in range(6):
        nested = getattr(inner, "reason", None)
        if not isinstance(nested, BaseException):
            nested = inner.args[0] if inner.args and isinstance(inner.args[0], BaseException) else None
        if nested is None or nested is inner:
            break
        inner = nested
    text = inner.strerror if isinstance(inner, OSError) and inner.strerror else str(inner)
    if text.startswith("<") and ">: " in text:  # urllib3 prefixes the connection's repr
        text = text.split(">: ", 1)[1]
    return " ".join(text.split())[:200] or type(inner).__name__
