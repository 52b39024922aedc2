"""The nodes of a parsed Go text/template, and the error every template step raises.

Each node keeps its offset in the template text (for ``template: :1:2:`` in errors) and
prints itself as Go's ``Node.String()`` does, which is the ``<...>`` part of an execution
error (``executing "" at <.Nope>``).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument


class TemplateError(InvalidArgument):
    """A template that does not parse or fails to execute; the message is Go's."""


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class Text(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class Dot(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class Nil(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class Bool(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        super().__init__(pos)
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class Number(Node):
    __slots__ = ("float_val", "int_val", "is_float", "is_int", "text")

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_float = False
        self.int_val = 0
        self.float_val = 0.0

    def __str__(self) -> str:
        return self.text


class String(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class Field(Node):
    """``.A.B``: a field chain starting at dot."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        super().__init__(pos)
        self.idents = idents

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


class Variable(Node):
    """``$x.A.B``: a variable and the fields after it."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        super().__init__(pos)
        self.idents = idents

    def __str__(self) -> str:
        return ".".join(self.idents)


class Identifier(Node):
    """A function name."""

    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name

    def __str__(self) -> str:
        return self.name


class Chain(Node):
    """``(pipeline).A.B``: fields applied to a term that is neither dot nor a variable."""

    __slots__ = ("fields", "node")

    def __init__(self, pos: int, node: Node, fields: list[str]) -> None:
        super().__init__(pos)
        self.node = node
        self.fields = fields

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


class Command(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


class Pipe(Node):
    __slots__ = ("cmds", "decl", "is_assign", "line")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line
        self.decl: list[Variable] = []
        self.is_assign = False
        self.cmds: list[Command] = []

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class Action(Node):
    __slots__ = ("line", "pipe")

    def __init__(self, pos: int, line: int, pipe: Pipe) -> None:
        super().__init__(pos)
        self.line = line
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class Branch(Node):
    """``if``, ``range`` or ``with`` (``kind``), with its list and optional else list."""

    __slots__ = ("else_list", "kind", "line", "list", "pipe")

    def __init__(self, kind: str, pipe: Pipe, body: ListNode, else_list: ListNode | None) -> None:
        super().__init__(pipe.pos)
        self.kind = kind
        self.line = pipe.line
        self.pipe = pipe
        self.list = body
        self.else_list = else_list

    def __str__(self) -> str:
        text = "{{" + self.kind + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class Break(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{break}}"


class Continue(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{continue}}"


class Marker(Node):
    """``{{else}}`` or ``{{end}}`` while parsing a list."""

    __slots__ = ("word",)

    def __init__(self, pos: int, word: str) -> None:
        super().__init__(pos)
        self.word = word

    def __str__(self) -> str:
        return "{{" + self.word + "}}"
