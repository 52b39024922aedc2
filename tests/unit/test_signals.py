"""Signal names as runc accepts them."""

from __future__ import annotations

import signal

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.signals import SIGNALS, parse_signal


@pytest.mark.parametrize(("text", "number"), [("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("9", 9), ("TERM", 15),
                                              ("RTMIN", 34), ("RTMIN+3", 37), ("RTMAX-1", 63), ("WINCH", 28)])
def test_parse(text: str, number: int) -> None:
    assert parse_signal(text) == number


def test_table_matches_the_signal_module() -> None:
    for name, number in SIGNALS.items():
        if hasattr(signal, "SIG" + name):
            assert getattr(signal, "SIG" + name) == number, name


@pytest.mark.parametrize("text", ["FOO", "0", "65", "RTMIN+40", ""])
def test_unknown(text: str) -> None:
    with pytest.raises(InvalidArgument, match="unknown signal"):
        parse_signal(text)
