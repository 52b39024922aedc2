"""``dockyard-runc features``: the JSON document and its layout."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import capabilities, cmd_features, seccomp
from dockyard.runtime.cli import SPEC_VERSION, VERSION
from dockyard.runtime.context import Context
from dockyard.runtime.flags import parse


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cmd_features.run(Context(root="/tmp/unused"), parse(cmd_features.FLAGS, args, "features"))
    return status, capsys.readouterr().out


def test_document(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run([], capsys)
    assert status == 0
    doc = jsonio.loads(out)
    assert list(doc) == ["ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations"]
    assert doc["ociVersionMin"] == "1.0.0"
    assert doc["ociVersionMax"] == SPEC_VERSION
    assert doc["hooks"][0] == "prestart" and doc["hooks"][-1] == "poststop"
    assert doc["mountOptions"] == sorted(doc["mountOptions"])
    assert {"bind", "rbind", "ro", "rro", "tmpcopyup", "nosymfollow"} <= set(doc["mountOptions"])
    lin = doc["linux"]
    assert list(lin) == ["namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux"]
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} <= set(lin["namespaces"])
    assert lin["capabilities"] == list(capabilities.CAPABILITIES)
    assert lin["cgroup"] == {"v1": True, "v2": True, "systemd": False, "systemdUser": False}
    assert lin["apparmor"] == {"enabled": False} and lin["selinux"] == {"enabled": False}
    ann = doc["annotations"]
    assert ann["io.github.dockyard.runc.version"] == VERSION
    assert ann["io.github.dockyard.runc.checkpoint.enabled"] == "false"
    assert list(ann) == sorted(ann)


def test_seccomp_section(capsys: pytest.CaptureFixture[str]) -> None:
    doc = jsonio.loads(run([], capsys)[1])
    sec = doc["linux"]["seccomp"]
    if not seccomp.available():
        assert sec == {"enabled": False}
        return
    assert sec["enabled"] is True
    assert sec["actions"] == [
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
    ]
    assert sec["operators"] == [
        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
    ]
    assert "SCMP_ARCH_X86_64" in sec["archs"] and sec["archs"] == sorted(sec["archs"])
    version = doc["annotations"]["io.github.dockyard.runc.libseccomp.version"]
    assert version == seccomp.library_version()


def test_seccomp_disabled_without_library(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(seccomp, "available", lambda: False)
    doc = jsonio.loads(run([], capsys)[1])
    assert doc["linux"]["seccomp"] == {"enabled": False}
    assert "io.github.dockyard.runc.libseccomp.version" not in doc["annotations"]


def test_layout_is_indented_like_runc(capsys: pytest.CaptureFixture[str]) -> None:
    out = run([], capsys)[1]
    lines = out.splitlines()
    assert lines[0] == "{"
    assert lines[1] == '    "ociVersionMin": "1.0.0",'
    assert lines[3] == '    "hooks": ['
    assert lines[4] == '        "prestart",'
    assert '            "v1": true,' in lines
    assert out.endswith("}\n")


def test_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InvalidArgument, match='"features" requires exactly 0 argument'):
        run(["extra"], capsys)
