"""Go's ``fmt.Sprintf`` for templates' ``printf``: flags, width, precision and the verbs.

Verbs: ``%v %+v %T %s %q %x %X %d %b %o %O %c %U %e %E %f %F %g %G %t %%``. A verb that does
not fit its argument prints as Go does (``%!d(string=abc)``), as do missing and extra
arguments (``%!d(MISSING)``, ``%!(EXTRA int=2)``).
"""

from __future__ import annotations

from dockyard.cli.gofmt import (
    MISSING,
    GoStruct,
    format_float,
    format_value,
    go_type_name,
    is_stringer,
    quote,
    special_float,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Spec:
    __slots__ = ("minus", "plus", "prec", "sharp", "space", "width", "zero")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None


def _pad(text: str, spec: _Spec, numeric: bool = False, integer: bool = False) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero and not (integer and spec.prec is not None):  # an integer's precision turns 0 off
        sign = text[0] if numeric and text[:1] in ("+", "-", " ") else ""
        return sign + "0" * fill + text[len(sign):]
    return " " * fill + text


def _sign(text: str, negative: bool, spec: _Spec) -> str:
    return ("-" if negative else "+" if spec.plus else " " if spec.space else "") + text


def _fmt_int(value: int, verb: str, spec: _Spec) -> str | None:
    if verb in "dv":
        text = str(abs(value))
    elif verb in "bo":
        text = format(abs(value), verb)
        if spec.sharp:
            text = ("0b" if verb == "b" else "0") + text
    elif verb == "O":
        text = "0o" + format(abs(value), "o")
    elif verb in "xX":
        text = format(abs(value), verb)
        if spec.sharp:
            text = "0" + verb + text
    elif verb == "c":
        return _pad(chr(value), spec)
    elif verb == "q":
        return _pad("'" + quote(chr(value))[1:-1].replace("\\\"", '"').replace("'", "\\'") + "'", spec)
    elif verb == "U":
        return _pad(f"U+{value:04X}", spec)
    else:
        return None
    if spec.prec is not None:
        text = text.zfill(spec.prec) if spec.prec else ("" if value == 0 else text)
    return _pad(_sign(text, value < 0, spec), spec, numeric=True, integer=True)


def _fmt_float(value: float, verb: str, spec: _Spec) -> str | None:
    if verb not in "vbeEfFgGxX" or verb in "bxX":
        return None
    special = special_float(value)
    if special is not None:
        text = special.lstrip("+") if not spec.plus else special
        return _pad(text, spec)
    if verb in "vgG" and spec.prec is None:
        text = format_float(abs(value), upper=verb == "G")
    else:
        prec = 6 if spec.prec is None else spec.prec
        text = f"{abs(value):.{prec}{'f' if verb == 'F' else 'g' if verb == 'v' else verb}}"
    negative = value < 0 or (value == 0 and str(value).startswith("-"))
    return _pad(_sign(text, negative, spec), spec, numeric=True)


def _fmt_str(value: str, verb: str, spec: _Spec) -> str | None:
    if verb in "sv":
        text = value if spec.prec is None else value[:spec.prec]
    elif verb == "q":
        text = "`" + value + "`" if spec.sharp and "`" not in value and value.isprintable() \
            else quote(value, ascii_only=spec.plus)
    elif verb in "xX":
        data = value.encode()
        if spec.prec is not None:
            data = data[:spec.prec]
        sep = " " if spec.space else ""
        text = sep.join(format(b, "02" + ("x" if verb == "x" else "X")) for b in data)
    else:
        return None
    return _pad(text, spec)


def _fmt_arg(arg: Any, verb: str, spec: _Spec) -> str:
    if verb == "T":
        return _pad("<nil>" if arg is None or arg is MISSING else go_type_name(arg), spec)
    if arg is None or arg is MISSING:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    out: str | None = None
    if isinstance(arg, bool):
        out = _pad("true" if arg else "false", spec) if verb in "tv" else None
    elif isinstance(arg, int):
        out = _fmt_int(arg, verb, spec)
    elif isinstance(arg, float):
        out = _fmt_float(arg, verb, spec)
    elif isinstance(arg, str):
        out = _fmt_str(arg, verb, spec)
    elif isinstance(arg, list | tuple):
        out = "[" + " ".join(_fmt_arg(a, verb, spec) for a in arg) + "]"
    elif verb == "v" or (verb == "s" and is_stringer(arg)):
        out = _pad(format_value(arg, plus=spec.plus, top=False), spec)
    elif isinstance(arg, dict):  # Go applies the verb to keys and values
        items = sorted(arg.items(), key=lambda kv: str(kv[0]))
        out = "map[" + " ".join(f"{_fmt_arg(k, verb, spec)}:{_fmt_arg(v, verb, spec)}" for k, v in items) + "]"
    elif isinstance(arg, GoStruct):  # ... and to the fields of a struct
        inner = " ".join(_fmt_arg(v, verb, spec) for v in arg.fields.values())
        out = ("&" if arg.go_type.startswith("*") else "") + "{" + inner + "}"
    if out is None:
        return f"%!{verb}({go_type_name(arg)}={format_value(arg, top=False)})"
    return out


def sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the verbs templates use (``%v %s %q %d %x %f %e %g %t %c``...)."""
    out: list[str] = []
    i, n, argi = 0, len(fmt), 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and fmt[i] in "-+# 0":
            flag = {"-": "minus", "+": "plus", "#": "sharp", " ": "space", "0": "zero"}[fmt[i]]
            setattr(spec, flag, True)
            i += 1
        if i < n and fmt[i] == "[":
            close = fmt.find("]", i)
            index = fmt[i + 1:close] if close > 0 else ""
            if index.isdigit() and 0 < int(index) <= len(args):
                argi = int(index) - 1
                i = close + 1
            else:
                i = close + 1 if close > 0 else n
                verb = fmt[i] if i < n else ""
                i += 1
                out.append(f"%!{verb}(BADINDEX)")
                continue
        for attr in ("width", "prec"):
            if attr == "prec":
                if i >= n or fmt[i] != ".":
                    break
                i += 1
                spec.prec = 0
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int):
                    setattr(spec, attr, args[argi])
                    argi += 1
                else:
                    out.append("%!(BADWIDTH)" if attr == "width" else "%!(BADPREC)")
                continue
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                setattr(spec, attr, int(fmt[start:i]))
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt_arg(args[argi], verb, spec))
            argi += 1
    if argi < len(args):
        extra = ", ".join(f"{go_type_name(a)}={format_value(a, top=False)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
