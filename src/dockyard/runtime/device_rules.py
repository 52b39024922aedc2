"""The device cgroup rules a container gets: its config's rules, then the defaults.

Like runc, the rules of ``linux.resources.devices`` (typically "deny all") are followed by
allow rules for mknod of any device and for the default devices every container has
(/dev/null, zero, full, random, urandom, tty, ptmx, the pts slaves and /dev/net/tun), so a
"deny all" policy never takes /dev/null away, unless ``linux.devices`` lists the device.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ALLOWED: list[dict[str, Any]] = [
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm", "path": "/dev/null"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm", "path": "/dev/random"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm", "path": "/dev/full"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm", "path": "/dev/tty"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm", "path": "/dev/zero"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm", "path": "/dev/urandom"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},  # /dev/pts/*
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},  # /dev/ptmx
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},  # /dev/net/tun
]


def with_default_devices(resources: dict[str, Any], devices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A copy of ``resources`` whose device rules end with the default allow rules.

    A default device that ``linux.devices`` lists itself loses its allow rule, as in runc:
    the config then decides about it.
    """
    rules = list(resources.get("devices") or [])
    if not rules:
        return resources
    listed = {d.get("path") for d in devices or []}
    defaults = [
        {k: v for k, v in rule.items() if k != "path"}
        for rule in DEFAULT_ALLOWED
        if rule.get("path") not in listed
    ]
    return {**resources, "devices": rules + defaults}
