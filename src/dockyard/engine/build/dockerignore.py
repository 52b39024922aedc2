"""``.dockerignore``: which paths of a build context the client leaves out.

Docker's rules (docs.docker.com, "Dockerignore files"):

- one pattern per line; a line whose first character is ``#`` is a comment; a UTF-8 BOM at
  the start is dropped; surrounding whitespace is trimmed and blank lines are skipped;
- a leading ``!`` makes an exception (re-includes); the last matching line wins;
- patterns are cleaned like Go's ``filepath.Clean`` and a leading ``/`` is dropped (the root
  of the context is both the working and the root directory);
- matching is Go's ``filepath.Match`` against the whole slash-separated path, plus ``**``
  for any number of directories (:mod:`dockyard.engine.build.globs`);
- a pattern that matches a directory matches everything below it: a path is tested, and so
  is each of its parent paths (the matcher's ``MatchesOrParentMatches``), so ``dir`` then
  ``!dir/keep`` excludes ``dir/x`` but keeps ``dir/keep`` and what is below it.

:func:`descend_excluded` is the walker's rule for an excluded directory (descend only if an
exception could re-include something below it), :func:`keep_build_files` the CLI's rule that
the Dockerfile and ``.dockerignore`` are always sent, :func:`ignore_file_for` which ignore
file applies to a Dockerfile (``<Dockerfile>.dockerignore`` beside it wins over the root's
``.dockerignore``).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from dockyard.engine.build.globs import compile_glob
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

IGNORE_FILE = ".dockerignore"
_BOM = "\ufeff"


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash-separated paths ("" becomes ".")."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):  # POSIX keeps two leading slashes, Go does not
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


class Pattern:
    """One cleaned line: ``text`` without the ``!``; ``exception`` when it had one.
    (A plain class, not a dataclass: the CLI imports this module, and ``dataclasses``
    costs it ~8 ms.)"""

    __slots__ = ("exception", "regex", "text")

    def __init__(self, text: str, exception: bool, regex: re.Pattern[str]) -> None:
        self.text = text
        self.exception = exception
        self.regex = regex

    def __repr__(self) -> str:
        return f"Pattern({self.text!r}, exception={self.exception})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and (self.text, self.exception) == (other.text, other.exception)

    def __hash__(self) -> int:
        return hash((self.text, self.exception))

    def matches(self, path: str) -> bool:
        """Whether the pattern matches ``path`` or one of its parent paths."""
        if self.regex.match(path):
            return True
        parts = path.split("/")
        return any(self.regex.match("/".join(parts[:i])) for i in range(1, len(parts)))

    def __str__(self) -> str:
        return ("!" if self.exception else "") + self.text


def parse_line(line: str) -> Pattern | None:
    """The pattern of one line, None for a comment or a blank line."""
    if line.startswith("#"):
        return None
    text = line.strip()
    if not text:
        return None
    exception = text.startswith("!")
    if exception:
        text = text[1:].strip()
        if not text:
            raise InvalidArgument('illegal exclusion pattern: "!"')
    text = go_clean(text)
    if len(text) > 1 and text.startswith("/"):
        text = text[1:]
    return Pattern(text, exception, compile_glob(text, double_star=True))


class Patterns:
    """The patterns of one ignore file, in order."""

    def __init__(self, patterns: Iterable[Pattern] = ()) -> None:
        self.patterns: list[Pattern] = list(patterns)

    @classmethod
    def parse(cls, text: str) -> Patterns:
        """The patterns of an ignore file's text."""
        if text.startswith(_BOM):
            text = text[len(_BOM):]
        found = []
        for line in text.splitlines():
            pattern = parse_line(line)
            if pattern is not None:
                found.append(pattern)
        return cls(found)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Patterns:
        """Patterns from lines as the API's / CLI's lists give them (``!`` prefix for exceptions)."""
        found = [p for p in (parse_line(line) for line in lines) if p is not None]
        return cls(found)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def lines(self) -> list[str]:
        return [str(p) for p in self.patterns]

    def has_exceptions(self) -> bool:
        return any(p.exception for p in self.patterns)

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (relative to the context root, slash-separated) is left out."""
        path = go_clean(path).lstrip("/")
        if path in ("", "."):
            return False
        excluded = False
        for pattern in self.patterns:
            # an exclusion cannot change an excluded path, nor an exception an included one
            if pattern.exception != excluded:
                continue
            if pattern.matches(path):
                excluded = not pattern.exception
        return excluded

    def descend_excluded(self, directory: str) -> bool:
        """Whether a walker must still look inside excluded ``directory``.

        As Docker's archiver: only when an exception pattern, read as a path, lies below it
        (``!dir/sub/keep`` for ``dir``); a wildcard exception like ``!*/keep`` does not count.
        """
        prefix = go_clean(directory).strip("/") + "/"
        return any(p.exception and (p.text + "/").startswith(prefix) for p in self.patterns)

    def with_exceptions(self, paths: Iterable[str]) -> Patterns:
        """A copy with ``!path`` appended for each of ``paths`` that is excluded now."""
        extra = [parse_line("!" + p) for p in paths if self.excludes(p)]
        return Patterns([*self.patterns, *(p for p in extra if p is not None)])


def keep_build_files(patterns: Patterns, dockerfile: str = "Dockerfile") -> Patterns:
    """The CLI's rule: ``.dockerignore`` and the Dockerfile are sent even when excluded."""
    return patterns.with_exceptions([IGNORE_FILE, go_clean(dockerfile).lstrip("/")])


def ignore_file_for(context_dir: str, dockerfile: str = "Dockerfile") -> str | None:
    """The ignore file that applies to a build: its path, or None when there is none.

    ``<Dockerfile>.dockerignore`` beside the Dockerfile (``dockerfile`` is relative to the
    context, or absolute) takes precedence over ``<context>/.dockerignore``.
    """
    dockerfile_path = dockerfile if os.path.isabs(dockerfile) else os.path.join(context_dir, dockerfile)
    for candidate in (dockerfile_path + IGNORE_FILE, os.path.join(context_dir, IGNORE_FILE)):
        if os.path.isfile(candidate):
            return candidate
    return None


def load(context_dir: str, dockerfile: str = "Dockerfile") -> Patterns:
    """The patterns that apply to a build of ``context_dir`` (none without an ignore file)."""
    path = ignore_file_for(context_dir, dockerfile)
    if path is None:
        return Patterns()
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return Patterns.parse(f.read())
    except OSError as exc:
        raise InvalidArgument(f"error reading {path}: {exc.strerror}") from exc
