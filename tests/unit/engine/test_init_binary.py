"""Which init binary ``--init`` uses, and its version for ``docker info``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.engine.init_binary import InitBinary, find_init_binary
from dockyard.errors import InvalidArgument


def executable(path: Path, text: str = "#!/bin/sh\necho 'tini version 9.8.7 - git.abc'\n") -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_configured_path_wins_and_must_exist(tmp_path: Path) -> None:
    mine = executable(tmp_path / "my-init")
    assert find_init_binary(str(mine), path=str(tmp_path)) == str(mine)
    with pytest.raises(InvalidArgument, match=r"init-path /nope/init: no such executable"):
        find_init_binary("/nope/init", path=str(tmp_path))


def test_docker_init_before_tini_static_and_never_dynamic_tini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dockyard.engine.init_binary.SEARCH_PATH", "")
    executable(tmp_path / "tini")
    assert find_init_binary(path=str(tmp_path)) == ""
    static = executable(tmp_path / "tini-static")
    assert find_init_binary(path=str(tmp_path)) == str(static)
    docker_init = executable(tmp_path / "docker-init")
    assert find_init_binary(path=str(tmp_path)) == str(docker_init)


def test_version_is_asked_once(tmp_path: Path) -> None:
    init = InitBinary(str(executable(tmp_path / "docker-init")))
    assert init.version() == "git.abc"
    os.unlink(init.path)
    assert init.version() == "git.abc"
    assert InitBinary("").version() == "N/A"
