"""The query of ``POST /build`` (the classic builder's parameters), checked.

The docker CLI sends (API 1.4x): ``t`` (repeated), ``dockerfile``, ``buildargs`` and
``labels`` (JSON objects), ``target``, ``nocache``, ``pull``, ``rm`` (default true),
``forcerm``, ``networkmode``, ``platform``, ``cachefrom`` (a JSON list), ``shmsize``,
``memory``, ``memswap``, ``cpushares``..., ``extrahosts``, ``q``, ``remote`` (a URL of a
tar context or of a git repository), ``session``, ``version`` (``1``: the classic builder,
``2``: BuildKit, which dockyard does not serve).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine.image_refs import parse_user_reference
from dockyard.errors import InvalidArgument, NotImplementedYet

TRUE = ("1", "true", "True", "TRUE", "yes")


@dataclass
class BuildRequest:
    """One build's parameters."""

    tags: list[str] = field(default_factory=list)  # normalised references (docker.io/library/x:latest)
    dockerfile: str = ""
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    nocache: bool = False
    pull: bool = False
    rm: bool = True
    forcerm: bool = False
    network_mode: str = ""
    platform: str = ""
    cache_from: list[str] = field(default_factory=list)
    shm_size: int = 0
    memory: int = 0
    extra_hosts: list[str] = field(default_factory=list)
    quiet: bool = False
    remote: str = ""


def _bool(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = query.get(name)
    if value is None or value == "":
        return default
    return value in TRUE


def _int(query: Mapping[str, str], name: str) -> int:
    value = query.get(name, "")
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid {name}: {value!r} is not an integer") from None


def _json(query: Mapping[str, str], name: str) -> Any:
    value = query.get(name, "")
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise InvalidArgument(f"invalid {name}: {exc}") from None


def _string_map(value: Any, name: str, allow_null: bool) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {name}: must be a JSON object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and allow_null:
            out[str(key)] = None
        elif isinstance(item, str):
            out[str(key)] = item
        else:
            raise InvalidArgument(f"invalid {name}: the value of {key!r} must be a string")
    return out


def tag_reference(tag: str) -> str:
    """A ``t`` value as the full reference it names (a tag of ``latest`` when none)."""
    ref = parse_user_reference(tag)
    if ref.digest:
        raise InvalidArgument(f"invalid reference format: {tag} (a build cannot tag by digest)")
    return str(ref if ref.tag else ref.with_tag("latest"))


def parse_query(query: Any) -> BuildRequest:
    """A :class:`BuildRequest` from the request's query (a multidict: ``t`` may repeat)."""
    version = query.get("version", "")
    if version == "2":
        raise NotImplementedYet("BuildKit (version=2) is not supported: build with DOCKER_BUILDKIT=0")
    tags: list[str] = []
    for tag in query.getall("t", []):
        if tag:
            full = tag_reference(tag)
            if full not in tags:
                tags.append(full)
    cache_from = _json(query, "cachefrom")
    extra_hosts = query.get("extrahosts", "")
    return BuildRequest(
        tags=tags, dockerfile=query.get("dockerfile", ""),
        build_args=_string_map(_json(query, "buildargs"), "buildargs", True),
        labels=_string_map(_json(query, "labels"), "labels", False),
        target=query.get("target", ""), nocache=_bool(query, "nocache"), pull=_bool(query, "pull"),
        rm=_bool(query, "rm", True), forcerm=_bool(query, "forcerm"),
        network_mode=query.get("networkmode", ""), platform=query.get("platform", ""),
        cache_from=[str(c) for c in cache_from] if isinstance(cache_from, list) else [],
        shm_size=_int(query, "shmsize"), memory=_int(query, "memory"),
        extra_hosts=[h for h in extra_hosts.split(",") if h] if extra_hosts else [],
        quiet=_bool(query, "q"), remote=query.get("remote", ""))
