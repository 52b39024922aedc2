"""The Dockerfile syntax: directives, comments, continuations, flags, JSON form, heredocs.

Error texts are the ones dockerd 20.10's classic builder printed for the same input.
"""

from __future__ import annotations

import pytest

from dockyard.engine.build.parser import Heredoc, extract_flags, parse, parse_json_array, parse_line
from dockyard.errors import InvalidArgument


def keywords(text: str) -> list[str]:
    return [ins.keyword for ins in parse(text).instructions]


def test_keywords_case_insensitive_and_lines() -> None:
    result = parse("from busybox\n\n  run echo hi\nCmd [\"sh\"]\n")
    assert [(i.keyword, i.line, i.rest) for i in result.instructions] == [
        ("FROM", 1, "busybox"), ("RUN", 3, "echo hi"), ("CMD", 4, '["sh"]')]
    assert result.instructions[1].original == "run echo hi"


def test_unknown_instruction_names_line_in_upper_case() -> None:
    with pytest.raises(InvalidArgument, match=r"^dockerfile parse error line 3: unknown instruction: FORM$"):
        parse("FROM busybox\n\nFORM x\n")
    with pytest.raises(InvalidArgument, match="line 3: unknown instruction: ECHO"):
        parse("FROM busybox\nRUN true\necho hi\n")


def test_directives_escape_and_syntax() -> None:
    result = parse("# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\nRUN echo a `\n  b\n")
    assert result.escape == "`"
    assert result.directives == {"escape": "`", "syntax": "docker/dockerfile:1"}
    assert result.instructions[1].rest == "echo a   b"


@pytest.mark.parametrize("line", ["#escape=`", "# escape =`", "#\tESCAPE= ` ", "# Escape=`"])
def test_directive_spelling(line: str) -> None:
    assert parse(f"{line}\nFROM x\n").escape == "`"


def test_directives_end_at_first_other_line() -> None:
    # an empty line first: the escape line is a comment, '\' stays the escape (dockerd: line 5)
    with pytest.raises(InvalidArgument, match="line 5: unknown instruction: OK"):
        parse("\n# escape=`\nFROM busybox\nRUN echo `\n  ok\n")
    # a comment, an unknown directive, an instruction end them too
    assert parse("# hello\n# escape=`\nFROM x\n").escape == "\\"
    assert parse("# unknown=1\n# escape=`\nFROM x\n").escape == "\\"
    assert parse("FROM x\n# escape=`\n").escape == "\\"


def test_directive_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"invalid escape token 'x' does not match ` or \\"):
        parse("# escape=x\nFROM busybox\n")
    with pytest.raises(InvalidArgument, match="only one escape parser directive can be used"):
        parse("# escape=\\\n# escape=`\nFROM busybox\n")


def test_comments_removed_inside_continuation_and_empty_continuation_warns() -> None:
    # Docker's reference example: the comment line goes, the rest joins
    result = parse("RUN echo hello \\\n# comment\nworld\n")
    assert result.instructions[0].rest == "echo hello world"
    assert result.warnings == []
    result = parse("FROM busybox\nRUN echo a \\\n# comment\n\n  b\nLABEL a=1 \\\n  b=2\n")
    assert [i.original for i in result.instructions[1:]] == ["RUN echo a   b", "LABEL a=1   b=2"]
    assert result.instructions[1].end_line == 5
    # dockerd printed exactly these two lines (on the error stream, before Step 1/3)
    assert result.warnings == ["[WARNING]: Empty continuation line found in:\n    RUN echo a   b",
                               "[WARNING]: Empty continuation lines will become errors in a future release."]


def test_hash_inside_instruction_is_text_and_indented_comment() -> None:
    result = parse("  # indented comment\nRUN echo '#not a comment' # neither\n")
    assert result.instructions[0].rest == "echo '#not a comment' # neither"


def test_continuation_with_trailing_blanks_crlf_bom() -> None:
    result = parse("\ufeffFROM x\r\nRUN a \\  \r\n b\r\n")
    assert result.instructions[1].rest == "a  b"
    assert parse(b"FROM x\nRUN a\n").instructions[1].rest == "a"


def test_continuation_at_end_of_file() -> None:
    assert parse("FROM x\nRUN a \\\n").instructions[1].rest == "a"


def test_json_form_only_for_json_arrays_of_strings() -> None:
    assert parse_json_array('["a", "b c"]') == ("a", "b c")
    assert parse_json_array('[ "a" ,\t"b" ]') == ("a", "b")
    assert parse_json_array('["a"] x') == ("a",)  # dockerd: CMD ["a"] x gave CMD ["a"]
    assert parse_json_array("[]") == ()
    assert parse_json_array("['a']") is None  # single quotes: not JSON, shell form
    assert parse_json_array('{"a": 1}') is None
    assert parse_json_array('["a"') is None
    assert parse_json_array("echo [1]") is None
    # dockerd: CMD ["a", 1] fails (without a line number)
    with pytest.raises(InvalidArgument, match=r"^dockerfile parse error line 1: when using JSON array syntax, "
                       "arrays must be comprised of strings only$"):
        parse('CMD ["a", 1]\n')
    assert parse('LABEL ["a", 1]\n').instructions[0].json_args is None  # no JSON form for LABEL
    result = parse('CMD ["echo", "hi"]\nCMD [\'echo\']\n')
    assert result.instructions[0].json_args == ("echo", "hi")
    assert result.instructions[1].json_args is None and result.instructions[1].rest == "['echo']"


