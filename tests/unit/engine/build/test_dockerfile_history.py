"""``created_by`` as dockerd 20.10's classic builder writes it.

The EXPECTED lists are ``docker history --no-trunc`` of classic builds (``DOCKER_BUILDKIT=0``)
on Debian's dockerd 20.10 with a busybox base, oldest first; the COPY/ADD hashes are left out
(the executor computes them). ``walk`` drives parser, instructions, stages and history the
way the executor will, so these also check that the pieces fit.
"""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.engine.build import history as h
from dockyard.engine.build import instructions as ins
from dockyard.engine.build.shellwords import Lexer, go_quote
from dockyard.engine.build.stages import BuildArgs, plan_build
from dockyard.engine.build.values import resolve_workdir


def walk(text: str, given: Mapping[str, str | None] | None = None, target: str = "") -> list[str]:
    """The created_by of the target stage's commands (COPY/ADD hashes as ``<hash>``)."""
    args = BuildArgs(given)
    plan = plan_build(text, args, target)
    lexer = Lexer(plan.escape)
    stage_args = args.for_stage()
    env: dict[str, str] = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    shell: tuple[str, ...] = h.DEFAULT_SHELL
    workdir = ""
    out: list[str] = []
    for raw in plan.stages[plan.target].commands:
        command = ins.expand(raw, lexer, stage_args.substitution_env(env))
        if isinstance(command, ins.EnvCommand):
            env.update(command.pairs)
            out.append(h.nop(h.env_text("ENV", command.pairs), shell))
        elif isinstance(command, ins.LabelCommand):
            out.append(h.nop(h.env_text("LABEL", command.pairs), shell))
        elif isinstance(command, ins.ArgCommand):
            for name, default in command.args:
                stage_args.declare(name, default)
            out.append(h.nop(h.arg_text(command.args), shell))
        elif isinstance(command, ins.RunCommand):
            out.append(h.run_created_by(command.command, command.prepend_shell, stage_args.history_args(env), shell))
        elif isinstance(command, (ins.CmdCommand, ins.EntrypointCommand)):
            keyword = "CMD" if isinstance(command, ins.CmdCommand) else "ENTRYPOINT"
            final = h.shell_form(command.command, command.prepend_shell, shell)
            out.append(h.nop(h.command_text(keyword, final), shell))
        elif isinstance(command, ins.CopyCommand):
            out.append(h.copy_created_by(command.keyword, "<hash>", command.dest, shell, chown=command.chown))
        elif isinstance(command, ins.WorkdirCommand):
            workdir = resolve_workdir(workdir, command.path)
            out.append(h.workdir_created_by(workdir, shell))
        elif isinstance(command, ins.ShellCommand):
            shell = command.shell
            out.append(h.nop(h.shell_text(shell), shell))
        elif isinstance(command, ins.HealthcheckCommand):
            out.append(h.nop(h.healthcheck_text(command.test, command.interval, command.timeout,
                                                command.start_period, command.retries), shell))
        elif isinstance(command, ins.ExposeCommand):
            out.append(h.nop(h.expose_text(command.ports), shell))
        elif isinstance(command, ins.VolumeCommand):
            out.append(h.nop(h.volume_text(command.paths), shell))
        elif isinstance(command, ins.UserCommand):
            out.append(h.nop(f"USER {command.user}", shell))
        elif isinstance(command, ins.StopsignalCommand):
            out.append(h.nop(f"STOPSIGNAL {command.signal}", shell))
        elif isinstance(command, ins.MaintainerCommand):
            out.append(h.nop(f"MAINTAINER {command.maintainer}", shell))
        elif isinstance(command, ins.OnbuildCommand):
            out.append(h.nop(f"ONBUILD {command.expression}", shell))
    return out


