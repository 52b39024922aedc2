"""The daemon's settings: defaults, a TOML file, then the command line.

The file has the command line's keys (``address``, ``root``, ``state``, ``log_level``;
``log-level`` is accepted too)::

    address = "/run/dockyard/containerd.sock"
    root = "/var/lib/dockyard/containerd"
    state = "/run/dockyard/containerd"
    log_level = "info"
    runtime = "runc"        # the default OCI runtime binary (default: dockyard-runc)

An unknown key or a value of the wrong type is an error that names it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from dockyard.errors import InvalidArgument, NotFound

DEFAULT_ADDRESS = "/run/dockyard/containerd.sock"
DEFAULT_ROOT = "/var/lib/dockyard/containerd"
DEFAULT_STATE = "/run/dockyard/containerd"
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


@dataclass(frozen=True)
class Config:
    address: str = DEFAULT_ADDRESS
    root: str = DEFAULT_ROOT
    state: str = DEFAULT_STATE
    log_level: str = "info"
    runtime: str = ""  # the OCI runtime binary shims drive by default ("" = dockyard-runc)

    def checked(self) -> Config:
        if self.log_level not in LOG_LEVELS:
            raise InvalidArgument(f"log level {self.log_level!r}: must be one of {', '.join(LOG_LEVELS)}")
        for name in ("address", "root", "state"):
            if not getattr(self, name):
                raise InvalidArgument(f"{name} must not be empty")
        return self


def load(path: str | Path) -> Config:
    """The settings in a TOML file (defaults for what it leaves out)."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise NotFound(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"config file {path}: {exc}") from None
    known = {f.name for f in fields(Config)}
    values: dict[str, str] = {}
    for key, value in doc.items():
        name = key.replace("-", "_")
        if name not in known:
            raise InvalidArgument(f"config file {path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if not isinstance(value, str):
            raise InvalidArgument(f"config file {path}: {key} must be a string, got {type(value).__name__}")
        values[name] = value
    return Config(**values)


def merge(base: Config, **overrides: str | None) -> Config:
    """``base`` with the overrides that are set (command-line flags)."""
    return replace(base, **{k: v for k, v in overrides.items() if v is not None}).checked()
