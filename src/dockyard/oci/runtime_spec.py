"""The OCI runtime spec's ``config.json``: load, validate in one pass, and the default document.

``validate`` checks every field runc 1.1 honours and raises ``InvalidArgument`` naming the
field (``config.json: linux.namespaces[2].type: unknown namespace type "foo"``). It is no
stricter than runc 1.1.5: what runc accepts passes (a missing number is Go's zero), and what
runc accepts with a warning passes with that warning in the returned list. Unknown
properties are ignored, as the spec requires; ``null`` counts as absent, as in Go.
``default_spec`` (in :mod:`dockyard.oci.default_spec`) is what ``runc spec`` writes.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

CONFIG_FILE = "config.json"
OCI_VERSION = "1.0.2-dev"

# Capability names runc 1.1 knows (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
CAPABILITIES = frozenset((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
))
CAPABILITY_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
RLIMITS = frozenset((
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
    "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
    "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
))
NAMESPACES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
HOOK_PHASES = (
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"
)
PROPAGATIONS = frozenset((
    "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable",
    "runbindable",
))
SECCOMP_ACTIONS = frozenset((
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
))
SECCOMP_ARCHS = frozenset((
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
))
SECCOMP_OPS = frozenset((
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
    "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
))

_U16 = (0, 2**16 - 1)
_U32 = (0, 2**32 - 1)
_U64 = (0, 2**64 - 1)
_I64 = (-(2**63), 2**63 - 1)


def load_bundle(bundle: str) -> dict[str, Any]:
    """Read, parse and validate ``<bundle>/config.json``."""
    return load_bundle_with_warnings(bundle)[0]


def load_bundle_with_warnings(bundle: str) -> tuple[dict[str, Any], list[str]]:
    """``load_bundle``, plus the warnings runc would log for this config."""
    path = os.path.join(bundle, CONFIG_FILE)
    try:
        config = jsonio.load_file(path, CONFIG_FILE)
    except FileNotFoundError:
        raise NotFound(f"JSON specification file {CONFIG_FILE} not found") from None
    except OSError as exc:
        raise InvalidArgument(f"{CONFIG_FILE}: {exc.strerror or exc}") from None
    warnings = validate(config)
    assert isinstance(config, dict)
    return config, warnings


# -- small checkers; ``where`` is the field path used in the message -----------------------


def _fail(where: str, problem: str) -> NoReturn:
    raise InvalidArgument(f"{CONFIG_FILE}: {where}: {problem}")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, "must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, "must be a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        _fail(where, "must be a string")
    return value


def _bool(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        _fail(where, "must be a boolean")


def _int(value: Any, where: str, bounds: tuple[int, int] = _I64) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(where, "must be an integer")
    if not bounds[0] <= value <= bounds[1]:
        _fail(where, f"must be in [{bounds[0]}, {bounds[1]}], got {value}")
    return value


def _abs(value: Any, where: str) -> str:
    path = _str(value, where)
    if not path.startswith("/"):
        _fail(where, f"must be an absolute path, got {path!r}")
    return path


def _strs(value: Any, where: str) -> list[str]:
    items = _list(value, where)
    for n, item in enumerate(items):
        _str(item, f"{where}[{n}]")
    return items


def _str_map(value: Any, where: str) -> None:
    for key, item in _obj(value, where).items():
        _str(item, f"{where}.{key}")


def _opt(obj: dict[str, Any], key: str, check: Callable[[Any, str], object], where: str) -> Any:
    """Run ``check`` on ``obj[key]`` when present and not null; return the value or None."""
    value = obj.get(key)
    if value is not None:
        check(value, f"{where}.{key}" if where else key)
    return value


def _ints(obj: dict[str, Any], where: str, bounds: tuple[int, int], *keys: str) -> None:
    for key in keys:
        _opt(obj, key, lambda v, w: _int(v, w, bounds), where)


def _each(value: Any, where: str, check: Callable[[dict[str, Any], str], None]) -> None:
    for n, item in enumerate(_list(value, where)):
        check(_obj(item, f"{where}[{n}]"), f"{where}[{n}]")


def _one_of(value: Any, where: str, allowed: frozenset[str] | tuple[str, ...], what: str) -> str:
    name = _str(value, where)
    if name not in allowed:
        _fail(where, f"unknown {what} {jsonio.dumps(name)}")
    return name


def _required(obj: dict[str, Any], key: str, where: str) -> Any:
    value = obj.get(key)
    if value is None:
        _fail(f"{where}.{key}", "is required")
    return value


# -- the pass -------------------------------------------------------------------------------


def validate(config: Any) -> list[str]:
    """Check ``config`` (a parsed config.json); raise InvalidArgument naming the bad field.

    Returns the warnings runc 1.1.5 logs for what it accepts but frowns upon (unknown
    capability names, relative mount destinations), in runc's words.
    """
    if not isinstance(config, dict):
        raise InvalidArgument(f"{CONFIG_FILE}: must be a JSON object")
    warnings: list[str] = []
    _opt(config, "ociVersion", _str, "")  # runc runs any version, even none
    if config.get("root") is None:
        _fail("root", "is required")
    root = _obj(config["root"], "root")
    _opt(root, "path", _str, "root")  # "" or absent: the bundle directory itself, as in runc
    _opt(root, "readonly", _bool, "root")
    process = config.get("process")
    if process is None:
        _fail("process", "is required")
    _process(_obj(process, "process"), "process", warnings)
    _opt(config, "hostname", _str, "")
    _opt(config, "domainname", _str, "")  # runc 1.1.5 ignores it without a UTS namespace
    _opt(config, "mounts", lambda v, w: _each(v, w, lambda m, wm: _mount(m, wm, warnings)), "")
    hooks = _opt(config, "hooks", _obj, "")
    if hooks is not None:
        for phase in HOOK_PHASES:
            _opt(hooks, phase, lambda v, w: _each(v, w, _hook), "hooks")
    _opt(config, "annotations", _str_map, "")
    linux = _opt(config, "linux", _obj, "")
    namespaces = _linux(linux, "linux") if linux is not None else set()
    if config.get("hostname") and "uts" not in namespaces:
        _fail("hostname", "requires a private UTS namespace")
    return warnings


def _process(p: dict[str, Any], where: str, warnings: list[str]) -> None:
    _opt(p, "terminal", _bool, where)
    size = _opt(p, "consoleSize", _obj, where)
    if size is not None:
        _ints(size, f"{where}.consoleSize", _U32, "height", "width")
    user = _opt(p, "user", _obj, where)
    if user is not None:
        _ints(user, f"{where}.user", _U32, "uid", "gid", "umask")
        gids = _opt(user, "additionalGids", _list, f"{where}.user")
        for n, gid in enumerate(gids or ()):
            _int(gid, f"{where}.user.additionalGids[{n}]", _U32)
        _opt(user, "username", _str, f"{where}.user")
    args = p.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        _fail(f"{where}.args", "must be a non-empty list of strings")
    for n, env in enumerate(_opt(p, "env", _strs, where) or ()):
        key, eq, _ = env.partition("=")
        if not eq or not key or "\0" in env:
            _fail(f"{where}.env[{n}]", f"must be KEY=VALUE, got {env!r}")
    cwd = p.get("cwd")
    if not cwd:
        _fail(f"{where}.cwd", "is required")
    _abs(cwd, f"{where}.cwd")
    caps = _opt(p, "capabilities", _obj, where)
    unknown: set[str] = set()
    for name in CAPABILITY_SETS if caps is not None else ():
        wc = f"{where}.capabilities.{name}"
        for n, cap in enumerate(_opt(caps, name, _list, f"{where}.capabilities") or ()):
            if _str(cap, f"{wc}[{n}]") not in CAPABILITIES:
                unknown.add(cap)
    if unknown:  # runc runs without them
        warnings.append(
            f"ignoring unknown or unavailable capabilities: [{' '.join(sorted(unknown))}]"
        )
    for n, rlimit in enumerate(_opt(p, "rlimits", _list, where) or ()):
        # a repeated type is applied again (the last one wins); a missing limit is 0
        wr = f"{where}.rlimits[{n}]"
        _one_of(_required(_obj(rlimit, wr), "type", wr), f"{wr}.type", RLIMITS, "rlimit")
        _ints(rlimit, wr, _U64, "soft", "hard")
    _opt(p, "noNewPrivileges", _bool, where)
    _ints(p, where, (-1000, 1000), "oomScoreAdj")
    for key in ("apparmorProfile", "selinuxLabel"):
        _opt(p, key, _str, where)


def _mount(m: dict[str, Any], where: str, warnings: list[str]) -> None:
    dest = _str(_required(m, "destination", where), f"{where}.destination")
    if not dest:
        _fail(f"{where}.destination", "must not be empty")
    if not dest.startswith("/"):  # runc: relative to the rootfs, deprecated
        warnings.append(
            f"mount destination {dest} is not absolute. Support for non-absolute mount "
            "destinations will be removed in a future release."
        )
    _opt(m, "type", _str, where)
    _opt(m, "source", _str, where)
    _opt(m, "options", _strs, where)
    for key in ("uidMappings", "gidMappings"):
        _opt(m, key, lambda v, w: _each(v, w, _id_mapping), where)


def _hook(h: dict[str, Any], where: str) -> None:
    # runc runs a relative path from its working directory (the bundle, for create and
    # run), and checks the timeout only at run time (0 or less: "ran past its timeout")
    if not _str(_required(h, "path", where), f"{where}.path"):
        _fail(f"{where}.path", "must not be empty")
    _opt(h, "args", _strs, where)
    _opt(h, "env", _strs, where)
    _ints(h, where, _I64, "timeout")


def _id_mapping(m: dict[str, Any], where: str) -> None:
    for key in ("containerID", "hostID", "size"):
        _int(_required(m, key, where), f"{where}.{key}", _U32)
    if m["size"] == 0:
        _fail(f"{where}.size", "must be greater than 0")


def _linux(linux: dict[str, Any], where: str) -> set[str]:
    """Check ``linux``; return the namespace types requested."""
    types: set[str] = set()
    for n, ns in enumerate(_opt(linux, "namespaces", _list, where) or ()):
        wn = f"{where}.namespaces[{n}]"
        kind = _one_of(_required(_obj(ns, wn), "type", wn), f"{wn}.type", NAMESPACES,
                       "namespace type")
        if kind in types:
            _fail(f"{wn}.type", f"duplicate namespace {kind!r}")
        types.add(kind)
        _opt(ns, "path", _str, wn)
    for key in ("uidMappings", "gidMappings"):
        _opt(linux, key, lambda v, w: _each(v, w, _id_mapping), where)
    if "user" in types:
        for key, what in (("uidMappings", "uid"), ("gidMappings", "gid")):
            if not linux.get(key):
                _fail(f"{where}.{key}", f"user namespace requested but no {what} mappings")
    _opt(linux, "devices", lambda v, w: _each(v, w, _device), where)
    resources = _opt(linux, "resources", _obj, where)
    if resources is not None:
        _resources(resources, f"{where}.resources")
    _opt(linux, "cgroupsPath", _str, where)
    _opt(linux, "sysctl", _str_map, where)
    seccomp = _opt(linux, "seccomp", _obj, where)
    if seccomp is not None:
        _seccomp(seccomp, f"{where}.seccomp")
    for key in ("maskedPaths", "readonlyPaths"):  # relative: from the container's "/"
        _opt(linux, key, _strs, where)
    _opt(linux, "rootfsPropagation",
         lambda v, w: _one_of(v, w, PROPAGATIONS, "propagation"), where)
    _opt(linux, "mountLabel", _str, where)
    return types


def _device(d: dict[str, Any], where: str) -> None:
    # runc: a relative path is under the container's /, a missing major or minor is 0, and
    # an entry without a path only feeds the device cgroup
    _opt(d, "path", _str, where)
    _one_of(_required(d, "type", where), f"{where}.type", ("c", "b", "u", "p"), "device type")
    _ints(d, where, _I64, "major", "minor")
    _ints(d, where, _U32, "fileMode", "uid", "gid")


def _resources(r: dict[str, Any], where: str) -> None:
    _opt(r, "devices", lambda v, w: _each(v, w, _device_rule), where)
    mem = _opt(r, "memory", _obj, where)
    if mem is not None:
        wm = f"{where}.memory"
        _ints(mem, wm, _I64, "limit", "reservation", "swap", "kernel", "kernelTCP")
        _ints(mem, wm, (0, 100), "swappiness")
        for key in ("disableOOMKiller", "useHierarchy", "checkBeforeUpdate"):
            _opt(mem, key, _bool, wm)
    cpu = _opt(r, "cpu", _obj, where)
    if cpu is not None:
        wc = f"{where}.cpu"
        _ints(cpu, wc, _U64, "shares", "period", "realtimePeriod")
        _ints(cpu, wc, _I64, "quota", "realtimeRuntime", "idle")
        _opt(cpu, "cpus", _str, wc)
        _opt(cpu, "mems", _str, wc)
    pids = _opt(r, "pids", _obj, where)
    if pids is not None:  # no limit: 0, "not set"
        _ints(pids, f"{where}.pids", _I64, "limit")
    blkio = _opt(r, "blockIO", _obj, where)
    if blkio is not None:
        _block_io(blkio, f"{where}.blockIO")

    def hugepage(h: dict[str, Any], wh: str) -> None:
        _str(_required(h, "pageSize", wh), f"{wh}.pageSize")
        _int(_required(h, "limit", wh), f"{wh}.limit", _U64)

    _opt(r, "hugepageLimits", lambda v, w: _each(v, w, hugepage), where)
    _opt(r, "unified", _str_map, where)


def _device_rule(d: dict[str, Any], where: str) -> None:
    _opt(d, "allow", _bool, where)  # absent: false, a deny rule
    _opt(d, "type", lambda v, w: _one_of(v, w, ("a", "c", "b"), "device type"), where)
    _ints(d, where, _I64, "major", "minor")
    access = _opt(d, "access", _str, where)
    if access is not None and not set(access) <= set("rwm"):
        _fail(f"{where}.access", f"must be a combination of r, w and m, got {access!r}")


def _block_io(b: dict[str, Any], where: str) -> None:
    # Go's uint16, as in runc; the kernel judges the range when the cgroup is written
    _ints(b, where, _U16, "weight", "leafWeight")

    def weight_device(d: dict[str, Any], wd: str) -> None:
        for key in ("major", "minor"):
            _int(_required(d, key, wd), f"{wd}.{key}")
        _ints(d, wd, _U16, "weight", "leafWeight")

    def throttle(d: dict[str, Any], wd: str) -> None:
        for key in ("major", "minor"):
            _int(_required(d, key, wd), f"{wd}.{key}")
        _int(_required(d, "rate", wd), f"{wd}.rate", _U64)

    _opt(b, "weightDevice", lambda v, w: _each(v, w, weight_device), where)
    for key in ("throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice"):
        _opt(b, key, lambda v, w: _each(v, w, throttle), where)


def _seccomp(s: dict[str, Any], where: str) -> None:
    _ints(s, where, _U32, "defaultErrnoRet")
    arches = _opt(s, "architectures", _strs, where)
    _opt(s, "flags", _strs, where)
    _opt(s, "listenerPath", _str, where)
    _opt(s, "listenerMetadata", _str, where)
    if _opt(s, "defaultAction", _str, where) in (None, "") and not _opt(
            s, "syscalls", _list, where):
        return  # runc: no default action and no rules is no seccomp at all
    _one_of(_required(s, "defaultAction", where), f"{where}.defaultAction", SECCOMP_ACTIONS,
            "seccomp action")
    for n, arch in enumerate(arches or ()):
        _one_of(arch, f"{where}.architectures[{n}]", SECCOMP_ARCHS, "seccomp architecture")
    _opt(s, "syscalls", lambda v, w: _each(v, w, _syscall), where)


def _syscall(s: dict[str, Any], where: str) -> None:
    _opt(s, "names", _strs, where)  # none or empty: a rule with no effect, as in runc
    _one_of(_required(s, "action", where), f"{where}.action", SECCOMP_ACTIONS, "seccomp action")
    _ints(s, where, _U32, "errnoRet")

    def arg(a: dict[str, Any], wa: str) -> None:
        _ints(a, wa, (0, 5), "index")  # a missing index or value is 0
        _ints(a, wa, _U64, "value", "valueTwo")
        _one_of(_required(a, "op", wa), f"{wa}.op", SECCOMP_OPS, "seccomp operator")

    _opt(s, "args", lambda v, w: _each(v, w, arg), where)
