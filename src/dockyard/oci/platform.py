"""Platforms (os/architecture/variant): the JSON object, parsing, normalising and matching.

Normalising follows containerd's platforms package: ``x86_64`` and ``x86-64`` are ``amd64``
(variant ``v1`` is the default and dropped), ``aarch64`` is ``arm64`` (``v8`` is the default
and dropped), ``armhf`` is ``arm/v7``, ``armel`` is ``arm/v6``, ``arm`` without a variant is
``arm/v7``, ``i386`` is ``386``, ``macos`` is ``darwin``.

Matching: a host runs an image of its own os and architecture with its own variant or a
lower one of the same family: arm/v7 runs v7, v6, v5; arm64 runs arm64 (v8.x and v9.x
down their chain) and then 32-bit arm from v8 down; amd64/v3 runs v3, v2, v1. amd64 runs
only amd64 (no 386 fallback). :func:`best_match` prefers the earliest of that order.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.oci import fields
from dockyard.oci.fields import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

KNOWN_OS = frozenset((
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
    "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
))
KNOWN_ARCH = frozenset((
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle",
    "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv",
    "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
))
_SPECIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


class Platform(Record):
    """The ``platform`` object of a descriptor (and the platform fields of an image config)."""

    __slots__ = ("architecture", "os", "os_features", "os_version", "variant")

    architecture: str
    os: str
    os_version: str
    os_features: tuple[str, ...]
    variant: str

    def __init__(
        self,
        os: str,
        architecture: str,
        variant: str = "",
        os_version: str = "",
        os_features: Iterable[str] = (),
    ) -> None:
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.os_version = os_version
        self.os_features = tuple(os_features)

    def __hash__(self) -> int:
        return hash(self._values())

    def __str__(self) -> str:
        """``os/arch[/variant]`` as containerd formats it; ``unknown`` without an os."""
        if not self.os:
            return "unknown"
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    @classmethod
    def from_dict(cls, value: Any, where: str = "platform") -> Platform:
        doc = fields.obj(value, where)
        return cls(
            os=fields.required_str(doc, "os", where),
            architecture=fields.required_str(doc, "architecture", where),
            variant=fields.opt_str(doc.get("variant"), fields.child(where, "variant")),
            os_version=fields.opt_str(doc.get("os.version"), fields.child(where, "os.version")),
            os_features=fields.str_list(doc.get("os.features"), fields.child(where, "os.features")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The OCI JSON object: Go's field order, empty optional fields left out."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    def normalize(self) -> Platform:
        """The canonical form (lower case, aliases resolved, default variants settled)."""
        arch, variant = normalize_arch(self.architecture, self.variant)
        return Platform(
            os=normalize_os(self.os),
            architecture=arch,
            variant=variant,
            os_version=self.os_version,
            os_features=sorted(set(self.os_features)),
        )


def normalize_os(os_name: str) -> str:
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """(architecture, variant) in containerd's canonical spelling."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("8", "v8") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
    return arch, variant


def parse_platform(specifier: str) -> Platform:
    """``linux/arm64/v8``, ``linux/amd64``, ``linux``, ``arm64``: a normalised Platform.

    One component is an os (the architecture is the host's) or else an architecture (the
    os is the host's). InvalidArgument names a malformed specifier.
    """
    parts = specifier.split("/")
    if len(parts) > 3 or not all(p and _SPECIFIER_CHARS.issuperset(p) for p in parts):
        raise InvalidArgument(
            f"invalid platform {specifier!r}: expected os[/arch[/variant]] (e.g. linux/arm64/v8)"
        )
    if len(parts) == 1:
        host = host_platform()
        word = parts[0].lower()
        if normalize_os(word) in KNOWN_OS:
            return Platform(normalize_os(word), host.architecture, host.variant)
        arch, variant = normalize_arch(word, "")
        if arch not in KNOWN_ARCH:
            raise InvalidArgument(f"invalid platform {specifier!r}: unknown operating system or architecture")
        return Platform(host.os, arch, variant)
    variant = parts[2] if len(parts) == 3 else ""
    return Platform(parts[0], parts[1], variant).normalize()


