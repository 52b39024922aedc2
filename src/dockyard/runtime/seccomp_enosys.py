"""The -ENOSYS stub runc 1.1 puts in front of a seccomp filter.

A profile lists the syscalls it knows; a syscall newer than all of them (one the profile's
authors could not have known) should look unimplemented, so that libc falls back to an
older call, instead of getting the default action (often EPERM, which libc takes as a real
refusal). So, when the default action is not "allow" or "log", the filter is exported from
libseccomp as BPF and a short program goes in front of it: for each architecture of the
filter, a syscall number above the highest the profile names returns ENOSYS; everything
else falls through to the profile. This is the behaviour observed with runc 1.1.5 (with
``close_range`` (436) the profile's highest syscall, 437 and up give ENOSYS, 435 EPERM).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# linux/filter.h, linux/bpf_common.h, linux/seccomp.h
BPF_LD_W_ABS = 0x20
BPF_JMP_JA = 0x05
BPF_JMP_JEQ_K = 0x15
BPF_JMP_JGT_K = 0x25
BPF_JMP_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_DATA_NR = 0
SECCOMP_DATA_ARCH = 4
SECCOMP_RET_ERRNO = 0x00050000
ENOSYS = 38
X32_SYSCALL_BIT = 0x40000000
AUDIT_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_X32 = 0x4000003E  # libseccomp's token for x32; x32 runs as AUDIT_ARCH_X86_64
SKIPPED_DEFAULTS = (0x7FFF0000, 0x7FFC0000, SECCOMP_RET_ERRNO | ENOSYS)  # ALLOW, LOG, ENOSYS


def wanted(default_action: int) -> bool:
    """runc adds the stub unless the default action already lets new syscalls through."""
    return default_action not in SKIPPED_DEFAULTS


def stub(highest: dict[int, int]) -> list[tuple[int, int, int, int]]:
    """BPF instructions ``(code, jt, jf, k)`` for ``{arch token: highest syscall number}``.

    Falls through to the instruction right after the stub when no check fires.
    """
    checks: list[tuple[int, int, int]] = []  # (audit arch, lowest nr checked, highest known)
    x32 = highest.pop(SCMP_ARCH_X32, None)
    for token, top in sorted(highest.items()):
        checks.append((token, 0, top))
    if x32 is not None:
        checks.append((AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, x32))
    # layout: per check [ld arch; jeq arch; ld nr; (jge x32 bit); jgt top]; ja +1; ret ENOSYS
    blocks: list[list[tuple[str, int, int]]] = []
    for arch, low, top in checks:
        block = [("ld_arch", 0, 0), ("jeq_arch", arch, 0), ("ld_nr", 0, 0)]
        if arch == AUDIT_ARCH_X86_64:  # x86_64 and x32 share the audit arch
            block.append(("low" if low else "high", X32_SYSCALL_BIT, 0))
        block.append(("jgt", top, 0))
        blocks.append(block)
    prog: list[tuple[int, int, int, int]] = []
    size = sum(len(b) for b in blocks) + 2
    enosys_at = size - 1
    after = size  # first instruction of the original filter
    for block in blocks:
        start = len(prog)
        end = start + len(block)  # first instruction of the next block
        for kind, k, _ in block:
            here = len(prog)
            if kind == "ld_arch":
                prog.append((BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH))
            elif kind == "jeq_arch":
                prog.append((BPF_JMP_JEQ_K, 0, end - here - 1, k))
            elif kind == "ld_nr":
                prog.append((BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR))
            elif kind == "low":  # x32: only numbers with the x32 bit (others: next block)
                prog.append((BPF_JMP_JGE_K, 0, end - here - 1, k))
            elif kind == "high":  # x86_64: not the x32 numbers (those: the x32 block)
                prog.append((BPF_JMP_JGE_K, end - here - 1, 0, k))
            else:  # jgt: newer than the profile -> ENOSYS, else the profile decides
                prog.append((BPF_JMP_JGT_K, enosys_at - here - 1, after - here - 1, k))
        # after a matching arch the block always jumps out; a mismatch jumps to `end`
    prog.append((BPF_JMP_JA, 0, 0, 1))
    prog.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS))
    assert len(prog) == size
    for code, jt, jf, _k in prog:
        if code != BPF_JMP_JA and not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise ValueError("seccomp: ENOSYS stub jump out of range")
    return prog


def encode(prog: list[tuple[int, int, int, int]]) -> bytes:
    """struct sock_filter[] in native byte order."""
    out = bytearray()
    for code, jt, jf, k in prog:
        out += code.to_bytes(2, "little") + bytes((jt, jf)) + k.to_bytes(4, "little")
    return bytes(out)


def load_with_stub(exported: bytes, prefix: bytes, flags: int) -> None:
    """Install ``prefix`` + ``exported`` with seccomp(SECCOMP_SET_MODE_FILTER, flags)."""
    import ctypes as ct

    program = prefix + exported
    count = len(program) // 8
    buf = ct.create_string_buffer(program, len(program))

    class SockFprog(ct.Structure):
        _fields_ = [("len", ct.c_ushort), ("filter", ct.c_void_p)]

    fprog = SockFprog(count, ct.cast(buf, ct.c_void_p))
    libc = ct.CDLL(None, use_errno=True)
    libc.syscall.restype = ct.c_long
    sys_seccomp, set_mode_filter = 317, 1
    if libc.syscall(sys_seccomp, set_mode_filter, ct.c_uint(flags), ct.byref(fprog)) != 0:
        err = ct.get_errno()
        raise OSError(err, f"seccomp(SECCOMP_SET_MODE_FILTER): {os.strerror(err)}")


def highest_numbers(lib: Any, arch_tokens: list[int], names: list[str]) -> dict[int, int]:
    """For each architecture, the highest syscall number among ``names`` (unknown skipped)."""
    result: dict[int, int] = {}
    for token in arch_tokens:
        top = -1
        for name in names:
            nr = lib.seccomp_syscall_resolve_name_arch(token, name.encode())
            if nr >= 0:
                top = max(top, nr & ~X32_SYSCALL_BIT if token == SCMP_ARCH_X32 else nr)
        if top >= 0:
            result[token] = top | X32_SYSCALL_BIT if token == SCMP_ARCH_X32 else top
    return result