MAIN = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
ARG FOO=bar
ENV A=b C="d e"
ENV LEG legacy value
LABEL x=y "z w"=v
EXPOSE 80 443/udp 8000-8001
VOLUME /data /other
VOLUME ["/json"]
USER nobody:nogroup
USER root
WORKDIR /work
WORKDIR sub
STOPSIGNAL SIGKILL
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD echo hi
HEALTHCHECK NONE
SHELL ["/bin/sh", "-c"]
MAINTAINER someone <a@b>
ONBUILD RUN echo onbuild
COPY f1 /dst/
COPY f1 f2 /multi/
COPY dir /dirdst
ADD f1 /added
ADD dir /addeddir
RUN echo $FOO
RUN ["echo", "exec"]
CMD echo shell
CMD ["sh"]
ENTRYPOINT ["echo", "a\\"b"]
ENTRYPOINT echo x
ARG NOVAL
ARG WITH=1
RUN true
ENV FOO=envwins
RUN true
HEALTHCHECK --interval=1m30s --start-period=2s CMD ["echo", "x"]
FROM busybox
COPY --from=base /dst /w
COPY --from=0 /dst /w0
ARG HTTP_PROXY
RUN true
"""
MAIN_ARGS = {"FOO": "x", "UNUSED": "1", "HTTP_PROXY": "http://p", "FTP_PROXY": "f"}

MAIN_BASE_EXPECTED = [
    "/bin/sh -c #(nop)  ARG FOO=bar",
    "/bin/sh -c #(nop)  ENV A=b C=d e",
    "/bin/sh -c #(nop)  ENV LEG=legacy value",
    "/bin/sh -c #(nop)  LABEL x=y z w=v",
    "/bin/sh -c #(nop)  EXPOSE 443/udp 80 8000-8001",
    "/bin/sh -c #(nop)  VOLUME [/data /other]",
    "/bin/sh -c #(nop)  VOLUME [/json]",
    "/bin/sh -c #(nop)  USER nobody:nogroup",
    "/bin/sh -c #(nop)  USER root",
    "/bin/sh -c #(nop) WORKDIR /work",
    "/bin/sh -c #(nop) WORKDIR /work/sub",
    "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL",
    """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "0s" '\\x02'}""",
    """/bin/sh -c #(nop)  HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\\x00'}""",
    "/bin/sh -c #(nop)  SHELL [/bin/sh -c]",
    "/bin/sh -c #(nop)  MAINTAINER someone <a@b>",
    "/bin/sh -c #(nop)  ONBUILD RUN echo onbuild",
    "/bin/sh -c #(nop) COPY <hash> in /dst/ ",
    "/bin/sh -c #(nop) COPY <hash> in /multi/ ",
    "/bin/sh -c #(nop) COPY <hash> in /dirdst ",
    "/bin/sh -c #(nop) ADD <hash> in /added ",
    "/bin/sh -c #(nop) ADD <hash> in /addeddir ",
    "|1 FOO=x /bin/sh -c echo $FOO",
    "|1 FOO=x echo exec",
    '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo shell"]',
    '/bin/sh -c #(nop)  CMD ["sh"]',
    '/bin/sh -c #(nop)  ENTRYPOINT ["echo" "a\\"b"]',
    '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c" "echo x"]',
    "/bin/sh -c #(nop)  ARG NOVAL",
    "/bin/sh -c #(nop)  ARG WITH=1",
    "|2 FOO=x WITH=1 /bin/sh -c true",
    "/bin/sh -c #(nop)  ENV FOO=envwins",
    "|1 WITH=1 /bin/sh -c true",
    """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "echo" "x"] "1m30s" "0s" "2s" '\\x00'}""",
]

MAIN_FINAL_EXPECTED = [
    "/bin/sh -c #(nop) COPY <hash> in /w ",
    "/bin/sh -c #(nop) COPY <hash> in /w0 ",
    "/bin/sh -c #(nop)  ARG HTTP_PROXY",
    "|1 HTTP_PROXY=http://p /bin/sh -c true",
]

