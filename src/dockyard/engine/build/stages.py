"""Stages, targets and build arguments of a Dockerfile, as the classic builder scopes them.

- :func:`plan_build` parses and validates a Dockerfile and splits it at each FROM into
  :class:`Stage` objects. ARGs before the first FROM are the global ("meta") ARGs: usable
  in FROM lines only, and inside a stage after an ``ARG NAME`` that redeclares them.
  Stage names (``FROM image AS name``) are case-insensitive and unique. ``FROM <name>``
  of an earlier stage builds on that stage; ``COPY --from`` (and ``RUN --mount from=``)
  takes an earlier stage's name or index, anything else being an image.
- ``--target`` picks the last stage to build (``failed to reach build target X in
  Dockerfile``); :attr:`BuildPlan.needed` lists the stages the target depends on, in
  order (what BuildKit builds), :attr:`BuildPlan.through_target` every stage up to the
  target (what dockerd 20.10's classic builder builds).
- :class:`BuildArgs` holds the ``--build-arg`` values, tells which were used
  (:meth:`BuildArgs.unused_warning`) and hands out a :class:`StageArgs` per stage, which
  gives the environment for substitution and the arguments a RUN sees and records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.engine.build.instructions import (
    AnyCommand,
    ArgCommand,
    CopyCommand,
    FromCommand,
    RunCommand,
    to_command,
)
from dockyard.engine.build.parser import parse
from dockyard.engine.build.shellwords import Lexer
from dockyard.errors import InvalidArgument

PROXY_ARGS = frozenset({
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
})
SCRATCH = "scratch"


@dataclass
class Stage:
    """One stage: its FROM (image expanded with the global ARGs), its commands after FROM,
    and ``base_stage``, the index of the earlier stage it builds on (None for an image or
    ``scratch``)."""

    index: int
    from_command: FromCommand
    image: str
    commands: list[AnyCommand] = field(default_factory=list)
    base_stage: int | None = None
    platform: str = ""

    @property
    def name(self) -> str:
        return self.from_command.stage_name

    @property
    def is_scratch(self) -> bool:
        return self.base_stage is None and self.image.lower() == SCRATCH


@dataclass
class BuildPlan:
    """A Dockerfile's stages for one build."""

    stages: list[Stage]
    meta_args: list[ArgCommand]
    target: int
    needed: list[int]
    escape: str = "\\"
    warnings: list[str] = field(default_factory=list)

    @property
    def through_target(self) -> list[int]:
        return list(range(self.target + 1))

    def stage_index(self, reference: str, before: int) -> int | None:
        """The stage a ``--from``/``FROM`` value names, among the stages before ``before``:
        a name (case-insensitive) or, for ``--from``, an index; None for an image."""
        return resolve_stage(self.stages, reference, before)


class BuildArgs:
    """The ``--build-arg`` values of one build and the ARGs it declared."""

    def __init__(self, given: Mapping[str, str | None] | None = None) -> None:
        self.given: dict[str, str | None] = dict(given or {})
        self.meta: dict[str, str | None] = {}
        self.declared: set[str] = set()

    def value(self, name: str, default: str | None) -> str | None:
        given = self.given.get(name)
        return given if given is not None else default

    def declare_meta(self, command: ArgCommand, lexer: Lexer) -> None:
        """A global ARG (before the first FROM); its default may use earlier global ARGs."""
        for name, default in command.args:
            if default is not None:
                default = lexer.process_word(default, self.meta_env())
            self.meta[name] = self.value(name, default)
            self.declared.add(name)

    def meta_env(self) -> dict[str, str]:
        """What FROM lines may use: the global ARGs that have a value."""
        return {name: value for name, value in self.meta.items() if value is not None}

    def for_stage(self) -> StageArgs:
        return StageArgs(self)

    def unused(self) -> list[str]:
        """Given build args no ARG declared (proxy args excepted), sorted."""
        return sorted(name for name in self.given if name not in self.declared and name not in PROXY_ARGS)

    def unused_warning(self) -> str | None:
        """dockerd's message for :meth:`unused`, or None."""
        left = self.unused()
        if not left:
            return None
        return f"[Warning] One or more build-args [{' '.join(left)}] were not consumed"


