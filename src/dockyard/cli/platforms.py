"""``--platform`` values as docker's client sends them: containerd's ``platforms.Parse``.

The OCI platform object (``{"architecture":"arm64","os":"linux","variant":"v8"}``) goes into
the ``platform`` query of history, image inspect, save, load and push and the ``platforms``
of rmi. This is containerd's client-side parser, not the engine's matching form: ``arm64``
with a variant keeps ``v8``, ``arm`` drops the default ``v7`` unless it was written, two or
three components are taken as they are, and errors read as containerd's
(``"linux/a/b/c": cannot parse platform specifier: invalid argument``).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_COMPONENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _client_arch() -> str:
    """runtime.GOARCH of a Go client on this machine."""
    from dockyard.cli.commands.version import goarch

    return goarch()


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    from dockyard.oci.platform import normalize_arch

    return normalize_arch(arch, variant)


def platform_dict(spec: str) -> dict[str, Any]:
    """containerd's ``platforms.Parse`` of ``os[/arch[/variant]]`` as the OCI JSON object."""
    from dockyard.oci.platform import KNOWN_ARCH, KNOWN_OS, normalize_os

    if "*" in spec:
        raise InvalidArgument(f'"{spec}": wildcards not yet supported: invalid argument')
    parts = spec.split("/", 3)
    os_name, _, os_version = parts[0].partition("(")
    if os_version:
        if not os_version.endswith(")"):
            raise InvalidArgument(f'"{parts[0]}" is an invalid OS component of "{spec}": OSAndVersion specifier '
                                  'component must match "^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.-]*)\\))?$": '
                                  "invalid argument")
        os_version = os_version[:-1]
        parts[0] = os_name
    for part in parts:
        if not part or not _COMPONENT.issuperset(part):
            raise InvalidArgument(f'"{part}" is an invalid component of "{spec}": platform specifier component '
                                  'must match "^[A-Za-z0-9_.-]+$": invalid argument')
    if len(parts) == 1:
        os_name = normalize_os(parts[0])
        if os_name in KNOWN_OS:
            return _result(_client_arch(), os_name, os_version, "")
        arch, variant = _normalize_arch(parts[0], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        if arch in KNOWN_ARCH:
            return _result(arch, "linux", os_version, variant)
        raise InvalidArgument(f'"{spec}": unknown operating system or architecture: invalid argument')
    if len(parts) == 2:
        arch, variant = _normalize_arch(parts[1], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return _result(arch, normalize_os(parts[0]), os_version, variant)
    if len(parts) == 3:
        arch, variant = _normalize_arch(parts[1], parts[2])
        if arch == "arm64" and not variant:
            variant = "v8"
        return _result(arch, normalize_os(parts[0]), os_version, variant)
    raise InvalidArgument(f'"{spec}": cannot parse platform specifier: invalid argument')


def _result(arch: str, os_name: str, os_version: str, variant: str) -> dict[str, Any]:
    out: dict[str, Any] = {"architecture": arch, "os": os_name}
    if os_version:
        out["os.version"] = os_version
    if variant:
        out["variant"] = variant
    return out


def platform_json(spec: str) -> str:
    from dockyard.oci import jsonio

    return jsonio.dumps(platform_dict(spec))
