"""Variable substitution and word splitting, with the classic builder's shell-lexer rules.

The builder (not a shell) substitutes variables in ADD, COPY, ENV, EXPOSE, FROM, LABEL,
STOPSIGNAL, USER, VOLUME, WORKDIR and ARG, and in the ``--chown``/``--from`` style flags of
those; RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left to the shell at run
time (:data:`SUBSTITUTED`). Rules, as dockerd 20.10 applies them:

- ``$NAME`` and ``${NAME}`` (names of letters, digits and ``_``; a ``$`` before anything else
  is literal). ``${NAME:-word}`` is ``word`` when NAME is unset or empty, ``${NAME:+word}``
  ``word`` when NAME is set and not empty, ``${NAME:?message}`` an error when it is unset or
  empty. The words are themselves expanded. Other forms (``${NAME-word}``, ``${NAME+word}``)
  are errors: ``missing ':' in substitution``, as dockerd 20.10 says.
- The escape character (``\\`` or the ``# escape=`` one) makes the next character literal;
  at the end of the text it disappears. Inside double quotes it escapes only ``"``, ``$``
  and itself, and stays as it is before any other character.
- Single quotes: everything literal up to the next single quote. Double quotes: variables
  expand, blanks do not split. Quotes are removed.
- :meth:`Lexer.process_words` also splits into words on blanks outside quotes, including
  the blanks that an unquoted variable brings; :meth:`Lexer.process_word` keeps one word.

Errors: :class:`~dockyard.errors.InvalidArgument` ``failed to process "<text>": <reason>`` (the
text quoted as Go's ``%q`` does, :func:`go_quote`).
"""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.errors import InvalidArgument

