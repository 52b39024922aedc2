"""``--change`` of ``docker import`` (and ``commit``): Dockerfile instructions applied to an
image's run defaults, in Docker's JSON form (``{"Cmd": [...], "Env": [...]}``).

Docker accepts CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and
WORKDIR here. CMD and ENTRYPOINT take the JSON form or the shell form (run by
``/bin/sh -c``); ENV and LABEL take ``k=v`` pairs (quotes allowed) or ``ENV k v``.
Anything else is refused with Docker's message.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from dockyard.errors import InvalidArgument

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _json_list(text: str) -> list[str] | None:
    """``text`` as a JSON array of strings (the exec form), else None."""
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _json_or_shell(args: str) -> list[str]:
    text = args.strip()
    found = _json_list(text)
    return found if found is not None else ["/bin/sh", "-c", text]


def _json_or_words(args: str) -> list[str]:
    text = args.strip()
    found = _json_list(text)
    return found if found is not None else text.split()


def _pairs(instruction: str, args: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InvalidArgument(f"{instruction}: {exc}") from None
    if not words:
        raise InvalidArgument(f"{instruction} requires at least one argument")
    if "=" not in words[0]:  # ENV key value (the old form)
        if len(words) < 2:
            raise InvalidArgument(f"{instruction} names can not be blank" if not words[0]
                                  else f"{instruction} must have two arguments")
        key, _, rest = args.strip().partition(" ")
        return [(key, rest.strip())]
    out = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"{instruction}: invalid pair {word!r}: must be key=value")
        out.append((key, value))
    return out


def _port(spec: str) -> str:
    port, _, proto = spec.partition("/")
    if not port or not all(part.isdigit() for part in port.split("-")):
        raise InvalidArgument(f"invalid containerPort: {port}")
    return f"{port}/{proto.lower() or 'tcp'}"


def apply_changes(changes: Iterable[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config`` (Docker's JSON form, or a new one) with ``changes`` applied."""
    out: dict[str, Any] = dict(config or {})
    for change in changes:
        text = change.strip()
        if not text:
            continue
        word, _, args = text.partition(" ")
        if not word.strip() and not args:
            continue
        instruction = word.upper()
        if instruction not in ALLOWED:
            raise InvalidArgument(f"{word} is not a valid change command")
        if instruction == "CMD":
            out["Cmd"] = _json_or_shell(args)
        elif instruction == "ENTRYPOINT":
            out["Entrypoint"] = _json_or_shell(args)
        elif instruction == "ENV":
            env = [e for e in out.get("Env") or []]
            for key, value in _pairs(instruction, args):
                env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
            out["Env"] = env
        elif instruction == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(instruction, args))
            out["Labels"] = labels
        elif instruction == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for spec in args.split():
                ports[_port(spec)] = {}
            out["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            volumes = dict(out.get("Volumes") or {})
            for path in _json_or_words(args):
                volumes[path] = {}
            out["Volumes"] = volumes
        elif instruction == "ONBUILD":
            out["OnBuild"] = [*(out.get("OnBuild") or []), args.strip()]
        else:
            value = args.strip()
            if not value:
                raise InvalidArgument(f"{instruction} requires exactly one argument")
            key = {"STOPSIGNAL": "StopSignal", "USER": "User", "WORKDIR": "WorkingDir"}[instruction]
            out[key] = value
    return out
