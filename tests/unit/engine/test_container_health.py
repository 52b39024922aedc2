"""Health checks' pure rules: the merge with the image's check, the probe's argv, the status
after each probe (streak, retries, start period), the ps text."""

from __future__ import annotations

from dockyard.engine.container_health import (
    HEALTHY,
    STARTING,
    UNHEALTHY,
    merge_healthcheck,
    new_health,
    probe_command,
    record,
)
from dockyard.engine.container_model import State, status_text

S = 1_000_000_000


def result(code: int) -> dict[str, object]:
    return {"Start": "", "End": "", "ExitCode": code, "Output": ""}


def test_merge_takes_the_images_fields_for_zero_ones() -> None:
    image = {"Test": ["CMD-SHELL", "check"], "Interval": 5 * S, "Retries": 4}
    assert merge_healthcheck(None, image) == image
    assert merge_healthcheck({"Interval": 2 * S}, image) == {"Test": ["CMD-SHELL", "check"], "Interval": 2 * S,
                                                            "Retries": 4}
    assert merge_healthcheck({"Test": ["NONE"]}, image) == {"Test": ["NONE"], "Interval": 5 * S, "Retries": 4}
    assert merge_healthcheck(None, None) is None


def test_probe_command() -> None:
    assert probe_command({"Test": ["CMD", "ls", "-l"]}, None) == ["ls", "-l"]
    assert probe_command({"Test": ["CMD-SHELL", "exit 1"]}, None) == ["/bin/sh", "-c", "exit 1"]
    assert probe_command({"Test": ["CMD-SHELL", "x"]}, ["/bin/bash", "-ec"]) == ["/bin/bash", "-ec", "x"]
    assert probe_command({"Test": ["NONE"]}, None) is None
    assert probe_command(None, None) is None


def test_status_follows_the_probes() -> None:
    health = new_health()
    assert not record(health, result(1), retries=2, in_start_period=True)  # does not count yet
    assert health["Status"] == STARTING and health["FailingStreak"] == 0
    assert record(health, result(0), retries=2, in_start_period=False) and health["Status"] == HEALTHY
    assert not record(health, result(1), retries=2, in_start_period=False)
    assert record(health, result(1), retries=2, in_start_period=False) and health["Status"] == UNHEALTHY
    assert health["FailingStreak"] == 2
    for _ in range(6):
        record(health, result(0), retries=2, in_start_period=False)
    assert len(health["Log"]) == 5 and health["FailingStreak"] == 0


def test_ps_status_text() -> None:
    state = State()
    state.set_running(7, 1_700_000_000 * S)
    state.health = new_health()
    assert status_text(state, 1_700_000_003 * S) == "Up 3 seconds (health: starting)"
    state.health["Status"] = HEALTHY
    assert status_text(state, 1_700_000_003 * S) == "Up 3 seconds (healthy)"
    state.health["Status"] = UNHEALTHY
    assert status_text(state, 1_700_000_003 * S) == "Up 3 seconds (unhealthy)"
