"""The OCI ``linux.seccomp`` section compiled into a filter with libseccomp (through ctypes).

Two steps, so the validation can be tested without the library or a kernel:

* :func:`parse` checks the section and returns a :class:`Plan` (pure data, errors name the
  field), or None when the section asks for no filter;
* :func:`compile_filter` builds the libseccomp filter from it. Syscall names libseccomp does
  not know are skipped (listed in ``Filter.skipped``), as runc does, so one profile works
  across kernels and architectures. When several ``args`` of one entry share an index the
  entry becomes one rule per arg (any of them matches); otherwise one rule with all of them
  (all must match).

As runc 1.1: no ``defaultAction`` and no ``syscalls`` is no filter at all (nothing else is
checked); empty ``names`` add no rule; a missing arg ``index`` or ``value`` is 0; ``errnoRet``
counts only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE (SCMP_ACT_KILL with errnoRet 5 kills).

When the default action refuses, the filter is loaded behind runc's -ENOSYS stub (syscalls
newer than the profile look unimplemented, see :mod:`dockyard.runtime.seccomp_enosys`).
Loading needs no_new_privs or CAP_SYS_ADMIN. libseccomp's own no_new_privs is switched off
(``SCMP_FLTATR_CTL_NNP``): the caller sets it from ``process.noNewPrivileges``.
``libseccomp.so.2`` and ``ctypes`` are loaded on first use only.
"""

from __future__ import annotations

import os

