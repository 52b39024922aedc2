"""Compiled seccomp programs kept beside the runtime's state, so that the next container
with the same profile loads the BPF program instead of building it again.

Building Docker's default profile with libseccomp (about 400 rules for three
architectures) and exporting its BPF costs 15-35 ms per container here, inside the
container's set-up where nothing else runs; reading the cached program costs well under
a millisecond. The cache lives in ``<root>/seccomp@cache`` (``@`` is not allowed in
container IDs, so it never collides with one; ``list`` ignores it as it has no
state.json), mode 0700 in the root-only runtime root.

An entry is named by the SHA-256 of what decides the program: the ``linux.seccomp``
section as JSON, libseccomp's version, the kernel release and machine, and this format's
version. It holds 4 bytes of seccomp(2) flags (little endian) and the program. It is
written to a temporary file and renamed into place, so a reader sees a whole entry or
none; an unreadable or malformed entry is built again and replaced. Only filters loaded
behind the -ENOSYS stub are cached: they are nothing but the program and the flags.
The section is still validated on every create (:func:`dockyard.runtime.seccomp.parse`).
"""

from __future__ import annotations

import posix as os

from dockyard.oci import jsonio
from dockyard.runtime import ospath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.seccomp import Plan, Program

DIRECTORY = "seccomp@cache"
FORMAT = "1"


def cache_dir_of(root: str) -> str:
    """The cache directory of the runtime root ``root``."""
    return ospath.join(root, DIRECTORY)


def cache_key(section: dict[str, Any]) -> str:
    from _sha256 import sha256  # type: ignore[import-not-found]  # hashlib would load OpenSSL: ~2 ms

    from dockyard.runtime.seccomp import library_version

    uname = os.uname()
    text = "\0".join((FORMAT, library_version(), uname.release, uname.machine, jsonio.dumps(section)))
    return str(sha256(text.encode()).hexdigest())


def _read(path: str) -> Program | None:
    from dockyard.runtime.seccomp import Program

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        data = os.read(fd, os.fstat(fd).st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) < 12 or (len(data) - 4) % 8:
        return None
    return Program(data[4:], int.from_bytes(data[:4], "little"))


def _write(directory: str, path: str, program: Program) -> None:
    """Best effort: a cache that cannot be written only costs the next build."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        data = program.flags.to_bytes(4, "little") + program.code
        while data:
            data = data[os.write(fd, data):]
        os.close(fd)
        fd = -1
        os.rename(temporary, path)
    except OSError:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(temporary)
        except OSError:
            pass


def compiled(section: dict[str, Any], plan: Plan, directory: str) -> Program:
    """The program of ``section`` (parsed as ``plan``): from the cache, or built and kept."""
    from dockyard.runtime.seccomp import build

    path = ospath.join(directory, cache_key(section) + ".bpf")
    cached = _read(path)
    if cached is not None:
        return cached
    with build(plan) as built:
        program = built.program()
    _write(directory, path, program)
    return program
