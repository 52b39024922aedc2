"""The parser of Go's text/template: tokens from ``tmpl_lex`` to a tree of nodes.

It follows Go's ``text/template/parse`` closely, including its error messages
(``template: NAME:LINE: function "foo" not defined``) and the text each node prints in an
execution error (``<.Field>``). ``{{define}}``, ``{{template}}`` and ``{{block}}`` are not
supported: docker's ``--format`` strings are single templates.
"""

from __future__ import annotations

from dockyard.cli import tmpl_lex as lx
from dockyard.cli.gofmt import quote
from dockyard.cli.tmpl_nodes import (
    Action,
    Bool,
    Branch,
    Break,
    Chain,
    Command,
    Continue,
    Dot,
    Field,
    Identifier,
    ListNode,
    Marker,
    Nil,
    Node,
    Number,
    Pipe,
    String,
    TemplateError,
    Text,
    Variable,
)

_OPERANDS = frozenset({lx.BOOL, lx.CHAR_CONST, lx.FIELD, lx.IDENT, lx.NUMBER, lx.RAW, lx.STRING,
                       lx.VARIABLE, lx.LPAREN})


def _unquote(quoted: str) -> str:
    """``strconv.Unquote`` for "..." and `...` literals; raises ValueError("invalid syntax")."""
    if quoted.startswith("`"):
        return quoted[1:-1].replace("\r", "")
    body, out, i = quoted[1:-1], [], 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", quoted[0]: quoted[0]}
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1:i + 2]
        size = {"x": 2, "u": 4, "U": 8}.get(esc)
        if esc in simple:
            out.append(simple[esc])
            i += 2
        elif size:
            digits = body[i + 2:i + 2 + size]
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + size
        elif esc in "01234567" and esc and len(body[i + 1:i + 4]) == 3:
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError("invalid syntax")
    return "".join(out)


def _parse_int(text: str) -> int:
    digits = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXoObB.":
        return sign * int(digits.replace("_", ""), 8)
    return sign * int(digits, 0)