from dockyard.errors import (
    Internal,
    InvalidArgument,
    NotImplementedYet,
    PermissionDenied,
    Unavailable,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# seccomp.h: actions (the low 16 bits carry the errno / trace value)
ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_NOTIFY = 0x7FC00000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000

ACTIONS: dict[str, int] = {
    "SCMP_ACT_ALLOW": ACT_ALLOW,
    "SCMP_ACT_ERRNO": ACT_ERRNO,
    "SCMP_ACT_KILL": ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": ACT_KILL_PROCESS,
    "SCMP_ACT_KILL_THREAD": ACT_KILL_THREAD,
    "SCMP_ACT_LOG": ACT_LOG,
    "SCMP_ACT_TRACE": ACT_TRACE,
    "SCMP_ACT_TRAP": ACT_TRAP,
}
_WITH_DATA = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
EPERM = 1

# enum scmp_compare
OPERATORS: dict[str, int] = {
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_MASKED_EQ": 7,
    "SCMP_CMP_NE": 1,
}

# OCI architecture name -> libseccomp's name for seccomp_arch_resolve_name()
ARCHES: dict[str, str] = {
    name: name[len("SCMP_ARCH_"):].lower()
    for name in (
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
    )
}

# enum scmp_filter_attr
ATTR_CTL_NNP = 3
ATTR_CTL_TSYNC = 4
ATTR_CTL_LOG = 6
ATTR_CTL_SSB = 7
ATTR_API_SYSRAWRC = 9  # libseccomp >= 2.5: return the kernel's errno, not ECANCELED
ATTR_CTL_WAITKILL = 10  # libseccomp >= 2.6

# OCI flag -> libseccomp attribute set to 1
FLAGS: dict[str, int] = {
    "SECCOMP_FILTER_FLAG_TSYNC": ATTR_CTL_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": ATTR_CTL_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": ATTR_CTL_SSB,
}

MAX_U64 = (1 << 64) - 1
_NR_SCMP_ERROR = -1
_WHAT = "linux.seccomp"


class Rule:
    """One seccomp_rule_add_array call: a syscall name, an action and (index, op, a, b) cmps."""

    __slots__ = ("action", "args", "name")

    def __init__(self, name: str, action: int, args: list[tuple[int, int, int, int]]) -> None:
        self.name = name
        self.action = action
        self.args = args

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and (self.name, self.action, self.args) == (
            other.name, other.action, other.args
        )

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.action:#x}, {self.args!r})"


class Plan:
    """The validated section: default action, architectures, attributes and rules."""

    __slots__ = ("arches", "attrs", "default_action", "rules")

    def __init__(
        self, default_action: int, arches: list[str], attrs: list[int], rules: list[Rule]
    ) -> None:
        self.default_action = default_action
        self.arches = arches
        self.attrs = attrs
        self.rules = rules


def _uint(value: object, what: str, limit: int = MAX_U64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InvalidArgument(f"{what}: must be an integer from 0 to {limit}")
    return value


def _zero(value: object) -> object:
    """A missing or null number is 0 (Go's zero value, as runc reads it)."""
    return 0 if value is None else value


def action_value(name: object, errno_ret: object, what: str) -> int:
    """The libseccomp action for OCI action ``name`` and ``errnoRet`` (ignored unless ERRNO/TRACE)."""
    if name == "SCMP_ACT_NOTIFY":
        raise NotImplementedYet(
            f"{what}: SCMP_ACT_NOTIFY is not supported (dockyard-runc has no seccomp agent)"
        )
    if not isinstance(name, str) or name not in ACTIONS:
        raise InvalidArgument(f"{what}: unknown seccomp action {name!r}")
    if name in _WITH_DATA:
        data = EPERM if errno_ret is None else _uint(errno_ret, f"{what} errnoRet", 0xFFFF)
        return ACTIONS[name] | data
    return ACTIONS[name]


def _args(raw: object, what: str) -> list[tuple[int, int, int, int]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidArgument(f"{what}: must be a list")
    result = []
    for i, arg in enumerate(raw):
        w = f"{what}[{i}]"
        if not isinstance(arg, dict):
            raise InvalidArgument(f"{w}: must be an object")
        index = _uint(_zero(arg.get("index")), f"{w}.index", 5)
        op = arg.get("op")
        if not isinstance(op, str) or op not in OPERATORS:
            raise InvalidArgument(f"{w}.op: unknown seccomp operator {op!r}")
        value = _uint(_zero(arg.get("value")), f"{w}.value")
        value_two = _uint(arg.get("valueTwo", 0), f"{w}.valueTwo")
        result.append((index, OPERATORS[op], value, value_two))
    return result


def _split(args: list[tuple[int, int, int, int]]) -> list[list[tuple[int, int, int, int]]]:
    """One rule with all cmps, or one rule per cmp when an index repeats."""
    if not args:
        return [[]]
    if len({a[0] for a in args}) == len(args):
        return [args]
    return [[a] for a in args]


def disabled(config: dict[str, Any]) -> bool:
    """No default action and no rules: runc loads no filter at all (and checks nothing else)."""
    return config.get("defaultAction") in (None, "") and not config.get("syscalls")


def parse(config: object) -> Plan | None:
    """Validate ``linux.seccomp`` into a :class:`Plan` (no libseccomp needed); None: no filter."""
    if not isinstance(config, dict):
        raise InvalidArgument(f"{_WHAT}: must be an object")
    if disabled(config):
        return None
    if config.get("listenerPath"):
        raise NotImplementedYet(
            f"{_WHAT}.listenerPath: seccomp user notification (SCMP_ACT_NOTIFY) is not supported"
        )
    default = action_value(
        config.get("defaultAction"), config.get("defaultErrnoRet"), f"{_WHAT}.defaultAction"
    )
    arches = []
    for i, arch in enumerate(config.get("architectures") or []):
        if not isinstance(arch, str) or arch not in ARCHES:
            raise InvalidArgument(f"{_WHAT}.architectures[{i}]: unknown architecture {arch!r}")
        arches.append(arch)
    attrs = []
    for i, flag in enumerate(config.get("flags") or []):
        if flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
            raise NotImplementedYet(
                f"{_WHAT}.flags[{i}]: {flag} needs seccomp user notification, not supported"
            )
        if not isinstance(flag, str) or flag not in FLAGS:
            raise InvalidArgument(f"{_WHAT}.flags[{i}]: unknown seccomp flag {flag!r}")
        attrs.append(FLAGS[flag])
    rules: list[Rule] = []
    syscalls = config.get("syscalls") or []
    if not isinstance(syscalls, list):
        raise InvalidArgument(f"{_WHAT}.syscalls: must be a list")
    for i, entry in enumerate(syscalls):
        w = f"{_WHAT}.syscalls[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{w}: must be an object")
        names = entry.get("names") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidArgument(f"{w}.names: must be a list of syscall names")
        action = action_value(entry.get("action"), entry.get("errnoRet"), f"{w}.action")
        args = _args(entry.get("args"), f"{w}.args")
        if action == default:
            continue  # no effect, and libseccomp refuses it
        for name in names:
            rules.extend(Rule(name, action, cmps) for cmps in _split(args))
    return Plan(default, arches, attrs, rules)


# --- libseccomp through ctypes --------------------------------------------------------------

_LIB: Any = None
_ARGCMP: Any = None


def _load_library() -> Any:
    global _LIB, _ARGCMP
    if _LIB is not None:
        return _LIB
    import ctypes as ct

    try:
        lib = ct.CDLL("libseccomp.so.2")
    except OSError as exc:
        raise Unavailable(f"seccomp: cannot load libseccomp.so.2: {exc}") from None

    class ArgCmp(ct.Structure):  # struct scmp_arg_cmp
        _fields_ = [
            ("arg", ct.c_uint),
            ("op", ct.c_int),
            ("datum_a", ct.c_uint64),
            ("datum_b", ct.c_uint64),
        ]

    class Version(ct.Structure):  # struct scmp_version
        _fields_ = [("major", ct.c_uint), ("minor", ct.c_uint), ("micro", ct.c_uint)]

    lib.seccomp_init.argtypes = [ct.c_uint32]
    lib.seccomp_init.restype = ct.c_void_p
    lib.seccomp_release.argtypes = [ct.c_void_p]
    lib.seccomp_release.restype = None
    lib.seccomp_load.argtypes = [ct.c_void_p]
    lib.seccomp_attr_set.argtypes = [ct.c_void_p, ct.c_int, ct.c_uint32]
    lib.seccomp_arch_add.argtypes = [ct.c_void_p, ct.c_uint32]
    lib.seccomp_arch_resolve_name.argtypes = [ct.c_char_p]
    lib.seccomp_arch_resolve_name.restype = ct.c_uint32
    lib.seccomp_syscall_resolve_name.argtypes = [ct.c_char_p]
    lib.seccomp_syscall_resolve_name.restype = ct.c_int
    lib.seccomp_rule_add_array.argtypes = [
        ct.c_void_p, ct.c_uint32, ct.c_int, ct.c_uint, ct.POINTER(ArgCmp)
    ]
    lib.seccomp_export_bpf.argtypes = [ct.c_void_p, ct.c_int]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ct.c_uint32, ct.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.restype = ct.c_int
    lib.seccomp_arch_native.restype = ct.c_uint32
    lib.seccomp_version.restype = ct.POINTER(Version)
    _ARGCMP = ArgCmp
    _LIB = lib
    return lib


def available() -> bool:
    """Whether libseccomp.so.2 can be loaded."""
    try:
        _load_library()
    except Unavailable:
        return False
    return True


def library_version() -> str:
    """libseccomp's version, e.g. ``2.5.4``."""
    v = _load_library().seccomp_version().contents
    return f"{v.major}.{v.minor}.{v.micro}"


def supported_arches() -> list[str]:
    """The OCI architecture names this libseccomp knows, sorted."""
    lib = _load_library()
    return sorted(a for a, n in ARCHES.items() if lib.seccomp_arch_resolve_name(n.encode()))


def _check(rc: int, what: str) -> None:
    if rc < 0:
        err = -rc
        cls = PermissionDenied if err in (1, 13) else Internal
        raise cls(f"{what}: {os.strerror(err)}")


class Filter:
    """A built libseccomp filter context; :meth:`load` installs it, :meth:`release` frees it."""

    def __init__(self, lib: Any, ctx: int, plan: Plan, skipped: list[str]) -> None:
        self._lib = lib
        self._ctx: int | None = ctx
        self.plan = plan
        self.skipped = skipped

    def _context(self) -> int:
        if self._ctx is None:
            raise Internal("seccomp: the filter was released")
        return self._ctx

    def load(self) -> None:
        """Install the filter on the calling thread (needs NNP or CAP_SYS_ADMIN), behind
        runc's -ENOSYS stub when the default action refuses (see seccomp_enosys)."""
        from dockyard.runtime import seccomp_enosys

        if self.plan.rules and seccomp_enosys.wanted(self.plan.default_action):
            self._load_with_enosys_stub()
            return
        rc = self._lib.seccomp_load(self._context())
        if rc == -13:  # EACCES from seccomp(2)
            raise PermissionDenied(
                "seccomp_load: permission denied (set no_new_privs first or keep CAP_SYS_ADMIN)"
            )
        _check(rc, "seccomp_load")

    def _load_with_enosys_stub(self) -> None:
        self.program().load()

    def program(self) -> Program:
        """The BPF program behind runc's -ENOSYS stub and its seccomp(2) flags (what
        :meth:`load` installs when the default action refuses)."""
        from dockyard.runtime import seccomp_enosys

        lib = self._lib
        tokens = {lib.seccomp_arch_native()}
        tokens.update(lib.seccomp_arch_resolve_name(ARCHES[a].encode()) for a in self.plan.arches)
        highest = seccomp_enosys.highest_numbers(lib, sorted(tokens), [r.name for r in self.plan.rules])
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            self.export_bpf(fd)
            exported = os.pread(fd, os.fstat(fd).st_size, 0)
        finally:
            os.close(fd)
        flags = sum(bit for attr, bit in ((ATTR_CTL_TSYNC, 1), (ATTR_CTL_LOG, 2), (ATTR_CTL_SSB, 4))
                    if attr in self.plan.attrs)
        return Program(seccomp_enosys.encode(seccomp_enosys.stub(highest)) + exported, flags)

    def export_bpf(self, fd: int) -> None:
        """Write the compiled BPF program to ``fd``."""
        _check(self._lib.seccomp_export_bpf(self._context(), fd), "seccomp_export_bpf")

    def release(self) -> None:
        """Free the libseccomp context (a loaded filter stays in the kernel)."""
        if self._ctx is not None:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None

    def __enter__(self) -> Filter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Program:
    """A compiled filter: the classic BPF program and the seccomp(2) flags to install it
    with (what a cached filter is, see :mod:`dockyard.runtime.seccomp_cache`)."""

    def __init__(self, code: bytes, flags: int) -> None:
        if not code or len(code) % 8:
            raise InvalidArgument(f"seccomp: a BPF program is whole 8-byte instructions, not {len(code)} bytes")
        self.code = code
        self.flags = flags

    def load(self) -> None:
        """Install it on the calling thread (needs NNP or CAP_SYS_ADMIN)."""
        from dockyard.runtime import seccomp_enosys

        try:
            seccomp_enosys.load_with_stub(self.code, b"", self.flags)
        except OSError as exc:
            if exc.errno == 13:
                raise PermissionDenied(
                    "seccomp: permission denied (set no_new_privs first or keep CAP_SYS_ADMIN)"
                ) from None
            raise Internal(f"seccomp: {exc.strerror}") from None

    def release(self) -> None:
        """Nothing to free: the program is plain bytes."""


def build(plan: Plan) -> Filter:
    """Build a libseccomp filter from a parsed :class:`Plan`."""
    lib = _load_library()
    ctx = lib.seccomp_init(plan.default_action)
    if not ctx:
        raise Internal(f"seccomp_init({plan.default_action:#x}) failed")
    filt = Filter(lib, ctx, plan, [])
    try:
        _check(lib.seccomp_attr_set(ctx, ATTR_CTL_NNP, 0), "seccomp: clear the NNP attribute")
        lib.seccomp_attr_set(ctx, ATTR_API_SYSRAWRC, 1)  # older libseccomp: ECANCELED stays
        for attr in plan.attrs:
            _check(lib.seccomp_attr_set(ctx, attr, 1), f"seccomp: set filter attribute {attr}")
        for arch in plan.arches:
            token = lib.seccomp_arch_resolve_name(ARCHES[arch].encode())
            if not token:
                raise InvalidArgument(f"{_WHAT}.architectures: {arch} is unknown to libseccomp")
            rc = lib.seccomp_arch_add(ctx, token)
            if rc != -17:  # EEXIST: the native architecture is always there
                _check(rc, f"seccomp: add architecture {arch}")
        numbers: dict[str, int] = {}
        skipped: set[str] = set()
        for rule in plan.rules:
            nr = numbers.get(rule.name)
            if nr is None:
                nr = numbers[rule.name] = lib.seccomp_syscall_resolve_name(rule.name.encode())
            if nr == _NR_SCMP_ERROR:
                skipped.add(rule.name)
                continue
            cmps = (_ARGCMP * max(len(rule.args), 1))(*rule.args)
            rc = lib.seccomp_rule_add_array(ctx, rule.action, nr, len(rule.args), cmps)
            if rc < 0:
                raise InvalidArgument(
                    f"{_WHAT}: add rule for syscall {rule.name} (action {rule.action:#x}, "
                    f"args {rule.args}): {os.strerror(-rc)}"
                )
        filt.skipped = sorted(skipped)
    except BaseException:
        filt.release()
        raise
    return filt


def compile_filter(config: dict[str, Any], cache_dir: str = "") -> Filter | Program | None:
    """Validate and build the filter for ``linux.seccomp`` (the caller releases it); None: none.

    With ``cache_dir`` a filter loaded behind the -ENOSYS stub (Docker's default profile and
    most others) comes from, or goes to, the cache of compiled programs there."""
    plan = parse(config)
    if plan is None:
        return None
    if cache_dir and plan.rules:
        from dockyard.runtime import seccomp_cache, seccomp_enosys

        if seccomp_enosys.wanted(plan.default_action):
            return seccomp_cache.compiled(config, plan, cache_dir)
    return build(plan)
