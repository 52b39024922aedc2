"""The Dockerfile's syntax: lines to instructions, as Docker's classic builder reads them.

- Parser directives (``# escape=``\\`` or ``# escape=\\``, ``# syntax=...``, ``# check=...``
  accepted and ignored) only at the very top: the first line that is not a directive (an
  instruction, a comment, an empty line, an unknown directive) ends them. Their names are
  case-insensitive; each may appear once.
- Comments: lines whose first non-blank character is ``#``; inside a continuation they are
  dropped (a ``#`` elsewhere is text). Empty lines are skipped; an empty line inside a
  continuation is dropped with Docker's warning.
- Continuation: the escape character at the end of a line (trailing blanks allowed) joins
  the next line as it is, leading blanks included (``RUN echo a \\`` + ``  b`` gives
  ``echo a   b``).
- The keyword is case-insensitive; leading ``--name[=value]`` words are flags (quotes and
  escapes inside them are removed; a lone ``--`` ends them).
- For RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD and VOLUME the rest is exec (JSON) form when it
  starts with a valid JSON array of strings (text after the array is ignored, an array of
  anything else is an error, as in dockerd); otherwise it is shell form, kept as text.
- Heredocs for RUN, COPY and ADD: ``<<EOF`` (``<<-EOF`` strips leading tabs; ``<<"EOF"`` /
  ``<<'EOF'`` turn expansion off), several per line, their bodies in the following lines.

Errors raise :class:`~dockyard.errors.InvalidArgument` worded as Docker's: ``dockerfile parse
error line 3: unknown instruction: FORM``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from dockyard.engine.build.shellwords import split_raw_words
from dockyard.errors import InvalidArgument

KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
DIRECTIVES = ("escape", "syntax", "check")
EMPTY_CONTINUATION_WARNING = "[WARNING]: Empty continuation lines will become errors in a future release."

_DIRECTIVE = re.compile(r"^#[ \t]*([A-Za-z][A-Za-z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_HEREDOC = re.compile(r"^<<(-?)(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'<>|&;]+))$")


def parse_error(line: int, message: str) -> InvalidArgument:
    """Docker's wording for an error at a Dockerfile line."""
    return InvalidArgument(f"dockerfile parse error line {line}: {message}")


@dataclass(frozen=True)
class Heredoc:
    """One here-document: ``name`` is its delimiter, ``content`` its body (each line ending
    in a newline), ``expand`` false when the delimiter was quoted, ``chomp`` for ``<<-``."""

    name: str
    content: str
    expand: bool = True
    chomp: bool = False


@dataclass(frozen=True)
class Instruction:
    """One instruction as written.

    ``rest`` is the text after the keyword and the flags; ``json_args`` the exec-form
    arguments when ``rest`` is a JSON array of strings (else None); ``flags`` the
    ``(name, value)`` pairs in order (value None for a bare ``--name``); ``line`` and
    ``end_line`` are 1-based; ``original`` is the joined logical line (keyword included, as
    Docker shows it in ``Step n/m : ...``).
    """

    keyword: str
    rest: str
    line: int
    original: str
    flags: tuple[tuple[str, str | None], ...] = ()
    json_args: tuple[str, ...] | None = None
    heredocs: tuple[Heredoc, ...] = ()
    end_line: int = 0

    @property
    def is_json(self) -> bool:
        return self.json_args is not None

    def flag_values(self, name: str) -> list[str | None]:
        """Every value given to ``--name``, in order."""
        return [value for key, value in self.flags if key == name]


