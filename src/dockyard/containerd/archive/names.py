"""Entry names of a layer: lexical cleaning, escape checks, and whiteout names.

Names are cleaned as Go's ``filepath.Clean`` would and made relative: a leading ``/`` is
dropped (``/etc/passwd`` is ``etc/passwd`` inside the root, as containerd and docker treat
it), ``.`` and empty components vanish, and ``..`` removes the component before it. A
``..`` that would climb above the root is refused (docker's "breakout" check) rather than
clamped. Whiteout names follow the OCI image spec: ``.wh.<name>`` deletes ``<name>`` of
the lower layers, ``.wh..wh..opq`` makes its directory opaque; other ``.wh..wh.`` names are
AUFS metadata and are ignored.
"""

from __future__ import annotations

from dockyard.containerd.archive.tarread import show
from dockyard.errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE = ".wh..wh..opq"


def entry_error(name: str, problem: str) -> InvalidArgument:
    """``layer entry "<name>": <problem>``."""
    return InvalidArgument(f'layer entry "{show(name)}": {problem}')


def clean(name: str, entry: str | None = None, what: str = "path") -> str:
    """``name`` relative and cleaned ("" for the root itself); InvalidArgument if it escapes.

    ``entry`` is the entry named in the error (``name`` itself by default) and ``what`` the
    role of ``name`` in it (``path``, ``hardlink target``).
    """
    label = name if entry is None else entry
    if "\0" in name:
        raise entry_error(label, f"{what} contains a NUL byte")
    parts: list[str] = []
    for comp in name.split("/"):
        if not comp or comp == ".":
            continue
        if comp == "..":
            if not parts:
                if what == "path":
                    raise entry_error(label, "path escapes the root")
                raise entry_error(label, f'{what} "{show(name)}" escapes the root')
            parts.pop()
            continue
        parts.append(comp)
    return "/".join(parts)


def check_parents(parent: str, entry: str) -> None:
    """Refuse a whiteout name used as a directory (``a/.wh.b/c``): such files cannot exist."""
    if WHITEOUT_PREFIX in parent:
        for comp in parent.split("/"):
            if comp.startswith(WHITEOUT_PREFIX):
                raise entry_error(entry, f'whiteout name "{show(comp)}" used as a directory')


def whiteout_target(base: str, entry: str) -> str | None:
    """The name ``.wh.<name>`` deletes; None for the opaque marker and AUFS metadata names."""
    if base.startswith(WHITEOUT_META_PREFIX):
        return None
    target = base[len(WHITEOUT_PREFIX) :]
    if target in ("", ".", ".."):
        raise entry_error(entry, "invalid whiteout name")
    return target