SUBST = """\
FROM busybox
ENV A=a E=
ENV B=${A:-x}|${U:-x}|${E:-x}|${A:+p}|${U:+p}|$A$A|\\$A|'$A'|"$A"|${A}_|"a\\b"|$|$1
ARG M1=1 M2
ARG P=${A}
RUN echo "$B $P"
ADD f1 f2 /multi/
ADD f* /glob/
COPY ["f1", "/json dst/"]
VOLUME ["/a b"]
EXPOSE 1000-1002/udp 5/tcp
HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=65 CMD echo hi
SHELL ["/bin/sh", "-x", "-c"]
ENV X=1
RUN echo hi
RUN ["true"]
CMD echo "a'b"
ENTRYPOINT ["a\\tb", "\\u00e9"]
ONBUILD copy . /x
LABEL "quoted key"="v w" legacy=1
LABEL legacy   form with  spaces
WORKDIR $A/rel
"""

SUBST_EXPECTED = [
    "/bin/sh -c #(nop)  ENV A=a E=",
    "/bin/sh -c #(nop)  ENV B=a|x|x|p||aa|$A|$A|a|a_|a\\b|$|",
    "/bin/sh -c #(nop)  ARG M1=1 M2",
    "/bin/sh -c #(nop)  ARG P=a",
    '|3 M1=1 M2=two P=a /bin/sh -c echo "$B $P"',
    "/bin/sh -c #(nop) ADD <hash> in /multi/ ",
    "/bin/sh -c #(nop) ADD <hash> in /glob/ ",
    "/bin/sh -c #(nop) COPY <hash> in /json dst/ ",
    "/bin/sh -c #(nop)  VOLUME [/a b]",
    "/bin/sh -c #(nop)  EXPOSE 1000-1002/udp 5/tcp",
    """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "1s" 'A'}""",
    "/bin/sh -x -c #(nop)  SHELL [/bin/sh -x -c]",
    "/bin/sh -x -c #(nop)  ENV X=1",
    "|3 M1=1 M2=two P=a /bin/sh -x -c echo hi",
    "|3 M1=1 M2=two P=a true",
    """/bin/sh -x -c #(nop)  CMD ["/bin/sh" "-x" "-c" "echo \\"a'b\\""]""",
    '/bin/sh -x -c #(nop)  ENTRYPOINT ["a\\tb" "é"]',
    "/bin/sh -x -c #(nop)  ONBUILD copy . /x",
    "/bin/sh -x -c #(nop)  LABEL quoted key=v w legacy=1",
    "/bin/sh -x -c #(nop)  LABEL legacy=form with  spaces",
    "/bin/sh -x -c #(nop) WORKDIR /a/rel",
]


def test_main_dockerfile_base_stage() -> None:
    assert walk(MAIN, MAIN_ARGS, target="base") == MAIN_BASE_EXPECTED


def test_main_dockerfile_final_stage() -> None:
    assert walk(MAIN, MAIN_ARGS) == MAIN_FINAL_EXPECTED


def test_substitution_shell_and_quoting() -> None:
    assert walk(SUBST, {"M2": "two", "no_proxy": "x"}) == SUBST_EXPECTED


def test_small_observed_builds() -> None:
    # only a proxy build-arg given: "|0" prefix until an ARG is declared
    assert walk("FROM busybox\nRUN true\nARG X\nRUN echo $X\n", {"HTTP_PROXY": "http://p", "X": "1"}) == [
        "|0 /bin/sh -c true", "/bin/sh -c #(nop)  ARG X", "|1 X=1 /bin/sh -c echo $X"]
    # no build args at all: no prefix; a global ARG needs redeclaring
    assert walk("ARG V=1\nFROM busybox\nRUN echo $V\nARG V\nRUN echo $V\n") == [
        "/bin/sh -c echo $V", "/bin/sh -c #(nop)  ARG V", "|1 V=1 /bin/sh -c echo $V"]
    assert walk("FROM busybox\nRUN echo a \\\n# comment\n\n  b\nLABEL a=1 \\\n  b=2\n") == [
        "/bin/sh -c echo a   b", "/bin/sh -c #(nop)  LABEL a=1 b=2"]
    assert walk('# escape=`\nFROM busybox\nENV A=1 `\n  B=2\nLABEL c="x`"y" d=a\\\\b\nEXPOSE 80\n') == [
        "/bin/sh -c #(nop)  ENV A=1 B=2", '/bin/sh -c #(nop)  LABEL c=x"y d=a\\\\b', "/bin/sh -c #(nop)  EXPOSE 80"]
    assert walk("FROM busybox\nCMD\n") == ['/bin/sh -c #(nop)  CMD ["/bin/sh" "-c"]']
    assert walk("FROM busybox\nHEALTHCHECK --interval=1ms CMD x\n") == [
        """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "x"] "1ms" "0s" "0s" '\\x00'}"""]
    assert walk('FROM busybox\nENV A B=1\nRUN echo "${A:?err}"\n') == [
        "/bin/sh -c #(nop)  ENV A=B=1", '/bin/sh -c echo "${A:?err}"']
    assert walk("FROM busybox\nUSER a b\n") == ["/bin/sh -c #(nop)  USER a b"]


