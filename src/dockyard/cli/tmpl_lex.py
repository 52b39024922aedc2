"""The lexer of Go's text/template (Go 1.24): text, ``{{ }}`` actions, trim markers, comments.

``lex(text)`` returns the whole token list; a lexing error is the last token (kind ERROR),
as Go's lexer hands it to the parser, which reports it with the line it started on.
Positions are offsets into the template text, lines count from 1.
"""

from __future__ import annotations

TEXT, LEFT, RIGHT, SPACE, FIELD, IDENT, VARIABLE, STRING, RAW, CHAR_CONST, NUMBER, BOOL = range(12)
PIPE, LPAREN, RPAREN, ASSIGN, DECLARE, CHAR, EOF, ERROR, KEYWORD = range(12, 21)

KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range", "nil",
                      "template", "with", "."})
_SPACE = " \t\r\n"


class Token:
    """One lexical item: ``kind``, its text ``val``, offset ``pos`` and ``line``."""

    __slots__ = ("kind", "line", "pos", "val")

    def __init__(self, kind: int, val: str, pos: int, line: int) -> None:
        self.kind = kind
        self.val = val
        self.pos = pos
        self.line = line

    def __str__(self) -> str:
        """As Go's item.String() shows it in "unexpected ..." errors."""
        from dockyard.cli.gofmt import quote

        if self.kind == EOF:
            return "EOF"
        if self.kind == ERROR:
            return self.val
        if self.kind == KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return quote(self.val)[:11] + '"...'
        return quote(self.val)


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