SUBSTITUTED = frozenset({
    "ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
_BLANKS = " \t\r\n"


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_char(char: str, quote: str) -> str:
    """One character as Go's quoting writes it between ``quote`` characters."""
    if char == quote or char == "\\":
        return "\\" + char
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if char.isprintable() or char == " ":
        return char
    if code < 0x80:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: ``"a\\"b"``, ``"a\\tb"``, printable Unicode kept."""
    return '"' + "".join(go_char(char, '"') for char in text) + '"'


class _Fail(Exception):
    pass


class _Words:
    """Accumulates characters into words; ``splittable`` text breaks at blanks."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.current: list[str] = []
        self.in_word = False

    def raw(self, text: str) -> None:
        self.current.append(text)
        self.in_word = True

    def splittable(self, text: str) -> None:
        for char in text:
            if char in _BLANKS:
                self.blank()
            else:
                self.current.append(char)
                self.in_word = True

    def blank(self) -> None:
        if self.in_word:
            self.words.append("".join(self.current))
        self.current = []
        self.in_word = False

    def done(self) -> list[str]:
        self.blank()
        return self.words


class Lexer:
    """Docker's builder lexer for one escape character."""

    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def process_word(self, text: str, env: Mapping[str, str]) -> str:
        """``text`` with its variables substituted and quotes and escapes removed, as one word."""
        return "".join(self._run(text, env, split=False))

    def process_words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """``text`` substituted and split into words at blanks outside quotes."""
        return self._run(text, env, split=True)

    def process_heredoc(self, text: str, env: Mapping[str, str]) -> str:
        """A heredoc's content with its variables substituted; quotes and escapes stay as
        they are (an escaped ``$`` is kept, not substituted), as BuildKit expands ``COPY
        <<EOF`` bodies whose delimiter is not quoted."""
        try:
            return _Scan(text, env, self.escape).raw()
        except _Fail as exc:
            raise InvalidArgument(f"failed to process {go_quote(text)}: {exc}") from None

    def _run(self, text: str, env: Mapping[str, str], split: bool) -> list[str]:
        try:
            scan = _Scan(text, env, self.escape)
            if split:
                return scan.words()
            return [scan.until("")]
        except _Fail as exc:
            raise InvalidArgument(f"failed to process {go_quote(text)}: {exc}") from None


class _Scan:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def words(self) -> list[str]:
        out = _Words()
        while self.pos < len(self.text):
            char = self.next()
            if char in _BLANKS:
                out.blank()
            elif char == "'":
                out.raw(self.single_quoted())
            elif char == '"':
                out.raw(self.double_quoted())
            elif char == "$":
                value, literal = self.dollar()
                if literal:
                    out.raw(value)
                else:
                    out.splittable(value)
            elif char == self.escape:
                if self.pos < len(self.text):
                    out.raw(self.next())
            else:
                out.raw(char)
        return out.done()

    def raw(self) -> str:
        parts: list[str] = []
        while self.pos < len(self.text):
            char = self.next()
            if char == "$":
                parts.append(self.dollar()[0])
            elif char == self.escape and self.pos < len(self.text):
                parts.append(char + self.next())
            else:
                parts.append(char)
        return "".join(parts)

    def until(self, stop: str) -> str:
        """Process up to ``stop`` (consumed) or the end when ``stop`` is empty."""
        parts: list[str] = []
        while True:
            if self.pos >= len(self.text):
                if stop:
                    raise _Fail(f"syntax error: missing '{stop}'")
                return "".join(parts)
            char = self.next()
            if stop and char == stop:
                return "".join(parts)
            if char == "'":
                parts.append(self.single_quoted())
            elif char == '"':
                parts.append(self.double_quoted())
            elif char == "$":
                parts.append(self.dollar()[0])
            elif char == self.escape:
                if self.pos < len(self.text):
                    parts.append(self.next())
            else:
                parts.append(char)

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise _Fail("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def double_quoted(self) -> str:
        parts: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise _Fail("unexpected end of statement while looking for matching double-quote")
            char = self.next()
            if char == '"':
                return "".join(parts)
            if char == "$":
                parts.append(self.dollar()[0])
            elif char == self.escape:
                following = self.peek()
                if following in ('"', "$", self.escape) and following:
                    parts.append(self.next())
                elif following:
                    parts.append(char)
            else:
                parts.append(char)

    def name(self) -> str:
        start = self.pos
        if self.peek().isdigit():
            self.pos += 1
            return self.text[start:self.pos]
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def dollar(self) -> tuple[str, bool]:
        """After a ``$``: (the value, whether it is literal text rather than a variable's)."""
        if self.peek() != "{":
            name = self.name()
            if not name or not name.isascii():
                return "$" + name, True
            return self.env.get(name, ""), False
        self.pos += 1
        name = self.name()
        char = self.next()
        if char == "}":
            return self.env.get(name, ""), False
        if char != ":":
            raise _Fail("missing ':' in substitution")
        modifier = self.next()
        if modifier not in ("-", "+", "?"):
            raise _Fail(f"unsupported modifier ({modifier}) in substitution")
        word = self.until("}")
        value = self.env.get(name, "")
        if modifier == "-":
            return (value if value else word), False
        if modifier == "+":
            return (word if value else ""), False
        if not value:
            raise _Fail(f"{name}: {word}" if word else f"{name}: is not allowed to be unset")
        return value, False


def split_raw_words(text: str, escape: str = "\\") -> list[str]:
    """Split at blanks outside quotes, keeping quotes and escapes in the words (for later
    substitution): ``a="b c" d`` gives ``['a="b c"', 'd']``."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    pos = 0
    while pos < len(text):
        char = text[pos]
        if quote:
            word.append(char)
            if char == quote:
                quote = ""
            elif char == escape and quote == '"' and pos + 1 < len(text):
                pos += 1
                word.append(text[pos])
        elif char in _BLANKS:
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(char)
            if char in "'\"":
                quote = char
            elif char == escape and pos + 1 < len(text):
                pos += 1
                word.append(text[pos])
        pos += 1
    if word:
        words.append("".join(word))
    return words
