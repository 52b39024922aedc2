"""Docker's legacy container links (``--link name[:alias]``), without I/O.

- :func:`parse_link`: ``name[:alias]`` as dockerd parses ``HostConfig.Links`` (an alias
  starting with ``/``, as in inspect's ``/db:/web/alias``, is cut to its last part; no
  alias: the name), with dockerd's errors; :func:`stored`/:func:`from_stored`: the form
  the engine keeps (``<target id>:<alias>:<target name>``: a renamed target stays linked,
  one removed is still named).
- :func:`link_env`: the variables dockerd gives a container linked on the default bridge:
  ``<ALIAS>_PORT`` (the lowest exposed port, TCP first), ``_START``/``_END`` groups for
  runs of ports, ``<ALIAS>_PORT_<port>_<PROTO>`` with ``_ADDR``, ``_PORT``, ``_PROTO``,
  ``<ALIAS>_NAME`` and ``<ALIAS>_ENV_<VAR>`` for the target's ``Config.Env`` (not ``HOME``
  or ``PATH``). ``ALIAS`` is the alias's last path part in upper case, ``-`` made ``_``
  (other characters stay, as with dockerd: ``a.b-c`` gives ``A.B_C``).
- :func:`hosts_line`: the target's ``/etc/hosts`` line: ``<ip>\\t<alias> <hostname>`` and
  its name unless the alias is the name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence

from dockyard.errors import InvalidArgument

SKIPPED_ENV = ("HOME", "PATH")  # the target's variables dockerd does not pass on


def parse_link(text: str) -> tuple[str, str]:
    """``(name, alias)`` of one ``HostConfig.Links`` entry."""
    if not text:
        raise InvalidArgument("empty string specified for links")
    parts = text.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"bad format for links: {text}")
    name = parts[0]
    alias = parts[1] if len(parts) == 2 else name
    if alias.startswith("/"):
        alias = posixpath.basename(alias)
    return name, alias


def stored(target_id: str, alias: str, target_name: str) -> str:
    return f"{target_id}:{alias}:{target_name}"


def from_stored(entry: str) -> tuple[str, str, str]:
    """``(target id, alias, target name at create)`` of a stored link."""
    target, _, rest = entry.partition(":")
    alias, _, name = rest.partition(":")
    return target, alias, name


def link_name(parent_name: str, alias: str) -> str:
    """dockerd's name of the link: ``/<parent name>/<alias>``."""
    return posixpath.join(parent_name if parent_name.startswith("/") else "/" + parent_name, alias)


def short_alias(alias: str) -> str:
    return posixpath.basename(alias)


def env_prefix(alias: str) -> str:
    return short_alias(alias).upper().replace("-", "_")


def _ports(exposed: Iterable[str]) -> list[tuple[int, str]]:
    """``80/tcp``-style keys as (number, protocol), lowest first, TCP before others on a tie."""
    out: list[tuple[int, str]] = []
    for key in exposed:
        number, _, proto = str(key).partition("/")
        if number.isdigit():
            out.append((int(number), (proto or "tcp").lower()))
    return sorted(set(out), key=lambda p: (p[0], p[1] != "tcp", p[1]))


def _run_end(ports: Sequence[tuple[int, str]], start: int) -> int:
    """The index of the last port of the run that begins at ``start``: each next port counts
    as one step up, whatever its protocol, while its number is at most one step above (a
    run of 8000/tcp, 8001/tcp, 8001/udp, 8002/tcp ends at 8002/tcp, as with dockerd)."""
    value = ports[start][0]
    for i in range(start + 1, len(ports)):
        if ports[i][0] > value + 1:
            return i - 1
        value += 1
    return len(ports) - 1


def link_env(name: str, ip: str, exposed: Iterable[str], target_env: Sequence[str]) -> list[str]:
    """The variables of one link (``name``: ``/<parent>/<alias>``), each key once (the first)."""
    prefix = env_prefix(name)
    ports = _ports(exposed)
    env: list[str] = []
    if ports:
        number, proto = ports[0]
        env.append(f"{prefix}_PORT={proto}://{ip}:{number}")
    i = 0
    while i < len(ports):
        end = _run_end(ports, i)
        if end > i + 1:
            (number, proto), (last, last_proto) = ports[i], ports[end]
            key = f"{prefix}_PORT_{number}_{proto.upper()}"
            env += [f"{key}_START={proto}://{ip}:{number}", f"{key}_ADDR={ip}", f"{key}_PROTO={proto}",
                    f"{key}_PORT_START={number}",
                    f"{prefix}_PORT_{number}_{last_proto.upper()}_END={last_proto}://{ip}:{last}",
                    f"{prefix}_PORT_{number}_{last_proto.upper()}_PORT_END={last}"]
            i = end + 1
        else:
            i += 1
    for number, proto in ports:
        key = f"{prefix}_PORT_{number}_{proto.upper()}"
        env += [f"{key}={proto}://{ip}:{number}", f"{key}_ADDR={ip}", f"{key}_PORT={number}", f"{key}_PROTO={proto}"]
    env.append(f"{prefix}_NAME={name}")
    for entry in target_env:
        key, eq, value = str(entry).partition("=")
        if eq and key not in SKIPPED_ENV:
            env.append(f"{prefix}_ENV_{key}={value}")
    return first_of_each(env)


def first_of_each(env: Iterable[str]) -> list[str]:
    """``env`` with each key's first entry only."""
    seen: set[str] = set()
    out = []
    for entry in env:
        key = entry.partition("=")[0]
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def hosts_line(ip: str, alias: str, hostname: str, name: str) -> str:
    """The target's ``/etc/hosts`` line (``name`` without its leading ``/``)."""
    alias = short_alias(alias)
    names = [alias, hostname] if alias == name.lstrip("/") else [alias, hostname, name.lstrip("/")]
    return f"{ip}\t{' '.join(n for n in names if n)}\n"
