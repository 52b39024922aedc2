"""Specs built by the engine's translation run under dockyard-runc and runc alike.

A busybox bundle gets its config.json from :func:`dockyard.engine.spec.build_spec` (as for
``docker run busybox sh -c SCRIPT``), then the container prints facts about itself: the
14 default capabilities (CapEff ``00000000a80425fb``), the default seccomp filter
(``Seccomp: 2``), the hostname, the masked paths, /dev/shm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from tests.support.bundles import CGROUP_PARENT, SESSION_ENV, Bundle, BundleFactory
from tests.support.runtimes import Runtime

from dockyard.engine.spec import build_spec
from dockyard.runtime import seccomp

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not seccomp.available(), reason="libseccomp.so.2 not loadable"),
]

IMAGE = {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


def engine_bundle(make_bundle: BundleFactory, script: str,
                  host_config: Mapping[str, Any] | None = None, **config: Any) -> Bundle:
    bundle = make_bundle(["true"], writable=True)
    session = [e for e in bundle.config["process"]["env"] if e.startswith(f"{SESSION_ENV}=")]
    bundle.config = build_spec(
        {"Cmd": ["sh", "-c", script], "Env": session, **config}, dict(host_config or {}), IMAGE,
        container_id=bundle.id, rootfs="rootfs", container_files=str(bundle.rootfs),
        cgroup_parent=f"/{CGROUP_PARENT}",
    )
    bundle.write()
    return bundle


def run(runtime: Runtime, bundle: Bundle) -> str:
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode == 0, f"{runtime.name}: {proc.stderr.strip()}\n{proc.stdout}"
    return proc.stdout


def status(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_default_container_caps_and_seccomp(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = engine_bundle(make_bundle, "cat /proc/self/status")
    fields = status(run(runtime, bundle))
    assert fields["CapEff"] == "00000000a80425fb"
    assert fields["CapBnd"] == "00000000a80425fb"
    assert fields["CapPrm"] == "00000000a80425fb"
    assert fields["CapInh"] == "0000000000000000"
    assert fields["Seccomp"] == "2"
    assert fields["NoNewPrivs"] == "0"
    if runtime.name == "dockyard":  # the compiled profile is kept for the next container
        [entry] = (runtime.root / "seccomp@cache").glob("*.bpf")
        again = status(run(runtime, engine_bundle(make_bundle, "cat /proc/self/status")))
        assert again["Seccomp"] == "2" and list((runtime.root / "seccomp@cache").glob("*.bpf")) == [entry]


def test_default_container_facts(runtime: Runtime, make_bundle: BundleFactory) -> None:
    script = (
        "hostname; id; echo HOSTNAME=$HOSTNAME; cat /proc/kcore | wc -c; "
        "grep -c . /proc/interrupts || true; "
        "awk '$2 == \"/dev/shm\" {print $3, $4}' /proc/self/mounts; "
        "unshare -U true 2>/dev/null && echo userns-ok || echo userns-refused"
    )
    bundle = engine_bundle(make_bundle, script)
    lines = run(runtime, bundle).splitlines()
    short = bundle.id[:12]
    assert lines[0] == short
    assert lines[1].startswith("uid=0(root) gid=0(root)")
    assert lines[2] == f"HOSTNAME={short}"
    assert lines[3:5] == ["0", "0"]  # masked: /proc/kcore and /proc/interrupts read empty
    assert lines[5].startswith("tmpfs rw,nosuid,nodev,noexec")
    assert "size=65536k" in lines[5]
    assert lines[6] == "userns-refused"  # no capability needed: seccomp refuses it


def test_unconfined_container_may_unshare_a_user_namespace(runtime: Runtime, make_bundle: BundleFactory) -> None:
    script = "grep Seccomp: /proc/self/status; unshare -U true && echo userns-ok"
    bundle = engine_bundle(make_bundle, script, {"SecurityOpt": ["seccomp=unconfined"]})
    assert run(runtime, bundle).split() == ["Seccomp:", "0", "userns-ok"]


def test_sys_admin_container_may_mount(runtime: Runtime, make_bundle: BundleFactory) -> None:
    script = "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo mounted; grep Seccomp: /proc/self/status"
    bundle = engine_bundle(make_bundle, script, {"CapAdd": ["SYS_ADMIN"]})
    assert run(runtime, bundle).split() == ["mounted", "Seccomp:", "2"]


def test_user_and_limits(runtime: Runtime, make_bundle: BundleFactory) -> None:
    script = "id -u; id -G; echo $HOME; ulimit -n; cat /proc/self/oom_score_adj; grep CapEff /proc/self/status"
    bundle = engine_bundle(make_bundle, script, {
        "Ulimits": [{"Name": "nofile", "Soft": 512, "Hard": 1024}],
        "OomScoreAdj": 100,
        "GroupAdd": ["root"],
    }, User="nobody")
    assert bundle.config["process"]["user"] == {"uid": 65534, "gid": 65534, "additionalGids": [65534, 0]}
    assert run(runtime, bundle).split() == [
        "65534", "65534", "0", "/nonexistent", "512", "100", "CapEff:", "0000000000000000"]
