"""Stages, targets, stage references and build-arg scoping."""

from __future__ import annotations

import pytest

from dockyard.engine.build.instructions import ArgCommand, RunCommand
from dockyard.engine.build.shellwords import Lexer
from dockyard.engine.build.stages import BuildArgs, plan_build
from dockyard.errors import InvalidArgument

MULTI = """\
ARG IMG=busybox
FROM $IMG AS base
RUN make
FROM base AS Test
RUN test
FROM alpine AS other
RUN unrelated
FROM busybox AS final
COPY --from=BASE /out /out
COPY --from=0 /a /a
COPY --from=nginx:latest /etc/nginx /etc/nginx
"""


def test_stages_names_and_bases() -> None:
    plan = plan_build(MULTI)
    assert [(s.index, s.name, s.image, s.base_stage) for s in plan.stages] == [
        (0, "base", "busybox", None), (1, "test", "base", 0), (2, "other", "alpine", None),
        (3, "final", "busybox", None)]
    assert [type(c) for c in plan.stages[0].commands] == [RunCommand]
    assert len(plan.meta_args) == 1
    assert plan.target == 3
    assert plan.needed == [0, 3]  # base through --from; test and other are not needed
    assert plan.through_target == [0, 1, 2, 3]  # what the classic builder runs
    assert plan.stage_index("Base", 3) == 0 and plan.stage_index("1", 3) == 1
    assert plan.stage_index("nginx:latest", 3) is None


def test_target() -> None:
    plan = plan_build(MULTI, target="TEST")
    assert plan.target == 1 and plan.needed == [0, 1]
    with pytest.raises(InvalidArgument, match=r"^failed to reach build target nope in Dockerfile$"):  # dockerd
        plan_build(MULTI, target="nope")


def test_from_later_stage_is_an_image_and_scratch() -> None:
    plan = plan_build("FROM later AS first\nFROM scratch AS later\nFROM first\n")
    assert plan.stages[0].base_stage is None and plan.stages[2].base_stage == 0
    assert plan.stages[1].is_scratch and not plan.stages[0].is_scratch


def test_mount_from_and_variable_references() -> None:
    text = "FROM a AS one\nFROM b AS two\nFROM c\nRUN --mount=from=one,target=/x true\n"
    assert plan_build(text).needed == [0, 2]
    text = "FROM a AS one\nFROM b AS two\nFROM c\nARG S=one\nCOPY --from=$S /x /x\n"
    assert plan_build(text).needed == [0, 1, 2]  # unknown until run: any earlier stage


def test_stage_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"^x stage name already used$"):  # dockerd
        plan_build("FROM busybox AS x\nFROM busybox AS X\n")
    with pytest.raises(InvalidArgument, match=r"^no build stage in current context$"):  # dockerd
        plan_build("RUN true\n")
    with pytest.raises(InvalidArgument, match=r"^failed to parse Dockerfile: file with no instructions$"):  # dockerd
        plan_build("# just a comment\n")
    with pytest.raises(InvalidArgument, match=r"^invalid from flag value 1: index out of bounds$"):  # dockerd
        plan_build("FROM busybox\nCOPY --from=1 /a /b\n").stage_index("1", 0)
    with pytest.raises(InvalidArgument, match="line 1: base name"):
        plan_build("FROM ${NOPE}\n")


def test_meta_args_in_from_with_build_arg_override() -> None:
    args = BuildArgs({"VERSION": "2"})
    plan = plan_build("ARG VERSION=1\nARG IMG=busybox:${VERSION}\nFROM ${IMG}\n", args)
    assert plan.stages[0].image == "busybox:2"
    assert args.meta_env() == {"VERSION": "2", "IMG": "busybox:2"}
    plan = plan_build("ARG P=linux/arm64\nFROM --platform=$P busybox\n")
    assert plan.stages[0].platform == "linux/arm64"


def test_meta_arg_visible_in_stage_only_after_redeclaring() -> None:
    # dockerd: "ARG V=1 / FROM / RUN echo $V" printed nothing, after "ARG V" it printed 1
    args = BuildArgs()
    plan = plan_build("ARG V=1\nFROM busybox\nRUN echo $V\nARG V\nRUN echo $V\n", args)
    stage = args.for_stage()
    assert stage.substitution_env({}) == {}
    assert stage.history_args({}) is None
    arg = plan.stages[0].commands[1]
    assert isinstance(arg, ArgCommand)
    stage.declare("V", None)
    assert stage.substitution_env({}) == {"V": "1"}
    assert stage.history_args({}) == ["V=1"]


def test_stage_args_values_env_wins_and_history() -> None:
    args = BuildArgs({"FOO": "x", "UNUSED": "1", "HTTP_PROXY": "http://p", "FTP_PROXY": "f"})
    plan_build("FROM busybox\nARG FOO=bar\n", args)
    stage = args.for_stage()
    stage.declare("FOO", "bar")
    stage.declare("NOVAL", None)
    stage.declare("WITH", "1")
    # proxies given but not declared: in the RUN's environment, not in its history
    assert stage.allowed({}) == {"FOO": "x", "WITH": "1", "HTTP_PROXY": "http://p", "FTP_PROXY": "f"}
    assert stage.history_args({}) == ["FOO=x", "WITH=1"]
    assert stage.history_args({"FOO": "envwins"}) == ["WITH=1"]
    assert stage.substitution_env({"FOO": "envwins"})["FOO"] == "envwins"
    assert args.unused_warning() == "[Warning] One or more build-args [UNUSED] were not consumed"  # dockerd


def test_only_proxy_args_gives_empty_prefix() -> None:
    # dockerd: --build-arg HTTP_PROXY=... with no ARG gave "|0 /bin/sh -c true"
    stage = BuildArgs({"HTTP_PROXY": "http://p"}).for_stage()
    assert stage.history_args({}) == []
    stage.declare("HTTP_PROXY", None)
    assert stage.history_args({}) == ["HTTP_PROXY=http://p"]


def test_unused_warning_counts_meta_args_and_sorts() -> None:
    # dockerd: --build-arg A=1 --build-arg B=2 --build-arg IMG=busybox -> [A B]
    args = BuildArgs({"B": "2", "A": "1", "IMG": "busybox", "no_proxy": "x"})
    plan_build("ARG IMG=busybox\nFROM $IMG\n", args)
    assert args.unused() == ["A", "B"]
    assert args.unused_warning() == "[Warning] One or more build-args [A B] were not consumed"
    assert BuildArgs({"IMG": "x"}).unused_warning() == "[Warning] One or more build-args [IMG] were not consumed"
    assert BuildArgs().unused_warning() is None


def test_build_arg_without_value_keeps_default() -> None:
    args = BuildArgs({"A": None})
    stage = args.for_stage()
    stage.declare("A", "dflt")
    assert stage.allowed({}) == {"A": "dflt"}
    assert args.unused() == []


def test_meta_default_expanded_with_lexer_escape() -> None:
    args = BuildArgs()
    args.declare_meta(ArgCommand(1, "ARG", args=(("A", "x`$y"),)), Lexer("`"))
    assert args.meta_env() == {"A": "x$y"}
