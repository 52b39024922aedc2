"""How the shim drives a runtime binary: command lines as containerd's runc shim builds
them, output and errors through pipes, failure text from the JSON log, error classes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.shim.runtime import Runtime, error_for, last_log_error

FAKE = """#!/bin/sh
# a stand-in runtime: records its argv, then does what its verb asks
printf '%s\\n' "$@" > "$(dirname "$0")/argv"
for last; do :; done
case " $* " in
  *" ps "*) echo '[10,11]' ;;
  *" events "*) echo '{"type":"stats","id":"c","data":{"pids":{"current":2}}}' ;;
  *" update "*) cat > "$(dirname "$0")/stdin" ;;
  *" kill "*) echo '{"level":"error","msg":"container not running","time":"t"}' >> "$LOGFILE"; exit 1 ;;
  *" pause "*) echo 'plain words on stderr' >&2; exit 1 ;;
  *" resume "*) exit 3 ;;
esac
exit 0
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    script = tmp_path / "fake-runc"
    script.write_text(FAKE)
    script.chmod(0o755)
    log = tmp_path / "log.json"
    monkeypatch.setenv("LOGFILE", str(log))
    return Runtime(str(script), "/run/r", str(log), ["--systemd-cgroup"])


def argv_of(runtime: Runtime) -> list[str]:
    return (Path(runtime.binary).parent / "argv").read_text().splitlines()


def test_argv_like_containerd() -> None:
    runtime = Runtime("/usr/sbin/runc", "/run/containerd/runc/default", "/s/log.json")
    assert runtime.argv("start", "c1") == [
        "/usr/sbin/runc", "--root", "/run/containerd/runc/default", "--log", "/s/log.json",
        "--log-format", "json", "start", "c1",
    ]  # fmt: skip
    assert Runtime("crun", "", "/l").argv("ps") == ["crun", "--log", "/l", "--log-format", "json", "ps"]


def test_verbs_and_output(fake: Runtime) -> None:
    assert fake.ps("c1") == [10, 11]
    assert argv_of(fake)[:2] == ["--systemd-cgroup", "--root"]
    assert argv_of(fake)[-4:] == ["ps", "--format", "json", "c1"]
    assert fake.stats("c1") == {"pids": {"current": 2}}
    fake.update("c1", {"pids": {"limit": 5}})
    assert argv_of(fake)[-4:] == ["update", "--resources", "-", "c1"]
    assert json.loads((Path(fake.binary).parent / "stdin").read_text()) == {"pids": {"limit": 5}}
    fake.delete("c1", force=True)
    assert argv_of(fake)[-3:] == ["delete", "--force", "c1"]


def test_create_and_exec_command_lines(fake: Runtime) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    try:
        fake.create("c1", "/b", "/s/init.pid", (null, null, null), "/tmp/pty/pty.sock", ["--no-pivot"])
        assert argv_of(fake)[-9:] == ["create", "--bundle", "/b", "--pid-file", "/s/init.pid",
                                      "--console-socket", "/tmp/pty/pty.sock", "--no-pivot", "c1"]  # fmt: skip
        fake.exec("c1", "/s/p.json", "/s/e.pid", (null, null, null))
        assert argv_of(fake)[-7:] == ["exec", "--process", "/s/p.json", "--detach", "--pid-file", "/s/e.pid", "c1"]
    finally:
        os.close(null)


def test_errors_from_the_log_then_stderr(fake: Runtime) -> None:
    with pytest.raises(errors.FailedPrecondition, match="OCI runtime kill failed: container not running"):
        fake.kill("c1", 9, all_processes=True)
    assert argv_of(fake)[-4:] == ["kill", "--all", "c1", "9"]
    with pytest.raises(errors.Internal, match="OCI runtime pause failed: plain words on stderr"):
        fake.pause("c1")
    with pytest.raises(errors.Internal, match="exit status 3"):
        fake.resume("c1")


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(errors.Internal, match="cannot run the runtime"):
        Runtime(str(tmp_path / "nope"), "", str(tmp_path / "log")).start("c1")


def test_last_log_error_reads_only_new_entries(tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    old = json.dumps({"level": "error", "msg": "old failure"}) + "\n"
    log.write_text(old)
    with open(log, "a") as f:
        f.write(json.dumps({"level": "warning", "msg": "meh"}) + "\n")
        f.write(json.dumps({"level": "error", "msg": "first"}) + "\n")
        f.write(json.dumps({"level": "fatal", "msg": "the real one"}) + "\n")
    assert last_log_error(str(log), len(old)) == "the real one"
    assert last_log_error(str(log), log.stat().st_size) == ""
    assert last_log_error(str(tmp_path / "none"), 0) == ""
    log.write_text("not json at all\n")
    assert last_log_error(str(log), 0) == "not json at all"


@pytest.mark.parametrize(("text", "cls"), [
    ("container does not exist", errors.NotFound),
    ("container with given ID already exists", errors.AlreadyExists),
    ("container not running", errors.FailedPrecondition),
    ("cannot exec in a stopped container", errors.FailedPrecondition),
    ('unknown signal "FOO"', errors.InvalidArgument),
    ('exec: "x": executable file not found in $PATH', errors.Internal),
])  # fmt: skip
def test_error_classes(text: str, cls: type[errors.DockyardError]) -> None:
    err = error_for("start", text)
    assert type(err) is cls and str(err) == f"OCI runtime start failed: {text}"
