"""mount_options.parse: every runc option name, last word wins, propagation, data."""

from __future__ import annotations

import pytest

from dockyard.runtime import linux as L
from dockyard.runtime.mount_options import parse, propagation_flags

SETS = {
    "bind": L.MS_BIND,
    "rbind": L.MS_BIND | L.MS_REC,
    "ro": L.MS_RDONLY,
    "nosuid": L.MS_NOSUID,
    "nodev": L.MS_NODEV,
    "noexec": L.MS_NOEXEC,
    "sync": L.MS_SYNCHRONOUS,
    "dirsync": L.MS_DIRSYNC,
    "remount": L.MS_REMOUNT,
    "mand": L.MS_MANDLOCK,
    "noatime": L.MS_NOATIME,
    "nodiratime": L.MS_NODIRATIME,
    "relatime": L.MS_RELATIME,
    "strictatime": L.MS_STRICTATIME,
    "lazytime": L.MS_LAZYTIME,
    "iversion": L.MS_I_VERSION,
    "silent": L.MS_SILENT,
    "nosymfollow": L.MS_NOSYMFOLLOW,
}
CLEARS = {
    "rw": L.MS_RDONLY,
    "suid": L.MS_NOSUID,
    "dev": L.MS_NODEV,
    "exec": L.MS_NOEXEC,
    "async": L.MS_SYNCHRONOUS,
    "nomand": L.MS_MANDLOCK,
    "atime": L.MS_NOATIME,
    "diratime": L.MS_NODIRATIME,
    "norelatime": L.MS_RELATIME,
    "nostrictatime": L.MS_STRICTATIME,
    "nolazytime": L.MS_LAZYTIME,
    "noiversion": L.MS_I_VERSION,
    "loud": L.MS_SILENT,
}


@pytest.mark.parametrize(("name", "bit"), sorted(SETS.items()))
def test_setting_options(name: str, bit: int) -> None:
    opts = parse([name])
    assert opts.flags == bit
    assert opts.clear == 0
    assert opts.data == ""
    assert opts.propagation == []


@pytest.mark.parametrize(("name", "bit"), sorted(CLEARS.items()))
def test_clearing_options(name: str, bit: int) -> None:
    opts = parse([name])
    assert opts.flags == 0
    assert opts.clear == bit


@pytest.mark.parametrize(("name", "bit"), sorted(CLEARS.items()))
def test_clear_after_set_wins(name: str, bit: int) -> None:
    setter = next(k for k, v in SETS.items() if v == bit)
    assert parse([setter, name]).flags == 0
    back = parse([name, setter])
    assert back.flags == bit
    assert back.clear == 0


def test_docker_dev_tmpfs() -> None:
    opts = parse(["nosuid", "strictatime", "mode=755", "size=65536k"])
    assert opts.flags == L.MS_NOSUID | L.MS_STRICTATIME
    assert opts.data == "mode=755,size=65536k"


def test_devpts_data_passes_through_in_order() -> None:
    opts = parse(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"])
    assert opts.flags == L.MS_NOSUID | L.MS_NOEXEC
    assert opts.data == "newinstance,ptmxmode=0666,mode=0620,gid=5"


def test_propagation_kept_in_order() -> None:
    opts = parse(["rbind", "rprivate", "shared", "ro", "runbindable", "slave", "rslave"])
    assert opts.flags == L.MS_BIND | L.MS_REC | L.MS_RDONLY
    assert opts.propagation == [
        L.MS_PRIVATE | L.MS_REC,
        L.MS_SHARED,
        L.MS_UNBINDABLE | L.MS_REC,
        L.MS_SLAVE,
        L.MS_SLAVE | L.MS_REC,
    ]
    assert opts.is_bind


def test_all_propagation_words() -> None:
    for word, flag in [
        ("private", L.MS_PRIVATE),
        ("shared", L.MS_SHARED),
        ("slave", L.MS_SLAVE),
        ("unbindable", L.MS_UNBINDABLE),
    ]:
        assert propagation_flags(word) == flag
        assert propagation_flags("r" + word) == flag | L.MS_REC
    with pytest.raises(ValueError):
        propagation_flags("bogus")


def test_recursive_attrs_apply_top_level_bit() -> None:
    opts = parse(["rbind", "rro", "rnosuid"])
    assert opts.recursive == ["rro", "rnosuid"]
    assert opts.flags == L.MS_BIND | L.MS_REC | L.MS_RDONLY | L.MS_NOSUID


def test_extensions_are_not_data() -> None:
    opts = parse(["tmpcopyup", "size=1m", "idmap"])
    assert opts.extensions == ["tmpcopyup", "idmap"]
    assert opts.data == "size=1m"


def test_empty_and_none() -> None:
    for given in (None, [], ["", " "], ["defaults"]):
        opts = parse(given)
        assert (opts.flags, opts.clear, opts.data, opts.propagation) == (0, 0, "", [])


def test_not_bind_without_bind_word() -> None:
    assert not parse(["ro"]).is_bind
    assert "flags=0x1" in repr(parse(["ro"]))
