"""Capabilities, ``SecurityOpt`` and the seccomp section of a container, Docker's way.

* Capabilities: the default set, minus ``CapDrop``, plus ``CapAdd``; names are
  case-insensitive, with or without ``CAP_``; ``ALL`` in CapAdd means every capability
  (minus CapDrop), ``ALL`` in CapDrop means only CapAdd; an unknown name is a 400.
  Privileged containers get every capability the kernel knows. The set goes to the
  bounding, effective and permitted sets (not inheritable or ambient, as dockerd since
  20.10.14).
* ``SecurityOpt`` entries: ``no-new-privileges[=|:bool]``, ``seccomp=unconfined``,
  ``seccomp=builtin`` (the default), ``seccomp=<profile JSON>`` (the CLI sends the
  file's content), ``systempaths=unconfined`` (no masked/read-only paths),
  ``apparmor=<profile>`` (ignored when the host has no AppArmor, as dockerd does; refused
  otherwise: dockyard cannot apply AppArmor profiles; ``unconfined`` always accepted),
  ``label=...``/``disable`` (SELinux: checked for form, then ignored: no SELinux here).
  ``key:value`` is read as ``key=value``, as Docker still does. Anything else is a 400.
* Seccomp: none for privileged containers or ``seccomp=unconfined``; the default profile
  (resolved for the container's capabilities) or the given profile otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.engine import defaults, seccomp_default, seccomp_profile
from dockyard.engine.spec_host import Host
from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.runtime.capabilities import CAPABILITIES

ALL = "ALL"
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_LABEL_KEYS = ("user", "role", "type", "level", "filetype")


@dataclass
class SecurityOptions:
    """``HostConfig.SecurityOpt``, parsed."""

    no_new_privileges: bool = False
    seccomp: str = ""  # "": the default profile; "unconfined"; or a profile's JSON text
    apparmor: str = ""
    unconfined_paths: bool = False


def all_capabilities(last_cap: int) -> list[str]:
    """Every capability name the kernel knows (number up to ``last_cap``), in number order."""
    return [name for name, number in sorted(CAPABILITIES.items(), key=lambda kv: kv[1])
            if number <= last_cap]


def normalize_capabilities(names: Sequence[str], known: Collection[str], what: str) -> list[str]:
    """Upper-case, ``CAP_``-prefixed names (``ALL`` kept); a 400 for an unknown one."""
    result = []
    for name in names:
        upper = name.upper()
        if upper != ALL and not upper.startswith("CAP_"):
            upper = "CAP_" + upper
        if upper != ALL and upper not in known:
            raise InvalidArgument(f"{what}: unknown capability: {upper!r}")
        result.append(upper)
    return result


def capabilities(cap_add: Sequence[str], cap_drop: Sequence[str], privileged: bool,
                 last_cap: int) -> list[str]:
    """The container's capability set from CapAdd/CapDrop/Privileged."""
    every = all_capabilities(last_cap)
    if privileged:
        return every
    adds = normalize_capabilities(cap_add, every, "HostConfig.CapAdd")
    drops = normalize_capabilities(cap_drop, every, "HostConfig.CapDrop")
    if ALL in adds:
        return [c for c in every if c not in drops]
    result = [] if ALL in drops else [c for c in defaults.DEFAULT_CAPABILITIES if c not in drops]
    for cap in adds:
        if cap not in result:
            result.append(cap)
    return result


def _parse_bool(text: str, opt: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidArgument(f"HostConfig.SecurityOpt: invalid --security-opt 2: {opt!r}")


def _check_label(value: str, opt: str) -> None:
    if value in ("disable", "nested"):
        return
    key, sep, rest = value.partition(":")
    if not sep or key not in _LABEL_KEYS or not rest:
        raise InvalidArgument(
            f"HostConfig.SecurityOpt: bad label option {opt!r}, valid options 'disable' or "
            "'user, role, level, type, filetype' followed by ':' and a value"
        )


def parse_security_opts(opts: Sequence[str], host: Host) -> SecurityOptions:
    """Parse ``SecurityOpt`` (see the module doc)."""
    result = SecurityOptions()
    for opt in opts:
        if opt == "no-new-privileges":
            result.no_new_privileges = True
            continue
        if opt == "disable":
            continue  # label disable
        if "=" in opt:
            key, _, value = opt.partition("=")
        elif ":" in opt:
            key, _, value = opt.partition(":")
        else:
            raise InvalidArgument(f"HostConfig.SecurityOpt: invalid --security-opt 1: {opt!r}")
        if key == "no-new-privileges":
            result.no_new_privileges = _parse_bool(value, opt)
        elif key == "seccomp":
            result.seccomp = "" if value == "builtin" else value
        elif key == "systempaths" and value == "unconfined":
            result.unconfined_paths = True
        elif key == "apparmor":
            if value not in ("", "unconfined") and host.apparmor():
                raise NotImplementedYet(
                    f"HostConfig.SecurityOpt: {opt!r}: AppArmor profiles are not supported by dockyard"
                )
            result.apparmor = value
        elif key == "label":
            _check_label(value, opt)
        else:
            raise InvalidArgument(f"HostConfig.SecurityOpt: invalid --security-opt 2: {opt!r}")
    return result


def seccomp_section(options: SecurityOptions, caps: Collection[str], privileged: bool,
                    host: Host) -> dict[str, Any] | None:
    """``linux.seccomp`` for the container, or None for no filter."""
    if privileged or options.seccomp == "unconfined":
        return None
    if options.seccomp:
        return seccomp_profile.load(
            options.seccomp, capabilities=caps, arch=host.arch(), kernel=host.kernel(),
            what="HostConfig.SecurityOpt: seccomp profile",
        )
    return seccomp_default.default_profile(caps, arch=host.arch(), kernel=host.kernel())


def system_paths(host_config_paths: object, field: str, privileged: bool, unconfined: bool,
                 default: Sequence[str]) -> list[str]:
    """MaskedPaths or ReadonlyPaths: the given list, else none (privileged, systempaths=
    unconfined), else Docker's defaults."""
    if host_config_paths is not None:
        if not isinstance(host_config_paths, list) or not all(
            isinstance(p, str) for p in host_config_paths
        ):
            raise InvalidArgument(f"HostConfig.{field}: must be a list of paths")
        return list(host_config_paths)
    if privileged or unconfined:
        return []
    return list(default)
