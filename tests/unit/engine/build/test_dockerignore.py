"""``.dockerignore`` and Go's filepath.Match patterns, by Docker's documented rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.build import dockerignore, globs
from dockyard.engine.build.dockerignore import Patterns, go_clean, ignore_file_for, keep_build_files
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*", "abc", True),
    ("*", "a/b", False),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("[abc]", "b", True),
    ("[^abc]", "b", False),
    ("[^abc]", "d", True),
    ("[a-c]x", "bx", True),
    ("[a-c]x", "dx", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("*.txt", ".hidden.txt", True),  # Go's Match has no dotfile rule
    ("a.c", "abc", False),  # regex metacharacters are literal
    ("a+(b)", "a+(b)", True),
    ("*x", "xxx", True),
])
def test_go_match(pattern: str, name: str, expected: bool) -> None:
    assert globs.match(pattern, name) is expected


@pytest.mark.parametrize("pattern", ["[", "[a", "[]", "[a-]", "[-a]", "a\\", "[z-a]", "[a\\"])
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(InvalidArgument, match="syntax error in pattern"):
        globs.compile_glob(pattern)


def test_has_magic() -> None:
    assert globs.has_magic("*.go") and globs.has_magic("a?") and globs.has_magic("[ab]") and globs.has_magic("a\\b")
    assert not globs.has_magic("src/main.go")


@pytest.mark.parametrize(("path", "expected"), [
    ("", "."), ("a//b/", "a/b"), ("./a/./b", "a/b"), ("a/../b", "b"), ("/../a", "/a"), ("//a", "/a"), ("../a", "../a"),
])
def test_go_clean(path: str, expected: str) -> None:
    assert go_clean(path) == expected


def test_parse_comments_blank_whitespace_bom() -> None:
    p = Patterns.parse("\ufeff# comment\n\n   \n  *.log  \n #not a comment\n!  keep.log\n")
    assert p.lines() == ["*.log", "#not a comment", "!keep.log"]


def test_parse_cleans_and_drops_leading_slash() -> None:
    p = Patterns.parse("/foo/bar\n./a/../b/\n//c\n/\n")
    assert p.lines() == ["foo/bar", "b", "c", "/"]
    assert p.excludes("foo/bar") and p.excludes("b/x") and p.excludes("c")


def test_lone_exclamation_is_an_error() -> None:
    with pytest.raises(InvalidArgument, match='illegal exclusion pattern: "!"'):
        Patterns.parse("!\n")


def test_docs_example() -> None:
    p = Patterns.parse("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
    assert p.excludes("somedir/temporary.txt")
    assert p.excludes("somedir/temp")
    assert p.excludes("somedir/subdir/temporary.txt")
    assert p.excludes("tempa") and p.excludes("tempb")
    assert not p.excludes("temp")
    assert not p.excludes("temporary.txt")
    assert not p.excludes("a/b/c/temp")


def test_root_relative() -> None:
    p = Patterns.parse("foo/bar\n")
    assert p.excludes("foo/bar") and p.excludes("/foo/bar")
    assert not p.excludes("x/foo/bar") and not p.excludes("bar")


def test_double_star() -> None:
    p = Patterns.parse("**/*.go\n")
    assert p.excludes("main.go") and p.excludes("a/b/c.go")
    assert not p.excludes("main.goo")
    mid = Patterns.parse("a/**/z\n")
    assert mid.excludes("a/z") and mid.excludes("a/b/z") and mid.excludes("a/b/c/z")
    assert not mid.excludes("b/a/z")
    tail = Patterns.parse("a/**\n")
    assert tail.excludes("a/x") and tail.excludes("a/x/y")
    assert not tail.excludes("a") and not tail.excludes("ab")
    everything = Patterns.parse("**\n")
    assert everything.excludes("x") and everything.excludes("x/y/z")


def test_directory_pattern_excludes_everything_below() -> None:
    p = Patterns.parse("node_modules\nbuild/*\n")
    assert p.excludes("node_modules") and p.excludes("node_modules/a/b.js")
    assert p.excludes("build/x") and p.excludes("build/x/y")
    assert not p.excludes("build")
    assert not p.excludes("src/node_modules")


def test_exceptions_last_line_wins() -> None:
    p = Patterns.parse("*.md\n!README*.md\nREADME-secret.md\n")
    assert p.excludes("CHANGES.md") and p.excludes("README-secret.md")
    assert not p.excludes("README.md")
    q = Patterns.parse("*.md\nREADME-secret.md\n!README*.md\n")
    assert not q.excludes("README-secret.md") and not q.excludes("README.md")
    assert q.excludes("CHANGES.md")


def test_exception_reincludes_child_of_excluded_directory() -> None:
    p = Patterns.parse("docs\n!docs/keep\n")
    assert p.excludes("docs") and p.excludes("docs/other")
    assert not p.excludes("docs/keep") and not p.excludes("docs/keep/deep/file")
    assert p.descend_excluded("docs")
    assert not p.descend_excluded("other")


def test_wildcard_exception_does_not_make_the_walker_descend() -> None:
    p = Patterns.parse("dir\n!*/keep\n")
    assert not p.excludes("dir/keep")  # the matcher says kept...
    assert not p.descend_excluded("dir")  # ...but Docker's walker skips dir anyway


def test_include_only_with_star() -> None:
    p = Patterns.parse("*\n!src\n!Dockerfile\n")
    assert p.excludes("README") and p.excludes("tests/x")
    assert not p.excludes("src/a/b.py") and not p.excludes("Dockerfile")


def test_keep_build_files() -> None:
    p = keep_build_files(Patterns.parse("*\n"), "sub/Dockerfile.dev")
    assert not p.excludes(".dockerignore") and not p.excludes("sub/Dockerfile.dev")
    assert p.excludes("sub/other")
    untouched = keep_build_files(Patterns.parse("*.log\n"))
    assert untouched.lines() == ["*.log"]


def test_escaped_and_classes_in_ignore_file() -> None:
    p = Patterns.parse("file\\[1\\]\n[ab].txt\n")
    assert p.excludes("file[1]") and not p.excludes("file1")
    assert p.excludes("a.txt") and not p.excludes("c.txt")


def test_root_itself_never_excluded() -> None:
    assert not Patterns.parse("*\n**\n").excludes(".")


def test_from_lines() -> None:
    assert Patterns.from_lines(["*.tmp", "", "!a.tmp"]).lines() == ["*.tmp", "!a.tmp"]


def test_ignore_file_for(tmp_path: Path) -> None:
    ctx = tmp_path
    assert ignore_file_for(str(ctx)) is None
    (ctx / ".dockerignore").write_text("a\n")
    assert ignore_file_for(str(ctx)) == str(ctx / ".dockerignore")
    (ctx / "sub").mkdir()
    (ctx / "sub" / "app.Dockerfile.dockerignore").write_text("b\n")
    assert ignore_file_for(str(ctx), "sub/app.Dockerfile") == str(ctx / "sub" / "app.Dockerfile.dockerignore")
    assert ignore_file_for(str(ctx), "sub/other.Dockerfile") == str(ctx / ".dockerignore")
    assert dockerignore.load(str(ctx), "sub/app.Dockerfile").lines() == ["b"]
    assert dockerignore.load(str(ctx)).lines() == ["a"]
