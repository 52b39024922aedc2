"""dockyard-runc spec: writes the bytes runc spec writes, refuses to overwrite."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci import jsonio
from dockyard.oci.default_spec import default_spec
from dockyard.runtime import cmd_spec
from dockyard.runtime import flags as fl
from dockyard.runtime.context import Context

RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)


def spec(*argv: str, root: Any = None) -> int:
    opts = fl.parse(cmd_spec.FLAGS, list(argv), "spec")
    return cmd_spec.run(Context(root=str(root or "/nonexistent-root")), opts)


def test_writes_into_cwd(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert spec() == 0
    data = (tmp_path / "config.json").read_text()
    assert data == jsonio.dumps(default_spec(), indent="\t")
    assert data.startswith('{\n\t"ociVersion": "1.0.2-dev",\n\t"process": {\n\t\t"terminal"')
    assert not data.endswith("\n")


@pytest.mark.parametrize("flag", ["--bundle", "-b", "--bundle="])
def test_bundle_flag(tmp_path: Any, flag: str) -> None:
    args = [flag + str(tmp_path)] if flag.endswith("=") else [flag, str(tmp_path)]
    assert spec(*args) == 0
    assert jsonio.loads((tmp_path / "config.json").read_bytes()) == default_spec()


def test_rootless(tmp_path: Any) -> None:
    assert spec("--rootless", "-b", str(tmp_path)) == 0
    config = jsonio.loads((tmp_path / "config.json").read_bytes())
    assert config == default_spec(rootless=True)
    assert config["linux"]["uidMappings"][0]["hostID"] == os.geteuid()


def test_file_mode_follows_umask(tmp_path: Any) -> None:
    old = os.umask(0o027)
    try:
        spec("-b", str(tmp_path))
    finally:
        os.umask(old)
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o640


def test_refuses_to_overwrite(tmp_path: Any) -> None:
    (tmp_path / "config.json").write_text("mine")
    with pytest.raises(AlreadyExists, match=r"^File config.json exists. Remove it first$"):
        spec("-b", str(tmp_path))
    assert (tmp_path / "config.json").read_text() == "mine"


def test_missing_bundle(tmp_path: Any) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NotFound, match=f"^chdir {missing}: no such file or directory$"):
        spec("-b", str(missing))


def test_bundle_is_a_file(tmp_path: Any) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(NotFound, match="not a directory"):
        spec("-b", str(tmp_path / "f"))


def test_no_arguments_allowed(tmp_path: Any) -> None:
    with pytest.raises(InvalidArgument, match='"spec" requires exactly 0 argument'):
        spec("-b", str(tmp_path), "extra")
    assert not (tmp_path / "config.json").exists()


def test_module_contract() -> None:
    assert cmd_spec.SUMMARY == "create a new specification file"
    assert [f.names for f in cmd_spec.FLAGS] == [("bundle", "b"), ("rootless",)]


@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
@pytest.mark.parametrize("rootless", [False, True])
def test_same_bytes_as_runc(tmp_path: Any, rootless: bool) -> None:
    assert RUNC is not None
    extra = ["--rootless"] if rootless else []
    theirs, ours = tmp_path / "runc", tmp_path / "ours"
    theirs.mkdir()
    ours.mkdir()
    subprocess.run([RUNC, "spec", "-b", str(theirs), *extra], check=True)
    assert spec("-b", str(ours), *extra) == 0
    assert (ours / "config.json").read_bytes() == (theirs / "config.json").read_bytes()
    mode = (theirs / "config.json").stat().st_mode & 0o777
    assert (ours / "config.json").stat().st_mode & 0o777 == mode
