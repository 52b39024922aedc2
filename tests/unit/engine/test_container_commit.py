"""The pure parts of ``docker commit``: the run defaults (changes, body Config, merge with
the container's), the new config and history entry, and the layer filter that leaves the
engine's mount points out."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from dockyard.containerd.archive import tarread
from dockyard.containerd.archive.tarwrite import Header
from dockyard.engine.container_commit import (
    body_config,
    child_config,
    commit_run_config,
    created_by,
    split_changes,
)
from dockyard.engine.container_layer import EMPTY_LAYER_DIFF_ID, InitPathFilter, is_init_path
from dockyard.errors import InvalidArgument

CONTAINER: dict[str, Any] = {
    "Hostname": "0123456789ab", "User": "", "Env": ["PATH=/bin", "KEEP=1"], "Cmd": ["sh", "-c", "echo hi > /x"],
    "Image": "busybox", "Entrypoint": None, "Labels": {"c": "1"}, "WorkingDir": "/w",
    "ExposedPorts": {"80/tcp": {}}, "Volumes": None,
}


def test_without_body_or_changes_the_container_config_is_kept() -> None:
    out = commit_run_config(CONTAINER, None, [])
    assert out["Cmd"] == CONTAINER["Cmd"] and out["Env"] == CONTAINER["Env"]
    assert out["Hostname"] == "0123456789ab" and out["Image"] == "busybox" and out["WorkingDir"] == "/w"
    assert CONTAINER["Env"] == ["PATH=/bin", "KEEP=1"]  # not changed in place


def test_changes_apply_to_the_container_config() -> None:
    out = commit_run_config(CONTAINER, None, ['CMD ["echo","x"]', "ENV A=b", "ENV KEEP=2", "LABEL l=v",
                                              "EXPOSE 53/udp", "WORKDIR /other"])
    assert out["Cmd"] == ["echo", "x"]
    assert out["Env"] == ["PATH=/bin", "A=b", "KEEP=2"]
    assert out["Labels"] == {"c": "1", "l": "v"}
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert out["WorkingDir"] == "/other"


def test_entrypoint_change_clears_cmd_unless_cmd_came_first() -> None:
    cleared = commit_run_config(CONTAINER, None, ['ENTRYPOINT ["/bin/echo"]'])
    assert cleared["Entrypoint"] == ["/bin/echo"] and cleared["Cmd"] is None
    kept = commit_run_config(CONTAINER, None, ['CMD ["a"]', 'ENTRYPOINT ["/bin/echo"]'])
    assert kept["Entrypoint"] == ["/bin/echo"] and kept["Cmd"] == ["a"]


def test_body_config_is_merged_with_the_container_config() -> None:
    out = commit_run_config(CONTAINER, {"Cmd": ["true"], "Env": ["KEEP=body"], "Labels": {"b": "2"}}, [])
    assert out["Cmd"] == ["true"]
    assert out["Env"] == ["KEEP=body", "PATH=/bin"]
    assert out["Labels"] == {"b": "2", "c": "1"}
    assert out["WorkingDir"] == "/w" and out["ExposedPorts"] == {"80/tcp": {}}
    assert out["Hostname"] == "" and out["Image"] == ""  # as dockerd: only the merged fields come along
    no_cmd = commit_run_config(CONTAINER, {"Env": ["X=1"]}, [])
    assert no_cmd["Cmd"] == CONTAINER["Cmd"]


@pytest.mark.parametrize("change", ["ADD a b", "RUN true", "EXPOSE nope", "ENV"])
def test_bad_changes_are_refused(change: str) -> None:
    with pytest.raises(InvalidArgument):
        commit_run_config(CONTAINER, None, [change])


def test_changes_are_dockerfile_lines() -> None:
    assert split_changes(["ENV A=b\nCMD echo x", "", "# a comment", "LABEL a=1 \\\n  b=2"]) == [
        "ENV A=b", "CMD echo x", "LABEL a=1  b=2"]
    out = commit_run_config(CONTAINER, None, ["ENV A=b\nCMD echo x"])
    assert out["Cmd"] == ["/bin/sh", "-c", "echo x"] and "A=b" in out["Env"]


def test_body_config() -> None:
    assert body_config(None) is None
    assert body_config({}) is None
    assert body_config({"HostConfig": {"Memory": 1}}) is None
    assert body_config({"Cmd": ["x"], "HostConfig": {}}) == {"Cmd": ["x"]}
    with pytest.raises(InvalidArgument):
        body_config([1])


def test_created_by_joins_the_container_command() -> None:
    assert created_by(CONTAINER) == "sh -c echo hi > /x"
    assert created_by({"Cmd": None}) == ""


PARENT: dict[str, Any] = {
    "architecture": "arm64", "variant": "v8", "os": "linux", "created": "2024-01-02T03:04:05Z",
    "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
    "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "layer 0"}],
}


def test_child_config_adds_the_layer_and_the_history_entry() -> None:
    run = commit_run_config(CONTAINER, None, [])
    doc = child_config(PARENT, diff_id="sha256:" + "b" * 64, run_config=run, container_config=CONTAINER,
                       container_id="c" * 64, author="Ann", comment="msg", created="2025-01-01T00:00:00Z")
    assert doc["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + "a" * 64, "sha256:" + "b" * 64]}
    assert doc["history"] == [PARENT["history"][0], {"created": "2025-01-01T00:00:00Z", "author": "Ann",
                                                     "created_by": "sh -c echo hi > /x", "comment": "msg"}]
    assert (doc["architecture"], doc["variant"], doc["os"]) == ("arm64", "v8", "linux")
    assert doc["container"] == "c" * 64 and doc["container_config"] == CONTAINER
    assert doc["config"] == run and doc["author"] == "Ann" and doc["created"] == "2025-01-01T00:00:00Z"
    assert PARENT["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64]  # the parent is not changed


def test_child_config_of_an_empty_layer() -> None:
    doc = child_config(PARENT, diff_id="", run_config={}, container_config=CONTAINER, container_id="c",
                       created="2025-01-01T00:00:00Z")
    assert doc["rootfs"]["diff_ids"] == PARENT["rootfs"]["diff_ids"]
    assert doc["history"][-1] == {"created": "2025-01-01T00:00:00Z", "created_by": "sh -c echo hi > /x",
                                  "empty_layer": True}
    assert "author" not in doc


# -- the layer filter ------------------------------------------------------------------------------
def _dir(name: str) -> Header:
    return Header(name + "/", tarread.DIR, 0o755)


def _file(name: str) -> Header:
    return Header(name, tarread.REG, 0o644)


def _names(headers: list[Header]) -> list[str]:
    out = io.BytesIO()
    writer = InitPathFilter(out, "none")
    for header in headers:
        writer.add(header)
    writer.close()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        return [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]


def test_init_paths() -> None:
    for path in ("/proc", "/sys", "/dev", "/dev/shm", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
                 "/.dockerenv", "/proc/anything"):
        assert is_init_path(path), path
    for path in ("/etc", "/etc/hosts.allow", "/devices", "/x/proc"):
        assert not is_init_path(path), path


def test_filter_leaves_out_mount_points_and_directories_only_they_touched() -> None:
    headers = [_dir("d"), _dir("dev"), _dir("etc"), _file("etc/hostname"), _file("etc/hosts"),
               _file("newfile"), _dir("proc"), _dir("sys")]
    assert _names(headers) == ["d/", "newfile"]


def test_filter_keeps_a_touched_directory_with_real_changes() -> None:
    headers = [_dir("etc"), Header("etc/.wh.group"), _file("etc/hosts"), _dir("etc/sub"), _file("etc/sub/f"),
               _dir("tmp"), _dir("tmp/a"), _dir("tmp/a/b")]
    assert _names(headers) == ["etc/", "etc/.wh.group", "etc/sub/", "etc/sub/f", "tmp/", "tmp/a/",
                               "tmp/a/b/"]


def test_filter_of_nothing_is_the_empty_layer() -> None:
    out = io.BytesIO()
    writer = InitPathFilter(out, "none")
    writer.add(_dir("proc"))
    writer.add(_file("etc/hosts"))
    writer.close()
    assert writer.entries == 0 and writer.diff_id == EMPTY_LAYER_DIFF_ID


# -- pause and resume around a commit that fails -----------------------------------------------------
class _FakeLifecycle:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def pause(self, live: Any) -> None:
        self.calls.append("pause")
        live.container.state.paused = True

    async def unpause(self, live: Any) -> None:
        self.calls.append("unpause")
        live.container.state.paused = False


class _FakeChannel:
    def unary_unary(self, *args: Any, **kwargs: Any) -> None:
        return None


def _fake_service(calls: list[str]) -> Any:
    import asyncio
    from types import SimpleNamespace

    from dockyard.engine.container_model import Container

    container = Container(id="c" * 64, name="/busy", created="", path="sh", args=[], config=dict(CONTAINER),
                          host_config={}, image_id="sha256:" + "a" * 64, runtime="dockyard-runc")
    container.state.running = True
    live = SimpleNamespace(container=container, lock=asyncio.Lock(), task_pid=42, removed=False)
    events: list[tuple[str, dict[str, str]]] = []
    service = SimpleNamespace(
        sv=SimpleNamespace(channel=_FakeChannel()), lifecycle=_FakeLifecycle(calls), get=lambda ref: live,
        publish=lambda c, action, **extra: events.append((action, extra)), events=events)
    return service


def test_a_failed_commit_resumes_the_container_and_publishes_nothing() -> None:
    import asyncio

    from dockyard.engine.container_commit import Committer
    from dockyard.errors import Internal

    calls: list[str] = []
    service = _fake_service(calls)
    committer = Committer(service, images=None)  # type: ignore[arg-type]

    async def fail(*args: Any) -> str:
        calls.append("commit")
        raise Internal("disk on fire")

    committer._commit = fail  # type: ignore[method-assign]
    with pytest.raises(Internal, match="disk on fire"):
        asyncio.run(committer.commit("busy", repo="x", tag="y"))
    assert calls == ["pause", "commit", "unpause"]
    assert service.events == []
    assert service.get("busy").container.state.paused is False


def test_bad_input_is_refused_before_the_container_is_paused() -> None:
    import asyncio

    from dockyard.engine.container_commit import Committer

    calls: list[str] = []
    committer = Committer(_fake_service(calls), images=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        asyncio.run(committer.commit("busy", changes=["RUN x"]))
    with pytest.raises(InvalidArgument):
        asyncio.run(committer.commit("busy", repo="Bad:x"))
    assert calls == []


def test_no_pause_when_asked_not_to() -> None:
    import asyncio

    from dockyard.engine.container_commit import Committer

    calls: list[str] = []
    service = _fake_service(calls)
    committer = Committer(service, images=None)  # type: ignore[arg-type]

    async def done(*args: Any) -> str:
        calls.append("commit")
        return "sha256:" + "b" * 64

    committer._commit = done  # type: ignore[method-assign]
    assert asyncio.run(committer.commit("busy", pause=False, comment="m")) == "sha256:" + "b" * 64
    assert calls == ["commit"]
    assert service.events == [("commit", {"comment": "m", "imageID": "sha256:" + "b" * 64, "imageRef": ""})]
