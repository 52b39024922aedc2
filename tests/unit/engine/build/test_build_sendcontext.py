"""The client's context tar: .dockerignore applied, Dockerfile kept, deterministic."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.engine.build.context import extract_context
from dockyard.engine.build.dockerignore import Patterns
from dockyard.engine.build.sendcontext import context_chunks, context_paths, context_patterns, write_context
from dockyard.errors import InvalidArgument


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    c = tmp_path / "ctx"
    for d in ("src/pkg", "docs/keep/deep", "node_modules/x", "logs"):
        (c / d).mkdir(parents=True)
    files = {"Dockerfile": "FROM a\n", "README.md": "r", "src/main.py": "m", "src/pkg/mod.py": "p",
             "docs/a.md": "a", "docs/keep/k.md": "k", "docs/keep/deep/d.md": "d", "node_modules/x/i.js": "i",
             "logs/1.log": "1", "app.log": "l"}
    for name, text in files.items():
        (c / name).write_text(text)
    (c / "src/link").symlink_to("/etc/passwd")
    return c


def members(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [m.name for m in tar.getmembers()]


def tar_of(ctx: Path, dockerfile: str = "Dockerfile") -> bytes:
    out = io.BytesIO()
    write_context(str(ctx), out, dockerfile)
    return out.getvalue()


def test_everything_without_ignore_file(ctx: Path) -> None:
    names = members(tar_of(ctx))
    assert names[:3] == ["Dockerfile", "README.md", "app.log"]
    assert "src/link" in names and "node_modules/x/i.js" in names and "docs" in names


def test_ignore_file_applied(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("node_modules\n*.log\n**/*.log\ndocs\n!docs/keep\ndocs/keep/deep\n")
    names = members(tar_of(ctx))
    assert not any(n.startswith("node_modules") for n in names)
    assert "app.log" not in names and "logs/1.log" not in names and "logs" in names
    assert "docs" not in names and "docs/a.md" not in names  # excluded dir: no entry of its own
    assert "docs/keep" in names and "docs/keep/k.md" in names
    assert "docs/keep/deep" not in names and "docs/keep/deep/d.md" not in names
    assert ".dockerignore" in names and "Dockerfile" in names


def test_dockerfile_and_ignore_file_always_sent(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("*\n")
    assert members(tar_of(ctx)) == [".dockerignore", "Dockerfile"]
    (ctx / "sub").mkdir()
    (ctx / "sub/Dockerfile.dev").write_text("FROM b\n")
    (ctx / ".dockerignore").write_text("*\n")
    assert members(tar_of(ctx, "sub/Dockerfile.dev")) == [".dockerignore", "sub/Dockerfile.dev"]


def test_dockerfile_specific_ignore_file_wins(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("*\n")
    (ctx / "Dockerfile.dockerignore").write_text("src\n")
    names = members(tar_of(ctx))
    assert "README.md" in names and "src/main.py" not in names


def test_wildcard_exception_does_not_reach_into_skipped_dir(ctx: Path) -> None:
    assert list(context_paths(str(ctx), Patterns.parse("docs\n!*/a.md\n"))).count("docs/a.md") == 0


def test_deterministic_and_owned_by_root(ctx: Path) -> None:
    first = tar_of(ctx)
    assert first == tar_of(ctx)
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        for m in tar.getmembers():
            assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        link = tar.getmember("src/link")
        assert link.issym() and link.linkname == "/etc/passwd"


def test_chunks_equal_file_output(ctx: Path) -> None:
    (ctx / "big").write_bytes(os.urandom(300_000))
    chunks = list(context_chunks(str(ctx)))
    assert len(chunks) > 1
    assert b"".join(chunks) == tar_of(ctx)


def test_extra_files(ctx: Path) -> None:
    out = io.BytesIO()
    write_context(str(ctx), out, patterns=Patterns.parse("*\n"), extra={".dockerfile.abc": b"FROM c\n"})
    assert members(out.getvalue()) == [".dockerfile.abc"]


def test_round_trip_through_the_engine_side(ctx: Path, tmp_path: Path) -> None:
    (ctx / ".dockerignore").write_text("docs\n!docs/keep/k.md\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_context(io.BytesIO(tar_of(ctx)), str(dest))
    assert (dest / "docs/keep/k.md").read_text() == "k"
    assert not (dest / "docs/a.md").exists()
    assert (dest / "src/pkg/mod.py").read_text() == "p"


def test_patterns_and_missing_dir(ctx: Path, tmp_path: Path) -> None:
    assert context_patterns(str(ctx)).lines() == []
    with pytest.raises(InvalidArgument, match="unable to prepare context"):
        list(context_chunks(str(tmp_path / "nope")))
