"""Content checksums of COPY sources: file:/dir:/multi: strings, blind to times and owners."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from dockyard.engine.build.checksum import copy_comment, dir_hash, file_hash, sources_hash
from dockyard.engine.build.copyplan import plan_copy, resolve_sources


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    c = tmp_path / "ctx"
    (c / "d/sub").mkdir(parents=True)
    (c / "f").write_text("hello")
    (c / "g").write_text("world")
    (c / "d/one").write_text("1")
    (c / "d/sub/two").write_text("2")
    (c / "d/link").symlink_to("one")
    return c


def h(ctx: Path, *sources: str) -> str:
    return sources_hash(resolve_sources(str(ctx), list(sources)))


def test_prefixes(ctx: Path) -> None:
    assert re.fullmatch(r"file:[0-9a-f]{64}", h(ctx, "f"))
    assert re.fullmatch(r"dir:[0-9a-f]{64}", h(ctx, "d"))
    assert re.fullmatch(r"multi:[0-9a-f]{64}", h(ctx, "f", "d"))


def test_multi_is_the_hash_of_the_joined_strings(ctx: Path) -> None:
    joined = h(ctx, "f") + "," + h(ctx, "d")
    assert h(ctx, "f", "d") == "multi:" + hashlib.sha256(joined.encode()).hexdigest()
    assert h(ctx, "f", "d") != h(ctx, "d", "f")


def test_times_and_location_do_not_count(ctx: Path, tmp_path: Path) -> None:
    before = (h(ctx, "f"), h(ctx, "d"))
    for path in (ctx / "f", ctx / "d/one", ctx / "d/sub", ctx / "d"):
        os.utime(path, (1, 1))
    assert (h(ctx, "f"), h(ctx, "d")) == before
    os.rename(ctx, tmp_path / "moved")
    assert (h(tmp_path / "moved", "f"), h(tmp_path / "moved", "d")) == before


@pytest.mark.parametrize("change", ["content", "mode", "name", "link", "new-file", "dir-mode"])
def test_what_counts(ctx: Path, change: str) -> None:
    before = h(ctx, "d")
    if change == "content":
        (ctx / "d/sub/two").write_text("22")
    elif change == "mode":
        os.chmod(ctx / "d/one", 0o600)
    elif change == "name":
        os.rename(ctx / "d/sub/two", ctx / "d/sub/three")
    elif change == "link":
        (ctx / "d/link").unlink()
        (ctx / "d/link").symlink_to("sub/two")
    elif change == "new-file":
        (ctx / "d/sub/empty").write_text("")
    else:
        os.chmod(ctx / "d", 0o700)
    assert h(ctx, "d") != before


def test_file_hash_counts_name_mode_and_content(ctx: Path) -> None:
    path = str(ctx / "f")
    assert file_hash(path, "f") != file_hash(path, "other")
    base = file_hash(path, "f")
    os.chmod(path, 0o600)
    assert file_hash(path, "f") != base
    assert dir_hash(str(ctx / "d")) == h(ctx, "d")


def test_same_content_same_hash(ctx: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "f").write_text("hello")
    os.chmod(other / "f", os.stat(ctx / "f").st_mode)
    assert h(other, "f") == h(ctx, "f")
    assert h(other, "f") != h(ctx, "g")


def test_copy_comment(ctx: Path) -> None:
    plan = plan_copy(str(ctx), ["f"], "dst/", workdir="/app")
    assert copy_comment("COPY", plan.sources, plan.dest) == f"COPY {h(ctx, 'f')} in /app/dst/ "
