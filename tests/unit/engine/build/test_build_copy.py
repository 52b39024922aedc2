"""COPY/ADD: sources in the context (the classic builder's rules and messages), the plan
applied into a root filesystem (hostile symlinks in it too), --chown and --chmod."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from tests.support.layer_tars import jailed, state

from dockyard.engine.build.copyapply import apply_plan, parse_chmod, parse_chown
from dockyard.engine.build.copyplan import CopyPlan, normalize_dest, plan_copy, resolve_sources, trim_source
from dockyard.errors import DockyardError, InvalidArgument, NotFound

ME = (os.geteuid(), os.getegid())


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    c = tmp_path / "ctx"
    (c / "src/pkg").mkdir(parents=True)
    (c / "a.txt").write_text("A")
    (c / "b.txt").write_text("B")
    (c / "c.md").write_text("C")
    (c / "src/main.py").write_text("main")
    (c / "src/pkg/mod.py").write_text("mod")
    (c / "src/link").symlink_to("main.py")
    (c / "src/abs").symlink_to("/a.txt")
    (c / "src/escape").symlink_to("../../../../a.txt")
    (c / "tolink").symlink_to("src")
    (c / "dotdir").mkdir()
    return c


def names(plan: CopyPlan) -> list[str]:
    return [s.name for s in plan.sources]


# -- sources ----------------------------------------------------------------------------------


def test_trim_source() -> None:
    assert trim_source("/a") == "a" and trim_source("./a") == "a" and trim_source("/./a") == "a"
    assert trim_source(".") == "." and trim_source("././a") == "./a"


def test_single_file_and_dir(ctx: Path) -> None:
    plan = plan_copy(str(ctx), ["a.txt"], "/dst")
    assert plan.dest == "/dst" and names(plan) == ["a.txt"]
    assert plan.items[0].source == str(ctx / "a.txt") and not plan.items[0].is_dir
    plan = plan_copy(str(ctx), ["./src/"], "/dst")
    assert plan.items[0].is_dir and plan.items[0].source == str(ctx / "src")
    plan = plan_copy(str(ctx), ["."], "/")
    assert plan.items[0].is_dir and plan.items[0].source == str(ctx)


def test_symlink_sources_followed_in_scope(ctx: Path) -> None:
    assert plan_copy(str(ctx), ["src/link"], "/d").items[0].source == str(ctx / "src/main.py")
    assert plan_copy(str(ctx), ["src/abs"], "/d").items[0].source == str(ctx / "a.txt")
    assert plan_copy(str(ctx), ["src/escape"], "/d").items[0].source == str(ctx / "a.txt")
    item = plan_copy(str(ctx), ["tolink"], "/d").items[0]
    assert item.is_dir and item.source == str(ctx / "src")
    assert plan_copy(str(ctx), ["src/link"], "/d/").items[0].name == "link"


@pytest.mark.parametrize("src", ["../x", "..", "../", "a/../../x", "/../x"])
def test_forbidden_outside(ctx: Path, src: str) -> None:
    shown = trim_source(src)
    with pytest.raises(InvalidArgument) as info:
        plan_copy(str(ctx), [src], "/d")
    assert str(info.value) == f"COPY failed: forbidden path outside the build context: {shown} ()"


def test_missing_source(ctx: Path) -> None:
    with pytest.raises(NotFound) as info:
        plan_copy(str(ctx), ["nope/file"], "/d")
    assert str(info.value) == ("COPY failed: file not found in build context or excluded by .dockerignore: "
                               "stat nope/file: file does not exist")
    with pytest.raises(NotFound, match=r"^ADD failed: file not found .*stat files/: file does not exist$"):
        plan_copy(str(ctx), ["files/"], "/d", instruction="ADD")


def test_wildcards(ctx: Path) -> None:
    assert names(plan_copy(str(ctx), ["*.txt"], "/d/")) == ["a.txt", "b.txt"]
    assert names(plan_copy(str(ctx), ["?.md", "[ab].txt"], "/d/")) == ["c.md", "a.txt", "b.txt"]
    assert names(plan_copy(str(ctx), ["src/*.py"], "/d/")) == ["src/main.py"]
    # a matched directory is one source; no "**"; "*" does not cross "/"
    assert names(plan_copy(str(ctx), ["s*"], "/d/")) == ["src"]
    assert names(plan_copy(str(ctx), ["*/*.py"], "/d/")) == ["src/main.py"]
    assert names(plan_copy(str(ctx), ["*/l*"], "/d/")) == ["src/link"]
    assert [s.name for s in resolve_sources(str(ctx), ["*"])] == ["a.txt", "b.txt", "c.md", "dotdir", "src", "tolink"]


def test_wildcard_matching_nothing(ctx: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"^COPY failed: no source files were specified$"):
        plan_copy(str(ctx), ["*.none"], "/d/")


def test_wildcards_off_for_literal_names(ctx: Path) -> None:
    (ctx / "we[ird]").write_text("w")
    assert names(plan_copy(str(ctx), ["we[ird]"], "/d", allow_wildcards=False)) == ["we[ird]"]


def test_multiple_sources_need_a_directory_dest(ctx: Path) -> None:
    message = ("When using COPY with more than one source file, the destination must be a directory "
               "and end with a /")
    with pytest.raises(InvalidArgument) as info:
        plan_copy(str(ctx), ["a.txt", "b.txt"], "/d")
    assert str(info.value) == message
    with pytest.raises(InvalidArgument, match="When using COPY with more"):
        plan_copy(str(ctx), ["*.txt"], "/d")
    with pytest.raises(InvalidArgument, match="When using COPY with more"):
        plan_copy(str(ctx), ["a.txt", "b.txt"], ".", workdir="/app")
    assert plan_copy(str(ctx), ["*.md"], "/d").dest == "/d"  # one match: a file dest is fine
    assert plan_copy(str(ctx), ["a.txt", "b.txt"], "./", workdir="/app").dest == "/app/"


@pytest.mark.parametrize(("workdir", "dest", "expected"), [
    ("/", "x", "/x"), ("/app", "x", "/app/x"), ("/app", "x/", "/app/x/"), ("/app", ".", "/app"),
    ("/app", "./", "/app/"), ("/app", "/abs", "/abs"), ("/app", "/abs/", "/abs/"), ("/app", "../x", "/x"),
    ("", "x", "/x"), ("/", ".", "/"), ("/", "./", "/"), ("app", "x", "/app/x"),
])
def test_normalize_dest(workdir: str, dest: str, expected: str) -> None:
    assert normalize_dest(workdir, dest) == expected


# -- applying a plan --------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "existing").mkdir()
    return r


def test_apply_file_to_new_path_and_into_dirs(ctx: Path, root: Path) -> None:
    os.chmod(ctx / "a.txt", 0o640)
    os.utime(ctx / "a.txt", (1_500_000_000, 1_500_000_000))
    apply_plan(str(root), plan_copy(str(ctx), ["a.txt"], "/new/dir/file"), owner=ME)
    target = root / "new/dir/file"
    assert target.read_text() == "A" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_mtime == 1_500_000_000
    assert stat.S_IMODE((root / "new").stat().st_mode) == 0o755
    apply_plan(str(root), plan_copy(str(ctx), ["a.txt"], "/existing"), owner=ME)
    assert (root / "existing/a.txt").read_text() == "A"
    apply_plan(str(root), plan_copy(str(ctx), ["a.txt", "b.txt"], "/fresh/"), owner=ME)
    assert sorted(os.listdir(root / "fresh")) == ["a.txt", "b.txt"]
    apply_plan(str(root), plan_copy(str(ctx), ["b.txt"], "rel", workdir="/existing"), owner=ME)
    assert (root / "existing/rel").read_text() == "B"


def test_apply_directory_copies_contents(ctx: Path, root: Path) -> None:
    written = apply_plan(str(root), plan_copy(str(ctx), ["src"], "/app"), owner=ME)
    assert sorted(os.listdir(root / "app")) == ["abs", "escape", "link", "main.py", "pkg"]
    assert (root / "app/pkg/mod.py").read_text() == "mod"
    assert os.readlink(root / "app/link") == "main.py"  # links inside a directory stay links
    assert os.readlink(root / "app/abs") == "/a.txt"
    assert written == 6


def test_apply_replaces_existing_file_and_symlink(ctx: Path, root: Path) -> None:
    (root / "etc/a.txt").write_text("old")
    (root / "etc/b.txt").symlink_to("a.txt")
    apply_plan(str(root), plan_copy(str(ctx), ["a.txt", "b.txt"], "/etc/"), owner=ME)
    assert (root / "etc/a.txt").read_text() == "A"
    assert not (root / "etc/b.txt").is_symlink() and (root / "etc/b.txt").read_text() == "B"


def test_apply_file_over_directory_refused(ctx: Path, root: Path) -> None:
    (root / "existing/a.txt").mkdir()
    with pytest.raises(InvalidArgument, match=r"cannot overwrite directory /existing/a\.txt with non-directory"):
        apply_plan(str(root), plan_copy(str(ctx), ["a.txt"], "/existing/"), owner=ME)


def test_chmod_and_owner(ctx: Path, root: Path) -> None:
    apply_plan(str(root), plan_copy(str(ctx), ["src"], "/app"), owner=ME, mode=0o600)
    assert stat.S_IMODE((root / "app/main.py").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "app/pkg").stat().st_mode) == 0o600
    assert (root / "app/main.py").stat().st_uid == ME[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files away")
def test_chown_applies_to_copies_and_new_dirs(ctx: Path, root: Path) -> None:
    apply_plan(str(root), plan_copy(str(ctx), ["src"], "/new/app"), owner=(1234, 4321))
    for path in ("new", "new/app", "new/app/main.py", "new/app/pkg", "new/app/link"):
        st = os.lstat(root / path)
        assert (st.st_uid, st.st_gid) == (1234, 4321), path
    assert os.lstat(root / "existing").st_uid == ME[0]


# -- hostile roots, in a jail -----------------------------------------------------------------


@pytest.fixture
def jail(tmp_path: Path) -> Path:
    """``<tmp>`` laid out as a host: ``/etc`` with bait, the image root at ``/root``, the
    context at ``/ctx``."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("host\n")
    c = tmp_path / "ctx"
    (c / "dir/sub").mkdir(parents=True)
    (c / "passwd").write_text("pwned\n")
    (c / "dir/passwd").write_text("pwned\n")
    (c / "dir/sub/x").write_text("x")
    (tmp_path / "root").mkdir()
    return tmp_path


