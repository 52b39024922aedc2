"""dockyard-containerd's settings (defaults, TOML file, flags) and its claim on the socket
(one daemon per address, stale sockets removed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dockyard.containerd.server import main as cli
from dockyard.containerd.server.config import DEFAULT_ADDRESS, DEFAULT_ROOT, Config, load, merge
from dockyard.containerd.server.sockets import claim
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound


def test_defaults_file_and_flags(tmp_path: Path) -> None:
    assert (Config().address, Config().root) == (DEFAULT_ADDRESS, DEFAULT_ROOT)
    path = tmp_path / "config.toml"
    path.write_text('root = "/srv/ctrd"\nlog-level = "debug"\n')
    from_file = load(path)
    assert (from_file.root, from_file.log_level, from_file.address) == ("/srv/ctrd", "debug", DEFAULT_ADDRESS)
    config, _ = cli.configure(["--config", str(path), "--root", "/other", "--address", "/run/x.sock"])
    assert (config.root, config.address, config.log_level) == ("/other", "/run/x.sock", "debug")


@pytest.mark.parametrize(("text", "error"), [
    ('rooot = "/x"\n', "unknown key 'rooot'"),
    ("root = 3\n", "root must be a string"),
    ("root = \n", "config file"),
])
def test_bad_files_name_the_problem(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=error):
        load(path)


def test_missing_file_and_bad_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NotFound, match="config file"):
        load(tmp_path / "nope.toml")
    with pytest.raises(InvalidArgument, match="log level 'loud'"):
        merge(Config(), log_level="loud")
    assert cli.main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert "dockyard-containerd: config file" in capsys.readouterr().err
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("dockyard-containerd 1.6.20+dockyard.")


def test_claim_removes_a_stale_socket(tmp_path: Path) -> None:
    address = str(tmp_path / "d.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(address)  # bound, never listening, closed: what a killed daemon leaves
    stale.close()
    lock = claim(address)
    try:
        assert not Path(address).exists()
    finally:
        lock.release()
    assert not Path(address + ".lock").exists()


def test_claim_refuses_a_live_daemon_and_a_held_lock(tmp_path: Path) -> None:
    address = str(tmp_path / "d.sock")
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(address)
        live.listen()
        with pytest.raises(FailedPrecondition, match="another daemon is serving on this socket"):
            claim(address)
        assert Path(address).exists()  # left alone
    Path(address).unlink()
    first = claim(address)
    try:
        with pytest.raises(FailedPrecondition, match=r"another dockyard-containerd \(pid \d+\)"):
            claim(address)
    finally:
        first.release()
    claim(address).release()  # free again


def test_claim_refuses_what_is_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a socket")
    with pytest.raises(FailedPrecondition, match="exists and is not a socket"):
        claim(str(path))
    assert path.read_text() == "not a socket"
    with pytest.raises(InvalidArgument, match="absolute"):
        claim("relative.sock")
