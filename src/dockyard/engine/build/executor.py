"""The classic builder's executor: a Dockerfile's stages built step by step, with the cache.

:meth:`Builder.build` yields dockerd's JSON messages. Before the first one it parses the
Dockerfile and plans the stages (errors there are plain HTTP errors, as dockerd's); then,
for each stage up to the target (dockerd 20.10 builds them all), ``Step n/N : <line>``,
the step, `` ---> <12 hex>``. Every step makes an intermediate image, a child of the
previous one with one history entry (:mod:`.history`):

- metadata instructions (ENV, LABEL, ARG, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, SHELL,
  STOPSIGNAL, HEALTHCHECK, MAINTAINER, ONBUILD) only write a config (``empty_layer``), no
  container (:mod:`.runconfig`);
- WORKDIR, COPY and ADD work in a snapshot of the parent (:mod:`.buildcopy`);
- RUN runs a container (:mod:`.buildsteps`).

Before doing a step, the cache (:mod:`.buildcache`) is asked for an image made earlier
from the same parent by the same ``created_by`` and run config: a hit that still exists is
`` ---> Using cache``. ``nocache`` skips the lookup (the result is still recorded).
Failures end the stream with ``errorDetail`` (with the exit code of a failed RUN); nothing
of the failed step is left (its container, snapshot and lease are removed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from dockyard.engine.build import buildcopy, buildmounts, cachefrom
from dockyard.engine.build import history as h
from dockyard.engine.build import instructions as ins
from dockyard.engine.build.buildcache import BuildCache, step_key
from dockyard.engine.build.buildrequest import BuildRequest
from dockyard.engine.build.buildsteps import RunResult, StepWorker
from dockyard.engine.build.parser import parse
from dockyard.engine.build.runconfig import StageState, metadata_step, with_build_labels
from dockyard.engine.build.shellwords import Lexer
from dockyard.engine.build.stages import BuildArgs, BuildPlan, Stage, plan_build
from dockyard.engine.container_commit import Committer, child_config
from dockyard.engine.containers import ContainerService
from dockyard.engine.image_catalog import Catalog
from dockyard.engine.image_refs import is_full_id, parse_user_reference, short_id
from dockyard.engine.image_transfer import Transfers
from dockyard.engine.images_service import ImageService
from dockyard.errors import DockyardError, InvalidArgument, NotFound

log = logging.getLogger("dockyard.engine.build")

Messages = AsyncIterator[dict[str, Any]]
METADATA = (ins.EnvCommand, ins.LabelCommand, ins.ArgCommand, ins.CmdCommand, ins.EntrypointCommand,
            ins.ExposeCommand, ins.VolumeCommand, ins.UserCommand, ins.StopsignalCommand, ins.HealthcheckCommand,
            ins.ShellCommand, ins.MaintainerCommand, ins.OnbuildCommand)


def stream(text: str) -> dict[str, Any]:
    return {"stream": text}


def error_message(exc: DockyardError) -> dict[str, Any]:
    detail: dict[str, Any] = {"message": exc.message}
    code = getattr(exc, "code", 0)
    if code:
        detail["code"] = code
    return {"errorDetail": detail, "error": exc.message}


HEREDOC_ONLY = re.compile(r"""<<-?(["']?)([^"'\s]+)\1""")


def heredoc_script(command: ins.RunCommand) -> tuple[str, ...]:
    """A RUN's words with its heredocs (shell form): ``RUN <<EOF`` alone runs the body as
    the script; otherwise the shell gets the line and the bodies (it reads them itself)."""
    if not command.heredocs or not command.prepend_shell:
        return command.command
    line = " ".join(command.command).strip()
    if len(command.heredocs) == 1 and HEREDOC_ONLY.fullmatch(line):
        return (command.heredocs[0].content,)
    return (line + "\n" + "".join(doc.content + doc.name + "\n" for doc in command.heredocs),)


class Builder:
    """Builds one request's Dockerfile in an extracted context directory."""

    def __init__(self, containers: ContainerService, images: ImageService, cache: BuildCache,
                 request: BuildRequest, context_dir: str, disconnected: Callable[[], bool] = lambda: False) -> None:
        self.containers = containers
        self.images = images
        self.cache = cache
        self.request = request
        self.context_dir = context_dir
        self.disconnected = disconnected
        self.work_dir = os.path.dirname(context_dir.rstrip("/"))
        self.sv = images.supervisor
        self.committer = Committer(containers, images)
        self.cache_sources: list[cachefrom.Source] | None = None  # --cache-from images, loaded once
        self.catalog: Catalog | None = None  # the images as last listed (see _doc)
        self.worker = StepWorker(containers, self.committer)
        self.args = BuildArgs(request.build_args)
        self.results: dict[int, StageState] = {}
        self.step = 0
        self.total = 0

    # -- the whole build -----------------------------------------------------------------------
    def plan(self, dockerfile: bytes) -> BuildPlan:
        plan = plan_build(dockerfile, self.args, self.request.target)
        for name, value in sorted(self.request.labels.items()):  # ``--label``: one LABEL step each, at the end
            plan.stages[plan.target].commands.append(ins.LabelCommand(0, f"LABEL {name}={value}",
                                                                      pairs=((name, value),)))
        self.total = sum(1 + len(plan.stages[i].commands) for i in plan.needed)
        return plan

    async def build(self, dockerfile: bytes) -> Messages:
        """dockerd's messages for the build (see the module's docstring)."""
        plan = self.plan(dockerfile)
        quiet = self.request.quiet
        try:
            for warning in plan.warnings:
                if not quiet:
                    yield stream(f"[WARNING]: {warning}\n")
            state: StageState | None = None
            for index in plan.needed:  # stages the target does not need are skipped
                state = None
                async for item in self._stage(plan, plan.stages[index]):
                    if isinstance(item, StageState):
                        state = item
                    elif not quiet:
                        yield item
                assert state is not None
                self.results[index] = state
            assert state is not None
            final = state.image_id
            if not final:
                raise InvalidArgument("No image was generated. Is your Dockerfile empty?")
            unused = self.args.unused_warning()
            if unused and not quiet:
                yield stream(unused + "\n")
            yield {"aux": {"ID": final}}
            if quiet:
                yield stream(final + "\n")
            else:
                yield stream(f"Successfully built {short_id(final)}\n")
            for tag in self.request.tags:
                ref = parse_user_reference(tag)
                await self.images.tag(final, ref.familiar_name(), ref.tag or "latest")
                if not quiet:
                    yield stream(f"Successfully tagged {ref.familiar()}\n")
        except DockyardError as exc:
            yield error_message(exc)

    def _announce(self, original: str) -> dict[str, Any]:
        self.step += 1
        return stream(f"Step {self.step}/{self.total} : {original}\n")

    # -- one stage -------------------------------------------------------------------------------
    async def _stage(self, plan: BuildPlan, stage: Stage) -> AsyncIterator[Any]:
        yield self._announce(stage.from_command.original)
        stage_args = self.args.for_stage()
        if stage.base_stage is not None:
            base = self.results[stage.base_stage]
            state = StageState(base.image_id, base.doc, stage_args, name=stage.name)
        elif stage.is_scratch:
            state = StageState("", {}, stage_args, name=stage.name)
        else:
            image_id = ""
            async for item in self._base_image(stage.image, stage.platform or self.request.platform):
                if isinstance(item, str):
                    image_id = item
                else:
                    yield item
            state = StageState(image_id, await self._doc(image_id), stage_args, name=stage.name)
        yield stream(f" ---> {short_id(state.image_id) if state.image_id else ''}\n")
        triggers = list(state.config.get("OnBuild") or [])
        if triggers:
            yield stream(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            state = StageState(state.image_id, {**state.doc, "config": {**state.config, "OnBuild": None}},
                               stage_args, name=stage.name)
            for text in triggers:
                for parsed in parse(text).instructions:
                    command = ins.to_command(parsed, plan.escape)
                    async for item in self._step(plan, stage, state, command):
                        if isinstance(item, StageState):
                            state = item
                        else:
                            yield item
        for command in stage.commands:
            yield self._announce(command.original)
            async for item in self._step(plan, stage, state, command):
                if isinstance(item, StageState):
                    state = item
                else:
                    yield item
        yield state

    async def _base_image(self, name: str, platform: str) -> AsyncIterator[Any]:
        """Yields pull messages, then the image's ID (a str)."""
        if not self.request.pull:
            try:
                self.catalog = await self.images.catalog()
                yield self.catalog.lookup(name)[0].id
                return
            except NotFound:
                pass
        ref = parse_user_reference(name)
        async for message in Transfers(self.images).pull(ref, platform=platform):
            yield message
        yield (await self.images.get(str(ref))).id

    async def _doc(self, image_id: str) -> dict[str, Any]:
        """The config document of image ``image_id``. The images listed once per build answer
        for the IDs they know (a cached step's image existed when the build began); an ID
        they do not know lists them again."""
        image = self.catalog.by_id(image_id) if self.catalog is not None and is_full_id(image_id) else None
        if image is None:
            self.catalog = await self.images.catalog()
            image, _ = self.catalog.lookup(image_id)
        if image.manifest is None:
            raise NotFound(f"image {image_id} has no manifest here")
        doc: dict[str, Any] = json.loads(await self.images.resolver.blob(image.manifest.config.digest))
        return doc

    # -- one step ----------------------------------------------------------------------------------
    async def _step(self, plan: BuildPlan, stage: Stage, state: StageState, raw: ins.AnyCommand) -> AsyncIterator[Any]:
        async with contextlib.AsyncExitStack() as stack:
            async for item in self._step_in(plan, stage, state, raw, stack):
                yield item

    async def _step_in(self, plan: BuildPlan, stage: Stage, state: StageState, raw: ins.AnyCommand,
                       stack: contextlib.AsyncExitStack) -> AsyncIterator[Any]:
        lexer = Lexer(plan.escape)
        command = ins.expand(raw, lexer, state.substitution_env())
        if isinstance(command, ins.FromCommand):
            raise InvalidArgument("FROM is not allowed here")
        if isinstance(command, ins.OnbuildCommand) and command.expression.split()[0].upper() in ("ONBUILD", "FROM",
                                                                                              "MAINTAINER"):
            raise InvalidArgument(f"{command.expression.split()[0].upper()} isn't allowed as an ONBUILD trigger")
        fs_work: Callable[[str], Any] | None = None
        extra: dict[str, Any] = {}
        run_body: dict[str, Any] | None = None
        run_text = ""
        if isinstance(command, ins.WorkdirCommand):
            config, created_by = metadata_step(command, state)
            fs_work = buildcopy.make_workdir(config["WorkingDir"])
        elif isinstance(command, METADATA):
            config, created_by = metadata_step(command, state)
        elif isinstance(command, ins.CopyCommand):
            config = dict(state.config)
            source = await self._copy_source(plan, stage, command.from_) if command.from_ else None
            root = await stack.enter_async_context(buildcopy.source_root(self.worker, self.context_dir, source))
            prepared = await buildcopy.prepare_copy(command, root, state, from_image=source is not None,
                                                    temp_parent=self.work_dir, escape=plan.escape)
            stack.callback(prepared.cleanup)
            created_by = h.copy_created_by(command.keyword, prepared.hash, command.dest, state.shell,
                                           chown=command.chown)
            fs_work = prepared.apply
            if command.chmod:
                extra["chmod"] = command.chmod
        elif isinstance(command, ins.RunCommand):
            config = dict(state.config)
            words = heredoc_script(command)
            argv = h.shell_form(words, command.prepend_shell, state.shell)
            created_by = h.run_created_by(words, command.prepend_shell, state.args.history_args(state.env),
                                          state.shell)
            run_text = " ".join(argv)
            run_body = self._run_body(state, argv, command.network)
            if command.mounts:
                entries, extra["mounts"] = await buildmounts.run_mounts(
                    command.mounts, worker=self.worker, context_dir=self.context_dir,
                    data_root=self.containers.ctx.config.data_root, stack=stack,
                    source_doc=lambda ref: self._copy_source(plan, stage, ref))
                run_body["HostConfig"]["Mounts"] = entries
        else:
            raise InvalidArgument(f"unknown instruction: {type(command).__name__}")
        key = step_key(created_by, config, extra)
        hit = None if self.request.nocache else await self._cached(state.image_id, key)
        reuse = None
        if hit is None and self.request.cache_from and not self.request.nocache:
            if self.cache_sources is None:
                self.cache_sources = await cachefrom.load_sources(self.request.cache_from, self.images, self.sv)
            reuse = cachefrom.match(self.cache_sources, state.doc, created_by)
        if hit is not None:
            yield stream(" ---> Using cache\n")
            new_id, doc = hit
        else:
            holder: dict[str, Any] = {}
            make = self._maker(state, config, created_by, holder)
            if reuse is not None:  # a --cache-from image has this step: its layer, no container
                yield stream(" ---> Using cache\n")
                new_id = await self.committer.write_image(
                    state.image_id, make, reuse=None if reuse.layer is None else (reuse.layer, reuse.diff_id))
            elif run_body is not None:
                result = RunResult()
                remove = self.request.rm or self.request.forcerm
                async for item in self.worker.run(run_body, run_text, make, state.image_id, result,
                                                  remove=remove, disconnected=self.disconnected):
                    yield item
                new_id = result.image_id
            elif fs_work is not None:
                new_id = await self.worker.in_snapshot(state.image_id, state.doc, fs_work, make)
            else:
                new_id = await self.committer.write_image(state.image_id, make)
            doc = holder["doc"]
            self.cache.store(state.image_id, key, new_id)
        yield stream(f" ---> {short_id(new_id)}\n")
        yield StageState(new_id, doc, state.args, cmd_set=state.cmd_set, author=state.author, name=state.name)

    def _maker(self, state: StageState, config: Mapping[str, Any], created_by: str,
               holder: dict[str, Any]) -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
        def make(parent_doc: Mapping[str, Any], diff_id: str) -> dict[str, Any]:
            doc = child_config(parent_doc, diff_id=diff_id, run_config=config,
                               container_config={**config, "Cmd": [created_by]}, container_id="",
                               author=state.author)
            doc.pop("container", None)
            doc["history"][-1]["created_by"] = created_by
            holder["doc"] = doc
            return doc

        return make

    async def _cached(self, parent: str, key: str) -> tuple[str, dict[str, Any]] | None:
        image_id = self.cache.lookup(parent, key)
        if image_id is None:
            return None
        try:
            return image_id, await self._doc(image_id)
        except NotFound:
            self.cache.forget_step(parent, key)
            return None

    async def _copy_source(self, plan: BuildPlan, stage: Stage, reference: str) -> dict[str, Any]:
        """The config document of what ``COPY --from`` names: an earlier stage or an image."""
        index = plan.stage_index(reference, stage.index)
        if index is not None:
            if index not in self.results:
                raise InvalidArgument(f"invalid from flag value {reference}: stage {index} was not built")
            return self.results[index].doc
        image_id = ""
        async for item in self._base_image(reference, self.request.platform):
            if isinstance(item, str):
                image_id = item
        return await self._doc(image_id)

    def _run_body(self, state: StageState, argv: list[str], network: str) -> dict[str, Any]:
        config = with_build_labels(state.config, {})
        host_config: dict[str, Any] = {"NetworkMode": network or self.request.network_mode or "default",
                                       "LogConfig": {"Type": "none", "Config": {}}}
        if self.request.shm_size:
            host_config["ShmSize"] = self.request.shm_size
        if self.request.memory:
            host_config["Memory"] = self.request.memory
        if self.request.extra_hosts:
            host_config["ExtraHosts"] = list(self.request.extra_hosts)
        return {"Image": state.image_id, "Cmd": argv, "Entrypoint": [""], "Env": state.run_env(),
                "WorkingDir": state.workdir, "User": config.get("User") or "", "Labels": {},
                "AttachStdout": True, "AttachStderr": True, "HostConfig": host_config}