MORE = """\
FROM busybox
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc
ARG Q="x y" R='$abc'
ENV V="a b" P="80 81" U=1
LABEL e= "k"="a\\"b"
VOLUME $V
EXPOSE $P
COPY ["a b", "/q/"]
COPY --chown=$U f /c
USER $U
USER root
RUN echo hi\x20\x20\x20
   # indented comment
RUN echo a \\
    # indented in continuation
  b
CMD ["a"] x
CMD [ "a" ,\t"b" ]
ENTRYPOINT []
STOPSIGNAL 9
WORKDIR rel
WORKDIR ..//x/./y/
ENV W=/w
WORKDIR $W
ONBUILD RUN echo trig $abc
"""

MORE_EXPECTED = [
    "/bin/sh -c #(nop)  ENV abc=hello",
    "/bin/sh -c #(nop)  ENV abc=bye def=hello",  # substituted with the env before the instruction
    "/bin/sh -c #(nop)  ENV ghi=bye",
    "/bin/sh -c #(nop)  ARG Q=x y R=$abc",
    "/bin/sh -c #(nop)  ENV V=a b P=80 81 U=1",
    '/bin/sh -c #(nop)  LABEL e= k=a"b',
    "/bin/sh -c #(nop)  VOLUME [a b]",  # one word: Volumes {"a b"}
    "/bin/sh -c #(nop)  EXPOSE 80 81",  # split: ExposedPorts 80/tcp, 81/tcp
    "/bin/sh -c #(nop) COPY <hash> in /q/ ",
    "/bin/sh -c #(nop) COPY --chown=1<hash> in /c ",
    "/bin/sh -c #(nop)  USER 1",
    "/bin/sh -c #(nop)  USER root",
    "|2 Q=x y R=$abc /bin/sh -c echo hi",  # declared defaults count without --build-arg
    "|2 Q=x y R=$abc /bin/sh -c echo a   b",
    '/bin/sh -c #(nop)  CMD ["a"]',
    '/bin/sh -c #(nop)  CMD ["a" "b"]',
    "/bin/sh -c #(nop)  ENTRYPOINT []",
    "/bin/sh -c #(nop)  STOPSIGNAL 9",
    "/bin/sh -c #(nop) WORKDIR /rel",
    "/bin/sh -c #(nop) WORKDIR /x/y",
    "/bin/sh -c #(nop)  ENV W=/w",
    "/bin/sh -c #(nop) WORKDIR /w",
    "/bin/sh -c #(nop)  ONBUILD RUN echo trig $abc",
]


def test_more_observed_forms() -> None:
    assert walk(MORE) == MORE_EXPECTED


def test_go_quoting() -> None:
    assert go_quote('a"b\\c\td\x01é\u00a0') == '"a\\"b\\\\c\\td\\x01é\\u00a0"'
    assert h.go_quote_list([]) == "[]"
    assert [h.go_quote_rune(n) for n in (0, 2, 65, 39, 10, 0x7F, 233)] == [
        "'\\x00'", "'\\x02'", "'A'", "'\\''", "'\\n'", "'\\x7f'", "'é'"]