_HOST: list[Platform] = []


def host_platform() -> Platform:
    """This machine's platform, from ``uname`` (normalised; computed once)."""
    if not _HOST:
        import os

        uname = os.uname()
        _HOST.append(platform_from_uname(uname.sysname, uname.machine))
    return _HOST[0]


def platform_from_uname(sysname: str, machine: str) -> Platform:
    """The platform of ``uname -s`` / ``uname -m`` (``Linux``, ``armv7l`` -> linux/arm/v7)."""
    machine = machine.lower()
    variant = ""
    if machine.startswith("armv") and machine[4:5].isdigit():
        variant, machine = "v" + machine[4], "arm"  # armv7l, armv6l, armv5tel
    elif machine in ("i486", "i586", "i686"):
        machine = "386"
    return Platform(sysname, machine, variant).normalize()


# -- matching ------------------------------------------------------------------------------


def compatible(want: Platform) -> list[Platform]:
    """What a host of platform ``want`` runs, best first (``want`` itself, normalised, first)."""
    want = want.normalize()
    vector = [want]
    arch, variant = want.architecture, want.variant
    if arch == "amd64":
        level = _version(variant)
        for n in range(level - 1, 0, -1) if level > 1 else ():
            vector.append(_with(want, arch, "" if n == 1 else f"v{n}"))
    elif arch == "arm":
        level = _version(variant)
        for n in range(level - 1, 4, -1) if level > 5 else ():
            vector.append(_with(want, arch, f"v{n}"))
    elif arch == "arm64":
        vector.extend(_with(want, arch, v) for v in _arm64_lower(variant or "v8"))
        vector.extend(compatible(_with(want, "arm", "v8")))
    return vector


def _arm64_lower(variant: str) -> list[str]:
    """arm64 variants below ``variant``: v9.x runs v9.(x-1)..v9, then v8.(x+5)..v8."""
    major_text, _, minor_text = variant[1:].partition(".")
    if not major_text.isdigit() or (minor_text and not minor_text.isdigit()):
        return []
    major, minor = int(major_text), int(minor_text or 0)
    lower: list[str] = []
    if major == 9:
        lower.extend(f"v9.{m}" if m else "v9" for m in range(minor - 1, -1, -1))
        lower.append(f"v8.{minor + 5}")
        major, minor = 8, minor + 5
    if major == 8:
        lower.extend(f"v8.{m}" if m else "" for m in range(minor - 1, -1, -1))
    return lower


def _version(variant: str) -> int:
    digits = variant[1:] if variant.startswith("v") else variant
    return int(digits) if digits.isdigit() else 0


def _with(base: Platform, arch: str, variant: str) -> Platform:
    return Platform(base.os, arch, variant, base.os_version, base.os_features)


def _same(want: Platform, have: Platform) -> bool:
    """``have`` (normalised) is exactly ``want``; have's os.features must be among want's."""
    return (
        want.os == have.os
        and want.architecture == have.architecture
        and want.variant == have.variant
        and set(have.os_features) <= set(want.os_features)
    )


def match_rank(want: Platform, have: Platform, vector: Sequence[Platform] | None = None) -> int | None:
    """Position of ``have`` in ``want``'s compatibility order (0 is exact), None if it won't run."""
    have = have.normalize()
    for rank, candidate in enumerate(vector if vector is not None else compatible(want)):
        if _same(candidate, have):
            return rank
    return None


def matches(want: Platform, have: Platform) -> bool:
    """A host of platform ``want`` can run an image built for ``have``."""
    return match_rank(want, have) is not None


def best_match(want: Platform, candidates: Iterable[Platform | None]) -> int | None:
    """Index of the best of ``candidates`` for ``want`` (the first of equals), None if none runs.

    ``None`` entries (descriptors without a platform) never match.
    """
    vector = compatible(want)
    best: tuple[int, int] | None = None
    for index, have in enumerate(candidates):
        if have is None:
            continue
        rank = match_rank(want, have, vector)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, index)
    return None if best is None else best[1]
