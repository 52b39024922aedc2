"""Global flags and error reporting, side by side with runc: --log, --log-format, --root,
--version, --help, unknown commands, usage errors, --systemd-cgroup."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from tests.support.runtimes import dockyard_argv, runc_argv


def binaries() -> list[object]:
    runc = runc_argv()
    return [
        pytest.param(dockyard_argv(), id="dockyard"),
        pytest.param(runc, id="runc", marks=pytest.mark.skipif(runc is None, reason="runc is not installed")),
    ]


def call(argv: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("argv", binaries())
def test_error_goes_to_stderr_as_logrus_text(argv: list[str], tmp_path: Path) -> None:
    proc = call(argv, "--root", str(tmp_path), "state", "nope")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert re.fullmatch(r'time="[^"]+" level=error msg="container does not exist"\n', proc.stderr)


@pytest.mark.parametrize("argv", binaries())
def test_log_file_json_and_plain_stderr(argv: list[str], tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    proc = call(argv, "--root", str(tmp_path), "--log", str(log), "--log-format", "json", "state", "nope")
    assert proc.returncode == 1
    assert proc.stderr == "container does not exist\n"
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error"
    assert entry["msg"] == "container does not exist"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["time"])


@pytest.mark.parametrize("argv", binaries())
def test_log_file_text(argv: list[str], tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    proc = call(argv, "--root", str(tmp_path), "--log", str(log), "kill", "nope", "KILL")
    assert proc.returncode == 1
    assert 'level=error msg="container does not exist"' in log.read_text()


@pytest.mark.parametrize("argv", binaries())
def test_list_of_an_empty_root(argv: list[str], tmp_path: Path) -> None:
    table = call(argv, "--root", str(tmp_path / "none"), "list")
    assert table.returncode == 0
    assert table.stdout.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    as_json = call(argv, "--root", str(tmp_path / "none"), "list", "--format", "json")
    assert as_json.stdout.strip() == "null"


@pytest.mark.parametrize("argv", binaries())
def test_usage_errors_fail(argv: list[str], tmp_path: Path) -> None:
    for args in (["state"], ["start"], ["delete"], ["kill"], ["create"]):
        proc = call(argv, "--root", str(tmp_path), *args)
        assert proc.returncode != 0, args


@pytest.mark.parametrize("argv", binaries())
def test_unknown_flag_fails(argv: list[str], tmp_path: Path) -> None:
    proc = call(argv, "--root", str(tmp_path), "list", "--no-such-flag")
    assert proc.returncode != 0
    assert "no-such-flag" in proc.stderr


def test_version_and_help() -> None:
    argv = dockyard_argv()
    version = call(argv, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("dockyard-runc version ")
    assert "spec: 1.0.2-dev" in version.stdout
    helped = call(argv, "--help")
    assert helped.returncode == 0
    for verb in ("create", "start", "run", "exec", "state", "list", "kill", "delete", "ps", "pause",
                 "resume", "update", "events", "features", "spec"):
        assert f"     {verb}\n" in helped.stdout
    verb_help = call(argv, "exec", "--help")
    assert "--console-socket" in verb_help.stdout


def test_unknown_command_and_unsupported_features_are_one_clear_line(tmp_path: Path) -> None:
    argv = dockyard_argv()
    for args, needle in (
        (["frobnicate"], "frobnicate"),
        (["checkpoint", "x"], "checkpoint is not supported"),
        (["--systemd-cgroup", "list"], "systemd cgroup driver is not supported"),
        (["--log-format", "xml", "list"], "invalid log-format: xml"),
    ):
        proc = call(argv, "--root", str(tmp_path), *args)
        assert proc.returncode == 1, args
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert needle in proc.stderr
