"""tests/support/bundles.py: the default config and deep_merge used by integration tests."""

from __future__ import annotations

from typing import Any

from tests.support.bundles import deep_merge, default_config


def test_deep_merge_merges_dicts_replaces_lists_and_deletes_none() -> None:
    base: dict[str, Any] = {"process": {"user": {"uid": 0, "gid": 0}, "args": ["a"]}, "hostname": "h"}
    merged = deep_merge(
        base, {"process": {"user": {"uid": 1000}, "args": ["b", "c"]}, "hostname": None}
    )
    assert merged == {"process": {"user": {"uid": 1000, "gid": 0}, "args": ["b", "c"]}}
    assert base["process"]["user"] == {"uid": 0, "gid": 0}  # the base is not changed


def test_default_config_is_runc_like() -> None:
    config = default_config(["echo", "hi"])
    assert config["process"]["terminal"] is False
    assert config["process"]["args"] == ["echo", "hi"]
    assert [ns["type"] for ns in config["linux"]["namespaces"]] == [
        "pid", "network", "ipc", "uts", "mount"
    ]
    assert [m["destination"] for m in config["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"
    ]
    assert config["root"]["readonly"] is True
    assert default_config() is not default_config()
