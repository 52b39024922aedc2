"""Typed, validated instructions from parsed ones (:mod:`dockyard.engine.build.parser`).

:func:`to_command` checks one :class:`~dockyard.engine.build.parser.Instruction` (argument
counts, flags, forms) and returns its command dataclass. Words stay as written (quotes and
variables in place) in the instructions the builder substitutes; :func:`expand` returns the
command with its words substituted (:class:`~dockyard.engine.build.shellwords.Lexer`) against
an environment, for ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and
ARG (FROM is expanded by the stage logic with the build's global ARGs).

As in dockerd, the shell form of COPY, ADD, VOLUME and EXPOSE splits at blanks only, before
substitution: quotes do not group (``COPY "a b" /d`` fails to process ``"a``; the JSON form
takes such names). ENV, LABEL and ARG split at blanks outside quotes.

Errors raise :class:`~dockyard.errors.InvalidArgument` with Docker's wording and the line:
``dockerfile parse error line 2: COPY requires at least two arguments, but only one was
provided. Destination could not be determined``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dockyard.engine.build.buildflags import FlagKind, Mount, check_flags, parse_mount
from dockyard.engine.build.parser import Heredoc, Instruction, parse_error, parse_line
from dockyard.engine.build.shellwords import Lexer, split_raw_words
from dockyard.engine.build.values import check_interval, parse_name_values
from dockyard.errors import InvalidArgument

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")


@dataclass(frozen=True)
class Command:
    """What every command has: the line it starts on and its text as written."""

    line: int
    original: str


@dataclass(frozen=True)
class FromCommand(Command):
    image: str  # as written: expanded later with the global ARGs
    stage_name: str = ""  # lower-cased; "" without AS
    platform: str = ""


@dataclass(frozen=True)
class RunCommand(Command):
    command: tuple[str, ...]  # shell form: one string; exec form: the JSON array
    prepend_shell: bool
    mounts: tuple[Mount, ...] = ()
    network: str = ""
    security: str = ""
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True)
class CmdCommand(Command):
    command: tuple[str, ...]
    prepend_shell: bool


@dataclass(frozen=True)
class EntrypointCommand(Command):
    command: tuple[str, ...]
    prepend_shell: bool


@dataclass(frozen=True)
class CopyCommand(Command):
    """COPY or ADD (``keyword``); sources may name heredocs (``<<EOF``), see ``heredocs``."""

    keyword: str
    sources: tuple[str, ...]
    dest: str
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    checksum: str = ""
    keep_git_dir: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    json_form: bool = False


@dataclass(frozen=True)
class EnvCommand(Command):
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LabelCommand(Command):
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ArgCommand(Command):
    args: tuple[tuple[str, str | None], ...]  # (name, default or None)


@dataclass(frozen=True)
class ExposeCommand(Command):
    ports: tuple[str, ...]


@dataclass(frozen=True)
class VolumeCommand(Command):
    paths: tuple[str, ...]
    json_form: bool = False


@dataclass(frozen=True)
class UserCommand(Command):
    user: str


@dataclass(frozen=True)
class WorkdirCommand(Command):
    path: str


@dataclass(frozen=True)
class StopsignalCommand(Command):
    signal: str


@dataclass(frozen=True)
class HealthcheckCommand(Command):
    """``test`` is ``("NONE",)``, ``("CMD", args...)`` or ``("CMD-SHELL", text)``; durations
    in nanoseconds, 0 meaning "inherit"."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class ShellCommand(Command):
    shell: tuple[str, ...]


@dataclass(frozen=True)
class OnbuildCommand(Command):
    expression: str  # the trigger as written after ONBUILD ("RUN echo hi")
    trigger: Command = field(compare=False, default=Command(0, ""))


@dataclass(frozen=True)
class MaintainerCommand(Command):
    maintainer: str


AnyCommand = (FromCommand | RunCommand | CmdCommand | EntrypointCommand | CopyCommand | EnvCommand
              | LabelCommand | ArgCommand | ExposeCommand | VolumeCommand | UserCommand | WorkdirCommand
              | StopsignalCommand | HealthcheckCommand | ShellCommand | OnbuildCommand | MaintainerCommand)

_FLAGS: dict[str, dict[str, FlagKind]] = {
    "FROM": {"platform": FlagKind.STRING},
    "RUN": {"mount": FlagKind.LIST, "network": FlagKind.STRING, "security": FlagKind.STRING},
    "COPY": {"from": FlagKind.STRING, "chown": FlagKind.STRING, "chmod": FlagKind.STRING, "link": FlagKind.BOOL,
             "parents": FlagKind.BOOL, "exclude": FlagKind.LIST},
    "ADD": {"chown": FlagKind.STRING, "chmod": FlagKind.STRING, "link": FlagKind.BOOL, "checksum": FlagKind.STRING,
            "keep-git-dir": FlagKind.BOOL, "exclude": FlagKind.LIST},
    "HEALTHCHECK": {"interval": FlagKind.STRING, "timeout": FlagKind.STRING, "start-period": FlagKind.STRING,
                    "start-interval": FlagKind.STRING, "retries": FlagKind.STRING},
}
NETWORK_MODES = ("default", "none", "host")


