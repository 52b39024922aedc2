"""Run a function in a forked child, so process-wide changes (seccomp filters, rlimits,
capabilities) stay out of the test process."""

from __future__ import annotations

import os


def in_child(fn: object) -> str:
    """Run ``fn()`` in a forked child; return ``"ok <result>"`` or the exception as text."""
    assert callable(fn)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            out = f"ok {fn()}"
        except BaseException as exc:
            out = f"{type(exc).__name__}: {exc}"
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return data
