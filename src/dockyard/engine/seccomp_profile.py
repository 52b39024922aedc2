"""Docker-format seccomp profiles resolved into the OCI ``linux.seccomp`` section.

Docker's profile format (what ``--security-opt seccomp=FILE`` sends, as the file's text)
is the OCI section plus a few things resolved per container when the spec is built:

* ``archMap``: per native architecture, the list of architectures to filter
  (``SCMP_ARCH_X86_64`` with its sub-architectures ``SCMP_ARCH_X86`` and ``SCMP_ARCH_X32``);
  it excludes ``architectures``;
* per syscall rule, ``includes`` and ``excludes`` conditions: ``caps`` (the rule counts when
  the container has all the included capabilities / none of the excluded ones, judged on
  its bounding set), ``arches`` (Go architecture names: ``amd64``, ``arm64``...) and
  ``minKernel`` (``"4.8"``: the running kernel is at least that version);
* the legacy single ``name`` instead of ``names``; ``comment`` is ignored.

The result is checked with the runtime's own parser (:func:`dockyard.runtime.seccomp.parse`),
so a profile the runtime would refuse is refused here, as a 400 naming the option. Syscall
names libseccomp does not know stay in the section: the runtime skips them, as runc does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.runtime import seccomp as runtime_seccomp

# Go's GOARCH names -> the libseccomp architecture a process of that kind runs as.
NATIVE_ARCHES: dict[str, str] = {
    "amd64": "SCMP_ARCH_X86_64",
    "386": "SCMP_ARCH_X86",
    "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64le": "SCMP_ARCH_MIPSEL64",
}

_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)")


def parse_kernel(text: str) -> tuple[int, int]:
    """``"4.8"`` or ``"6.1.0-13-amd64"`` -> ``(4, 8)``; InvalidArgument otherwise."""
    match = _KERNEL_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidArgument(f"invalid kernel version {text!r}")
    return int(match.group(1)), int(match.group(2))


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"{what}: must be a list of strings")
    return list(value)


def _conditions(raw: Any, what: str) -> tuple[list[str], list[str], tuple[int, int] | None]:
    if raw is None:
        return [], [], None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{what}: must be an object")
    min_kernel = raw.get("minKernel")
    kernel = None if min_kernel in (None, "") else parse_kernel(min_kernel)
    return _strings(raw.get("caps"), f"{what}.caps"), _strings(raw.get("arches"), f"{what}.arches"), kernel


def _applies(entry: Mapping[str, Any], where: str, caps: Collection[str], arch: str,
             kernel: tuple[int, int]) -> bool:
    ex_caps, ex_arches, ex_kernel = _conditions(entry.get("excludes"), f"{where}.excludes")
    in_caps, in_arches, in_kernel = _conditions(entry.get("includes"), f"{where}.includes")
    if arch in ex_arches or any(c in caps for c in ex_caps):
        return False
    if ex_kernel is not None and kernel >= ex_kernel:
        return False
    if in_arches and arch not in in_arches:
        return False
    if not all(c in caps for c in in_caps):
        return False
    return in_kernel is None or kernel >= in_kernel


def _architectures(profile: Mapping[str, Any], what: str, arch: str) -> list[str]:
    arches = _strings(profile.get("architectures"), f"{what}.architectures")
    arch_map = profile.get("archMap")
    if arch_map and arches:
        raise InvalidArgument(
            f"{what}: both 'architectures' and 'archMap' are specified, use either one"
        )
    if not arch_map:
        return arches
    if not isinstance(arch_map, list):
        raise InvalidArgument(f"{what}.archMap: must be a list")
    native = NATIVE_ARCHES.get(arch)
    if native is None:
        return []
    for i, item in enumerate(arch_map):
        if not isinstance(item, dict):
            raise InvalidArgument(f"{what}.archMap[{i}]: must be an object")
        if item.get("architecture") == native:
            subs = _strings(item.get("subArchitectures"), f"{what}.archMap[{i}].subArchitectures")
            return [native, *subs]
    return []


def _syscall(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    name = entry.get("name")
    names = _strings(entry.get("names"), f"{where}.names")
    if name and names:
        raise InvalidArgument(f"{where}: 'name' and 'names' were both specified, use either one")
    if name:
        if not isinstance(name, str):
            raise InvalidArgument(f"{where}.name: must be a string")
        names = [name]
    rule: dict[str, Any] = {"names": names, "action": entry.get("action")}
    if entry.get("errnoRet") is not None:
        rule["errnoRet"] = entry["errnoRet"]
    if entry.get("args"):
        rule["args"] = entry["args"]
    return rule


def resolve(
    profile: Mapping[str, Any],
    *,
    capabilities: Collection[str],
    arch: str,
    kernel: tuple[int, int],
    what: str = "seccomp profile",
) -> dict[str, Any]:
    """The OCI ``linux.seccomp`` section of a Docker-format ``profile`` for one container.

    ``capabilities`` is the container's bounding set, ``arch`` its Go architecture name,
    ``kernel`` the running kernel's (major, minor). Errors name ``what``.
    """
    if not isinstance(profile, Mapping):
        raise InvalidArgument(f"{what}: must be a JSON object")
    result: dict[str, Any] = {}
    if profile.get("defaultAction") is not None:
        result["defaultAction"] = profile["defaultAction"]
    if profile.get("defaultErrnoRet") is not None:
        result["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches = _architectures(profile, what, arch)
    if arches:
        result["architectures"] = arches
    for key in ("flags", "listenerPath", "listenerMetadata"):
        if profile.get(key):
            result[key] = profile[key]
    syscalls = profile.get("syscalls") or []
    if not isinstance(syscalls, list):
        raise InvalidArgument(f"{what}.syscalls: must be a list")
    rules = []
    for i, entry in enumerate(syscalls):
        where = f"{what}.syscalls[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}: must be an object")
        if _applies(entry, where, capabilities, arch, kernel):
            rules.append(_syscall(entry, where))
    result["syscalls"] = rules
    try:
        runtime_seccomp.parse(result)
    except DockyardError as exc:
        raise type(exc)(f"{what}: {exc.message}") from None
    return result


def load(text: str, **kwargs: Any) -> dict[str, Any]:
    """:func:`resolve` for a profile given as JSON text (the content of the profile file)."""
    what = kwargs.pop("what", "seccomp profile")
    try:
        profile = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{what}: decoding seccomp profile failed: {exc}") from None
    return resolve(profile, what=what, **kwargs)
