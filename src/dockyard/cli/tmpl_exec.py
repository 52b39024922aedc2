"""Execution of a parsed Go text/template over Python values, as Go's ``text/template/exec``.

Fields resolve on dicts (map keys: a missing key is ``MISSING``, printed ``<no value>``), on
``GoStruct`` (Go field names) and on other objects (public attributes; methods are called
with the arguments). Errors carry Go's shape: ``template: NAME:LINE:COL: executing "NAME"
at <NODE>: MESSAGE``. Output goes to a list of strings, so what was written before an error
stays available, as with Go's writer.
"""

from __future__ import annotations

from dockyard.cli.gofmt import MISSING, GoNil, GoStruct, format_value, go_type_name, quote
from dockyard.cli.tmpl_call import call
from dockyard.cli.tmpl_funcs import NO_FINAL, Func, is_true
from dockyard.cli.tmpl_nodes import (
    Action,
    Bool,
    Branch,
    Break,
    Chain,
    Continue,
    Dot,
    Field,
    Identifier,
    ListNode,
    Nil,
    Node,
    Number,
    Pipe,
    String,
    TemplateError,
    Text,
    Variable,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PLAIN = frozenset({str, int, float, bool, list, tuple, dict, complex, bytes})


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    """One execution: the variable stack, the current node for errors, the output."""

    def __init__(self, name: str, text: str, funcs: dict[str, Func], out: list[str],
                 missingkey_error: bool = False) -> None:
        self.name = name
        self.text = text
        self.funcs = funcs
        self.out = out
        self.missingkey_error = missingkey_error
        self.vars: list[list[Any]] = []
        self.node: Node | None = None

    def errorf(self, message: str) -> TemplateError:
        if self.node is None:
            return TemplateError(f"template: {self.name}: {message}")
        pos = self.node.pos
        before = self.text[:pos]
        newline = before.rfind("\n")
        col = pos if newline < 0 else pos - newline - 1
        context = str(self.node)
        location = f"{self.name}:{1 + before.count(chr(10))}:{col}"
        return TemplateError(f"template: {location}: executing {quote(self.name)} at <{context}>: {message}")

    # --- walking ---
    def run(self, root: ListNode, data: Any) -> None:
        self.vars = [["$", data]]
        try:
            self.walk(data, root)
        except (_Break, _Continue):  # pragma: no cover - the parser allows them only in range
            pass

    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        if isinstance(node, Action):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.out.append(format_value(value))
        elif isinstance(node, Text):
            self.out.append(node.text)
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, Branch):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_with(dot, node)
        elif isinstance(node, Break):
            raise _Break
        elif isinstance(node, Continue):
            raise _Continue
        else:  # pragma: no cover - every node kind is handled above
            raise self.errorf(f"unknown node: {node}")

    def walk_if_with(self, dot: Any, node: Branch) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        truth, ok = is_true(value)
        if not ok:
            raise self.errorf(f"if/with can't use {format_value(value)}")
        if truth:
            self.walk(value if node.kind == "with" else dot, node.list)
        elif node.else_list is not None:
            self.walk(dot, node.else_list)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: Branch) -> None:
        self.node = node
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        body_mark = len(self.vars)
        items: list[tuple[Any, Any]]
        if value is MISSING or value is None or isinstance(value, GoNil):
            items = []
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise self.errorf(f"range can't iterate over {format_value(value)}")
        for key, elem in items:
            if node.pipe.decl:
                self.vars[body_mark - 1][1] = elem
            if len(node.pipe.decl) > 1:
                self.vars[body_mark - 2][1] = key
            try:
                self.walk(elem, node.list)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[body_mark:]
        if not items and node.else_list is not None:
            self.walk(dot, node.else_list)
        del self.vars[mark:]

    # --- evaluation ---
    def eval_pipeline(self, dot: Any, pipe: Pipe) -> Any:
        self.node = pipe
        value = NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd.args, value)
            if value is None:  # an interface{} holding nil is an invalid value here
                value = MISSING
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.vars.append([var.idents[0], value])
        return value

    def eval_command(self, dot: Any, args: list[Node], final: Any) -> Any:
        first = args[0]
        if isinstance(first, Field):
            self.node = first
            return self.eval_chain(dot, dot, first, first.idents, args, final)
        if isinstance(first, Chain):
            return self.eval_chain_node(dot, first, args, final)
        if isinstance(first, Identifier):
            return self.eval_function(dot, first, _CommandView(args), args, final)
        if isinstance(first, Pipe):
            self.not_a_function(args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, Variable):
            return self.eval_variable(dot, first, args, final)
        self.node = first
        self.not_a_function(args, final)
        if isinstance(first, Bool):
            return first.value
        if isinstance(first, Dot):
            return dot
        if isinstance(first, Nil):
            raise self.errorf("nil is not a command")
        if isinstance(first, Number):
            return self.ideal_constant(first)
        if isinstance(first, String):
            return first.text
        raise self.errorf(f"can't evaluate command {quote(str(first))}")  # pragma: no cover

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not NO_FINAL:
            raise self.errorf(f"can't give argument to non-function {args[0]}")

    def ideal_constant(self, node: Number) -> Any:
        self.node = node
        text = node.text
        hex_int = text[:2] in ("0x", "0X") and not any(c in text for c in "pP")
        if node.is_float and not hex_int and not text.startswith("'") and any(c in text for c in ".eEpP"):
            return node.float_val
        if node.is_int:
            if not -(1 << 63) <= node.int_val < (1 << 63):
                raise self.errorf(f"{text} overflows int")
            return node.int_val
        raise self.errorf(f"{text} overflows int")

    def eval_chain_node(self, dot: Any, chain: Chain, args: list[Node] | None, final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, Nil):
            raise self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, "any", chain.node, keep_missing=True)
        return self.eval_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(self, dot: Any, var: Variable, args: list[Node] | None, final: Any) -> Any:
        self.node = var
        value = self.var_value(var.idents[0])
        if len(var.idents) == 1:
            if args is not None:
                self.not_a_function(args, final)
            return value
        return self.eval_chain(dot, value, var, var.idents[1:], args, final)

    def var_value(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.errorf(f"undefined variable: {name}")

    def eval_chain(self, dot: Any, receiver: Any, node: Node, idents: list[str],
                   args: list[Node] | None, final: Any) -> Any:
        for ident in idents[:-1]:
            receiver = self.eval_field(dot, ident, node, None, NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot: Any, name: str, node: Node, args: list[Node] | None, final: Any,
                   receiver: Any) -> Any:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoNil):
            raise self.errorf(f"nil pointer evaluating {receiver.go_type}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not NO_FINAL
        if type(receiver) not in _PLAIN and name[:1].isupper() and not isinstance(receiver, GoStruct):
            value = getattr(receiver, name, MISSING)
            if callable(value):  # a method: Go looks for one before fields and map keys
                return self.eval_call(dot, value, node, name, args, final)
            if value is not MISSING and not isinstance(receiver, dict):
                if has_args:
                    raise self.errorf(f"{name} has arguments but cannot be invoked as function")
                return value
        if isinstance(receiver, dict):
            if has_args:
                raise self.errorf(f"{name} is not a method but has arguments")
            if self.missingkey_error and name not in receiver:
                raise self.errorf(f"map has no entry for key {quote(name)}")
            return receiver.get(name, MISSING)
        if isinstance(receiver, GoStruct) and name in receiver.fields:
            if has_args:
                raise self.errorf(f"{name} has arguments but cannot be invoked as function")
            return receiver.fields[name]
        raise self.errorf(f"can't evaluate field {name} in type {go_type_name(receiver)}")

    def eval_function(self, dot: Any, ident: Identifier, cmd: Node, args: list[Node] | None, final: Any) -> Any:
        self.node = ident
        func = self.funcs.get(ident.name)
        if func is None:
            raise self.errorf(f"{quote(ident.name)} is not a defined function")
        return self.eval_call(dot, func, cmd, ident.name, args, final)

    def eval_call(self, dot: Any, func: Any, node: Node, name: str, args: list[Node] | None, final: Any) -> Any:
        return call(self, dot, func, node, name, list(args[1:]) if args else [], final)

    def eval_arg(self, dot: Any, typ: str, node: Node, keep_missing: bool = False) -> Any:
        """The value of one argument, checked against the parameter type ``typ``."""
        self.node = node
        if isinstance(node, Dot):
            return self.validate(dot, typ)
        if isinstance(node, Nil):
            if typ in ("any", "[]string"):
                return None
            if typ == "value":
                return MISSING
            raise self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, Field):
            value = self.eval_chain(dot, dot, node, node.idents, [node], NO_FINAL)
        elif isinstance(node, Variable):
            value = self.eval_variable(dot, node, None, NO_FINAL)
        elif isinstance(node, Pipe):
            value = self.eval_pipeline(dot, node)
        elif isinstance(node, Identifier):
            value = self.eval_function(dot, node, node, None, NO_FINAL)
        elif isinstance(node, Chain):
            value = self.eval_chain_node(dot, node, None, NO_FINAL)
        else:
            return self.literal(typ, node)
        return value if keep_missing else self.validate(value, typ)

    def literal(self, typ: str, node: Node) -> Any:
        if typ == "bool" and isinstance(node, Bool):
            return node.value
        if typ == "string" and isinstance(node, String):
            return node.text
        if typ == "int" and isinstance(node, Number) and node.is_int:
            return node.int_val
        if typ in ("any", "value"):
            if isinstance(node, Bool):
                return node.value
            if isinstance(node, Number):
                return self.ideal_constant(node)
            if isinstance(node, String):
                return node.text
            raise self.errorf(f"can't handle assignment of {node} to empty interface argument")
        expected = {"int": "integer"}.get(typ, typ)
        if typ in ("bool", "string", "int"):
            raise self.errorf(f"expected {expected}; found {node}")
        raise self.errorf(f"can't handle {node} for arg of type {typ}")

    def validate(self, value: Any, typ: str) -> Any:
        """Go's validateType: may ``value`` be passed as a ``typ`` parameter?"""
        if typ == "value":
            return value
        if value is MISSING:
            if typ == "any":
                return None
            if typ == "[]string":
                return []
            raise self.errorf(f"invalid value; expected {typ}")
        ok = {
            "any": True,
            "string": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "[]string": isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
        }.get(typ, True)
        if not ok:
            raise self.errorf(f"wrong type for value; expected {typ}; got {go_type_name(value)}")
        return value

    def call_error(self, node: Node, name: str, exc: BaseException) -> TemplateError:
        self.node = node
        return self.errorf(f"error calling {name}: {exc}")


class _CommandView(Node):
    """A command seen as one node, for the ``<...>`` of a function's error."""

    __slots__ = ("args",)

    def __init__(self, args: list[Node]) -> None:
        super().__init__(args[0].pos)
        self.args = args

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)

