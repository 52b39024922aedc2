"""Pure helpers of the cgroup verbs: sizes, durations, ps filtering, update merging."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime import cmd_update
from dockyard.runtime import flags as fl
from dockyard.runtime.cmd_events import parse_duration
from dockyard.runtime.cmd_ps import filter_table


@pytest.mark.parametrize(("text", "value"), [
    ("512", 512), ("10M", 10 << 20), ("10m", 10 << 20), ("1.5g", 3 << 29), ("64KiB", 64 << 10),
    ("2 GB", 2 << 30), ("1t", 1 << 40), ("7b", 7),
])
def test_ram_in_bytes(text: str, value: int) -> None:
    assert cmd_update.ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["", "M", "12Q", "-5M", "1..2M", "1.M", "ten"])
def test_ram_in_bytes_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid size"):
        cmd_update.ram_in_bytes(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("5s", 5.0), ("250ms", 0.25), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0), ("100us", 1e-4),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5x", "1.2.3s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_duration(text)


def test_filter_table_keeps_header_and_container_rows() -> None:
    out = (
        "UID          PID    PPID  C STIME TTY          TIME CMD\n"
        "root           1       0  0 09:00 ?        00:00:01 init\n"
        "root        6921       1  0 09:04 ?        00:00:00 sleep 1000\n"
    )
    assert filter_table(out, [6921]).splitlines() == [out.splitlines()[0], out.splitlines()[2]]
    assert filter_table("  PID COMMAND\n 6921 sleep\n", [6921]) == "  PID COMMAND\n 6921 sleep\n"
    with pytest.raises(InvalidArgument, match="couldn't find PID field"):
        filter_table("COMMAND\nsleep\n", [1])


def parse_update(*argv: str) -> fl.Parsed:
    return fl.parse(cmd_update.FLAGS, [*argv, "cid"], "update")


def test_resources_from_flags() -> None:
    opts = parse_update("--memory", "10M", "--memory-swap", "-1", "--cpu-quota", "-1",
                        "--cpu-period", "100000", "--cpuset-cpus", "0-1", "--pids-limit", "20",
                        "--blkio-weight", "300", "--kernel-memory", "5M")
    assert cmd_update.resources_from_flags(opts) == {
        "memory": {"limit": 10 << 20, "swap": -1, "kernel": 5 << 20},
        "cpu": {"quota": -1, "period": 100000, "cpus": "0-1"},
        "blockIO": {"weight": 300},
        "pids": {"limit": 20},
    }
    assert cmd_update.resources_from_flags(parse_update()) == {}
    with pytest.raises(InvalidArgument, match="invalid value for cpu-period"):
        cmd_update.resources_from_flags(parse_update("--cpu-period", "-5"))
    with pytest.raises(InvalidArgument, match="invalid value for memory"):
        cmd_update.resources_from_flags(parse_update("--memory", "lots"))


def test_merge_keeps_unchanged_values() -> None:
    current = {"memory": {"limit": 100, "swap": 200}, "pids": {"limit": 5},
               "devices": [{"allow": False, "access": "rwm"}]}
    update = {"memory": {"limit": 50, "swap": 0, "reservation": None}, "cpu": {"shares": 512}}
    assert cmd_update.merge(current, update) == {
        "memory": {"limit": 50, "swap": 200}, "pids": {"limit": 5},
        "devices": [{"allow": False, "access": "rwm"}], "cpu": {"shares": 512},
    }
