"""The values of docker's container flags, parsed as docker's ``opts`` package parses them.

Each parser takes the flag's text and returns what goes into the request body, or raises
``ValueError`` with docker's message (the flag parser prints it as ``invalid argument "x"
for "-m, --memory" flag: invalid suffix: 'x'``): sizes (go-units ``RAMInBytes``), CPUs
(``NanoCPUs``), unsigned integers, ulimits, ``--mount`` specs, env and labels, sysctls,
throttle and weight devices, attach streams. ``read_kv_file`` reads ``--env-file`` and
``--label-file``.
"""

from __future__ import annotations

import posix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
           "rtprio", "rttime", "sigpending", "stack")
_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced")


def getenv(name: str) -> str | None:
    value = posix.environ.get(name.encode("utf-8", "surrogateescape"))
    return None if value is None else value.decode("utf-8", "surrogateescape")


def clean_path(path: str) -> str:
    """Go's path.Clean: the shortest equivalent path (``a/../b`` -> ``b``, ``""`` -> ``.``)."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    return ("/" + cleaned) if rooted else (cleaned or ".")


def abs_path(path: str) -> str:
    """Go's filepath.Abs: relative to the working directory, cleaned."""
    return clean_path(path if path.startswith("/") else posix.getcwd() + "/" + path)


def go_float(text: str) -> float:
    try:
        if text.strip() != text or not text or text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise ValueError
        return float(text.replace("_", "") if "_" in text.strip("_") else text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: ``512m``, ``1GiB``, ``100kb`` (binary multiples)."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise ValueError(f"invalid size: '{text}'")
    num, sfx = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else (text[:sep], text[sep + 1:])
    size = go_float(num)
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if not sfx:
        return int(size)
    low = sfx.lower()
    bad = ValueError(f"invalid suffix: '{low if len(sfx) <= 3 else sfx}'")
    if len(sfx) > 3:
        raise bad
    if low[0] == "b":
        if len(low) > 1:
            raise bad
        return int(size)
    if low[0] not in _BINARY or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise bad
    return int(size * _BINARY[low[0]])


def mem_swap(text: str) -> int:
    """MemSwapBytes: ``-1`` for unlimited, else a size."""
    return -1 if text == "-1" else ram_in_bytes(text)


def nano_cpus(text: str) -> int:
    """NanoCPUs: ``1.5`` -> 1500000000 (exact: ``0.0000000001`` is too precise)."""
    from fractions import Fraction

    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text} as a rational number") from None
    nanos = value * 1_000_000_000
    if nanos.denominator != 1:
        raise ValueError("value is too precise")
    return int(nanos)


def parse_uint(bits: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text, 0) if not (len(text) > 1 and text[0] == "0" and text[1:].isdigit()) else int(text, 8)
        except ValueError:
            raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax') from None
        if value < 0:
            raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
        if value >= 1 << bits:
            raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
        return value
    return convert


