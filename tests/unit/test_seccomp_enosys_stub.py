"""The -ENOSYS stub in front of seccomp filters: built as BPF, checked with a tiny evaluator."""

from __future__ import annotations

import pytest

from dockyard.runtime import seccomp_enosys as E

X86_64, I386, X32 = 0xC000003E, 0x40000003, E.SCMP_ARCH_X32
FALLTHROUGH = "profile"


def run(prog: list[tuple[int, int, int, int]], arch: int, nr: int) -> str:
    """Evaluate the stub for one syscall: 'enosys' or 'profile' (fell through)."""
    pc, acc = 0, 0
    while pc < len(prog):
        code, jt, jf, k = prog[pc]
        if code == E.BPF_LD_W_ABS:
            acc = arch if k == E.SECCOMP_DATA_ARCH else nr
            pc += 1
        elif code == E.BPF_JMP_JA:
            pc += 1 + k
        elif code in (E.BPF_JMP_JEQ_K, E.BPF_JMP_JGT_K, E.BPF_JMP_JGE_K):
            taken = {E.BPF_JMP_JEQ_K: acc == k, E.BPF_JMP_JGT_K: acc > k, E.BPF_JMP_JGE_K: acc >= k}[code]
            pc += 1 + (jt if taken else jf)
        elif code == E.BPF_RET_K:
            assert k == E.SECCOMP_RET_ERRNO | E.ENOSYS
            return "enosys"
        else:  # pragma: no cover
            raise AssertionError(f"unknown code {code:#x}")
    assert pc == len(prog), "jumped past the end of the stub"
    return FALLTHROUGH


def test_numbers_above_the_profile_get_enosys() -> None:
    prog = E.stub({X86_64: 436})
    assert run(prog, X86_64, 39) == FALLTHROUGH
    assert run(prog, X86_64, 436) == FALLTHROUGH
    assert run(prog, X86_64, 437) == "enosys"
    assert run(prog, X86_64, 1000) == "enosys"
    assert run(prog, I386, 1000) == FALLTHROUGH  # an architecture the profile does not name


def test_each_architecture_has_its_own_limit() -> None:
    prog = E.stub({X86_64: 300, I386: 400})
    assert run(prog, X86_64, 350) == "enosys"
    assert run(prog, I386, 350) == FALLTHROUGH
    assert run(prog, I386, 401) == "enosys"


def test_x32_shares_the_audit_arch_of_x86_64() -> None:
    prog = E.stub({X86_64: 300, X32: E.X32_SYSCALL_BIT | 500})
    assert run(prog, X86_64, 301) == "enosys"
    assert run(prog, X86_64, E.X32_SYSCALL_BIT | 400) == FALLTHROUGH
    assert run(prog, X86_64, E.X32_SYSCALL_BIT | 501) == "enosys"
    only_x86_64 = E.stub({X86_64: 300})
    assert run(only_x86_64, X86_64, E.X32_SYSCALL_BIT | 5) == FALLTHROUGH


@pytest.mark.parametrize(("default", "wanted"), [(0x7FFF0000, False), (0x7FFC0000, False),
                                                 (0x00050000 | 38, False), (0x00050001, True),
                                                 (0x80000000, True), (0x00030000, True)])
def test_only_refusing_defaults_get_the_stub(default: int, wanted: bool) -> None:
    assert E.wanted(default) is wanted


def test_encoding_is_struct_sock_filter() -> None:
    raw = E.encode([(0x20, 1, 2, 0x01020304)])
    assert raw == bytes([0x20, 0x00, 0x01, 0x02, 0x04, 0x03, 0x02, 0x01])