def _copy_in_jail(jail: Path, sources: list[str], dest: str, workdir: str = "/") -> DockyardError | int:
    before = state(jail, jail / "root")

    def run() -> DockyardError | int:
        try:
            return apply_plan("/root", plan_copy("/ctx", sources, dest, workdir), owner=ME)
        except DockyardError as exc:
            return exc

    outcome: DockyardError | int = jailed(jail, run)
    assert state(jail, jail / "root") == before, "something outside the root changed"
    return outcome


@pytest.mark.parametrize(("links", "sources", "dest", "lands"), [
    # host-style, x -> /etc is the jail's /etc (the bait); in scope it is the root's own /etc
    ({"x": "/etc"}, ["passwd"], "/x/passwd", "etc/passwd"),
    ({"x": "/etc"}, ["passwd"], "/x/", "etc/passwd"),
    ({"x": "../../../etc"}, ["passwd"], "/x/passwd", "etc/passwd"),
    ({"app": "/"}, ["passwd"], "/app/../../etc/passwd", "etc/passwd"),
    ({"x": "/etc"}, ["dir"], "/x", "etc/passwd"),
    ({"x": "/etc"}, ["dir"], "/x/", "etc/passwd"),
    ({"a": "b", "b": "/etc"}, ["passwd"], "/a/passwd", "etc/passwd"),
    ({"w": "/etc"}, ["passwd"], "passwd", "etc/passwd"),  # WORKDIR through a link
])
def test_hostile_root_symlinks(jail: Path, links: dict[str, str], sources: list[str], dest: str, lands: str) -> None:
    for name, target in links.items():
        (jail / "root" / name).symlink_to(target)
    workdir = "/w" if "w" in links else "/"
    outcome = _copy_in_jail(jail, sources, dest, workdir)
    assert isinstance(outcome, int), outcome
    assert (jail / "root" / lands).read_text() == "pwned\n"
    assert (jail / "etc/passwd").read_text() == "host\n"