def _parse_int64(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def ulimit(text: str) -> dict[str, Any]:
    """go-units ParseUlimit: ``nofile=1024:2048`` -> {"Name", "Hard", "Soft"}."""
    name, eq, limits = text.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {text}")
    if name not in ULIMITS:
        raise ValueError(f"invalid ulimit type: {name}")
    values = limits.split(":")
    if len(values) > 2:
        raise ValueError(f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")
    hard = _parse_int64(values[1]) if len(values) == 2 else None
    soft = _parse_int64(values[0])
    hard = soft if hard is None else hard
    if hard != -1 and soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def env(text: str) -> str:
    """opts.ValidateEnv: ``NAME`` alone takes the local environment's value when it has one."""
    name, eq, _ = text.partition("=")
    if not name:
        raise ValueError(f"invalid environment variable: {text}")
    if eq:
        return text
    value = getenv(name)
    return text if value is None else f"{name}={value}"


def label(text: str) -> str:
    name = text.partition("=")[0].strip()
    if not name:
        raise ValueError(f"invalid label '{text}': empty name")
    if " " in name or "\t" in name:
        raise ValueError(f"label '{name}' contains whitespaces")
    return text


def sysctl(text: str) -> str:
    name, eq, _ = text.partition("=")
    if eq and name and (name in _SYSCTLS or name.startswith(("net.", "fs.mqueue."))):
        return text
    raise ValueError(f"sysctl '{text}' is not allowed")


def attach(text: str) -> str:
    lowered = text.lower()
    if lowered not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return lowered


def ip_address(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"IP address is not correctly formatted: {text}") from None


def device_cgroup_rule(text: str) -> str:
    parts = text.split(" ")
    ok = len(parts) == 3 and parts[0] in ("a", "b", "c") and all(
        n == "*" or n.isdigit() for n in parts[1].split(":")) and parts[1].count(":") == 1 \
        and 1 <= len(parts[2]) <= 3 and all(c in "rwm" for c in parts[2])
    if not ok:
        raise ValueError(f"invalid device cgroup format '{text}'")
    return text


def weight_device(text: str) -> dict[str, Any]:
    path, sep, weight = text.rpartition(":")
    if not sep or not path.startswith("/dev/"):
        raise ValueError(f"bad format: {text}")
    try:
        value = int(weight)
        if not 10 <= value <= 1000 and value != 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"invalid weight for device: {text}") from None
    return {"Path": path, "Weight": value}


def throttle_device(iops: bool) -> Callable[[str], dict[str, Any]]:
    def convert(text: str) -> dict[str, Any]:
        path, sep, rate = text.rpartition(":")
        if not sep or not path.startswith("/dev/"):
            raise ValueError(f"bad format: {text}")
        try:
            value = int(rate) if iops else ram_in_bytes(rate)
            if value < 0:
                raise ValueError
        except ValueError:
            kind = "a positive integer" if iops else "a positive size"
            raise ValueError(f"invalid rate for device: {text}. The correct format is <device-path>:<number>. "
                             f"Number must be {kind}") from None
        return {"Path": path, "Rate": value}
    return convert


def _mount_bool(key: str, value: str) -> bool:
    try:
        from dockyard.cli.flags import parse_bool

        return parse_bool(value)
    except ValueError:
        raise ValueError(f"invalid value for {key}: {value}") from None


def mount(text: str) -> dict[str, Any]:
    """opts.MountOpt: ``type=bind,src=/a,dst=/b,readonly`` -> a mount.Mount body."""
    import csv

    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise ValueError(f"invalid mount spec: {text}") from None
    m: dict[str, Any] = {"Type": "volume"}
    opts: dict[str, dict[str, Any]] = {}

    def options(kind: str) -> dict[str, Any]:
        if kind == "VolumeOptions" and kind not in opts:
            opts[kind] = {"DriverConfig": {}}
        return opts.setdefault(kind, {})

    for field in fields:
        key, eq, val = field.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro"):
                m["ReadOnly"] = True
            elif key == "volume-nocopy":
                options("VolumeOptions")["NoCopy"] = True
            elif key == "bind-nonrecursive":
                options("BindOptions")["NonRecursive"] = True
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            m["Type"] = val.lower()
        elif key in ("source", "src"):
            m["Source"] = abs_path(val) if val == "." or val.startswith("./") else val
        elif key in ("target", "dst", "destination"):
            m["Target"] = val
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = _mount_bool(key, val)
        elif key == "consistency":
            m["Consistency"] = val.lower()
        elif key == "bind-propagation":
            options("BindOptions")["Propagation"] = val.lower()
        elif key == "bind-nonrecursive":
            options("BindOptions")["NonRecursive"] = _mount_bool(key, val)
        elif key == "bind-recursive":
            flags = {"enabled": None, "disabled": "NonRecursive", "writable": "ReadOnlyNonRecursive",
                     "readonly": "ReadOnlyForceRecursive"}
            if val not in flags:
                raise ValueError(f'invalid value for {key}: {val} (must be "enabled", "disabled", "writable", '
                                 'or "readonly")')
            if flags[val]:
                options("BindOptions")[str(flags[val])] = True
        elif key == "volume-subpath":
            options("VolumeOptions")["Subpath"] = val
        elif key == "volume-nocopy":
            try:
                from dockyard.cli.flags import parse_bool

                options("VolumeOptions")["NoCopy"] = parse_bool(val)
            except ValueError:
                raise ValueError(f"invalid value for volume-nocopy: {val}") from None
        elif key == "volume-label":
            name, _, value = val.partition("=")
            if name:
                options("VolumeOptions").setdefault("Labels", {})[name] = value
        elif key == "volume-driver":
            options("VolumeOptions")["DriverConfig"]["Name"] = val
        elif key == "volume-opt":
            name, _, value = val.partition("=")
            if name:
                options("VolumeOptions")["DriverConfig"].setdefault("Options", {})[name] = value
        elif key == "image-subpath":
            options("ImageOptions")["Subpath"] = val
        elif key == "tmpfs-size":
            try:
                options("TmpfsOptions")["SizeBytes"] = ram_in_bytes(val)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        elif key == "tmpfs-mode":
            try:
                options("TmpfsOptions")["Mode"] = int(val, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if not m["Type"]:
        raise ValueError("type is required")
    if not m.get("Target"):
        raise ValueError("target is required")
    for kind, prefix, typ in (("VolumeOptions", "volume", "volume"), ("ImageOptions", "image", "image"),
                              ("BindOptions", "bind", "bind"), ("TmpfsOptions", "tmpfs", "tmpfs")):
        if kind in opts and m["Type"] != typ:
            raise ValueError(f"cannot mix '{prefix}-*' options with mount type '{m['Type']}'")
    bind = opts.get("BindOptions", {})
    if bind.get("ReadOnlyNonRecursive") and not m.get("ReadOnly"):
        raise ValueError("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction")
    if bind.get("ReadOnlyForceRecursive"):
        if not m.get("ReadOnly"):
            raise ValueError("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction")
        if bind.get("Propagation") != "rprivate":
            raise ValueError("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be "
                             "specified in conjunction")
    ordered: dict[str, Any] = {k: m[k] for k in ("Type", "Source", "Target", "ReadOnly", "Consistency") if k in m}
    ordered.update((k, opts[k]) for k in ("BindOptions", "VolumeOptions", "ImageOptions", "TmpfsOptions") if k in opts)
    return ordered


def read_kv_file(path: str, lookup: bool) -> list[str]:
    """docker's kvfile.Parse: ``KEY=value`` lines, ``#`` comments; a bare ``KEY`` takes the local
    environment's value with ``lookup`` (env files), else (or when it has none) is left out."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ValueError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    lines: list[str] = []
    for number, line_bytes in enumerate(raw.splitlines(), 1):
        try:
            text = line_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"invalid env file ({path}): invalid utf8 bytes at line {number}") from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        line = text.lstrip()
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        name = name.lstrip(" \t")
        if " " in name or "\t" in name:
            raise ValueError(f"invalid env file ({path}): variable '{name}' contains whitespaces")
        if not name:
            raise ValueError(f"invalid env file ({path}): no variable name on line '{line}'")
        if eq:
            lines.append(f"{name}={value}")
        elif lookup:
            found = getenv(line.strip())
            if found is not None:
                lines.append(f"{line.strip()}={found}")
    return lines
