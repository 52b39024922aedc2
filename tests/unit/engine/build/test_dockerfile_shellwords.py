"""The builder's substitution rules; the expected values are what dockerd 20.10 stored for
``ENV B=${A:-x}|${U:-x}|...`` with ``A=a E=`` (see test_dockerfile_history.py)."""

from __future__ import annotations

import pytest

from dockyard.engine.build.shellwords import SUBSTITUTED, Lexer, split_raw_words
from dockyard.errors import InvalidArgument

ENV = {"A": "a", "E": "", "S": "x  y", "abc": "bar"}
LEX = Lexer()


def test_observed_on_dockerd() -> None:
    text = "${A:-x}|${U:-x}|${E:-x}|${A:+p}|${U:+p}|$A$A|\\$A|'$A'|\"$A\"|${A}_|\"a\\b\"|$|$1"
    assert LEX.process_word(text, ENV) == "a|x|x|p||aa|$A|$A|a|a_|a\\b|$|"


@pytest.mark.parametrize(("word", "expected"), [
    # the Dockerfile reference's examples (ENV abc=bar)
    ("$abc", "bar"), ("${abc}", "bar"), ("${abc}_x", "bar_x"), ("\\$abc", "$abc"), ("\\${abc}", "${abc}"),
    ("${abc:-x}", "bar"), ("${nope:-x}", "x"), ("${abc:+x}", "x"), ("${nope:+x}", ""),
    ("'$abc'", "$abc"), ('"$abc"', "bar"), ('"a b"', "a b"), ("a\\ b", "a b"),
    ('"\\"q\\""', '"q"'), ('"\\$x"', "$x"), ('"\\\\"', "\\"), ('"\\n"', "\\n"),  # \ in "" only before " $ \
    ("${U:-$A b}", "a b"), ("${U:-'${A}'}", "${A}"), ("$-", "$-"), ("a$", "a$"), ("end\\", "end"),
])
def test_process_word(word: str, expected: str) -> None:
    assert LEX.process_word(word, ENV) == expected


def test_process_words_splits_unquoted_expansions() -> None:
    assert LEX.process_words('$S "$S" a\\ b  c', ENV) == ["x", "y", "x  y", "a b", "c"]
    assert LEX.process_words("${U:-1 2}", ENV) == ["1", "2"]
    assert LEX.process_words("  ", ENV) == []
    assert LEX.process_words('a ""', ENV) == ["a", ""]


def test_other_escape_character() -> None:
    lex = Lexer("`")
    # dockerd: LABEL c="x`"y" d=a\\b with # escape=` gave c=x"y d=a\\b
    assert lex.process_word('"x`"y"', {}) == 'x"y'
    assert lex.process_word("a\\\\b", {}) == "a\\\\b"
    assert lex.process_word("`$A", {"A": "1"}) == "$A"


@pytest.mark.parametrize(("word", "message"), [
    ("${E-y}", "missing ':' in substitution"),  # dockerd 20.10 knows only :- :+ :?
    ("${A", "missing ':' in substitution"),
    ("${A:?nope}x", "A: nope"),
    ("${U:?}", "U: is not allowed to be unset"),
    ("${A:=x}", r"unsupported modifier \(=\) in substitution"),
    ("'abc", "unexpected end of statement while looking for matching single-quote"),
    ('"abc', "unexpected end of statement while looking for matching double-quote"),
    ("${U:-x", "syntax error: missing '}'"),
])
def test_errors(word: str, message: str) -> None:
    env = {"A": "", "E": ""}
    with pytest.raises(InvalidArgument, match=f'^failed to process ".*": {message}'):
        LEX.process_word(word, env)


def test_error_names_the_text_go_quoted() -> None:
    with pytest.raises(InvalidArgument, match=r'^failed to process "\$\{A:\?nope\}": A: nope$'):
        LEX.process_word("${A:?nope}", {})
    # dockerd: failed to process "\"a": unexpected end of statement while looking for matching double-quote
    with pytest.raises(InvalidArgument) as caught:
        LEX.process_word('"a', {})
    assert caught.value.message == ('failed to process "\\"a": '
                                    "unexpected end of statement while looking for matching double-quote")


def test_split_raw_words_keeps_quotes() -> None:
    assert split_raw_words('a="b c" d=\'e f\' g=h\\ i  j') == ['a="b c"', "d='e f'", "g=h\\ i", "j"]
    assert split_raw_words('k="a \\" b"') == ['k="a \\" b"']
    assert split_raw_words("x`  y", "`") == ["x` ", "y"]


def test_substituted_instructions() -> None:
    assert {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
            "ARG"} == SUBSTITUTED
    assert not {"RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "ONBUILD"} & SUBSTITUTED