@dataclass
class Dockerfile:
    """A parsed Dockerfile: its instructions, escape character and parser warnings."""

    instructions: list[Instruction]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse(text: str | bytes) -> Dockerfile:
    """Parse a whole Dockerfile."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"failed to parse Dockerfile: not valid UTF-8 at byte {exc.start}") from None
    text = text.removeprefix("\ufeff")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    directives, start = _read_directives(lines)
    escape = directives.get("escape", "\\")
    result = Dockerfile([], escape, directives)
    index = start
    while index < len(lines):
        index = _read_instruction(lines, index, escape, result)
    if result.warnings:
        result.warnings.append(EMPTY_CONTINUATION_WARNING)
    return result


def parse_line(text: str, line: int, escape: str = "\\") -> Instruction:
    """Parse one logical line (an ONBUILD trigger, a heredoc-free instruction)."""
    result = Dockerfile([], escape)
    _read_instruction([text], 0, escape, result, first_line=line)
    if len(result.instructions) != 1:
        raise parse_error(line, "expected one instruction")
    return result.instructions[0]


def _read_directives(lines: list[str]) -> tuple[dict[str, str], int]:
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            return found, index
        name, value = match.group(1).lower(), match.group(2)
        if name not in DIRECTIVES:
            return found, index  # an unknown directive is a comment, and ends the directives
        if name in found:
            raise InvalidArgument(f"failed to parse Dockerfile: only one {name} parser directive can be used")
        if name == "escape" and value not in ("`", "\\"):
            raise InvalidArgument(f"failed to parse Dockerfile: invalid escape token '{value}' does not match ` or \\")
        found[name] = value
    return found, len(lines)


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def _continues(line: str, escape: str) -> tuple[str, bool]:
    """The line without its trailing escape, and whether it had one."""
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape):
        return stripped[: -len(escape)], True
    return line, False


def _read_instruction(lines: list[str], index: int, escape: str, result: Dockerfile, first_line: int = 0) -> int:
    """Read the instruction starting at or after ``lines[index]``; the next line's index."""
    base = first_line - 1 if first_line else 0
    while index < len(lines) and (not lines[index].strip(" \t") or _is_comment(lines[index])):
        index += 1
    if index >= len(lines):
        return index
    start = index
    text, more = _continues(lines[index].lstrip(" \t"), escape)
    index += 1
    empty_continuation = False
    while more and index < len(lines):
        line = lines[index]
        index += 1
        if _is_comment(line):
            continue
        if not line.strip(" \t"):
            empty_continuation = True
            continue
        piece, more = _continues(line, escape)
        text += piece
    line_no = base + start + 1
    text = text.strip(" \t")
    if empty_continuation:
        result.warnings.append(f"[WARNING]: Empty continuation line found in:\n    {text}")
    if not text:
        return index
    instruction = _split(text, line_no, escape)
    if instruction.keyword in HEREDOC_KEYWORDS and instruction.json_args is None:
        markers = find_heredoc_markers(instruction.rest, escape)
        if markers:
            heredocs = []
            for name, expand, chomp in markers:
                heredoc, index = _read_heredoc(lines, index, name, expand, chomp, line_no)
                heredocs.append(heredoc)
            instruction = replace(instruction, heredocs=tuple(heredocs))
    result.instructions.append(replace(instruction, end_line=base + index))
    return index


def _split(text: str, line_no: int, escape: str) -> Instruction:
    parts = text.split(None, 1)
    keyword = parts[0].upper()
    after = parts[1] if len(parts) > 1 else ""
    if keyword not in KEYWORDS:
        raise parse_error(line_no, f"unknown instruction: {keyword}")
    flags, rest = extract_flags(after, escape)
    rest = rest.strip()
    try:
        json_args = parse_json_array(rest) if keyword in JSON_KEYWORDS else None
    except InvalidArgument as exc:
        raise parse_error(line_no, exc.message) from None
    return Instruction(keyword, rest, line_no, text, tuple(_flag_pairs(flags)), json_args, end_line=line_no)


def _flag_pairs(words: list[str]) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        body = word[2:]
        name, eq, value = body.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def extract_flags(text: str, escape: str = "\\") -> tuple[list[str], str]:
    """Split the leading ``--flag`` words off ``text``: (the flag words, quotes and escapes
    removed, with their ``--``; the rest of the text)."""
    flags: list[str] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos].isspace():
            pos += 1
        if not text.startswith("--", pos):
            return flags, text[pos:]
        word: list[str] = []
        quote = ""
        while pos < length:
            char = text[pos]
            if quote:
                if char == quote:
                    quote = ""
                elif char == escape and quote == '"' and pos + 1 < length:
                    pos += 1
                    word.append(text[pos])
                else:
                    word.append(char)
            elif char.isspace():
                break
            elif char in "'\"":
                quote = char
            elif char == escape:
                if pos + 1 < length:
                    pos += 1
                    word.append(text[pos])
            else:
                word.append(char)
            pos += 1
        joined = "".join(word)
        if joined == "--":
            return flags, text[pos:].lstrip()
        flags.append(joined)


def parse_json_array(text: str) -> tuple[str, ...] | None:
    """The strings of ``text`` when it starts with a JSON array of strings, else None. As in
    dockerd, only the first JSON value is read (``CMD ["a"] x`` is ``["a"]``) and an array
    of anything but strings is an error."""
    if not text.startswith("["):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise InvalidArgument("when using JSON array syntax, arrays must be comprised of strings only")
    return tuple(value)


def find_heredoc_markers(rest: str, escape: str = "\\") -> list[tuple[str, bool, bool]]:
    """The heredocs a shell-form line opens, in order: (delimiter, expand, chomp)."""
    markers: list[tuple[str, bool, bool]] = []
    for word in split_raw_words(rest, escape):
        match = _HEREDOC.match(word)
        if not match:
            continue
        chomp = match.group(1) == "-"
        quoted = match.group(2) if match.group(2) is not None else match.group(3)
        if quoted is not None:
            if quoted:
                markers.append((quoted, False, chomp))
            continue
        name = match.group(4)
        if escape in name:  # <<\EOF: an escaped delimiter is a quoted one
            markers.append((name.replace(escape, ""), False, chomp))
        else:
            markers.append((name, True, chomp))
    return markers


def _read_heredoc(lines: list[str], index: int, name: str, expand: bool, chomp: bool,
                  line_no: int) -> tuple[Heredoc, int]:
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        if chomp:
            line = line.lstrip("\t")
        if line == name:
            return Heredoc(name, "".join(part + "\n" for part in body), expand, chomp), index
        body.append(line)
    raise parse_error(line_no, f"unterminated heredoc {name}")
