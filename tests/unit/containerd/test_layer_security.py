"""Hostile layers: nothing lands outside the root, and refusals name the entry.

Every test applies into ``<tmp>/sandbox/root`` next to bait files (``<tmp>/bait``,
``<tmp>/sandbox/bait``, ``<tmp>/sandbox/sub``) and checks that everything under ``<tmp>``
but the root is exactly as before: contents, modes, owners, times (ctime included), link
counts. Each apply runs in a forked child chrooted into ``<tmp>`` (see
``tests.support.layer_tars.jailed``): symlink targets such as ``/``, ``/sandbox`` and long
chains of ``..`` then mean the jail, so even a broken implementation that followed them
the host's way could only write inside ``<tmp>``, where the check sees it, never on the
host itself. Inside the jail the root is ``/sandbox/root``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.layer_tars import E, apply_bytes, build, gz, jailed, state, zst

from dockyard.containerd.archive.apply import ApplyResult, apply_layer
from dockyard.errors import DockyardError, InvalidArgument


@dataclass
class Sandbox:
    base: Path  # the jail
    sandbox: Path
    root: Path
    before: dict[str, tuple[object, ...]]

    def j(self, path: Path) -> str:
        """``path`` as the jailed child sees it."""
        return "/" + os.path.relpath(path, self.base)

    def apply(self, data: bytes, **options: Any) -> ApplyResult:
        root = self.j(self.root)
        result: ApplyResult = jailed(self.base, lambda: apply_bytes(data, root, **options))
        return result

    def check(self) -> None:
        assert state(self.base, self.root) == self.before, "something outside the root changed"
        assert self.root.is_dir() and not self.root.is_symlink()

    def reset(self) -> None:
        """Empty the root (recreating it would touch the sandbox directory itself)."""
        _empty(str(self.root))


def _empty(directory: str) -> None:
    for child in os.scandir(directory):
        if child.is_dir(follow_symlinks=False):
            shutil.rmtree(child.path)
        else:
            os.unlink(child.path)


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = tmp_path / "sandbox"
    root = sandbox / "root"
    root.mkdir(parents=True)
    (tmp_path / "bait").write_text("outside")
    (tmp_path / "baitdir").mkdir()
    (tmp_path / "baitdir/bait").write_text("outside")
    (sandbox / "bait").write_text("outside")
    (sandbox / "sub").mkdir(mode=0o700)
    (sandbox / "sub/bait").write_text("outside")
    box = Sandbox(tmp_path, sandbox, root, {})
    box.before = state(tmp_path, root)
    yield box
    box.check()


def refused(sb: Sandbox, data: bytes, entry: str, problem: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f'layer entry "{entry}": {problem}')):
        sb.apply(data)
    sb.check()


@pytest.mark.parametrize("name", ["../dyfuzz-evil", "a/../../dyfuzz-evil", "/../dyfuzz-evil", "./a/b/../../../bait"])
def test_dotdot_escaping_the_root_is_refused(sb: Sandbox, name: str) -> None:
    refused(sb, build([E("a", "dir"), E(name, data=b"pwned")]), name, "path escapes the root")


def test_dotdot_inside_the_root_is_cleaned(sb: Sandbox) -> None:
    sb.apply(build([E("a/b/../c", data=b"ok"), E("./x/./y", data=b"ok")]))
    assert (sb.root / "a/c").read_bytes() == b"ok"
    assert (sb.root / "x/y").read_bytes() == b"ok"


def test_absolute_names_are_relative_to_the_root(sb: Sandbox) -> None:
    sb.apply(build([E("/abs/file", data=b"a"), E("//double", data=b"d"), E(sb.j(sb.sandbox / "bait"), data=b"in")]))
    assert (sb.root / "abs/file").read_bytes() == b"a"
    assert (sb.root / "double").read_bytes() == b"d"
    assert (sb.root / "sandbox/bait").read_bytes() == b"in"


def test_symlinks_in_parents_resolve_inside_the_root(sb: Sandbox) -> None:
    os.symlink("../../..", sb.root / "lower-up")  # from a lower layer
    os.symlink(sb.j(sb.sandbox), sb.root / "lower-abs")
    data = build(
        [
            E("lower-up/dyfuzz-1", data=b"1"),
            E("lower-abs/bait", data=b"2"),
            E("s", "symlink", link="/"),
            E("s/etc/dyfuzz-2", data=b"3"),
            E("t", "symlink", link="../../../../../.."),
            E("t/dyfuzz-3", data=b"4"),
            E("c1", "symlink", link="c2"),
            E("c2", "symlink", link="../" + sb.j(sb.sandbox)),
            E("c1/sub/bait", data=b"5"),
            E("s/s/s/lower-abs/sub", "dir", mode=0o777),
        ]
    )
    sb.apply(data)
    inside = sb.root / "sandbox"
    assert (sb.root / "dyfuzz-1").read_bytes() == b"1"
    assert (inside / "bait").read_bytes() == b"2"
    assert (sb.root / "etc/dyfuzz-2").read_bytes() == b"3"
    assert (sb.root / "dyfuzz-3").read_bytes() == b"4"
    assert (inside / "sub/bait").read_bytes() == b"5"
    assert oct((inside / "sub").stat().st_mode & 0o777) == oct(0o777)


def test_symlink_loops_are_refused(sb: Sandbox) -> None:
    data = build([E("l1", "symlink", link="l2"), E("l2", "symlink", link="/l1"), E("l1/x", data=b"x")])
    refused(sb, data, "l1/x", "too many levels of symbolic links")


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ("../bait", 'hardlink target "../bait" escapes the root'),
        ("/../../bait", 'hardlink target "/../../bait" escapes the root'),
        ("a/../../../sub/bait", 'hardlink target "a/../../../sub/bait" escapes the root'),
        ("missing", 'hardlink target "missing" does not exist'),
        ("a", 'hardlink target "a" is a directory'),
        ("", "hardlink to the root directory"),
    ],
)
def test_hardlinks_outside_or_odd_are_refused(sb: Sandbox, link: str, problem: str) -> None:
    refused(sb, build([E("a", "dir"), E("h", "hardlink", link=link)]), "h", problem)


def test_hardlink_to_a_host_absolute_path_stays_inside(sb: Sandbox) -> None:
    target = sb.j(sb.sandbox / "bait")
    refused(sb, build([E("h", "hardlink", link=target)]), "h", f'hardlink target "{target}" does not exist')


@pytest.mark.parametrize("where", ["lower", "same layer", "inside"])
def test_hardlink_through_a_symlink_is_refused(sb: Sandbox, where: str) -> None:
    entries = []
    if where == "lower":
        os.symlink(sb.j(sb.sandbox), sb.root / "s")
    elif where == "same layer":
        entries.append(E("s", "symlink", link="../.."))
    else:
        entries += [E("real", "dir"), E("real/bait", data=b"inside"), E("s", "symlink", link="real")]
    entries.append(E("h", "hardlink", link="s/bait"))
    refused(sb, build(entries), "h", 'hardlink target "s/bait" passes through a symlink')


def test_very_long_names_are_refused_by_name(sb: Sandbox) -> None:
    name = "/".join(["dyfuzz-dir"] * 500) + "/f"
    with pytest.raises(InvalidArgument) as info:
        sb.apply(build([E(name, data=b"x")]))
    message = str(info.value)
    assert message.startswith('layer entry "dyfuzz-dir/dyfuzz-dir') and "chars" in message
    assert len(message) < 400
    sb.check()
    refused(sb, build([E("x" * 300, data=b"x")]), "x" * 100 + "...(300 chars)..." + "x" * 50, "file name too long")


def test_duplicate_entries_last_one_wins_and_stays_inside(sb: Sandbox) -> None:
    data = build(
        [
            E("d", "dir"),
            E("d/f", data=b"first"),
            E("d", "symlink", link=sb.j(sb.sandbox)),
            E("d/bait", data=b"through the new symlink"),
            E("x", data=b"one"),
            E("x", data=b"two"),
            E("y", "dir"),
            E("y", "dir", mode=0o700),
        ]
    )
    sb.apply(data)
    assert (sb.root / "x").read_bytes() == b"two"
    assert (sb.root / "y").stat().st_mode & 0o777 == 0o700
    assert (sb.root / "sandbox/bait").read_bytes() == b"through the new symlink"


@pytest.mark.parametrize("nested", [False, True])
def test_deferred_directory_modes_never_follow_a_new_symlink(sb: Sandbox, nested: bool) -> None:
    top = "a/" if nested else ""
    entries = [E(f"{top}sub", "dir", mode=0o777, mtime=1), E(f"{top}sub/file", data=b"x")]
    if nested:
        entries += [E("a", "symlink", link=sb.j(sb.sandbox))]
    else:
        entries += [E("sub", "symlink", link=sb.j(sb.sandbox / "sub"))]
    sb.apply(build([E("a", "dir"), *entries]))
    # the mode and mtime meant for the replaced directory must not reach sandbox/sub


def test_opaque_marker_never_walks_through_a_symlink(sb: Sandbox) -> None:
    data = build([E("a/b", data=b"b"), E("a", "symlink", link=sb.j(sb.sandbox)), E(".wh..wh..opq")])
    os.symlink(sb.j(sb.sandbox), sb.root / "lower-link")
    sb.apply(data)
    assert os.path.islink(sb.root / "a")
    assert not os.path.lexists(sb.root / "lower-link")  # lower content: hidden by the marker


def test_whiteouts_through_symlinks_stay_inside(sb: Sandbox) -> None:
    os.symlink(sb.j(sb.sandbox), sb.root / "s")
    os.symlink("../../../..", sb.root / "up")
    sb.apply(build([E("s/.wh.bait"), E("up/.wh.bait"), E("s/sub/.wh..wh..opq")]))


@pytest.mark.parametrize("name", [".wh.", "a/.wh..", "a/.wh..."])
def test_invalid_whiteout_names(sb: Sandbox, name: str) -> None:
    refused(sb, build([E(name)]), name, "invalid whiteout name")


def test_whiteout_names_as_directories(sb: Sandbox) -> None:
    refused(sb, build([E("a/.wh.b/c", data=b"x")]), "a/.wh.b/c", 'whiteout name ".wh.b" used as a directory')


def test_nul_in_a_pax_path(sb: Sandbox) -> None:
    data = build([E("placeholder", data=b"x", pax={"path": "evil\x00name"})])
    with pytest.raises(InvalidArgument, match="NUL"):
        sb.apply(data)


def test_device_numbers_out_of_range(sb: Sandbox) -> None:
    entry = E("dev", "char")
    data = bytearray(build([entry], fmt=tarfile.GNU_FORMAT))
    data[329:337] = b"\x80" + (1 << 40).to_bytes(7, "big")  # base-256 major
    data[148:156] = b"%06o\0 " % (sum(data[:148]) + 256 + sum(data[156:512]))
    refused(sb, bytes(data), "dev", "device number")


def test_huge_extended_headers_are_refused(sb: Sandbox) -> None:
    data = build([E("f", data=b"x", pax={"comment": "c" * (1 << 20)})])
    with pytest.raises(InvalidArgument, match="larger than 1 MiB"):
        sb.apply(data)


def test_truncated_streams_name_the_entry(sb: Sandbox) -> None:
    tar = build([E("a", data=b"x" * 10000), E("b", data=b"y" * 10000)])
    refused(sb, tar[: 512 + 5000], "a", "unexpected end of data")
    sb.reset()
    with pytest.raises(InvalidArgument, match=r'layer: unexpected end of data in a tar header .* after entry "a"'):
        sb.apply(tar[: 512 + 10240 + 100])
    sb.reset()
    with pytest.raises(InvalidArgument, match=r"truncated|end of"):
        sb.apply(gz(tar)[:-20])
    sb.reset()
    with pytest.raises(InvalidArgument, match="zstd"):
        sb.apply(zst(tar)[:-3])


def test_bad_compressed_data(sb: Sandbox) -> None:
    tar = build([E("a", data=os.urandom(300_000))])
    blob = bytearray(gz(tar))
    blob[len(blob) // 2 : len(blob) // 2 + 64] = bytes(64)
    with pytest.raises(InvalidArgument, match="gzip"):
        sb.apply(bytes(blob))
    sb.reset()
    with pytest.raises(InvalidArgument, match="gzip"):
        sb.apply(b"\x1f\x8b" + b"not gzip at all" * 10)
    sb.reset()
    with pytest.raises(InvalidArgument, match="zstd"):
        sb.apply(b"\x28\xb5\x2f\xfd" + b"garbage" * 50)
    sb.reset()
    with pytest.raises(InvalidArgument, match="invalid tar header"):
        sb.apply(b"this is not a tar archive".ljust(1024, b"!"))


def test_failing_source_is_reported(sb: Sandbox) -> None:
    class Broken:
        calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return build([E("a", data=b"x" * 3_000_000)])[(self.calls - 1) * n : self.calls * n]

    root = sb.j(sb.root)
    with pytest.raises((OSError, DockyardError)):
        jailed(sb.base, lambda: apply_layer(Broken(), root))


# -- a property test: random hostile layers ----------------------------------------------------

_PLAIN = ["a", "b", "bait", "sub", "s", "l", "dyfuzz-1", "dyfuzz-2"]
_WEIRD = ["..", ".", "", ".wh.bait", ".wh.a", ".wh.s", ".wh..wh..opq", ".wh..wh.plnk"]


def _name(rng: random.Random) -> str:
    comps = [rng.choice(_WEIRD) if rng.random() < 0.3 else rng.choice(_PLAIN) for _ in range(rng.randint(1, 4))]
    name = "/".join(comps)
    return "/" + name if rng.random() < 0.2 else name


def _entry(rng: random.Random) -> E:
    kind = rng.choices(["file", "dir", "symlink", "hardlink", "fifo"], [35, 25, 20, 12, 8])[0]
    name = _name(rng)
    if kind == "symlink":
        jail = ["/sandbox", "/sandbox/sub", "/", "/baitdir", "/sandbox/root", "/sandbox/root/a"]
        link = rng.choice(["..", "../..", "../../..", "../../../../..", "a", "/a/b", "s", "l", "sub", *jail])
        return E(name, "symlink", link=link)
    if kind == "hardlink":
        link = rng.choice([_name(rng), "/sandbox/bait", "../bait", "../../sub/bait", "s/bait", "/baitdir/bait"])
        return E(name, "hardlink", link=link)
    mode = rng.choice([0o644, 0o755, 0o777, 0o4755, 0o000, 0o1777])
    return E(name, kind, data=b"fuzz" if kind == "file" else b"", mode=mode, mtime=rng.randint(0, 2_000_000_000))


def _fuzz(iterations: int, seed: int) -> dict[str, int]:
    """Runs jailed: the jail's / is the test's tmp dir, the root is /sandbox/root."""
    rng = random.Random(seed)
    before = state("/", "/sandbox/root")
    outcomes = {"applied": 0, "refused": 0}
    for iteration in range(iterations):
        layers = [[_entry(rng) for _ in range(rng.randint(1, 12))] for _ in range(rng.randint(1, 3))]
        for layer in layers:
            data = build(layer)
            if rng.random() < 0.25:
                data = gz(data)
            try:
                apply_bytes(data, "/sandbox/root")
                outcomes["applied"] += 1
            except DockyardError:
                outcomes["refused"] += 1
            except Exception as exc:
                raise AssertionError(f"iteration {iteration}: {exc!r} for {layer!r}") from None
            if state("/", "/sandbox/root") != before or os.path.islink("/sandbox/root"):
                raise AssertionError(f"iteration {iteration}: escaped with {layer!r}")
        _empty("/sandbox/root")
    return outcomes


def test_random_hostile_layers_never_escape(sb: Sandbox) -> None:
    outcomes = jailed(sb.base, lambda: _fuzz(400, 20261128))
    assert outcomes["applied"] > 100 and outcomes["refused"] > 100, outcomes