@pytest.mark.parametrize("dest", ["/etc/passwd", "/etc/", "/etc/sub/file"])
def test_hostile_self_loop(jail: Path, dest: str) -> None:
    """/etc -> /etc in the root: a loop in scope (the host's /etc when followed host-style)."""
    (jail / "root/etc").symlink_to("/etc")
    outcome = _copy_in_jail(jail, ["passwd"], dest)
    assert isinstance(outcome, InvalidArgument) and "too many levels of symbolic links" in str(outcome)
    assert (jail / "etc/passwd").read_text() == "host\n"


def test_hostile_loop_as_final_name_is_replaced(jail: Path) -> None:
    (jail / "root/etc").symlink_to("/etc")
    assert _copy_in_jail(jail, ["passwd"], "/etc") == 1
    assert not (jail / "root/etc").is_symlink() and (jail / "root/etc").read_text() == "pwned\n"


def test_hostile_final_symlink_replaced_not_followed(jail: Path) -> None:
    (jail / "root/target").symlink_to("/etc/passwd")
    assert isinstance(_copy_in_jail(jail, ["passwd"], "/target"), int)
    assert not (jail / "root/target").is_symlink() and (jail / "root/target").read_text() == "pwned\n"


def test_hostile_symlink_inside_directory_dest_replaced(jail: Path) -> None:
    (jail / "root/app").mkdir()
    (jail / "root/app/sub").symlink_to("/etc")
    assert isinstance(_copy_in_jail(jail, ["dir"], "/app"), int)
    assert (jail / "root/app/sub").is_dir() and not (jail / "root/app/sub").is_symlink()
    assert (jail / "root/app/sub/x").read_text() == "x"


