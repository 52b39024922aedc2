"""OCI ``linux.resources.devices`` rules for the v1 devices controller (and what v2 accepts).

The v1 kernel interface: a line ``<type> <major>:<minor> <access>`` written to
``devices.allow`` or ``devices.deny``. A line of type ``a`` resets the whole list (to
allow-all or deny-all) whatever follows it, so a rule of type ``a`` that is narrower than
"everything" is written as the same rule for ``c`` and for ``b``.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument, NotImplementedYet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _num(rule: dict[str, Any], key: str, index: int) -> str:
    value = rule.get(key)
    if value is None or value == -1:
        return "*"
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidArgument(f"linux.resources.devices[{index}].{key}: invalid value {value!r}")
    return str(value)


def _access(rule: dict[str, Any], index: int) -> str:
    access = rule.get("access") or "rwm"
    if not isinstance(access, str) or not access or any(c not in "rwm" for c in access):
        raise InvalidArgument(
            f"linux.resources.devices[{index}].access: must be made of r, w and m: {access!r}"
        )
    return "".join(c for c in "rwm" if c in access)


def _type(rule: dict[str, Any], index: int) -> str:
    dev_type = rule.get("type") or "a"
    if dev_type not in ("a", "b", "c"):
        raise InvalidArgument(
            f"linux.resources.devices[{index}].type: must be a, b or c: {dev_type!r}"
        )
    return str(dev_type)


def is_everything(rule: dict[str, Any], index: int = 0) -> bool:
    """True for a rule that covers all devices with all access (``a *:* rwm``)."""
    return (
        _type(rule, index) == "a"
        and _num(rule, "major", index) == "*"
        and _num(rule, "minor", index) == "*"
        and _access(rule, index) == "rwm"
    )


def v1_writes(rules: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(file, line) pairs to write, in order, for the OCI rules."""
    if not isinstance(rules, list):
        raise InvalidArgument("linux.resources.devices: must be a list")
    out: list[tuple[str, str]] = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise InvalidArgument(f"linux.resources.devices[{index}]: must be an object")
        target = "devices.allow" if rule.get("allow") else "devices.deny"
        if is_everything(rule, index):
            out.append((target, "a"))
            continue
        major = _num(rule, "major", index)
        minor = _num(rule, "minor", index)
        access = _access(rule, index)
        dev_type = _type(rule, index)
        for t in ("c", "b") if dev_type == "a" else (dev_type,):
            out.append((target, f"{t} {major}:{minor} {access}"))
    return out


def check_v2(rules: list[dict[str, Any]]) -> None:
    """v2 device control needs an eBPF program; accept only the default deny-all rules."""
    if not isinstance(rules, list):
        raise InvalidArgument("linux.resources.devices: must be a list")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise InvalidArgument(f"linux.resources.devices[{index}]: must be an object")
        if rule.get("allow") or not is_everything(rule, index):
            raise NotImplementedYet(
                "linux.resources.devices: device rules on cgroup v2 need an eBPF program, "
                "which dockyard does not implement yet (only the default deny-all is accepted)"
            )
