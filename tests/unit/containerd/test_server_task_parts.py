"""The pure parts of the tasks service: shim events as containerd's protobuf events, the
runtime a container's record picks, bundle discovery, and task states as containerd's
Process messages. No root, no shim."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.containerd.api.events import task_pb2 as ev
from dockyard.containerd.api.runc.options import oci_pb2
from dockyard.containerd.api.types.task import task_pb2
from dockyard.containerd.metadata.containers import AnyValue, Runtime
from dockyard.containerd.server.bundles import TASKS_DIR, Bundle, existing
from dockyard.containerd.server.runtimes import RUNC_V2, choose
from dockyard.containerd.server.shimevents import to_message
from dockyard.containerd.server.tasks import process_pb
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound


def test_exit_event_fields_and_time() -> None:
    message = to_message("/tasks/exit", {"container_id": "c", "id": "x", "pid": 42, "exit_status": 3,
                                         "exited_at": 1_700_000_000_123_456_789, "unknown": "dropped"})
    assert isinstance(message, ev.TaskExit)
    assert (message.container_id, message.id, message.pid, message.exit_status) == ("c", "x", 42, 3)
    assert (message.exited_at.seconds, message.exited_at.nanos) == (1_700_000_000, 123_456_789)


def test_create_event_with_io_and_unknown_topic() -> None:
    message = to_message("/tasks/create", {"container_id": "c", "bundle": "/b", "pid": 7,
                                           "io": {"stdin": "/in", "terminal": True, "extra": 1}})
    assert isinstance(message, ev.TaskCreate)
    assert message.io.stdin == "/in" and message.io.terminal and message.pid == 7
    assert to_message("/tasks/nonsense", {}) is None
    assert isinstance(to_message("/tasks/oom", {"container_id": "c"}), ev.TaskOOM)


def _options(**fields: object) -> AnyValue:
    return AnyValue("containerd.runc.v1.Options", oci_pb2.Options(**fields).SerializeToString())  # type: ignore[arg-type]


def test_runtime_default_and_binary_override(tmp_path: Path) -> None:
    default = choose(Runtime(RUNC_V2), tmp_path, "ns")
    assert default.binary == "" and default.root == str(tmp_path / "runtime" / "dockyard-runc" / "ns")
    configured = choose(Runtime(RUNC_V2), tmp_path, "ns", default_binary="/usr/sbin/crun")
    assert configured.binary == "/usr/sbin/crun" and configured.root.endswith("runtime/crun/ns")
    runc = choose(Runtime(RUNC_V2, _options(binary_name="runc")), tmp_path, "ns")
    assert runc.binary == "runc" and runc.root == str(tmp_path / "runtime" / "runc" / "ns")
    rooted = choose(Runtime(RUNC_V2, _options(binary_name="runc", root="/run/elsewhere")), tmp_path, "ns")
    assert rooted.root == "/run/elsewhere/ns"


def test_runtime_refusals(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"io\.example\.v9"):
        choose(Runtime("io.example.v9"), tmp_path, "ns")
    with pytest.raises(InvalidArgument, match="systemd"):
        choose(Runtime(RUNC_V2, _options(systemd_cgroup=True)), tmp_path, "ns")


def test_bundle_layout_and_discovery(tmp_path: Path) -> None:
    bundle = Bundle(tmp_path, "ns", "c1")
    bundle.create(b'{"ociVersion": "1.0.2"}', [])
    assert bundle.path == tmp_path / TASKS_DIR / "ns" / "c1"
    assert bundle.config.read_bytes() == b'{"ociVersion": "1.0.2"}' and bundle.rootfs.is_dir()
    with pytest.raises(AlreadyExists):
        Bundle(tmp_path, "ns", "c1").create(b"{}", [])
    Bundle(tmp_path, "other", "c2").create(b"{}", [])
    assert [(b.namespace, b.id) for b in existing(tmp_path)] == [("ns", "c1"), ("other", "c2")]
    bundle.remove()
    bundle.remove()  # twice is fine
    assert [(b.namespace, b.id) for b in existing(tmp_path)] == [("other", "c2")]


def test_process_states() -> None:
    running = process_pb("c", {"pid": 12, "status": "running", "stdin": "/in", "terminal": True,
                               "exit_status": None, "exited_at": None})
    assert (running.id, running.pid, running.status, running.terminal) == ("c", 12, task_pb2.RUNNING, True)
    assert not running.HasField("exited_at")
    stopped = process_pb("c", {"exec_id": "x", "pid": 13, "status": "stopped", "exit_status": 5,
                               "exited_at": 2_000_000_000})
    assert (stopped.id, stopped.status, stopped.exit_status, stopped.exited_at.seconds) == ("x", task_pb2.STOPPED, 5, 2)
    assert process_pb("c", {"status": "weird"}).status == task_pb2.UNKNOWN
