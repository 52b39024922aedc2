"""libnftables through ctypes: run nft commands in-process, as ``nft -f`` would, in one
transaction per call.

:func:`run` takes nft's text syntax (``add table ip t``; a whole script with newlines) or
its JSON (``{"nftables": [...]}``: JSON is tried first because the context asks for JSON
output, then text) and returns what nft printed (JSON for listings). A failure raises
:class:`NftError` with nft's one-line message (``Error: Could not process rule: No such
file or directory``); a host without libnftables (Debian: ``nftables``/``libnftables1``)
raises :class:`dockyard.errors.Unavailable`.

A context is made per call and freed after it: they are cheap, not thread-safe, and one
call is one transaction either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

from dockyard.errors import Internal, Unavailable

NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4
LIBRARY = "libnftables.so.1"

_lib: Any = None
_lock = threading.Lock()  # libnftables keeps global state (its caches); one call at a time


class NftError(Internal):
    """nft refused the commands (the whole transaction was rolled back)."""


def _library() -> Any:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("nftables") or LIBRARY)
        except OSError:
            raise Unavailable("libnftables is not installed (Debian: apt-get install nftables)") from None
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_free.restype = None
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_output_set_flags.restype = None
        for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_int
        for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        _lib = lib
    return _lib


def one_line(error: str) -> str:
    """nft's error output (message, the command, a caret line) as its first ``Error:`` line."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Error:"):
            return line
    return lines[0] if lines else "nft failed"


def run(commands: str, json_output: bool = True) -> str:
    """Run ``commands`` (text or JSON) as one transaction; nft's output."""
    lib = _library()
    with _lock:
        ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not ctx:
            raise Internal("nft_ctx_new failed")
        try:
            if json_output:
                lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            rc = lib.nft_run_cmd_from_buffer(ctx, commands.encode())
            out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
            err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        finally:
            lib.nft_ctx_free(ctx)
    if rc != 0:
        raise NftError(one_line(err))
    return out
