"""runc-style flag parsing."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime import flags as fl

FLAGS = [
    fl.Flag("bundle, b", fl.STR),
    fl.Flag("detach, d"),
    fl.Flag("env, e", fl.LIST),
    fl.Flag("preserve-fds", fl.INT, 0),
]


def test_long_short_and_single_dash_forms() -> None:
    p = fl.parse(FLAGS, ["--bundle", "/b", "-d", "-e", "A=1", "--env=B=2", "-preserve-fds=2", "id", "-x"], "run")
    assert p.str("bundle") == "/b"
    assert p.bool("detach") is True
    assert p.list("env") == ["A=1", "B=2"]
    assert p.int("preserve_fds") == 2
    assert p.args == ["id", "-x"]  # parsing stops at the first positional


def test_bool_with_value_and_double_dash() -> None:
    p = fl.parse(FLAGS, ["--detach=false", "--", "-b"], "run")
    assert p.bool("detach") is False
    assert p.args == ["-b"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "flag provided but not defined: -nope"),
        (["--bundle"], "flag needs an argument: -bundle"),
        (["--preserve-fds", "x"], "invalid value 'x' for flag -preserve-fds"),
        (["--detach=maybe"], "invalid boolean value"),
    ],
)
def test_errors_name_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        fl.parse(FLAGS, argv, "run")
