"""Typed instructions: forms, flags, argument counts, durations, mounts, substitution.

Error texts marked "dockerd" are the ones dockerd 20.10 printed for the same line.
"""

from __future__ import annotations

import pytest

from dockyard.engine.build import instructions as ins
from dockyard.engine.build.buildflags import Mount, format_duration, parse_duration, parse_mount, parse_size
from dockyard.engine.build.parser import parse
from dockyard.engine.build.shellwords import Lexer
from dockyard.engine.build.values import exposed_ports, parse_signal, resolve_workdir
from dockyard.errors import InvalidArgument


def one(text: str, escape: str = "\\") -> ins.AnyCommand:
    dockerfile = parse(text)
    return ins.to_command(dockerfile.instructions[-1], dockerfile.escape)


def fails(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        one(text)
    assert caught.value.message == message


def test_from() -> None:
    assert one("FROM busybox") == ins.FromCommand(1, "FROM busybox", image="busybox")
    command = one("FROM --platform=linux/arm64 ${IMG}:1 AS Build")
    assert isinstance(command, ins.FromCommand)
    assert (command.image, command.stage_name, command.platform) == ("${IMG}:1", "build", "linux/arm64")
    fails("FROM busybox AS", "dockerfile parse error line 1: FROM requires either one or three arguments")  # dockerd
    fails("FROM a b c", "dockerfile parse error line 1: FROM requires either one or three arguments")
    fails("FROM busybox AS 1x", 'dockerfile parse error line 1: invalid name for build stage: "1x", '
          "name can't start with a number or contain symbols")  # dockerd


def test_run_forms_mounts_network() -> None:
    assert one("RUN echo $HOME") == ins.RunCommand(1, "RUN echo $HOME", command=("echo $HOME",), prepend_shell=True)
    command = one('RUN --network=none --mount=type=cache,target=/root/.cache,sharing=locked ["make", "all"]')
    assert isinstance(command, ins.RunCommand)
    assert command.command == ("make", "all") and not command.prepend_shell and command.network == "none"
    assert command.mounts == (Mount(type="cache", target="/root/.cache", sharing="locked", id="/root/.cache"),)
    heredoc = one("RUN <<EOF\necho hi\nEOF")
    assert isinstance(heredoc, ins.RunCommand) and heredoc.heredocs[0].content == "echo hi\n"
    assert one("RUN") == ins.RunCommand(1, "RUN", command=(), prepend_shell=True)  # dockerd ran "/bin/sh -c"
    fails("RUN --network=bridge x", "dockerfile parse error line 1: unsupported network mode: bridge")
    fails("RUN --bogus x", "dockerfile parse error line 1: Unknown flag: bogus")


def test_mount_specs() -> None:
    assert parse_mount("target=/src,source=sub,from=build,rw") == Mount(target="/src", source="sub", from_="build")
    assert parse_mount("type=bind,dst=/a,ro").readonly
    assert parse_mount("type=tmpfs,target=/t,size=64m").size == 64 * 1024 * 1024
    secret = parse_mount("type=secret,id=aws,target=/root/.aws/credentials,required=true,mode=0400,uid=1")
    assert (secret.type, secret.id, secret.required, secret.mode, secret.uid) == ("secret", "aws", True, 0o400, 1)
    assert parse_mount("type=ssh").type == "ssh"
    assert parse_mount('type=cache,"target=/a,b",id=x').target == "/a,b"  # CSV quoting
    for bad, message in [("type=nfs,target=/a", "unsupported mount type 'nfs'"),
                         ("type=cache", "mount type cache requires a target"),
                         ("type=cache,target=/a,sharing=all", "unsupported sharing value 'all'"),
                         ("target=/a,color=red", "unexpected key 'color' in 'color=red'"),
                         ("type=secret", "secret mount requires an id or a target")]:
        with pytest.raises(InvalidArgument, match=message):
            parse_mount(bad)
    assert parse_size("512k") == 512 * 1024 and parse_size("100") == 100


def test_cmd_entrypoint_empty_allowed() -> None:
    assert one("CMD") == ins.CmdCommand(1, "CMD", command=(), prepend_shell=True)  # dockerd accepts it
    assert one('ENTRYPOINT ["echo", "a\\"b"]') == ins.EntrypointCommand(
        1, 'ENTRYPOINT ["echo", "a\\"b"]', command=("echo", 'a"b'), prepend_shell=False)


def test_copy_add() -> None:
    command = one("COPY --from=build --chown=1:2 --chmod=755 --link a b* /dst/")
    assert isinstance(command, ins.CopyCommand)
    assert (command.keyword, command.sources, command.dest, command.from_, command.chown, command.chmod,
            command.link) == ("COPY", ("a", "b*"), "/dst/", "build", "1:2", "755", True)
    command = one('ADD ["a b", "/json dst/"]')
    assert isinstance(command, ins.CopyCommand) and command.sources == ("a b",) and command.json_form
    heredoc = one("COPY <<EOF /etc/x\nbody\nEOF")
    assert isinstance(heredoc, ins.CopyCommand) and heredoc.sources == ("<<EOF",) and heredoc.heredocs
    fails("COPY a", "dockerfile parse error line 1: COPY requires at least two arguments, but only one was "
          "provided. Destination could not be determined")  # dockerd
    fails("ADD", "dockerfile parse error line 1: ADD requires at least two arguments, but only one was provided. "
          "Destination could not be determined")  # dockerd (COPY with no argument)
    fails("COPY --bogus=1 a b", "dockerfile parse error line 1: Unknown flag: bogus")  # dockerd
    fails("COPY --chown=1 --chown=2 a b", "dockerfile parse error line 1: Duplicate flag specified: chown")  # dockerd
    fails("COPY --from a b", "dockerfile parse error line 1: Missing a value on flag: from")  # dockerd
    fails("COPY --link=maybe a b", "dockerfile parse error line 1: expecting boolean value for flag link, not: maybe")
    fails("ADD --from=x a b", "dockerfile parse error line 1: Unknown flag: from")


def test_env_label_forms() -> None:
    command = one('ENV A=b C="d e" F=g\\ h')
    assert isinstance(command, ins.EnvCommand) and command.pairs == (("A", "b"), ("C", '"d e"'), ("F", "g\\ h"))
    assert one("ENV LEG legacy value") == ins.EnvCommand(1, "ENV LEG legacy value", pairs=(("LEG", "legacy value"),))
    legacy = one("ENV A B=1")  # dockerd: A is "B=1"
    assert isinstance(legacy, ins.EnvCommand) and legacy.pairs == (("A", "B=1"),)
    label = one('LABEL "z w"=v x=y')
    assert isinstance(label, ins.LabelCommand) and label.pairs == (('"z w"', "v"), ("x", "y"))
    fails("ENV", "dockerfile parse error line 1: ENV requires at least one argument")  # dockerd
    fails("ENV A", "dockerfile parse error line 1: ENV must have two arguments")  # dockerd, without line
    fails("LABEL a", "dockerfile parse error line 1: LABEL must have two arguments")  # dockerd, without line
    fails("ENV a=1 b", 'dockerfile parse error line 1: Syntax error - can\'t find = in "b". '
          "Must be of the form: name=value")  # dockerd, without line


def test_arg() -> None:
    assert one("ARG A B=1 C=") == ins.ArgCommand(1, "ARG A B=1 C=", args=(("A", None), ("B", "1"), ("C", "")))
    fails("ARG", "dockerfile parse error line 1: ARG requires at least one argument")  # dockerd
    fails("ARG =x", "dockerfile parse error line 1: ARG names can not be blank")  # dockerd
    fails("ENV =x", "dockerfile parse error line 1: ENV names can not be blank")  # dockerd
    fails("LABEL =x", "dockerfile parse error line 1: LABEL names can not be blank")  # dockerd
    fails("ENV --foo=1 A=1", "dockerfile parse error line 1: Unknown flag: foo")  # dockerd
    fails("ENTRYPOINT --foo x", "dockerfile parse error line 1: Unknown flag: foo")  # dockerd


def test_single_argument_instructions() -> None:
    assert one("USER a b") == ins.UserCommand(1, "USER a b", user="a b")  # dockerd accepts it
    assert one("WORKDIR /a b") == ins.WorkdirCommand(1, "WORKDIR /a b", path="/a b")
    assert one("MAINTAINER someone <a@b>") == ins.MaintainerCommand(1, "MAINTAINER someone <a@b>",
                                                                    maintainer="someone <a@b>")
    fails("WORKDIR", "dockerfile parse error line 1: WORKDIR requires exactly one argument")  # dockerd
    fails("STOPSIGNAL", "dockerfile parse error line 1: STOPSIGNAL requires exactly one argument")  # dockerd
    fails("USER", "dockerfile parse error line 1: USER requires exactly one argument")


def test_expose_volume_shell() -> None:
    assert one("EXPOSE 80 443/udp 8000-8001") == ins.ExposeCommand(1, "EXPOSE 80 443/udp 8000-8001",
                                                                    ports=("80", "443/udp", "8000-8001"))
    assert one("VOLUME /a /b") == ins.VolumeCommand(1, "VOLUME /a /b", paths=("/a", "/b"))
    assert one('VOLUME ["/a b"]') == ins.VolumeCommand(1, 'VOLUME ["/a b"]', paths=("/a b",), json_form=True)
    assert one('SHELL ["/bin/bash", "-c"]') == ins.ShellCommand(1, 'SHELL ["/bin/bash", "-c"]',
                                                                 shell=("/bin/bash", "-c"))
    fails("SHELL /bin/sh -c", "dockerfile parse error line 1: SHELL requires the arguments to be in JSON form")
    fails("SHELL []", "dockerfile parse error line 1: SHELL requires at least one argument")
    fails('VOLUME [""]', "dockerfile parse error line 1: VOLUME specified can not be an empty string")
    fails("EXPOSE", "dockerfile parse error line 1: EXPOSE requires at least one argument")  # dockerd
    fails("VOLUME", "dockerfile parse error line 1: VOLUME requires at least one argument")  # dockerd
    fails("LABEL", "dockerfile parse error line 1: LABEL requires at least one argument")  # dockerd
    fails("MAINTAINER", "dockerfile parse error line 1: MAINTAINER requires exactly one argument")  # dockerd


def test_healthcheck() -> None:
    command = one("HEALTHCHECK --interval=5s --timeout=3s --start-period=1m30s --start-interval=1s --retries=2 "
                  "CMD curl -f http://localhost/")
    assert isinstance(command, ins.HealthcheckCommand)
    assert command.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert (command.interval, command.timeout, command.start_period, command.start_interval, command.retries) == (
        5 * 10**9, 3 * 10**9, 90 * 10**9, 10**9, 2)
    exec_form = one('HEALTHCHECK CMD ["echo", "x"]')
    assert isinstance(exec_form, ins.HealthcheckCommand) and exec_form.test == ("CMD", "echo", "x")
    none = one("healthcheck none")
    assert isinstance(none, ins.HealthcheckCommand) and none.test == ("NONE",)
    fails("HEALTHCHECK FOO x", 'dockerfile parse error line 1: Unknown type "FOO" in HEALTHCHECK (try CMD)')  # dockerd
    fails("HEALTHCHECK NONE x", "dockerfile parse error line 1: HEALTHCHECK NONE takes no arguments")  # dockerd
    fails("HEALTHCHECK --interval=1x CMD true",
          'dockerfile parse error line 1: time: unknown unit "x" in duration "1x"')  # dockerd
    fails("HEALTHCHECK CMD", "dockerfile parse error line 1: Missing command after HEALTHCHECK CMD")
    fails("HEALTHCHECK --timeout=10us CMD x", 'dockerfile parse error line 1: Interval "timeout" cannot be less '
          "than 1ms")
    fails("HEALTHCHECK --retries=-1 CMD x", "dockerfile parse error line 1: --retries must be at least 1 (not -1)")
    fails("HEALTHCHECK --retries=x CMD x",
          'dockerfile parse error line 1: strconv.ParseInt: parsing "x": invalid syntax')  # dockerd
    fails("HEALTHCHECK --interval=-1s CMD x",
          'dockerfile parse error line 1: Interval "interval" cannot be less than 1ms')  # dockerd
    fails("HEALTHCHECK --interval CMD x", "dockerfile parse error line 1: Missing a value on flag: interval")
    fails("HEALTHCHECK", "dockerfile parse error line 1: HEALTHCHECK requires at least one argument")  # dockerd


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("0", 0), ("5s", 5 * 10**9), ("1m30s", 90 * 10**9), ("1.5h", 5400 * 10**9), ("300ms", 3 * 10**8),
    ("2us", 2000), ("2µs", 2000), ("7ns", 7), ("-1.5s", -15 * 10**8), (".5s", 5 * 10**8), ("1h2m3s4ms", 3723004000000),
])
def test_go_durations(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize(("text", "message"), [
    ("", 'time: invalid duration ""'), ("1", 'time: missing unit in duration "1"'),
    ("1x", 'time: unknown unit "x" in duration "1x"'), ("s", 'time: invalid duration "s"'),
    ("1.s.", 'time: invalid duration "1.s."'),
])
def test_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        parse_duration(text)


@pytest.mark.parametrize(("nanoseconds", "text"), [
    (0, "0s"), (5 * 10**9, "5s"), (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (10**6, "1ms"),
    (1500000, "1.5ms"), (2000, "2µs"), (7, "7ns"), (1500 * 10**6, "1.5s"), (-(10**9), "-1s"),
])
def test_format_duration(nanoseconds: int, text: str) -> None:
    assert format_duration(nanoseconds) == text


def test_onbuild() -> None:
    command = one("ONBUILD copy . /x")
    assert isinstance(command, ins.OnbuildCommand) and command.expression == "copy . /x"
    assert isinstance(command.trigger, ins.CopyCommand) and command.trigger.dest == "/x"
    fails("ONBUILD ONBUILD RUN x",
          "dockerfile parse error line 1: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")  # dockerd
    fails("ONBUILD FROM x", "dockerfile parse error line 1: FROM isn't allowed as an ONBUILD trigger")  # dockerd
    fails("ONBUILD MAINTAINER x", "dockerfile parse error line 1: MAINTAINER isn't allowed as an ONBUILD trigger")
    fails("ONBUILD COPY a", "dockerfile parse error line 1: COPY requires at least two arguments, but only one "
          "was provided. Destination could not be determined")
    fails("ONBUILD", "dockerfile parse error line 1: ONBUILD requires at least one argument")


def test_expand() -> None:
    env = {"A": "a", "P": "80 81"}
    lexer = Lexer()
    copy = ins.expand(one('COPY --chown=$A --from=${A} ["$A b", "${A}/"]'), lexer, env)
    assert isinstance(copy, ins.CopyCommand)
    assert (copy.sources, copy.dest, copy.chown, copy.from_) == (("a b",), "a/", "a", "a")
    env_command = ins.expand(one('ENV X="$A $A" $A=1'), lexer, env)
    assert isinstance(env_command, ins.EnvCommand) and env_command.pairs == (("X", "a a"), ("a", "1"))
    expose = ins.expand(one("EXPOSE $P 90"), lexer, env)
    assert isinstance(expose, ins.ExposeCommand) and expose.ports == ("80", "81", "90")
    workdir = ins.expand(one("WORKDIR $A/rel"), lexer, env)
    assert isinstance(workdir, ins.WorkdirCommand) and workdir.path == "a/rel"
    # dockerd: the shell form splits at blanks first, quotes do not group
    with pytest.raises(InvalidArgument, match=r'^dockerfile parse error line 1: failed to process "\\"a": '
                       "unexpected end of statement while looking for matching double-quote$"):
        ins.expand(one('COPY "a b" /q/'), lexer, env)
    run = one("RUN echo $A")
    assert ins.expand(run, lexer, env) is run  # RUN is the shell's job
    with pytest.raises(InvalidArgument, match=r"^dockerfile parse error line 1: failed to process .*: A: no$"):
        ins.expand(one("USER ${A:?no}"), lexer, {})


def test_exposed_ports() -> None:
    # dockerd: EXPOSE 80 443/udp 8000-8001 -> 443/udp, 80/tcp, 8000/tcp, 8001/tcp
    assert exposed_ports(["80", "443/udp", "8000-8001", "80/tcp", "5/SCTP"]) == [
        "80/tcp", "443/udp", "8000/tcp", "8001/tcp", "5/sctp"]
    for spec, message in [("abc", "Invalid containerPort: abc"), ("80/xyz", "Invalid proto: xyz"),  # dockerd
                          ("70000", "Invalid containerPort: 70000"),
                          ("9-8", "Invalid range specified for the Port: 9-8")]:
        with pytest.raises(InvalidArgument, match=f"^{message}$"):
            exposed_ports([spec])


def test_stop_signals() -> None:
    assert [parse_signal(s) for s in ("SIGKILL", "kill", "9", "SIGRTMIN+3", "sigterm")] == [9, 9, 9, 37, 15]
    for bad in ("SIGFOO", "0", "65"):
        with pytest.raises(InvalidArgument, match=f"^Invalid signal: {bad}$"):  # dockerd: Invalid signal: SIGFOO
            parse_signal(bad)


def test_resolve_workdir() -> None:
    # dockerd: WORKDIR rel (none before) -> /rel; WORKDIR ..//x/./y/ -> /x/y
    assert resolve_workdir("", "rel") == "/rel"
    assert resolve_workdir("/rel", "..//x/./y/") == "/x/y"
    assert resolve_workdir("/work", "sub") == "/work/sub"
    assert resolve_workdir("/x", "//a//b") == "/a/b"
    assert resolve_workdir("/a", "../../..") == "/"
