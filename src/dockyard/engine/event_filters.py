"""Which events a ``GET /events`` stream gets: Docker's event filters and its ``since`` /
``until`` timestamps.

Filters (``daemon/events/filter.go``): ``type``, ``event`` (the action; ``exec_start``,
``exec_create`` and ``health_status`` also match their ``exec_start: sh -c ...`` forms),
``container`` (ID prefix or name), ``image`` (for image events the ID or name, for
container events the image; with or without the tag), ``label`` (``k`` or ``k=v`` in the
actor's attributes), ``scope``, ``daemon``, ``network``, ``volume``, ``plugin`` and the
swarm ones (which our events never carry).

Timestamps are what docker's clients send: Unix seconds with an optional fraction
(``1700000000.123456789``); RFC 3339 is accepted too.
"""

from __future__ import annotations

from datetime import datetime

from dockyard.engine.events import Event
from dockyard.engine.filters import Filters
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci.reference import parse_reference

ACCEPTED = ("config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope",
            "secret", "service", "type", "volume")
_FUZZY_ACTIONS = frozenset({"health_status", "exec_create", "exec_start"})


def _strip_tag(name: str) -> str:
    try:
        ref = parse_reference(name, default_tag=False)
    except DockyardError:
        return name
    return ref.familiar_name()


class EventFilter:
    """``EventFilter(filters)(event)``: whether the event passes every filter."""

    def __init__(self, filters: Filters) -> None:
        self.f = filters.validate(ACCEPTED)

    def __call__(self, ev: Event) -> bool:
        f = self.f
        return (self._match_action(ev) and f.exact_match("type", ev.type) and f.exact_match("scope", ev.scope)
                and self._match_actor(ev, "daemon") and self._match_actor(ev, "container")
                and self._match_actor(ev, "plugin") and self._match_actor(ev, "volume")
                and self._match_actor(ev, "network") and self._match_image(ev)
                and self._match_actor(ev, "node") and self._match_actor(ev, "service")
                and self._match_actor(ev, "secret") and self._match_actor(ev, "config")
                and f.match_kv_list("label", ev.attributes))

    def _match_action(self, ev: Event) -> bool:
        if self.f.values("event") & _FUZZY_ACTIONS:
            return self.f.fuzzy_match("event", ev.action)
        return self.f.exact_match("event", ev.action)

    def _match_actor(self, ev: Event, kind: str) -> bool:
        """A filter on ``kind`` passes only that kind's events whose ID (prefix) or name matches."""
        if not self.f.contains(kind):
            return True
        if ev.type != kind:
            return False
        return self.f.fuzzy_match(kind, ev.actor_id) or self.f.fuzzy_match(kind, ev.attributes.get("name", ""))

    def _match_image(self, ev: Event) -> bool:
        if not self.f.contains("image"):
            return True
        name = ev.attributes.get("name" if ev.type == "image" else "image", "")
        candidates = (ev.actor_id, name, _strip_tag(ev.actor_id), _strip_tag(name))
        return any(c and self.f.exact_match("image", c) for c in candidates)


def parse_timestamp(text: str | None, name: str = "since") -> int | None:
    """``since``/``until`` in nanoseconds since the epoch (None when absent)."""
    if text is None or text == "":
        return None
    seconds, dot, fraction = text.partition(".")
    if seconds.isdigit() and (not dot or fraction.isdigit()):
        return int(seconds) * 1_000_000_000 + (int(fraction[:9].ljust(9, "0")) if dot else 0)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {text!r} is not a timestamp") from None
    return int(when.replace(microsecond=0).timestamp()) * 1_000_000_000 + when.microsecond * 1000


def time_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Both bounds; InvalidArgument with Docker's message when ``since`` is after ``until``."""
    lo, hi = parse_timestamp(since, "since"), parse_timestamp(until, "until")
    if lo is not None and hi is not None and hi < lo:
        raise InvalidArgument(f"`since` time ({since}) cannot be after `until` time ({until})")
    return lo, hi
