"""Docker's ``filters`` query parameter (``filters.Args`` of the Engine API), for every
endpoint that takes one (events, containers, images, volumes...).

The parameter is JSON: ``{"label": {"a=b": true}, "type": {"container": true}}``, or the
older list form ``{"label": ["a=b"]}`` that API < 1.22 clients send. Matching follows
Docker: a key with no values matches everything; ``exact_match`` wants one of the values;
``fuzzy_match`` also takes a value that is a prefix of the source; ``match_kv_list`` wants
every ``k`` / ``k=v`` value present in a label map.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument


@dataclass(frozen=True)
class Filters:
    """Parsed filters: each key with its set of values."""

    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> Filters:
        """From the query parameter's JSON ("" or absent: no filters)."""
        if not text:
            return cls()
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"invalid filter: {exc}") from None
        if doc is None:
            return cls()
        if not isinstance(doc, dict):
            raise InvalidArgument("invalid filter: must be a JSON object")
        out: dict[str, frozenset[str]] = {}
        for key, values in doc.items():
            if isinstance(values, dict):
                out[key] = frozenset(str(v) for v, on in values.items() if on)
            elif isinstance(values, list):
                out[key] = frozenset(str(v) for v in values)
            else:
                raise InvalidArgument(f"invalid filter: {key}: values must be an object or a list")
        return cls(out)

    @classmethod
    def of(cls, **values: Iterable[str]) -> Filters:
        """Built in code (tests, internal callers): ``Filters.of(type=["container"])``."""
        return cls({k: frozenset(v) for k, v in values.items()})

    def validate(self, accepted: Iterable[str]) -> Filters:
        """InvalidArgument ``invalid filter 'k'`` for a key not in ``accepted`` (Docker's wording)."""
        allowed = set(accepted)
        for key in sorted(self.fields):
            if key not in allowed:
                raise InvalidArgument(f"invalid filter '{key}'")
        return self

    def values(self, key: str) -> frozenset[str]:
        return self.fields.get(key, frozenset())

    def contains(self, key: str) -> bool:
        return key in self.fields

    def exact_match(self, key: str, source: str) -> bool:
        values = self.fields.get(key)
        return not values or source in values

    def fuzzy_match(self, key: str, source: str) -> bool:
        values = self.fields.get(key)
        if not values or source in values:
            return True
        return any(source.startswith(v) for v in values)

    def match_kv_list(self, key: str, sources: Mapping[str, str] | None) -> bool:
        values = self.fields.get(key)
        if not values:
            return True
        if not sources:
            return False
        for value in values:
            k, has_value, v = value.partition("=")
            if k not in sources or (has_value and sources[k] != v):
                return False
        return True