def _char_desc(ch: str) -> str:
    """Go's ``%#U``: ``U+0021 '!'``."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def emit(self, kind: int, start: int, end: int) -> None:
        val = self.text[start:end]
        self.tokens.append(Token(kind, val, start, self.line))
        self.line += val.count("\n")
        self.pos = end

    def error(self, message: str, start: int) -> bool:
        self.tokens.append(Token(ERROR, message, start, self.line))
        return False

    def peek(self, at: int) -> str:
        return self.text[at] if at < len(self.text) else ""

    def run(self) -> list[Token]:
        text = self.text
        while True:
            start = self.pos
            i = text.find("{{", start)
            if i < 0:
                if start < len(text):
                    self.emit(TEXT, start, len(text))
                self.tokens.append(Token(EOF, "", len(text), self.line))
                return self.tokens
            trim = text[i + 2:i + 3] == "-" and self.peek(i + 3) in _SPACE and self.peek(i + 3) != ""
            end = len(text[start:i].rstrip(_SPACE)) + start if trim else i
            if end > start:
                self.emit(TEXT, start, end)
            self.line += text.count("\n", end, i)
            after = i + 2 + (2 if trim else 0)
            if text.startswith("/*", after):
                if not self.comment(i, after + 2):
                    return self.tokens
                continue
            self.tokens.append(Token(LEFT, "{{", i, self.line))
            self.line += text.count("\n", i, after)
            self.pos = after
            self.paren_depth = 0
            if not self.inside_action():
                return self.tokens

    def at_right_delim(self, at: int) -> tuple[bool, bool]:
        text = self.text
        if self.peek(at) != "" and self.peek(at) in _SPACE and text.startswith("-}}", at + 1):
            return True, True
        return text.startswith("}}", at), False

    def skip_trimmed(self) -> None:
        text, p = self.text, self.pos
        while p < len(text) and text[p] in _SPACE:
            p += 1
        self.line += text.count("\n", self.pos, p)
        self.pos = p

    def comment(self, left: int, body: int) -> bool:
        text = self.text
        end = text.find("*/", body)
        if end < 0:
            return self.error("unclosed comment", left)
        p = end + 2
        delim, trim = self.at_right_delim(p)
        if not delim:
            return self.error("comment ends before closing delimiter", left)
        p += 4 if trim else 2
        self.line += text.count("\n", left, p)
        self.pos = p
        if trim:
            self.skip_trimmed()
        return True

    def inside_action(self) -> bool:
        text = self.text
        while True:
            p = self.pos
            delim, trim = self.at_right_delim(p)
            if delim:
                if self.paren_depth:
                    return self.error("unclosed left paren", p)
                if trim:
                    self.line += text.count("\n", p, p + 2)
                    self.pos = p + 2
                self.emit(RIGHT, self.pos, self.pos + 2)
                if trim:
                    self.skip_trimmed()
                return True
            ch = self.peek(p)
            if ch == "":
                return self.error("unclosed action", p)
            if ch in _SPACE:
                q = p
                while self.peek(q) != "" and self.peek(q) in _SPACE:
                    q += 1
                if text.startswith("-}}", q) and q - 1 >= p:
                    q -= 1  # leave the space of a trim marker for the delimiter
                    if q == p:
                        continue
                self.emit(SPACE, p, q)
            elif ch == "=":
                self.emit(ASSIGN, p, p + 1)
            elif ch == ":":
                if self.peek(p + 1) != "=":
                    return self.error("expected :=", p)
                self.emit(DECLARE, p, p + 2)
            elif ch == "|":
                self.emit(PIPE, p, p + 1)
            elif ch == '"':
                if not self.quoted(p, '"', STRING, "unterminated quoted string"):
                    return False
            elif ch == "`":
                q = text.find("`", p + 1)
                if q < 0:
                    return self.error("unterminated raw quoted string", p)
                self.emit(RAW, p, q + 1)
            elif ch == "'":
                if not self.quoted(p, "'", CHAR_CONST, "unterminated character constant"):
                    return False
            elif ch == "$":
                if not self.word(p, p + 1, VARIABLE):
                    return False
            elif ch == "." and not ("0" <= self.peek(p + 1) <= "9" and self.peek(p + 1) != ""):
                if not self.word(p, p + 1, FIELD):
                    return False
            elif ch in "+-." or "0" <= ch <= "9":
                if not self.number(p):
                    return False
            elif _is_alnum(ch):
                if not self.word(p, p, IDENT):
                    return False
            elif ch == "(":
                self.paren_depth += 1
                self.emit(LPAREN, p, p + 1)
            elif ch == ")":
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    return self.error("unexpected right paren", p)
                self.emit(RPAREN, p, p + 1)
            elif ch < "\x7f" and ch.isprintable():
                self.emit(CHAR, p, p + 1)
            else:
                return self.error(f"unrecognized character in action: {_char_desc(ch)}", p)

    def at_terminator(self, at: int) -> bool:
        ch = self.peek(at)
        return ch == "" or ch in _SPACE or ch in ".,|:)(" or self.at_right_delim(at)[0] or ch == "}"

    def word(self, start: int, q: int, kind: int) -> bool:
        while self.peek(q) != "" and _is_alnum(self.peek(q)):
            q += 1
        if not self.at_terminator(q):
            return self.error(f"bad character {_char_desc(self.peek(q))}", start)
        val = self.text[start:q]
        if kind == FIELD and q == start + 1:
            kind = KEYWORD  # a lone "."
        elif kind == IDENT and val in KEYWORDS:
            kind = KEYWORD
        elif kind == IDENT and val in ("true", "false"):
            kind = BOOL
        self.emit(kind, start, q)
        return True

    def quoted(self, start: int, close: str, kind: int, message: str) -> bool:
        q = start + 1
        while True:
            ch = self.peek(q)
            if ch == "\\":
                q += 1
                ch = self.peek(q)
                if ch in ("", "\n"):
                    return self.error(message, start)
            elif ch in ("", "\n"):
                return self.error(message, start)
            elif ch == close:
                break
            q += 1
        self.emit(kind, start, q + 1)
        return True

    def number(self, start: int) -> bool:
        q = start
        if self.peek(q) in ("+", "-"):
            q += 1
        digits = "0123456789_"
        if self.peek(q) == "0" and self.peek(q + 1) != "" and self.peek(q + 1) in "xXoObB":
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[self.peek(q + 1).lower()]
            q += 2
        while self.peek(q) != "" and self.peek(q) in digits:
            q += 1
        if self.peek(q) == ".":
            q += 1
            while self.peek(q) != "" and self.peek(q) in digits:
                q += 1
        if len(digits) == 11 and self.peek(q) in ("e", "E") and self.peek(q) != "":
            q += 1
            if self.peek(q) in ("+", "-") and self.peek(q) != "":
                q += 1
            while self.peek(q) != "" and self.peek(q) in "0123456789_":
                q += 1
        if self.peek(q) == "i":
            q += 1
        if self.peek(q) != "" and (_is_alnum(self.peek(q)) or self.peek(q) in "+-"):
            from dockyard.cli.gofmt import quote

            return self.error(f"bad number syntax: {quote(self.text[start:q + 1])}", start)
        self.emit(NUMBER, start, q)
        return True


def lex(text: str) -> list[Token]:
    """All tokens of ``text``; the last is EOF, or ERROR when the text does not lex."""
    return _Lexer(text).run()