# -- --chown and --chmod ----------------------------------------------------------------------


@pytest.fixture
def users_root(tmp_path: Path) -> Path:
    r = tmp_path / "r"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\napp:x:1001:\nstaff:x:50:app\n")
    return r


@pytest.mark.parametrize(("spec", "expected"), [
    ("app", (1000, 1001)), ("app:staff", (1000, 50)), ("1000", (1000, 1000)), ("1000:50", (1000, 50)),
    ("app:7", (1000, 7)), ("5:app", (5, 1001)), ("root", (0, 0)),
])
def test_parse_chown(users_root: Path, spec: str, expected: tuple[int, int]) -> None:
    assert parse_chown(spec, str(users_root)) == expected


def test_parse_chown_errors(users_root: Path) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_chown("nobody", str(users_root))
    assert str(info.value) == ("unable to convert uid/gid chown string to host mapping: "
                               "can't find uid for user nobody: no such user: nobody")
    with pytest.raises(InvalidArgument, match=r"can.t find gid for group wheel: no such group: wheel$"):
        parse_chown("app:wheel", str(users_root))
    with pytest.raises(InvalidArgument, match=r"^invalid chown string format: a:b:c$"):
        parse_chown("a:b:c", str(users_root))


def test_parse_chown_reads_the_roots_files_in_scope(tmp_path: Path, users_root: Path) -> None:
    """/etc/passwd in the image is a symlink to the host's: the image's own (none) counts."""
    r = tmp_path / "r2"
    r.mkdir()
    (r / "etc").symlink_to(str(users_root / "etc"))
    with pytest.raises(InvalidArgument, match="no such user: app"):
        parse_chown("app", str(r))
    (r / "etc").unlink()
    (r / "etc").mkdir()
    (r / "real").write_text("app:x:77:77::/:/bin/sh\n")
    (r / "etc/passwd").symlink_to("../real")
    (r / "etc/group").symlink_to("/real")
    assert parse_chown("app", str(r)) == (77, 77)


@pytest.mark.parametrize(("spec", "mode"), [("755", 0o755), ("0644", 0o644), ("4755", 0o4755), ("0", 0)])
def test_parse_chmod(spec: str, mode: int) -> None:
    assert parse_chmod(spec) == mode


@pytest.mark.parametrize("spec", ["", "9", "u+x", "-1", "17777", "0o755"])
def test_parse_chmod_errors(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid chmod parameter"):
        parse_chmod(spec)
