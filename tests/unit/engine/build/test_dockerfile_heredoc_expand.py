"""``COPY <<EOF`` bodies with an unquoted delimiter: variables substituted, quotes and
escapes kept as written (an escaped ``$`` stays literal)."""

from __future__ import annotations

import pytest

from dockyard.engine.build.shellwords import Lexer
from dockyard.errors import InvalidArgument

ENV = {"WHO": "world", "EMPTY": ""}


@pytest.mark.parametrize(("body", "expected"), [
    ("hello $WHO\n", "hello world\n"),
    ('say "${WHO}" \'$WHO\'\n', "say \"world\" 'world'\n"),
    ("keep \\$WHO and \\n\n", "keep \\$WHO and \\n\n"),
    ("${EMPTY:-fallback} ${MISSING:+set}.\n", "fallback .\n"),
])
def test_heredoc_bodies(body: str, expected: str) -> None:
    assert Lexer("\\").process_heredoc(body, ENV) == expected


def test_backtick_escape_and_bad_substitution() -> None:
    assert Lexer("`").process_heredoc("a `$WHO $WHO", ENV) == "a `$WHO world"
    with pytest.raises(InvalidArgument, match="failed to process"):
        Lexer("\\").process_heredoc("${WHO", ENV)
