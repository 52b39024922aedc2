"""Image references (``busybox``, ``user/app:1``, ``localhost:5000/x@sha256:...``), as docker reads them.

The grammar is distribution/reference's::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path
    domain           := host [":" port]          host: domain-name | IPv4 | "[" IPv6 "]"
    domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
    path             := path-component ["/" path-component]*
    path-component   := [a-z0-9]+ (separator [a-z0-9]+)*     separator: [._] | "__" | "-"+
    tag              := [\\w][\\w.-]{0,127}
    digest           := algorithm ":" hex (32 or more)

Normalising is docker's (``ParseNormalizedNamed`` then ``TagNameOnly``): the first component
is a registry when it contains ``.`` or ``:``, is ``localhost`` or has upper case; else the
registry is ``docker.io`` and a one-component path gets ``library/``; ``index.docker.io`` is
``docker.io``; without tag or digest the tag is ``latest``. The error messages are docker's.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DEFAULT_REGISTRY_HOST = "registry-1.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

ERR_INVALID_FORMAT = "invalid reference format"
ERR_TAG_INVALID = "invalid tag format"
ERR_DIGEST_INVALID = "invalid digest format"
ERR_NAME_UPPERCASE = "repository name must be lowercase"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"

_HEX = frozenset("0123456789abcdef")
_REGEX: dict[str, Any] = {}


def _regex(name: str) -> Any:
    """The compiled patterns, built on first use (``re`` is too slow to import up front)."""
    if not _REGEX:
        import re

        alnum = "[a-z0-9]+"
        separator = "(?:[._]|__|-+)"
        component = f"{alnum}(?:{separator}{alnum})*"
        path = f"{component}(?:/{component})*"
        label = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
        host = rf"(?:{label}(?:\.{label})*|\[[a-fA-F0-9:]+\])"
        domain = f"{host}(?::[0-9]+)?"
        tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # Go's \w is ASCII
        digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
        _REGEX["reference"] = re.compile(f"((?:{domain}/)?{path})(?::({tag}))?(?:@({digest}))?")
        _REGEX["name"] = re.compile(f"(?:({domain})/)?({path})")
        _REGEX["tag"] = re.compile(tag)
        _REGEX["digest"] = re.compile(digest)
        _REGEX["domain"] = re.compile(domain)
    return _REGEX[name]


class Reference:
    """A parsed reference: ``domain``, ``path``, ``tag`` ("" if none), ``digest`` ("" if none).

    ``str()`` is the full form (``docker.io/library/busybox:latest``), :meth:`familiar` the
    short one docker prints (``busybox:latest``). Immutable and hashable.
    """

    __slots__ = ("digest", "domain", "path", "tag")

    domain: str
    path: str
    tag: str
    digest: str

    def __init__(self, domain: str, path: str, tag: str = "", digest: str = "") -> None:
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "digest", digest)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Reference is immutable (tried to set {name})")

    def _key(self) -> tuple[str, str, str, str]:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    def __str__(self) -> str:
        return self.name + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def name(self) -> str:
        """``domain/path`` (the repository, without tag or digest)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def familiar_name(self) -> str:
        """The name as docker shows it: no ``docker.io/``, no ``library/`` for one component."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX):]
            if "/" not in rest:
                return rest
        return self.path

    def familiar(self) -> str:
        """``busybox:latest``, ``user/app:1``, ``localhost:5000/x:latest``, ``alpine@sha256:...``."""
        return self.familiar_name() + self._suffix()

    def is_name_only(self) -> bool:
        return not self.tag and not self.digest

    def repository(self) -> Reference:
        """The same name without tag or digest."""
        return Reference(self.domain, self.path)

    def with_tag(self, tag: str) -> Reference:
        """This name with ``tag`` (any digest kept); InvalidArgument "invalid tag format"."""
        if _regex("tag").fullmatch(tag) is None:
            raise InvalidArgument(ERR_TAG_INVALID)
        return Reference(self.domain, self.path, tag, self.digest)

    def with_digest(self, digest: str) -> Reference:
        """This name with ``digest`` (any tag kept); InvalidArgument if it is not a digest."""
        if _regex("digest").fullmatch(digest) is None:
            raise InvalidArgument(ERR_DIGEST_INVALID)
        _check_digest(digest)
        return Reference(self.domain, self.path, self.tag, digest)

    @property
    def registry_host(self) -> str:
        """The host (and port) to connect to: ``docker.io`` is ``registry-1.docker.io``."""
        return registry_host(self.domain)

    @property
    def api_reference(self) -> str:
        """What goes after ``/v2/<path>/manifests/``: the digest if there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG


def parse_reference(text: str, default_tag: bool = True) -> Reference:
    """Parse and normalise ``text`` as docker does; with ``default_tag`` a bare name gets ``latest``.

    InvalidArgument carries docker's message (``invalid reference format``, ``invalid reference
    format: repository name (library/Busybox) must be lowercase``, ...).
    """
    if is_image_id(text):
        raise InvalidArgument(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidArgument(f"invalid reference format: repository name ({remote}) must be lowercase")
    ref = parse_canonical(f"{domain}/{remainder}")
    if default_tag and ref.is_name_only():
        ref = Reference(ref.domain, ref.path, DEFAULT_TAG)
    return ref


def parse_canonical(text: str) -> Reference:
    """distribution's ``Parse``: the grammar alone, no docker.io or library/ defaults."""
    if not text:
        raise InvalidArgument("repository name must have at least one component")
    match = _regex("reference").fullmatch(text)
    if match is None:
        lowered = text.lower()
        if lowered != text and _regex("reference").fullmatch(lowered) is not None:
            raise InvalidArgument(ERR_NAME_UPPERCASE)
        raise InvalidArgument(ERR_INVALID_FORMAT)
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    name_match = _regex("name").fullmatch(name)
    domain, path = (name_match.group(1) or "", name_match.group(2)) if name_match else ("", name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(ERR_NAME_TOO_LONG)
    if digest:
        _check_digest(digest)
    return Reference(domain, path, tag, digest)


def _split_docker_domain(text: str) -> tuple[str, str]:
    """(domain, remainder) with docker's defaults; ``remainder`` may still hold tag and digest."""
    first, slash, rest = text.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + text
    if first == "localhost":
        domain, remainder = first, rest
    elif first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, text
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _check_digest(digest: str) -> None:
    """go-digest's checks and messages for the digest of a reference."""
    from dockyard.oci.digest import ALGORITHMS  # not at import: hashlib is slow to load

    algorithm, _, encoded = digest.partition(":")
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise InvalidArgument("unsupported digest algorithm")
    if len(encoded) != length:
        raise InvalidArgument("invalid checksum digest length")
    if not _HEX.issuperset(encoded):
        raise InvalidArgument("invalid checksum digest format")


def is_image_id(text: str) -> bool:
    """64 lowercase hex characters: an image ID, never a repository name."""
    return len(text) == 64 and _HEX.issuperset(text)


def validate_domain(domain: str) -> str:
    """``domain`` itself if it is a registry host[:port] as the grammar allows."""
    if _regex("domain").fullmatch(domain) is None:
        raise InvalidArgument(f"invalid registry domain {domain!r}")
    return domain


def registry_host(domain: str) -> str:
    """The host to connect to for the registry ``domain`` (Docker Hub's API lives elsewhere)."""
    if domain in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN):
        return DEFAULT_REGISTRY_HOST
    return domain


def split_for_registry(ref: Reference) -> tuple[str, str, str]:
    """(host to connect to, repository path, tag or digest) for the distribution API."""
    return ref.registry_host, ref.path, ref.api_reference
