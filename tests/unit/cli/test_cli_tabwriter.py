"""Go's text/tabwriter, as docker's fork of it aligns tables (cases from Go's own test suite)."""

from __future__ import annotations

import pytest

from dockyard.cli.tabwriter import TabWriter, display_width, tabwrite

# (name, minwidth, tabwidth, padding, padchar, align_right, src, expected): Go's tabwriter_test.go
GO_CASES = [
    ("1a", 8, 0, 1, ".", False, "", ""),
    ("2", 8, 0, 1, ".", False, "\n\n\n", "\n\n\n"),
    ("3", 8, 0, 1, ".", False, "a\nb\nc", "a\nb\nc"),
    ("4a", 8, 0, 1, ".", False, "\t", ""),
    ("4b", 8, 0, 1, ".", True, "\t", ""),
    ("5", 8, 0, 1, ".", False, "*\t*", "*.......*"),
    ("5b", 8, 0, 1, ".", False, "*\t*\n", "*.......*\n"),
    ("5c", 8, 0, 1, ".", False, "*\t*\t", "*.......*"),
    ("5d", 8, 0, 1, ".", True, "*\t*\t", ".......**"),
    ("6", 8, 0, 1, ".", False, "\t\n", "........\n"),
    ("7a", 8, 0, 1, ".", False, "a) foo", "a) foo"),
    ("7b", 8, 0, 1, " ", False, "b) foo\tbar", "b) foo  bar"),
    ("7c", 8, 0, 1, ".", False, "c) foo\tbar\t", "c) foo..bar"),
    ("7d", 8, 0, 1, ".", False, "d) foo\tbar\n", "d) foo..bar\n"),
    ("7e", 8, 0, 1, ".", False, "e) foo\tbar\t\n", "e) foo..bar.....\n"),
    ("8", 8, 0, 1, "*", False, "Hello, world!\n", "Hello, world!\n"),
    ("9a", 1, 0, 0, ".", False, "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"),
    ("9c", 1, 0, 0, ".", False, "1\t2\t3\t4\f11\t222\t3333\t44444\n", "1234\n11222333344444\n"),
    ("10a", 5, 0, 0, ".", False, "1\t2\t3\t4\n", "1....2....3....4\n"),
    ("10b", 5, 0, 0, ".", False, "1\t2\t3\t4\t\n", "1....2....3....4....\n"),
    ("12b", 2, 0, 0, " ", False, "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", "a  b  c\naa bbbcccc\naaabbbb\n"),
    ("12c", 8, 0, 1, "_", False, "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
     "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n"),
    ("13b", 4, 0, 3, ".", False,
     "4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n"
     "1\t1\t999999999\t0000000000\n",
     "4444........333...22...1...333\n999999999...22\n7...........22\n....................88888888\n\n"
     "666666...666666...666666......4444\n1........1........999999999...0000000000\n"),
    ("14", 1, 0, 2, " ", True,
     ".0\t.3\t2.4\t-5.1\t\n23.0\t12345678.9\t2.4\t-989.4\t\n5.1\t12.0\t2.4\t-7.0\t\n.0\t0.0\t332.0\t8908.0\t\n"
     ".0\t-.3\t456.4\t22.1\t\n.0\t1.2\t44.4\t-13.3\t\t",
     "    .0          .3    2.4    -5.1\n  23.0  12345678.9    2.4  -989.4\n   5.1        12.0    2.4    -7.0\n"
     "    .0         0.0  332.0  8908.0\n    .0         -.3  456.4    22.1\n    .0         1.2   44.4   -13.3"),
    ("15a", 4, 0, 0, ".", False, "a\t\tb", "a.......b"),
    ("16a", 100, 100, 0, "\t", False, "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n",
     "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n"),
]


@pytest.mark.parametrize(("name", "minwidth", "tabwidth", "padding", "padchar", "right", "src", "expected"),
                         GO_CASES, ids=[c[0] for c in GO_CASES])
def test_matches_go_tabwriter(name: str, minwidth: int, tabwidth: int, padding: int, padchar: str, right: bool,
                              src: str, expected: str) -> None:
    writer = TabWriter(minwidth, tabwidth, padding, padchar, align_right=right)
    for piece in (src[:3], src[3:]):  # written in pieces, as the formatter does
        writer.write(piece)
    assert writer.flush() == expected


def test_wide_characters_count_two_cells_as_in_dockers_fork() -> None:
    # Go's upstream case 11 counts 本 as one; docker's fork (go-runewidth) counts two
    src = "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n"
    assert tabwrite(src, 8, 0, 1, ".") == "本......b.......c\naa......本本本..cccc....ddddd\naaa.....bbbb\n"
    assert display_width("…") == 1 and display_width("e\u0301") == 1 and display_width("日本") == 4


def test_docker_ps_table_is_reproduced() -> None:
    # `docker ps -a` against a fake daemon, captured from docker 28.2.2
    rows = [
        ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"),
        ("aaaaaaaaaaaa", "nginx:latest", '"/docker-entrypoint.…"', "2 hours ago", "Up 2 hours",
         "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp", "web"),
        ("cccccccccccc", "dddddddddddd", '"sh"', "About a minute ago", "Exited (0) About a minute ago", "", "db"),
    ]
    text = "".join("\t".join(r) + "\n" for r in rows)
    assert tabwrite(text) == (
        "CONTAINER ID   IMAGE          COMMAND                  CREATED              STATUS                 "
        "         PORTS                                              NAMES\n"
        'aaaaaaaaaaaa   nginx:latest   "/docker-entrypoint.…"   2 hours ago          Up 2 hours             '
        "         443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n"
        'cccccccccccc   dddddddddddd   "sh"                     About a minute ago   Exited (0) About a minute ago'
        "                                                      db\n")


def test_short_columns_get_the_minimum_width() -> None:
    # docker ps --format 'table {{.ID}}\t{{.Names}}\t' pads the last (tab-terminated) column to 10
    assert tabwrite("CONTAINER ID\tNAMES\t\nab\tweb\t\n") == "CONTAINER ID   NAMES     \nab             web       \n"
