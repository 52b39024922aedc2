"""The shim's state file and config: round trips, atomic rewrite, damaged files named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.shim import statefile as sf
from dockyard.shim.config import ShimConfig


def make_config(tmp_path: Path, **extra: object) -> ShimConfig:
    return ShimConfig("c1", str(tmp_path / "bundle"), str(tmp_path / "state"), runtime="/usr/sbin/runc",
                      runtime_root=str(tmp_path / "root"), **extra)  # type: ignore[arg-type]  # fmt: skip


def test_config_defaults_and_round_trip(tmp_path: Path) -> None:
    config = make_config(tmp_path, namespace="", runtime_args=["--debug"], publish=["/bin/pub", "--x"])
    assert config.namespace == "default"
    assert config.socket == str(tmp_path / "state" / "shim.sock")
    again = ShimConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.to_dict() == config.to_dict()


def test_config_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = ShimConfig("c1", "bundle", "state", runtime="./bin/runc")
    assert config.bundle == str(tmp_path / "bundle")
    assert config.runtime == str(tmp_path / "bin" / "runc")
    assert ShimConfig("c1", "b", "s", runtime="crun").runtime == "crun"  # looked up on PATH


@pytest.mark.parametrize("data", [
    {"container_id": "", "bundle": "/b", "state_dir": "/s"},
    {"container_id": "a/b", "bundle": "/b", "state_dir": "/s"},
    {"container_id": "c", "bundle": "", "state_dir": "/s"},
    {"container_id": "c", "bundle": "/b", "state_dir": ""},
    {"container_id": "c", "bundle": "/b", "state_dir": "/s", "runtime": 5},
    {"container_id": "c", "bundle": "/b", "state_dir": "/s", "publish": "x"},
])  # fmt: skip
def test_bad_configs(data: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        ShimConfig.from_dict(data)


def test_state_round_trip(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    init = sf.ProcRecord("", pid=42, status=sf.RUNNING, stdout="/s/out", terminal=True)
    done = sf.ProcRecord("e1", pid=43)
    done.set_exited(137, 1_700_000_000_123_456_789)
    path = str(tmp_path / "shim.json")
    sf.write(path, sf.ShimState(config, 4242, [init, done]))
    loaded = sf.load(path)
    assert loaded.shim_pid == 4242 and loaded.status == "serving"
    assert loaded.init is not None and loaded.init.to_dict() == init.to_dict()
    record = loaded.process("e1")
    assert record is not None and (record.status, record.exit_status, record.exited) == (sf.STOPPED, 137, True)
    assert record.exited_at == 1_700_000_000_123_456_789
    assert loaded.process("nope") is None
    assert loaded.config.to_dict() == config.to_dict()
    assert [p for p in os.listdir(tmp_path)] == ["shim.json"]  # no temporary file left


def test_missing_state_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        sf.load(str(tmp_path / "shim.json"))


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(version=2),
    lambda d: d.update(config=[]),
    lambda d: d.update(processes={}),
    lambda d: d.update(shim_pid="1"),
    lambda d: d["processes"][0].update(status="zombie"),
    lambda d: d["processes"][0].update(pid="42"),
    lambda d: d["processes"][0].update(exit_status=True),
    lambda d: d["processes"].append(3),
])  # fmt: skip
def test_damaged_state_is_named(tmp_path: Path, mutate: object) -> None:
    path = tmp_path / "shim.json"
    sf.write(str(path), sf.ShimState(make_config(tmp_path), 1, [sf.ProcRecord("", pid=2)]))
    data = json.loads(path.read_text())
    assert callable(mutate)
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match=str(path)):
        sf.load(str(path))


def test_torn_state_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "shim.json"
    path.write_text('{"version": 1, "shim_pid"')
    with pytest.raises(InvalidArgument):
        sf.load(str(path))