class Parser:
    def __init__(self, text: str, name: str, funcs: frozenset[str] | set[str]) -> None:
        self.name = name
        self.funcs = funcs
        self.tokens = lx.lex(text)
        self.i = 0
        self.last = self.tokens[0]
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0

    # --- tokens ---
    def next(self) -> lx.Token:
        tok = self.tokens[min(self.i, len(self.tokens) - 1)]
        self.i += 1
        self.last = tok
        return tok

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> lx.Token:
        return self.tokens[min(self.i, len(self.tokens) - 1)]

    def next_non_space(self) -> lx.Token:
        tok = self.next()
        while tok.kind == lx.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> lx.Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    def errorf(self, message: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{self.last.line}: {message}")

    def unexpected(self, tok: lx.Token, context: str) -> TemplateError:
        if tok.kind == lx.ERROR:
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            return self.errorf(f"{tok}{extra}")
        return self.errorf(f"unexpected {tok} in {context}")

    # --- structure ---
    def parse(self) -> ListNode:
        root = ListNode(self.peek().pos)
        while self.peek().kind != lx.EOF:
            node = self.text_or_action()
            if isinstance(node, Marker):
                raise self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        return root

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind == lx.TEXT:
            return Text(tok.pos, tok.val)
        if tok.kind == lx.LEFT:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind == lx.KEYWORD:
            word = tok.val
            if word in ("if", "range", "with"):
                return self.control(word)
            if word in ("break", "continue"):
                end = self.next_non_space()
                if end.kind != lx.RIGHT:
                    raise self.unexpected(end, "{{" + word + "}}")
                if not self.range_depth:
                    raise self.errorf(f"{{{{{word}}}}} outside {{{{range}}}}")
                return Break(tok.pos) if word == "break" else Continue(tok.pos)
            if word == "else":
                peek = self.peek_non_space()
                if peek.kind == lx.KEYWORD and peek.val in ("if", "with"):
                    return Marker(peek.pos, "else")
                return Marker(self.expect(lx.RIGHT, "else").pos, "else")
            if word == "end":
                return Marker(self.expect(lx.RIGHT, "end").pos, "end")
            if word in ("define", "template", "block"):
                raise self.errorf(f"{{{{{word}}}}} is not supported in --format templates")
        self.backup()
        tok = self.peek()
        return Action(tok.pos, tok.line, self.pipeline("command", lx.RIGHT))

    def expect(self, kind: int, context: str) -> lx.Token:
        tok = self.next_non_space()
        if tok.kind != kind:
            raise self.unexpected(tok, context)
        return tok

    def control(self, context: str) -> Branch:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, lx.RIGHT)
            if context == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if nxt.word == "else":
                peek = self.peek()
                if context in ("if", "with") and peek.kind == lx.KEYWORD and peek.val == context:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(self.control(context))
                else:
                    else_list, nxt = self.item_list()
                    if nxt.word != "end":
                        raise self.errorf(f"expected end; found {nxt}")
            return Branch(context, pipe, body, else_list)
        finally:
            del self.vars[mark:]

    def item_list(self) -> tuple[ListNode, Marker]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind != lx.EOF:
            node = self.text_or_action()
            if isinstance(node, Marker):
                return body, node
            body.nodes.append(node)
        raise self.errorf("unexpected EOF")

    # --- pipelines ---
    def pipeline(self, context: str, end: int) -> Pipe:
        tok = self.peek_non_space()
        pipe = Pipe(tok.pos, tok.line)
        while (var := self.peek_non_space()).kind == lx.VARIABLE:
            start = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt.kind in (lx.ASSIGN, lx.DECLARE):
                pipe.is_assign = nxt.kind == lx.ASSIGN
                self.next_non_space()
                pipe.decl.append(Variable(var.pos, [var.val]))
                self.vars.append(var.val)
                break
            if nxt.kind == lx.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(Variable(var.pos, [var.val]))
                self.vars.append(var.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (lx.VARIABLE, lx.RIGHT, lx.RPAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            self.i = start
            break
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.kind in _OPERANDS or (tok.kind == lx.KEYWORD and tok.val in (".", "nil")):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def check_pipeline(self, pipe: Pipe, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], Bool | Dot | Nil | Number | String):
                raise self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> Command:
        cmd = Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.kind == lx.SPACE:
                continue
            if tok.kind in (lx.RIGHT, lx.RPAREN):
                self.backup()
            elif tok.kind != lx.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind != lx.FIELD:
            return node
        pos = self.peek().pos
        fields = []
        while self.peek().kind == lx.FIELD:
            fields.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(pos, node.idents + fields)
        if isinstance(node, Variable):
            return Variable(pos, node.idents + fields)
        if isinstance(node, Bool | String | Number | Nil | Dot):
            raise self.errorf(f"unexpected . after term {quote(str(node))}")
        return Chain(pos, node, fields)

    def term(self) -> Node | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == lx.IDENT:
            if tok.val not in self.funcs:
                raise self.errorf(f"function {quote(tok.val)} not defined")
            return Identifier(tok.pos, tok.val)
        if kind == lx.KEYWORD and tok.val == ".":
            return Dot(tok.pos)
        if kind == lx.KEYWORD and tok.val == "nil":
            return Nil(tok.pos)
        if kind == lx.VARIABLE:
            if tok.val not in self.vars:
                raise self.errorf(f"undefined variable {quote(tok.val)}")
            return Variable(tok.pos, [tok.val])
        if kind == lx.FIELD:
            return Field(tok.pos, [tok.val[1:]])
        if kind == lx.BOOL:
            return Bool(tok.pos, tok.val == "true")
        if kind in (lx.NUMBER, lx.CHAR_CONST):
            return self.number(tok)
        if kind == lx.LPAREN:
            return self.pipeline("parenthesized pipeline", lx.RPAREN)
        if kind in (lx.STRING, lx.RAW):
            try:
                return String(tok.pos, tok.val, _unquote(tok.val))
            except ValueError:
                raise self.errorf("invalid syntax") from None
        self.backup()
        return None

    def number(self, tok: lx.Token) -> Number:
        node = Number(tok.pos, tok.val)
        text = tok.val
        if tok.kind == lx.CHAR_CONST:
            try:
                char = _unquote(text)
            except ValueError:
                raise self.errorf("invalid syntax") from None
            if len(char) != 1:
                raise self.errorf(f"malformed character constant: {text}")
            node.is_int = node.is_float = True
            node.int_val = ord(char)
            node.float_val = float(ord(char))
            return node
        try:
            value: int | None = _parse_int(text)
        except ValueError:
            value = None
        if value is not None and -(1 << 63) <= value < (1 << 64):
            node.is_int = node.is_float = True
            node.int_val, node.float_val = value, float(value)
            return node
        try:
            node.float_val = float(text.replace("_", ""))
            if node.float_val in (float("inf"), float("-inf")):
                raise ValueError(text)  # out of range for a float64
        except ValueError:
            raise self.errorf(f"illegal number syntax: {quote(text)}") from None
        if not any(c in text for c in ".eEpP"):
            raise self.errorf(f"integer overflow: {quote(text)}")
        node.is_float = True
        if node.float_val == node.float_val and abs(node.float_val) < 2**63 and node.float_val == int(node.float_val):
            node.is_int, node.int_val = True, int(node.float_val)
        if not (node.is_int or node.is_float):
            raise self.errorf(f"illegal number syntax: {quote(text)}")
        return node


def parse(text: str, name: str, funcs: frozenset[str] | set[str]) -> ListNode:
    """The tree of ``text``; ``funcs`` are the function names templates may call."""
    return Parser(text, name, funcs).parse()
