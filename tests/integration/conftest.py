"""Integration fixtures: busybox bundles, runtime runners, probes and the host-leak check.

- ``make_bundle(args, overrides=None, *, writable=False, extra_mounts=(), **config_keys)``
  -> ``Bundle`` (see tests/support/bundles.py); the busybox rootfs is built once per
  session and shared read-only unless the bundle is writable.
- ``dockyard_runc`` / ``runc``: ``Runtime`` runners, each with its own ``--root``;
  ``runtime`` is parametrized over both (ids ``dockyard`` and ``runc``).
- ``probe(runtime, overrides, script, ...) -> str``: ``sh -c script`` in a fresh container,
  its stdout with the container id replaced by ``<ID>``.
- ``same_facts(script, overrides=None, ...) -> Facts(dockyard, runc)``: the same probe
  under both runtimes.
- every integration test is wrapped in a host-leak check (mounts, cgroups, processes,
  state dirs); containers are ``delete --force``d at teardown whatever happened.

``DOCKYARD_RUNC="runc"`` runs the dockyard side with another binary (to check the tests
themselves); ``DOCKYARD_LEAKCHECK=0`` turns the leak check off.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from tests.support import hostcheck
from tests.support.bundles import SESSION_ENV, Bundle, BundleFactory, build_rootfs
from tests.support.runtimes import Runtime, dockyard_argv, runc_argv

RUNTIME_NAMES = ("dockyard", "runc")


@pytest.fixture(scope="session")
def session_token() -> str:
    return "dyt" + secrets.token_hex(3)


@pytest.fixture(scope="session", autouse=True)
def engine_parent_cgroups() -> Iterator[None]:
    """The engine's parent cgroups (``*/dockyard``) that engines of this session made are
    removed at its end (each container's own cgroup is checked by the tests)."""
    from tests.support.engine import parent_cgroups, remove_new_parent_cgroups

    before = parent_cgroups()
    yield
    problems = remove_new_parent_cgroups(before)
    if problems:
        warnings.warn("; ".join(problems), stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def host_network() -> Iterator[None]:
    """Engines turn on ``net.ipv4.ip_forward`` and make nft tables: both as they were at the end."""
    from tests.support import netcheck

    if os.geteuid() != 0:
        yield
        return
    forward, tables = netcheck.ip_forward(), netcheck.nft_tables()
    yield
    problems = netcheck.restore_host(forward, tables)
    if problems:
        warnings.warn("; ".join(problems), stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def containerd_host_dirs() -> Iterator[None]:
    """The directories ``ctr`` (its default FIFO dir) and containerd's shims make under
    /run/containerd whatever their configuration says are removed at the session's end
    when this session made them and they are empty."""
    from tests.support.real_containerd import host_dirs, remove_new_host_dirs

    before = host_dirs()
    yield
    remove_new_host_dirs(before)


@pytest.fixture(scope="session")
def work_dir(session_token: str) -> Iterator[Path]:
    """The session's private temporary directory (bundles, rootfs, runtime roots)."""
    base = Path(tempfile.mkdtemp(prefix=f"dockyard-it-{session_token}-"))
    base.chmod(0o711)  # a user-namespaced container root (a mapped uid) must reach its bundle
    yield base
    hostcheck.remove_empty_parents()
    left = hostcheck.mounts_under(base)
    if left:  # never rm -rf through a mount
        warnings.warn(f"leaving {base}: still mounted: {left}", stacklevel=1)
    else:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_rootfs(work_dir: Path) -> Path:
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("/bin/busybox missing (apt-get install busybox-static)")
    return build_rootfs(work_dir / "rootfs")


def _state_root(work_dir: Path, name: str) -> Path:
    root = work_dir / f"root-{name}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def _argv(name: str) -> list[str]:
    if name == "dockyard":
        return dockyard_argv()
    argv = runc_argv()
    if argv is None:
        pytest.skip("runc is not installed")
    return argv


_test_numbers = itertools.count(1)


class Lab:
    """What one test made: bundles and runtime runners, undone at teardown."""

    def __init__(self, work_dir: Path, rootfs: Path, token: str) -> None:
        self.work_dir = work_dir
        self.token = token
        number = next(_test_numbers)
        self.bundle_dir = work_dir / "bundles" / str(number)
        self.bundles = BundleFactory(
            self.bundle_dir, rootfs, f"{token}-{number}", env=[f"{SESSION_ENV}={token}"]
        )
        self.runtimes: dict[str, Runtime] = {}

    def runtime(self, name: str) -> Runtime:
        if name not in self.runtimes:
            self.runtimes[name] = Runtime(
                name,
                _argv(name),
                _state_root(self.work_dir, name),
                env={SESSION_ENV: self.token},
            )
        return self.runtimes[name]

    def teardown(self) -> list[str]:
        errors: list[str] = []
        for runtime in self.runtimes.values():
            errors += runtime.cleanup()
        if hostcheck.mounts_under(self.bundle_dir):
            errors.append(f"mounts left under {self.bundle_dir}; not removing it")
        else:
            shutil.rmtree(self.bundle_dir, ignore_errors=True)
        return errors


@pytest.fixture
def _test_env(work_dir: Path, busybox_rootfs: Path, session_token: str) -> Iterator[Lab]:
    env = Lab(work_dir, busybox_rootfs, session_token)
    yield env
    errors = env.teardown()
    if errors:
        pytest.fail("cleanup failed:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(autouse=True)
def _host_leak_check(work_dir: Path, session_token: str) -> Iterator[None]:
    if os.environ.get("DOCKYARD_LEAKCHECK") == "0" or os.geteuid() != 0:
        yield
        return
    roots = [_state_root(work_dir, name) for name in RUNTIME_NAMES]
    before = hostcheck.take(session_token, roots)
    yield
    found = hostcheck.leaks(before, hostcheck.take(session_token, roots))
    if found:
        problems = hostcheck.clean(found, work_dir)
        text = found.report() + "".join(f"\n(cleanup: {p})" for p in problems)
        pytest.fail("the test left things on the host:\n" + text, pytrace=False)


@pytest.fixture
def make_bundle(_test_env: Lab) -> BundleFactory:
    return _test_env.bundles


@pytest.fixture
def dockyard_runc(_test_env: Lab) -> Runtime:
    return _test_env.runtime("dockyard")


@pytest.fixture
def runc(_test_env: Lab) -> Runtime:
    return _test_env.runtime("runc")


@pytest.fixture(params=[
    pytest.param("dockyard", id="dockyard"),
    pytest.param("runc", id="runc", marks=pytest.mark.runc),
])
def runtime(request: pytest.FixtureRequest, _test_env: Lab) -> Runtime:
    """Each test using it runs once with dockyard-runc and once with runc."""
    name: str = request.param
    return _test_env.runtime(name)


class Probed(NamedTuple):
    bundle: Bundle
    proc: subprocess.CompletedProcess[str]
    stdout: str  # the container id replaced by <ID>


class Prober:
    """``probe(runtime, overrides, script)`` -> the probe's stdout (see the module doc)."""

    def __init__(self, bundles: BundleFactory) -> None:
        self.bundles = bundles

    def run(
        self,
        runtime: Runtime,
        overrides: Mapping[str, Any] | None,
        script: str,
        *,
        writable: bool = False,
        extra_mounts: Sequence[Mapping[str, Any]] = (),
    ) -> Probed:
        bundle = self.bundles(
            ["sh", "-c", script], overrides, writable=writable, extra_mounts=extra_mounts
        )
        proc = runtime.run(bundle.id, bundle)
        return Probed(bundle, proc, proc.stdout.replace(bundle.id, "<ID>"))

    def __call__(
        self,
        runtime: Runtime,
        overrides: Mapping[str, Any] | None,
        script: str,
        *,
        writable: bool = False,
        extra_mounts: Sequence[Mapping[str, Any]] = (),
        status: int = 0,
    ) -> str:
        probed = self.run(
            runtime, overrides, script, writable=writable, extra_mounts=extra_mounts
        )
        proc = probed.proc
        assert proc.returncode == status, (
            f"{runtime.name} run exited {proc.returncode}, not {status}\n"
            f"stderr: {proc.stderr.strip()}\nstdout: {proc.stdout.strip()}"
        )
        return probed.stdout


@pytest.fixture
def probe(make_bundle: BundleFactory) -> Prober:
    return Prober(make_bundle)


class Facts(NamedTuple):
    dockyard: str
    runc: str


@pytest.fixture
def same_facts(
    probe: Prober, dockyard_runc: Runtime, runc: Runtime
) -> Callable[..., Facts]:
    """``same_facts(script, overrides=None, **probe_kwargs)``: runc first, then dockyard."""

    def run_both(
        script: str, overrides: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Facts:
        runc_out = probe(runc, overrides, script, **kwargs)
        try:
            ours = probe(dockyard_runc, overrides, script, **kwargs)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nrunc printed:\n{runc_out}") from None
        return Facts(ours, runc_out)

    return run_both