def test_flags_extracted_in_order_with_quotes() -> None:
    ins = parse('COPY --from=build --chown="1:2" --link src dst\n').instructions[0]
    assert ins.flags == (("from", "build"), ("chown", "1:2"), ("link", None))
    assert ins.rest == "src dst"
    assert ins.flag_values("from") == ["build"]
    ins = parse("RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/t --network=none make\n").instructions[0]
    assert ins.flag_values("mount") == ["type=cache,target=/a", "type=tmpfs,target=/t"]
    assert ins.rest == "make"


def test_flags_stop_at_double_dash_and_first_word() -> None:
    assert extract_flags("--a=1 -- --b=2 x") == (["--a=1"], "--b=2 x")
    assert extract_flags("x --a=1") == ([], "x --a=1")
    assert extract_flags("--a=x\\ y z") == (["--a=x y"], "z")


def test_heredocs() -> None:
    text = "FROM x\nRUN <<EOF\necho hi\n  echo $A\nEOF\nCMD x\n"
    result = parse(text)
    run = result.instructions[1]
    assert run.heredocs == (Heredoc("EOF", "echo hi\n  echo $A\n", True, False),)
    assert (run.line, run.end_line) == (2, 5)
    assert result.instructions[2].keyword == "CMD" and result.instructions[2].line == 6


def test_heredoc_chomp_quoted_and_several() -> None:
    text = "COPY <<-EOF <<'X' <<\"Y\" /dst/\n\tone\n\t\ttwo\n\tEOF\n$notexpanded\nX\ny\nY\n"
    heredocs = parse(text).instructions[0].heredocs
    assert heredocs == (Heredoc("EOF", "one\ntwo\n", True, True), Heredoc("X", "$notexpanded\n", False, False),
                        Heredoc("Y", "y\n", False, False))


def test_heredoc_with_redirection_and_not_in_json_or_other_instructions() -> None:
    ins = parse("RUN cat <<EOF > /f\nhello\nEOF\n").instructions[0]
    assert ins.rest == "cat <<EOF > /f" and ins.heredocs[0].content == "hello\n"
    assert parse('RUN ["<<EOF"]\n').instructions[0].heredocs == ()
    with pytest.raises(InvalidArgument, match="unknown instruction: EOF"):
        parse("LABEL a=<<EOF\nEOF\n")


def test_unterminated_heredoc() -> None:
    with pytest.raises(InvalidArgument, match="line 1: unterminated heredoc EOF"):
        parse("RUN <<EOF\necho\n")


def test_parse_line() -> None:
    ins = parse_line("copy . /x", 7)
    assert (ins.keyword, ins.rest, ins.line, ins.original) == ("COPY", ". /x", 7, "copy . /x")


def test_empty_file() -> None:
    assert parse("# only a comment\n\n").instructions == []


def test_heredoc_edge_cases() -> None:
    text = ("FROM x\nRUN <<NOTHING\nNOTHING\nRUN \"<<QUOTED\"\nRUN <<KEEP\n\tindented\nKEEP\n"
            "RUN <<'PY' | python3\nprint(1)\nPY\nCOPY <<one.txt <<two.txt /dst/\n1\none.txt\n2\ntwo.txt\n")
    runs = parse(text).instructions
    assert runs[1].heredocs == (Heredoc("NOTHING", "", True, False),)
    assert runs[2].heredocs == () and runs[2].rest == '"<<QUOTED"'
    assert runs[3].heredocs[0].content == "\tindented\n"  # only <<- strips tabs
    assert runs[4].heredocs == (Heredoc("PY", "print(1)\n", False, False),) and runs[4].rest == "<<'PY' | python3"
    assert [(d.name, d.content) for d in runs[5].heredocs] == [("one.txt", "1\n"), ("two.txt", "2\n")]
    # a heredoc only where RUN, COPY and ADD allow one
    with pytest.raises(InvalidArgument, match="line 3: unknown instruction: INVALID"):
        parse("FROM x\nUSER <<INVALID\nINVALID\n")


def test_empty_continuation_warning_order() -> None:
    result = parse("RUN a \\\n\n b\nRUN c \\\n  \n d\n")
    assert result.warnings == ["[WARNING]: Empty continuation line found in:\n    RUN a  b",
                               "[WARNING]: Empty continuation line found in:\n    RUN c  d",
                               "[WARNING]: Empty continuation lines will become errors in a future release."]
