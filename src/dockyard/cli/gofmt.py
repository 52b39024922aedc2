"""Go's value model and ``fmt`` printing, as the ``--format`` templates need them.

Templates run over plain Python values (what the Engine API's JSON decodes to) and a few
stand-ins for Go: ``MISSING`` is Go's invalid value (a missing map key, printed
``<no value>``), ``GoNil`` a typed nil pointer (printed ``<nil>``) and ``GoStruct`` a struct
whose fields have Go names for templates and JSON names for ``{{json .}}``. Other Python
objects act as structs: public attributes are fields, methods are methods.

``format_value`` is ``%v``; ``sprint``/``sprintln`` are ``fmt.Sprint``/``Sprintln``,
``quote`` is ``strconv.Quote`` and ``go_json`` is ``encoding/json`` with HTML escaping off
(docker's ``json`` template function).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Missing:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class GoNil:
    """A typed nil pointer, e.g. ``*types.Version`` when the daemon did not answer."""

    __slots__ = ("go_type",)

    def __init__(self, go_type: str) -> None:
        self.go_type = go_type

    def __bool__(self) -> bool:
        return False


class GoStruct:
    """A Go struct: fields by Go name (in order), JSON by tag, ``*T`` when ``go_type`` says so."""

    __slots__ = ("fields", "go_type", "json_names", "omitempty")

    def __init__(
        self,
        go_type: str,
        fields: dict[str, Any],
        json_names: dict[str, str] | None = None,
        omitempty: tuple[str, ...] = (),
    ) -> None:
        self.go_type = go_type
        self.fields = fields
        self.json_names = json_names or {}
        self.omitempty = omitempty

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.fields.items():
            if name in self.omitempty and _is_empty(value):
                continue
            out[self.json_names.get(name, name)] = value
        return out


class GoSlice(list):  # type: ignore[type-arg]
    """A list with a Go element type, e.g. ``[]types.ComponentVersion``."""

    def __init__(self, go_type: str, items: list[Any]) -> None:
        super().__init__(items)
        self.go_type = go_type


def _is_empty(value: Any) -> bool:
    """Whether ``json:",omitempty"`` leaves ``value`` out: nil, false, 0, "" or an empty list/map."""
    if value is None or value is MISSING or isinstance(value, GoNil):
        return True
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return not value
    return False


def go_type_name(value: Any) -> str:
    """The Go type a template error names for ``value``."""
    if isinstance(value, GoSlice):
        return value.go_type
    if value is None or value is MISSING:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]string" if value and all(isinstance(v, str) for v in value) else "[]interface {}"
    if isinstance(value, GoNil | GoStruct):
        return value.go_type
    return str(getattr(value, "GO_TYPE", type(value).__name__))


# --- numbers ------------------------------------------------------------------------------

def _digits(x: float) -> tuple[str, int]:
    """Shortest decimal digits of ``abs(x)`` and the decimal point position (Go's decimal)."""
    text = repr(abs(x))
    mant, _, exp = text.partition("e")
    whole, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    dp = len(whole) + (int(exp) if exp else 0)
    if not digits:
        return "0", 1
    dp -= len(whole + frac) - len((whole + frac).lstrip("0"))
    return digits.rstrip("0") or "0", dp


def _fmt_e(digits: str, dp: int, upper: bool = False) -> str:
    exp = dp - 1 if digits != "0" else 0
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return f"{mant}{'E' if upper else 'e'}{sign}{abs(exp):02d}"


def _fmt_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits if digits != "0" else "0"
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def special_float(x: float) -> str | None:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    return None


def format_float(x: float, upper: bool = False) -> str:
    """``strconv.FormatFloat(x, 'g', -1, 64)``: what ``%v`` prints for a float64."""
    special = special_float(x)
    if special is not None:
        return special
    digits, dp = _digits(x)
    sign = "-" if x < 0 or (x == 0 and str(x).startswith("-")) else ""
    exp = dp - 1
    if digits != "0" and (exp < -4 or exp >= 6):  # shortest 'g' decides with precision 6
        return sign + _fmt_e(digits, dp, upper)
    return sign + _fmt_f(digits, dp)


def json_float(x: float) -> str:
    """How ``encoding/json`` writes a float64."""
    if special_float(x) is not None:
        return "null"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x)) if not (x == 0 and str(x).startswith("-")) else "-0"
    digits, dp = _digits(x)
    sign = "-" if x < 0 else ""
    if abs(x) < 1e-6 or abs(x) >= 1e21:
        return sign + _fmt_e(digits, dp).replace("e-0", "e-").replace("e+0", "e+")
    return sign + _fmt_f(digits, dp)


# --- %v -----------------------------------------------------------------------------------

def is_stringer(value: Any) -> bool:
    return type(value).__str__ is not object.__str__  # type: ignore[comparison-overlap]


def format_value(value: Any, plus: bool = False, top: bool = True) -> str:
    """``fmt.Sprint(value)``: Go's ``%v`` (``%+v`` names struct fields)."""
    if value is MISSING:
        return "<no value>" if top else "<nil>"
    if value is None:
        return "<nil>"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: (not isinstance(kv[0], int | float), kv[0]))
        return "map[" + " ".join(f"{format_value(k, plus, False)}:{format_value(v, plus, False)}"
                                 for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v, plus, False) for v in value) + "]"
    if isinstance(value, GoNil):
        return "<nil>"
    if isinstance(value, GoStruct):
        parts = [(f"{k}:" if plus else "") + format_value(v, plus, False) for k, v in value.fields.items()]
        return ("&" if value.go_type.startswith("*") else "") + "{" + " ".join(parts) + "}"
    if is_stringer(value):
        return str(value)
    fields = {k: v for k, v in vars(value).items() if not k.startswith("_")} if hasattr(value, "__dict__") else {}
    parts = [(f"{k}:" if plus else "") + format_value(v, plus, False) for k, v in fields.items()]
    return "&{" + " ".join(parts) + "}"


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(arg, top=False))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: operands separated by spaces, then a newline."""
    return " ".join(format_value(a, top=False) for a in args) + "\n"


# --- strconv.Quote ------------------------------------------------------------------------

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def quote(text: str, ascii_only: bool = False) -> str:
    """``strconv.Quote`` (``QuoteToASCII`` with ``ascii_only``)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() and (not ascii_only or ch < "\x7f"):
            out.append(ch)
        elif ch < "\x80":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


# --- encoding/json ------------------------------------------------------------------------

def go_json(value: Any) -> str:
    """``json.Marshal`` with HTML escaping off: compact, structs by their JSON names."""
    out: list[str] = []
    _json_into(value, out)
    return "".join(out)


def _json_into(value: Any, out: list[str]) -> None:
    if value is None or value is MISSING or isinstance(value, GoNil):
        out.append("null")
    elif isinstance(value, str):
        out.append(_json.encode_basestring(value).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(json_float(value))
    elif hasattr(value, "marshal_json"):  # a json.Marshaler: its own JSON text, as is
        out.append(value.marshal_json())
    elif isinstance(value, dict | GoStruct) or hasattr(value, "to_json"):
        items = value.items() if isinstance(value, dict) else value.to_json().items()
        out.append("{")
        for i, (key, item) in enumerate(items):
            out.append(("," if i else "") + _json.encode_basestring(str(key)) + ":")
            _json_into(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json_into(item, out)
        out.append("]")
    else:
        _json_into(str(value), out)
