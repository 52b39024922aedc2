"""The real host probes behind spec_host.Host (read-only, no root needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.engine import spec_host
from dockyard.errors import InvalidArgument


def test_device_nodes_of_dev_null() -> None:
    (node,) = spec_host.device_nodes("/dev/null", "/dev/mynull")
    assert (node.path, node.type, node.major, node.minor) == ("/dev/mynull", "c", 1, 3)
    assert node.to_spec()["fileMode"] == 0o666


def test_device_nodes_refuses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("")
    with pytest.raises(InvalidArgument, match="not a device node"):
        spec_host.device_nodes(str(path), "/dev/f")
    with pytest.raises(InvalidArgument, match="error gathering device information"):
        spec_host.device_nodes(str(tmp_path / "missing"), "/dev/f")


def test_device_nodes_follow_symlinks_and_walk_dirs(tmp_path: Path) -> None:
    os.symlink("/dev/null", tmp_path / "link")
    assert [n.path for n in spec_host.device_nodes(str(tmp_path / "link"), "/dev/x")] == ["/dev/x"]
    sub = tmp_path / "dir"
    sub.mkdir()
    assert spec_host.device_nodes(str(sub), "/dev/d") == []


def test_host_devices() -> None:
    found = {n.path: n for n in spec_host.host_devices()}
    assert found["/dev/null"].type == "c"
    assert not [p for p in found if p.startswith(("/dev/pts/", "/dev/shm/", "/dev/mqueue/"))]
    assert "/dev/console" not in found


def test_ensure_bind_source(tmp_path: Path) -> None:
    spec_host.ensure_bind_source(str(tmp_path), False)
    with pytest.raises(InvalidArgument, match="bind source path does not exist"):
        spec_host.ensure_bind_source(str(tmp_path / "new"), False)
    spec_host.ensure_bind_source(str(tmp_path / "new" / "deep"), True)
    assert (tmp_path / "new" / "deep").is_dir()


def test_facts() -> None:
    assert spec_host.kernel_version() >= (3, 0)
    assert spec_host.go_arch() in ("amd64", "arm64", "ppc64le", "s390x", "riscv64", "386", "arm")
    assert spec_host.cap_last_cap() >= 36
    assert isinstance(spec_host.swap_limit_supported(), bool)
    assert spec_host.sysctl_exists("kernel.ostype")
    assert not spec_host.sysctl_exists("kernel.no_such_thing")
