"""API version parsing, comparison and the negotiation of a request's version."""

from __future__ import annotations

import pytest

from dockyard.engine.api import versions
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("1.24", "1.24", 0), ("1.24", "1.47", -1), ("1.47", "1.24", 1), ("1.9", "1.10", -1),
    ("1.40", "1.40.0", 0), ("2.0", "1.99", 1), ("1.4", "1.40", -1),
])
def test_compare_is_numeric_per_part(a: str, b: str, expected: int) -> None:
    assert versions.compare(a, b) == expected


@pytest.mark.parametrize("bad", ["", "1.x", "v1.24", "1..2", "-1.2"])
def test_parse_refuses_what_is_not_a_version(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid API version"):
        versions.parse(bad)


def test_unversioned_requests_get_the_current_version() -> None:
    assert versions.negotiate(None) == versions.API_VERSION == "1.47"
    assert versions.negotiate("") == "1.47"


@pytest.mark.parametrize("v", ["1.24", "1.30", "1.41", "1.47"])
def test_versions_in_range_are_served_as_asked(v: str) -> None:
    assert versions.negotiate(v) == v


def test_too_old_version_has_dockers_message() -> None:
    with pytest.raises(InvalidArgument) as info:
        versions.negotiate("1.12")
    assert str(info.value) == ("client version 1.12 is too old. Minimum supported API version is 1.24, "
                               "please upgrade your client to a newer version")
    assert info.value.http_status == 400


def test_too_new_version_has_dockers_message() -> None:
    with pytest.raises(InvalidArgument) as info:
        versions.negotiate("1.50")
    assert str(info.value) == "client version 1.50 is too new. Maximum supported API version is 1.47"


def test_at_least_and_less_than() -> None:
    assert versions.at_least("1.47", "1.44") and not versions.at_least("1.43", "1.44")
    assert versions.less_than("1.24", "1.25")
