"""The human-readable values of docker's tables: sizes, durations, statuses, ports, commands."""

from __future__ import annotations

import pytest

from dockyard.cli import tables

MINUTE, HOUR, DAY = 60, 3600, 86400
WEEK, MONTH, YEAR = 7 * DAY, 30 * DAY, 365 * DAY


@pytest.mark.parametrize(("seconds", "text"), [  # go-units duration_test.go
    (0.45, "Less than a second"), (1, "1 second"), (45, "45 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (3 * MINUTE, "3 minutes"), (35 * MINUTE + 40, "35 minutes"), (59 * MINUTE, "59 minutes"),
    (HOUR, "About an hour"), (HOUR + 29 * MINUTE, "About an hour"), (HOUR + 31 * MINUTE, "2 hours"),
    (3 * HOUR + 29 * MINUTE, "3 hours"), (3 * HOUR + 31 * MINUTE, "4 hours"), (DAY, "24 hours"),
    (DAY + 12 * HOUR, "36 hours"), (2 * DAY, "2 days"), (13 * DAY + 5 * HOUR, "13 days"), (2 * WEEK, "2 weeks"),
    (2 * WEEK + 4 * DAY, "2 weeks"), (4 * WEEK + 3 * DAY, "4 weeks"), (MONTH, "4 weeks"),
    (MONTH + 2 * WEEK, "6 weeks"), (2 * MONTH, "2 months"), (3 * MONTH + WEEK, "3 months"),
    (23 * MONTH, "23 months"), (24 * MONTH, "24 months"), (24 * MONTH + 2 * WEEK, "2 years"),
    (3 * YEAR + 2 * MONTH, "3 years"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


@pytest.mark.parametrize(("size", "precision", "text"), [  # go-units size_test.go and docker's outputs
    (1000, 4, "1kB"), (1024, 4, "1.024kB"), (4096, 4, "4.096kB"), (1_000_000, 4, "1MB"),
    (1_048_576, 4, "1.049MB"), (2 * 1_000_000_000, 4, "2GB"), (3.42 * 1e12, 4, "3.42TB"), (5.372e15, 4, "5.372PB"),
    (0, 4, "0B"), (999, 4, "999B"), (1e27, 4, "1000YB"), (1234, 3, "1.23kB"), (187_000_000, 3, "187MB"),
    (999_999, 4, "1000kB"), (12_345_678, 4, "12.35MB"),
])
def test_human_size(size: float, precision: int, text: str) -> None:
    assert tables.human_size(size, precision) == text


@pytest.mark.parametrize(("size", "text"), [(1024, "1KiB"), (1_048_576, "1MiB"), (1_572_864, "1.5MiB"),
                                            (44 * 1024, "44KiB"), (100, "100B")])
def test_bytes_size(size: float, text: str) -> None:
    assert tables.bytes_size(size) == text


NOW = tables.parse_time("2025-05-30T12:00:00Z")


@pytest.mark.parametrize(("state", "text"), [
    ({"Running": True, "StartedAt": "2025-05-30T11:59:57Z"}, "Up 3 seconds"),
    ({"Running": True, "Paused": True, "StartedAt": "2025-05-30T11:58:00Z"}, "Up 2 minutes (Paused)"),
    ({"Running": True, "StartedAt": "2025-05-30T11:58:00Z", "Health": {"Status": "starting"}},
     "Up 2 minutes (health: starting)"),
    ({"Running": True, "StartedAt": "2025-05-30T09:00:00Z", "Health": {"Status": "healthy"}}, "Up 3 hours (healthy)"),
    ({"Running": True, "Restarting": True, "ExitCode": 1, "FinishedAt": "2025-05-30T11:59:00Z"},
     "Restarting (1) About a minute ago"),
    ({"Running": False, "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}, "Created"),
    ({"Running": False, "StartedAt": "2025-05-30T11:00:00Z", "FinishedAt": "2025-05-30T11:58:00.5Z",
      "ExitCode": 0}, "Exited (0) About a minute ago"),
    ({"Running": False, "StartedAt": "2025-05-30T11:00:00Z", "FinishedAt": "2025-05-28T11:00:00Z",
      "ExitCode": 137}, "Exited (137) 2 days ago"),
    ({"Dead": True, "StartedAt": "2025-05-30T11:00:00Z"}, "Dead"),
])
def test_status(state: dict[str, object], text: str) -> None:
    assert tables.status(state, now=NOW) == text


def test_time_helpers() -> None:
    assert tables.parse_time("2025-05-30T12:07:26.123456789Z") == pytest.approx(1748606846.123456789)
    assert tables.parse_time("2024-02-29T00:00:00-05:30") == 1709184600
    assert tables.parse_time("") == tables.ZERO_TIME == tables.parse_time("0001-01-01T00:00:00Z")
    assert tables.ansic("2025-05-30T12:07:26.000000000+00:00") == "Fri May 30 12:07:26 2025"
    assert tables.ansic("2024-02-01T03:04:05Z") == "Thu Feb  1 03:04:05 2024"
    assert tables.ansic("not a time") == "not a time"
    assert tables.time_ago(NOW - 7200, now=NOW) == "2 hours ago"
    with pytest.raises(ValueError):
        tables.parse_time("2025-05-30 12:00")


def test_ids_commands_and_ellipsis() -> None:
    assert tables.truncate_id("sha256:" + "d" * 64) == "d" * 12
    assert tables.truncate_id("a" * 64) == "a" * 12
    assert tables.command("/docker-entrypoint.sh nginx -g 'daemon off;'") == '"/docker-entrypoint.…"'
    assert tables.command("/docker-entrypoint.sh nginx -g 'daemon off;'", trunc=False) == (
        "\"/docker-entrypoint.sh nginx -g 'daemon off;'\"")
    assert tables.command('sh -c "echo\tx"') == '"sh -c \\"echo\\tx\\""'
    assert tables.ellipsis("abcdef", 4) == "abc…" and tables.ellipsis("abc", 3) == "abc"
    assert tables.ellipsis("abc", 1) == "a" and tables.ellipsis("abc", 0) == ""
    assert tables.ellipsis("本本本本", 5) == "本本…"


def test_ports_as_docker_ps_shows_them() -> None:
    ports = [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
             {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
             {"PrivatePort": 443, "Type": "tcp"}]
    assert tables.ports(ports) == "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
    ranged = [{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "tcp"} for p in (8000, 8001, 8002)]
    ranged += [{"PrivatePort": 53, "Type": "udp"}, {"PrivatePort": 9000, "Type": "tcp"},
               {"PrivatePort": 9002, "Type": "tcp"}, {"PrivatePort": 9003, "Type": "tcp"}]
    # docker's order: a group closed by a gap comes first, the others in the order they began
    assert tables.ports(ranged) == "9000/tcp, 53/udp, 0.0.0.0:8000-8002->8000-8002/tcp, 9002-9003/tcp"
    assert tables.ports([]) == ""
