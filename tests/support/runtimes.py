"""Runners for OCI runtimes with runc's command line (dockyard-runc, runc).

``Runtime(name, argv, root)`` runs ``argv --root ROOT VERB ...`` and returns a
``CompletedProcess`` with text stdout/stderr. Every container id it creates is remembered
so ``cleanup()`` can ``delete --force`` them, whatever state the test left them in.

Verbs that leave a container running (``create``, ``run --detach``, ``exec --detach``)
hand the runtime's stdio to the container, so they get files in the bundle's ``io`` dir
instead of pipes (a pipe would stay open until the container exits); the returned
``CompletedProcess`` holds what the files contained when the runtime returned.
"""

from __future__ import annotations

import builtins
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.bundles import Bundle

DEFAULT_TIMEOUT = 60.0
Proc = subprocess.CompletedProcess[str]


def dockyard_argv() -> list[str]:
    """How to start dockyard-runc: $DOCKYARD_RUNC, the venv's console script, or ``-m``."""
    override = os.environ.get("DOCKYARD_RUNC")
    if override:
        return shlex.split(override)
    script = Path(sys.prefix) / "bin" / "dockyard-runc"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "dockyard.runtime.cli"]


def runc_argv() -> list[str] | None:
    """``[/path/to/runc]`` or None when runc is not installed."""
    found = shutil.which("runc")
    return [found] if found else None


class Runtime:
    """One OCI runtime binary with its own state root."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        root: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.root = root
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.ids: builtins.list[str] = []

    def __repr__(self) -> str:
        return f"Runtime({self.name!r}, {self.argv!r}, root={str(self.root)!r})"

    # -- plumbing ---------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        return [*self.argv, "--root", str(self.root), *args]

    def call(
        self,
        *args: str,
        input: str | None = None,
        timeout: float | None = None,
        io_dir: Path | None = None,
        io_name: str = "io",
    ) -> Proc:
        """Run one runtime command. With ``io_dir`` its stdio goes to files there."""
        argv = self.command(*args)
        timeout = self.timeout if timeout is None else timeout
        if io_dir is None:
            return subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env,
                check=False,
            )
        out_path = io_dir / f"{io_name}.out"
        err_path = io_dir / f"{io_name}.err"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=timeout,
                env=self.env,
                check=False,
            )
        return subprocess.CompletedProcess(
            argv, proc.returncode, out_path.read_text(), err_path.read_text()
        )

    def track(self, cid: str) -> None:
        if cid not in self.ids:
            self.ids.append(cid)

    # -- verbs --------------------------------------------------------------------------

    def run(
        self,
        cid: str,
        bundle: Bundle,
        *flags: str,
        detach: bool = False,
        input: str | None = None,
        timeout: float | None = None,
    ) -> Proc:
        """``run --bundle B [flags] ID``; foreground unless ``detach``."""
        self.track(cid)
        args = ["run", "--bundle", str(bundle.path), *flags]
        if detach:
            return self.call(*args, "--detach", cid, io_dir=bundle.io_dir, io_name=cid)
        return self.call(*args, cid, input=input, timeout=timeout)

    def create(self, cid: str, bundle: Bundle, *flags: str, pid_file: Path | None = None) -> Proc:
        self.track(cid)
        extra = ["--pid-file", str(pid_file)] if pid_file else []
        args = ["create", "--bundle", str(bundle.path), *extra, *flags, cid]
        return self.call(*args, io_dir=bundle.io_dir, io_name=cid)

    def start(self, cid: str) -> Proc:
        return self.call("start", cid)

    def state(self, cid: str) -> Proc:
        return self.call("state", cid)

    def state_json(self, cid: str) -> dict[str, Any]:
        """The parsed ``state`` output; AssertionError if the command fails."""
        proc = self.state(cid)
        assert proc.returncode == 0, f"{self.name} state {cid}: {proc.stderr.strip()}"
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def kill(self, cid: str, signal: str = "TERM", *, all_processes: bool = False) -> Proc:
        flags = ["--all"] if all_processes else []
        return self.call("kill", *flags, cid, signal)

    def delete(self, cid: str, *, force: bool = False) -> Proc:
        return self.call("delete", *(["--force"] if force else []), cid)

    def exec(
        self,
        cid: str,
        *argv: str,
        flags: Iterable[str] = (),
        detach: bool = False,
        io_dir: Path | None = None,
        timeout: float | None = None,
    ) -> Proc:
        """``exec [flags] ID ARGV...``; with ``detach`` pass ``io_dir`` (the bundle's)."""
        args = ["exec", *flags]
        if detach:
            assert io_dir is not None, "exec --detach needs io_dir for the process's stdio"
            return self.call(*args, "--detach", cid, *argv, io_dir=io_dir, io_name=f"{cid}.exec")
        return self.call(*args, cid, *argv, timeout=timeout)

    def list(self, fmt: str = "json") -> Proc:
        return self.call("list", "--format", fmt)

    def ps(self, cid: str, fmt: str = "json") -> Proc:
        return self.call("ps", "--format", fmt, cid)

    def pause(self, cid: str) -> Proc:
        return self.call("pause", cid)

    def resume(self, cid: str) -> Proc:
        return self.call("resume", cid)

    def events_stats(self, cid: str) -> Proc:
        return self.call("events", "--stats", cid)

    def update(self, cid: str, *flags: str, resources: Mapping[str, Any] | None = None) -> Proc:
        if resources is not None:
            return self.call("update", *flags, "--resources", "-", cid, input=json.dumps(resources))
        return self.call("update", *flags, cid)

    # -- cleanup ------------------------------------------------------------------------

    def cleanup(self) -> builtins.list[str]:
        """``delete --force`` every container this runner created; returns the errors."""
        errors: builtins.list[str] = []
        for cid in self.ids:
            try:
                proc = self.delete(cid, force=True)
            except subprocess.TimeoutExpired:
                errors.append(f"{self.name} delete --force {cid}: timed out")
                continue
            gone = "does not exist" in proc.stderr or "not exist" in proc.stderr
            if proc.returncode != 0 and not gone and (self.root / cid).exists():
                errors.append(f"{self.name} delete --force {cid}: {proc.stderr.strip()}")
        self.ids.clear()
        return errors