def to_command(instruction: Instruction, escape: str = "\\") -> AnyCommand:
    """The typed command of one parsed instruction; errors carry its line."""
    try:
        return _build(instruction, escape)
    except InvalidArgument as exc:
        if exc.message.startswith("dockerfile parse error"):
            raise
        raise parse_error(instruction.line, exc.message) from None


def _build(ins: Instruction, escape: str) -> AnyCommand:
    keyword = ins.keyword
    flags = check_flags(ins.flags, _FLAGS.get(keyword, {}))
    base = (ins.line, ins.original)
    if keyword == "FROM":
        words = ins.rest.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise InvalidArgument("FROM requires either one or three arguments")
        name = words[2].lower() if len(words) == 3 else ""
        if name and not _STAGE_NAME.match(name):
            raise InvalidArgument(f'invalid name for build stage: "{words[2]}", '
                                  "name can't start with a number or contain symbols")
        return FromCommand(*base, image=words[0], stage_name=name, platform=_str(flags["platform"]))
    if keyword == "RUN":
        command, shell = _command(ins)  # an empty RUN runs the bare shell, as in dockerd
        network = _str(flags["network"])
        if network and network not in NETWORK_MODES:
            raise InvalidArgument(f"unsupported network mode: {network}")
        security = _str(flags["security"])
        if security and security not in ("sandbox", "insecure"):
            raise InvalidArgument(f"unsupported security mode: {security}")
        mounts = tuple(parse_mount(value) for value in _list(flags["mount"]))
        return RunCommand(*base, command=command, prepend_shell=shell, mounts=mounts, network=network,
                          security=security, heredocs=ins.heredocs)
    if keyword in ("CMD", "ENTRYPOINT"):
        command, shell = _command(ins)
        if keyword == "CMD":
            return CmdCommand(*base, command=command, prepend_shell=shell)
        return EntrypointCommand(*base, command=command, prepend_shell=shell)
    if keyword in ("COPY", "ADD"):
        return _copy(ins, flags)
    if keyword in ("ENV", "LABEL"):
        pairs = parse_name_values(ins.rest, keyword, escape)
        return EnvCommand(*base, pairs=pairs) if keyword == "ENV" else LabelCommand(*base, pairs=pairs)
    if keyword == "ARG":
        words = split_raw_words(ins.rest, escape)
        if not words:
            raise InvalidArgument("ARG requires at least one argument")
        args: list[tuple[str, str | None]] = []
        for word in words:
            name, eq, default = word.partition("=")
            if not name:
                raise InvalidArgument("ARG names can not be blank")
            args.append((name, default if eq else None))
        return ArgCommand(*base, args=tuple(args))
    if keyword == "EXPOSE":
        ports = ins.rest.split()
        if not ports:
            raise InvalidArgument("EXPOSE requires at least one argument")
        return ExposeCommand(*base, ports=tuple(ports))
    if keyword == "VOLUME":
        paths = ins.json_args if ins.json_args is not None else tuple(ins.rest.split())
        if not paths:
            raise InvalidArgument("VOLUME requires at least one argument")
        if any(not path.strip() for path in paths):
            raise InvalidArgument("VOLUME specified can not be an empty string")
        return VolumeCommand(*base, paths=tuple(paths), json_form=ins.json_args is not None)
    if keyword in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER"):
        return _single(ins, base)
    if keyword == "HEALTHCHECK":
        return _healthcheck(ins, flags, base)
    if keyword == "SHELL":
        if ins.json_args is None:
            raise InvalidArgument("SHELL requires the arguments to be in JSON form")
        if not ins.json_args:
            raise InvalidArgument("SHELL requires at least one argument")
        return ShellCommand(*base, shell=ins.json_args)
    if keyword == "ONBUILD":
        return _onbuild(ins, base, escape)
    raise InvalidArgument(f"unknown instruction: {keyword}")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _command(ins: Instruction) -> tuple[tuple[str, ...], bool]:
    if ins.json_args is not None:
        return ins.json_args, False
    return ((ins.rest,) if ins.rest else ()), True


