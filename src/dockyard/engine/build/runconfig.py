"""A stage's run config and the metadata steps that change it (pure; no I/O).

The run config is the ``config`` of an image's config document in Docker's form (``Env``,
``Cmd``, ``Entrypoint``, ``WorkingDir``, ``User``, ``Labels``, ``ExposedPorts``,
``Volumes``, ``StopSignal``, ``Healthcheck``, ``Shell``, ``OnBuild``). :func:`metadata_step`
gives a metadata instruction's new run config and its ``created_by``, as dockerd 20.10's
classic builder writes them (:mod:`.history`); :class:`StageState` is what a stage carries
from step to step besides its image.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine.build import history as h
from dockyard.engine.build import instructions as ins
from dockyard.engine.build.stages import StageArgs
from dockyard.engine.build.values import exposed_ports, parse_signal, resolve_workdir

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def env_map(config: Mapping[str, Any]) -> dict[str, str]:
    """``Env`` as a dict (later entries win)."""
    out: dict[str, str] = {}
    for entry in config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        out[name] = value
    return out


def set_env(env: Sequence[str] | None, name: str, value: str) -> list[str]:
    """``Env`` with ``name`` replaced in place, or appended."""
    out = list(env or [])
    for n, entry in enumerate(out):
        if entry.partition("=")[0] == name:
            out[n] = f"{name}={value}"
            return out
    out.append(f"{name}={value}")
    return out


@dataclass
class StageState:
    """A stage being built: its current image ("" for ``scratch``), that image's config
    document, the stage's ARGs, whether CMD was set in this stage, and its MAINTAINER."""

    image_id: str
    doc: dict[str, Any]
    args: StageArgs
    cmd_set: bool = False
    author: str = ""
    name: str = ""
    history_extra: list[str] = field(default_factory=list)

    @property
    def config(self) -> dict[str, Any]:
        config = self.doc.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def shell(self) -> tuple[str, ...]:
        shell = self.config.get("Shell")
        return tuple(shell) if shell else h.DEFAULT_SHELL

    @property
    def workdir(self) -> str:
        return str(self.config.get("WorkingDir") or "")

    @property
    def env(self) -> dict[str, str]:
        return env_map(self.config)

    def substitution_env(self) -> dict[str, str]:
        return self.args.substitution_env(self.env)

    def run_env(self) -> list[str]:
        """A RUN container's ``Env``: the image's, then the allowed build args not set by ENV."""
        env = list(self.config.get("Env") or [])
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, f"PATH={DEFAULT_PATH}")
        return env + [f"{k}={v}" for k, v in sorted(self.args.allowed(self.env).items())]


def metadata_step(command: ins.AnyCommand, state: StageState) -> tuple[dict[str, Any], str]:
    """The run config after a metadata instruction (expanded) and its ``created_by``.
    ARG declares in ``state.args``; MAINTAINER sets ``state.author``; CMD sets ``cmd_set``."""
    config = copy.deepcopy(state.config)
    shell = state.shell
    if isinstance(command, ins.EnvCommand):
        for name, value in command.pairs:
            config["Env"] = set_env(config.get("Env"), name, value)
        return config, h.nop(h.env_text("ENV", command.pairs), shell)
    if isinstance(command, ins.LabelCommand):
        labels = dict(config.get("Labels") or {})
        labels.update(dict(command.pairs))
        config["Labels"] = labels
        return config, h.nop(h.env_text("LABEL", command.pairs), shell)
    if isinstance(command, ins.ArgCommand):
        for name, default in command.args:
            state.args.declare(name, default)
        return config, h.nop(h.arg_text(command.args), shell)
    if isinstance(command, (ins.CmdCommand, ins.EntrypointCommand)):
        final = h.shell_form(command.command, command.prepend_shell, shell)
        if isinstance(command, ins.CmdCommand):
            config["Cmd"] = final
            state.cmd_set = True
            return config, h.nop(h.command_text("CMD", final), shell)
        config["Entrypoint"] = final
        if not state.cmd_set:
            config["Cmd"] = None
        return config, h.nop(h.command_text("ENTRYPOINT", final), shell)
    if isinstance(command, ins.ExposeCommand):
        ports = dict(config.get("ExposedPorts") or {})
        for port in exposed_ports(command.ports):
            ports[port] = {}
        config["ExposedPorts"] = ports
        return config, h.nop(h.expose_text(command.ports), shell)
    if isinstance(command, ins.VolumeCommand):
        volumes = dict(config.get("Volumes") or {})
        for path in command.paths:
            volumes[path] = {}
        config["Volumes"] = volumes
        return config, h.nop(h.volume_text(command.paths), shell)
    if isinstance(command, ins.UserCommand):
        config["User"] = command.user
        return config, h.nop(f"USER {command.user}", shell)
    if isinstance(command, ins.StopsignalCommand):
        parse_signal(command.signal)
        config["StopSignal"] = command.signal
        return config, h.nop(f"STOPSIGNAL {command.signal}", shell)
    if isinstance(command, ins.HealthcheckCommand):
        check: dict[str, Any] = {"Test": list(command.test)}
        durations = (("Interval", command.interval), ("Timeout", command.timeout),
                     ("StartPeriod", command.start_period), ("StartInterval", command.start_interval),
                     ("Retries", command.retries))
        for field_name, amount in durations:
            if amount:
                check[field_name] = amount
        config["Healthcheck"] = check
        text = h.healthcheck_text(command.test, command.interval, command.timeout, command.start_period,
                                  command.retries)
        return config, h.nop(text, shell)
    if isinstance(command, ins.ShellCommand):
        config["Shell"] = list(command.shell)
        return config, h.nop(h.shell_text(command.shell), command.shell)
    if isinstance(command, ins.MaintainerCommand):
        state.author = command.maintainer
        return config, h.nop(f"MAINTAINER {command.maintainer}", shell)
    if isinstance(command, ins.OnbuildCommand):
        config["OnBuild"] = [*(config.get("OnBuild") or []), command.expression]
        return config, h.nop(f"ONBUILD {command.expression}", shell)
    if isinstance(command, ins.WorkdirCommand):
        config["WorkingDir"] = resolve_workdir(state.workdir, command.path)
        return config, h.workdir_created_by(config["WorkingDir"], shell)
    raise TypeError(f"not a metadata instruction: {type(command).__name__}")


def with_build_labels(config: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with the build's ``labels`` (``docker build --label``) added."""
    out = copy.deepcopy(dict(config))
    if labels:
        out["Labels"] = {**(out.get("Labels") or {}), **labels}
    return out