class StageArgs:
    """The ARGs declared in one stage so far, in order, with their values."""

    def __init__(self, build: BuildArgs) -> None:
        self.build = build
        self.values: dict[str, str | None] = {}

    def declare(self, name: str, default: str | None) -> None:
        """``ARG name[=default]`` (default already substituted): a build arg wins over the
        default; without a default, a global ARG of that name gives its value."""
        if default is None and name in self.build.meta:
            default = self.build.meta[name]
        self.values[name] = self.build.value(name, default)
        self.build.declared.add(name)

    def allowed(self, env: Mapping[str, str]) -> dict[str, str]:
        """The args a RUN container gets: declared ones with a value and proxy args given on
        the command line, minus the names ``env`` (the stage's ENV) sets."""
        out: dict[str, str] = {}
        for name, value in self.values.items():
            if value is not None and name not in env:
                out[name] = value
        for name in PROXY_ARGS:
            given = self.build.given.get(name)
            if given is not None and name not in env and name not in out:
                out[name] = given
        return out

    def substitution_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """The environment for the builder's substitution: the args, then ENV over them."""
        return {**self.allowed(env), **env}

    def history_args(self, env: Mapping[str, str]) -> list[str] | None:
        """``KEY=value`` pairs a RUN records in ``created_by`` (sorted; proxy args only when
        declared), or None when the RUN has no build args at all (no ``|N`` prefix)."""
        allowed = self.allowed(env)
        if not allowed:
            return None
        return sorted(f"{name}={value}" for name, value in allowed.items()
                      if name in self.values or name not in PROXY_ARGS)


def resolve_stage(stages: list[Stage], reference: str, before: int) -> int | None:
    """An earlier stage named (case-insensitively) or numbered by ``reference``."""
    lowered = reference.lower()
    for stage in stages[:before]:
        if stage.name and stage.name == lowered:
            return stage.index
    if reference.isdigit():
        index = int(reference)
        if index >= before:
            raise InvalidArgument(f"invalid from flag value {reference}: index out of bounds")
        return index
    return None


def plan_build(text: str | bytes, build_args: BuildArgs | None = None, target: str = "") -> BuildPlan:
    """Parse, validate and split a Dockerfile; resolve FROM lines and pick the target."""
    dockerfile = parse(text)
    lexer = Lexer(dockerfile.escape)
    args = build_args if build_args is not None else BuildArgs()
    commands = [to_command(ins, dockerfile.escape) for ins in dockerfile.instructions]
    if not commands:
        raise InvalidArgument("failed to parse Dockerfile: file with no instructions")
    meta: list[ArgCommand] = []
    stages: list[Stage] = []
    names: set[str] = set()
    for command in commands:
        if isinstance(command, FromCommand):
            stages.append(_new_stage(command, len(stages), stages, names, args, lexer))
        elif not stages:
            if not isinstance(command, ArgCommand):
                raise InvalidArgument("no build stage in current context")
            args.declare_meta(command, lexer)
            meta.append(command)
        else:
            stages[-1].commands.append(command)
    if not stages:
        raise InvalidArgument("no build stage in current context")
    chosen = len(stages) - 1
    if target:
        found = [stage.index for stage in stages if stage.name == target.lower()]
        if not found:
            raise InvalidArgument(f"failed to reach build target {target} in Dockerfile")
        chosen = found[0]
    return BuildPlan(stages, meta, chosen, needed_stages(stages, chosen), dockerfile.escape,
                     list(dockerfile.warnings))


def _new_stage(command: FromCommand, index: int, stages: list[Stage], names: set[str], args: BuildArgs,
               lexer: Lexer) -> Stage:
    env = args.meta_env()
    try:
        image = lexer.process_word(command.image, env)
        platform = lexer.process_word(command.platform, env) if command.platform else ""
    except InvalidArgument as exc:
        raise InvalidArgument(f"dockerfile parse error line {command.line}: {exc.message}") from None
    if not image:
        raise InvalidArgument(f"dockerfile parse error line {command.line}: base name ({command.image}) "
                              "should not be blank")
    if command.stage_name:
        if command.stage_name in names:
            raise InvalidArgument(f"{command.stage_name} stage name already used")
        names.add(command.stage_name)
    base = None
    lowered = image.lower()
    for stage in stages:
        if stage.name and stage.name == lowered:
            base = stage.index
    return Stage(index, command, image, base_stage=base, platform=platform)


def stage_references(stage: Stage, stages: list[Stage]) -> set[int]:
    """The earlier stages ``stage`` uses: its base, COPY --from and RUN --mount from=. A
    reference with a variable in it may be any earlier stage."""
    found: set[int] = set()
    if stage.base_stage is not None:
        found.add(stage.base_stage)
    refs: list[str] = []
    for command in stage.commands:
        if isinstance(command, CopyCommand) and command.from_:
            refs.append(command.from_)
        elif isinstance(command, RunCommand):
            refs.extend(mount.from_ for mount in command.mounts if mount.from_)
    for ref in refs:
        if "$" in ref:
            found.update(range(stage.index))
            continue
        index = resolve_stage(stages, ref, stage.index)
        if index is not None:
            found.add(index)
    return found


def needed_stages(stages: list[Stage], target: int) -> list[int]:
    """The target and every stage it depends on, directly or not, in Dockerfile order."""
    needed = {target}
    pending = [target]
    while pending:
        for ref in stage_references(stages[pending.pop()], stages):
            if ref not in needed:
                needed.add(ref)
                pending.append(ref)
    return sorted(needed)
