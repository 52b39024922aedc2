"""Docker's restart policies: which exits restart a container (one rule for the engine's
exit handling and for its start-up)."""

from __future__ import annotations

import pytest

from dockyard.engine.container_config import restarts
from dockyard.errors import InvalidArgument


def hc(name: str, retries: int = 0) -> dict[str, object]:
    return {"RestartPolicy": {"Name": name, "MaximumRetryCount": retries}}


@pytest.mark.parametrize(("policy", "code", "count", "stopped", "expected"), [
    (hc("no"), 1, 0, False, False),
    ({}, 1, 0, False, False),
    (hc("always"), 0, 5, True, True),
    (hc("unless-stopped"), 0, 0, False, True),
    (hc("unless-stopped"), 1, 0, True, False),
    (hc("on-failure"), 0, 0, False, False),
    (hc("on-failure"), 2, 100, False, True),
    (hc("on-failure", 2), 2, 1, False, True),
    (hc("on-failure", 2), 2, 2, False, False),
])
def test_which_exits_restart(policy: dict[str, object], code: int, count: int, stopped: bool,
                             expected: bool) -> None:
    assert restarts(policy, code, count, stopped) is expected


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown policy 'sometimes'"):
        restarts(hc("sometimes"), 1, 0, False)
