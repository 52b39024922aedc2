"""Calls from a template: argument counts and types checked as Go's ``evalCall`` does.

A ``Func`` is checked against its Go signature; a plain Python callable (a method of an
object the template walks, or a function a command adds) gets its arguments as
``interface{}`` values, and its arity from its code object.
"""

from __future__ import annotations

from dockyard.cli.gofmt import MISSING, go_type_name
from dockyard.cli.tmpl_funcs import NO_FINAL, Func, FuncError, is_true
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.tmpl_exec import State
    from dockyard.cli.tmpl_nodes import Node


def _arity(fn: Any) -> tuple[int, int] | None:
    """(required, allowed) positional arguments of a Python callable, None when variadic."""
    func = getattr(fn, "__func__", fn)
    code = getattr(func, "__code__", None)
    if code is None or code.co_flags & 0x04:
        return None
    allowed = code.co_argcount - (1 if hasattr(fn, "__self__") else 0)
    return allowed - len(getattr(func, "__defaults__", None) or ()), allowed


def _and_or(state: State, dot: Any, func: Func, name: str, args: list[Node], final: Any) -> Any:
    value: Any = None
    for arg in args:
        value = state.eval_arg(dot, "value", arg)
        if is_true(value)[0] == (name == "or"):
            return value
    if final is not NO_FINAL:
        value = state.validate(final, "value")
    return value


def call(state: State, dot: Any, func: Any, node: Node, name: str, args: list[Node], final: Any) -> Any:
    """Evaluate ``args`` (and the piped ``final`` value) and call ``func`` with them."""
    count = len(args) + (0 if final is NO_FINAL else 1)
    argv: list[Any] = []
    if isinstance(func, Func):
        params, variadic = func.params, func.variadic
        if variadic is not None:
            if count < len(params):
                raise state.errorf(f"wrong number of args for {name}: want at least {len(params)} got {len(args)}")
        elif count != len(params):
            raise state.errorf(f"wrong number of args for {name}: want {len(params)} got {count}")
        if func.lazy:
            return _and_or(state, dot, func, name, args, final)
        if name == "call" and args:
            callee = state.eval_arg(dot, "value", args[0])
            if callee is MISSING or callee is None:
                raise state.call_error(node, name, FuncError("call of nil"))
            if not callable(callee):
                raise state.call_error(node, name, FuncError(f"non-function {args[0]} of type {go_type_name(callee)}"))
        for i, arg in enumerate(args):
            argv.append(state.eval_arg(dot, params[i] if i < len(params) else str(variadic), arg))
        if final is not NO_FINAL:
            last = params[-1] if variadic is None else variadic
            typ = params[count - 1] if count - 1 < len(params) else last
            argv.append(state.validate(final, typ))
        fn = func.fn
    else:
        arity = _arity(func)
        if arity is not None and not arity[0] <= count <= arity[1]:
            raise state.errorf(f"wrong number of args for {name}: want {arity[1]} got {count}")
        argv = [state.eval_arg(dot, "any", arg) for arg in args]
        if final is not NO_FINAL:
            argv.append(state.validate(final, "any"))
        fn = func
    try:
        return fn(*argv)
    except (FuncError, DockyardError, ValueError, ArithmeticError) as exc:
        raise state.call_error(node, name, exc) from None
