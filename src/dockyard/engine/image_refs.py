"""Image names as the engine reads them from clients and keeps them in containerd.

containerd keeps one record per name; Docker shows images by ID. Three kinds of record
names live in the engine's namespace:

- ``docker.io/library/busybox:latest``: a tag (``RepoTags`` ``busybox:latest``);
- ``docker.io/library/busybox@sha256:...``: a digest reference (a pull by digest);
- ``dockyard-dangling@sha256:<target>``: an image that lost its last name but must stay
  (a container uses it, or a pull or tag moved its name elsewhere: Docker then shows it as
  ``<none>:<none>``). dockerd names these ``moby-dangling@...``.

:func:`familiar_match` is distribution's ``FamiliarMatch`` (the ``reference`` filter):
Go's ``path.Match`` of a pattern against ``busybox:latest`` and against ``busybox``.
"""

from __future__ import annotations

import re

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci.reference import Reference, is_image_id, parse_reference

DANGLING_PREFIX = "dockyard-dangling@"
HEX = frozenset("0123456789abcdef")


def dangling_name(target_digest: str) -> str:
    return DANGLING_PREFIX + target_digest


def is_dangling(name: str) -> bool:
    return name.startswith(DANGLING_PREFIX)


def record_reference(name: str) -> Reference | None:
    """The reference of a record name (None for a dangling record or a foreign name)."""
    if is_dangling(name):
        return None
    try:
        return parse_reference(name, default_tag=False)
    except DockyardError:
        return None


def short_id(image_id: str) -> str:
    """Docker's ``TruncateID``: no algorithm, 12 hex digits."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def id_candidate(text: str) -> str:
    """The hex digits of ``text`` if it may be an image ID or a prefix of one
    (``sha256:abc...``, ``abc...``), else ""."""
    body = text[len("sha256:"):] if text.startswith("sha256:") else text
    if body and len(body) <= 64 and HEX.issuperset(body):
        return body
    return ""


def is_full_id(text: str) -> bool:
    return (text.startswith("sha256:") and is_image_id(text[7:])) or is_image_id(text)


def parse_user_reference(text: str) -> Reference:
    """A name as a client gives it (``busybox``, ``busybox:1``, ``host:5000/x@sha256:...``),
    normalised with ``latest`` for a bare name; InvalidArgument with docker's messages."""
    if not text:
        raise InvalidArgument("invalid reference format")
    return parse_reference(text)


def repo_tag_reference(repo: str, tag: str) -> Reference:
    """Docker's ``RepoTagReference`` (``POST /images/{name}/tag``, import's ``repo``/``tag``):
    ``repo`` normalised, ``tag`` (default ``latest``) added; a digest is refused."""
    try:
        ref = parse_reference(repo, default_tag=False)
    except InvalidArgument as exc:
        raise InvalidArgument(f"Error parsing reference: {repo!r} is not a valid repository/tag: {exc}") from None
    if ref.digest:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    if tag:
        ref = ref.with_tag(tag)
    elif not ref.tag:
        ref = ref.with_tag("latest")
    return ref


# -- path.Match ------------------------------------------------------------------------------

_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _translate(pattern: str) -> re.Pattern[str] | None:
    """Go's ``path.Match`` syntax as a regex (None when the pattern is malformed)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            i += 1
            if i >= n:
                return None
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("^", "]") else i + 1)
            if end < 0:
                return None
            body = pattern[i + 1:end]  # Go's [^...] negates and \ escapes as a regex does
            out.append(f"(?!/)[{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


def path_match(pattern: str, name: str) -> bool:
    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = _translate(pattern)
    compiled = _PATTERNS[pattern]
    return compiled is not None and compiled.fullmatch(name) is not None


def familiar_match(pattern: str, ref: Reference) -> bool:
    """Whether ``pattern`` matches ``ref``'s familiar form (``busybox:latest``) or name (``busybox``)."""
    return path_match(pattern, ref.familiar()) or path_match(pattern, ref.familiar_name())