def _copy(ins: Instruction, flags: Mapping[str, object]) -> CopyCommand:
    words = list(ins.json_args) if ins.json_args is not None else ins.rest.split()
    if len(words) < 2:
        raise InvalidArgument(f"{ins.keyword} requires at least two arguments, but only one was provided. "
                              "Destination could not be determined")
    return CopyCommand(
        ins.line, ins.original, keyword=ins.keyword, sources=tuple(words[:-1]), dest=words[-1],
        from_=_str(flags.get("from")), chown=_str(flags.get("chown")), chmod=_str(flags.get("chmod")),
        link=bool(flags.get("link")), checksum=_str(flags.get("checksum")),
        keep_git_dir=bool(flags.get("keep-git-dir")), parents=bool(flags.get("parents")),
        excludes=tuple(_list(flags.get("exclude"))), heredocs=ins.heredocs, json_form=ins.json_args is not None)


def _single(ins: Instruction, base: tuple[int, str]) -> AnyCommand:
    value = ins.rest.strip()
    if not value:
        raise InvalidArgument(f"{ins.keyword} requires exactly one argument")
    if ins.keyword == "USER":
        return UserCommand(*base, user=value)
    if ins.keyword == "WORKDIR":
        return WorkdirCommand(*base, path=value)
    if ins.keyword == "STOPSIGNAL":
        return StopsignalCommand(*base, signal=value)
    return MaintainerCommand(*base, maintainer=value)


def _healthcheck(ins: Instruction, flags: Mapping[str, object], base: tuple[int, str]) -> HealthcheckCommand:
    parts = ins.rest.split(None, 1)
    if not parts:
        raise InvalidArgument("HEALTHCHECK requires at least one argument")
    kind = parts[0].upper()
    rest = parts[1].strip() if len(parts) > 1 else ""
    if kind == "NONE":
        if rest:
            raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
        return HealthcheckCommand(*base, test=("NONE",))
    if kind != "CMD":
        raise InvalidArgument(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not rest:
        raise InvalidArgument("Missing command after HEALTHCHECK CMD")
    sub = parse_line(f"CMD {rest}", ins.line)
    test = ("CMD", *sub.json_args) if sub.json_args is not None else ("CMD-SHELL", rest)
    durations = {name: check_interval(name, _str(flags[name])) for name in
                 ("interval", "timeout", "start-period", "start-interval")}
    retries = 0
    if flags["retries"]:
        text = _str(flags["retries"])
        try:
            retries = int(text)
        except ValueError:
            raise InvalidArgument(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
        if retries < 1:
            raise InvalidArgument(f"--retries must be at least 1 (not {retries})")
    return HealthcheckCommand(*base, test=test, interval=durations["interval"], timeout=durations["timeout"],
                              start_period=durations["start-period"],
                              start_interval=durations["start-interval"], retries=retries)


def _onbuild(ins: Instruction, base: tuple[int, str], escape: str) -> OnbuildCommand:
    expression = ins.rest.strip()
    if not expression:
        raise InvalidArgument("ONBUILD requires at least one argument")
    sub = parse_line(expression, ins.line, escape)
    if sub.keyword == "ONBUILD":
        raise InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if sub.keyword in ("FROM", "MAINTAINER"):
        raise InvalidArgument(f"{sub.keyword} isn't allowed as an ONBUILD trigger")
    trigger = _build(sub, escape)
    return OnbuildCommand(*base, expression=sub.original, trigger=trigger)


def expand(command: AnyCommand, lexer: Lexer, env: Mapping[str, str]) -> AnyCommand:
    """The command with the builder's substitution applied (a no-op for the commands the
    builder leaves to the shell)."""
    def word(text: str) -> str:
        return lexer.process_word(text, env)

    try:
        if isinstance(command, CopyCommand):
            return replace(command, sources=tuple(word(s) for s in command.sources), dest=word(command.dest),
                           chown=word(command.chown), chmod=word(command.chmod), from_=word(command.from_))
        if isinstance(command, (EnvCommand, LabelCommand)):
            return replace(command, pairs=tuple((word(k), word(v)) for k, v in command.pairs))
        if isinstance(command, ArgCommand):
            return replace(command, args=tuple((word(k), None if v is None else word(v)) for k, v in command.args))
        if isinstance(command, ExposeCommand):
            return replace(command, ports=tuple(p for raw in command.ports for p in lexer.process_words(raw, env)))
        if isinstance(command, VolumeCommand):
            return replace(command, paths=tuple(word(p) for p in command.paths))
        if isinstance(command, UserCommand):
            return replace(command, user=word(command.user))
        if isinstance(command, WorkdirCommand):
            return replace(command, path=word(command.path))
        if isinstance(command, StopsignalCommand):
            return replace(command, signal=word(command.signal))
    except InvalidArgument as exc:
        raise parse_error(command.line, exc.message) from None
    return command
