"""containerd's Tasks service: the running side of containers, through their shims.

Requests are translated onto the shim protocol (:mod:`dockyard.shim`) by the
:class:`~dockyard.containerd.server.supervisor.Supervisor`; a process spec, resources and
metrics cross as the JSON or protobuf payloads containerd's clients put in ``Any`` values
(``types.containerd.io/opencontainers/runtime-spec/1/Process`` and ``.../LinuxResources``
as JSON, ``io.containerd.cgroups.v1.Metrics`` as protobuf).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2

from dockyard.containerd.api.services.tasks.v1 import tasks_pb2 as pb
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2_grpc
from dockyard.containerd.api.types import metrics_pb2
from dockyard.containerd.api.types.task import task_pb2
from dockyard.containerd.filters import labels_adaptor, parse_filters
from dockyard.containerd.metadata.containers import ContainerStore
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import mounts_from_pb, timestamp, timestamp_ns
from dockyard.containerd.server.metrics import pack_metrics, pack_process_details, runc_options
from dockyard.containerd.server.supervisor import Stdio, Supervisor, Task
from dockyard.errors import DockyardError, InvalidArgument, NotFound, NotImplementedYet

_STATUS = {
    "created": task_pb2.CREATED,
    "running": task_pb2.RUNNING,
    "stopped": task_pb2.STOPPED,
    "paused": task_pb2.PAUSED,
    "pausing": task_pb2.PAUSING,
}


def _json_any(value: any_pb2.Any, what: str) -> Any:
    try:
        return json.loads(value.value or b"null")
    except ValueError as exc:
        raise InvalidArgument(f"{what}: not JSON ({value.type_url}): {exc}") from None


def _uint(value: Any) -> int:
    return int(value) if isinstance(value, int) and value > 0 else 0


def _time(ns: Any) -> Any:
    return timestamp_ns(int(ns)) if isinstance(ns, int) and ns > 0 else None


def process_pb(container_id: str, state: dict[str, Any]) -> task_pb2.Process:
    out = task_pb2.Process(
        container_id=container_id, id=str(state.get("exec_id") or container_id), pid=_uint(state.get("pid")),
        status=_STATUS.get(str(state.get("status")), task_pb2.UNKNOWN), stdin=str(state.get("stdin") or ""),
        stdout=str(state.get("stdout") or ""), stderr=str(state.get("stderr") or ""),
        terminal=bool(state.get("terminal")), exit_status=_uint(state.get("exit_status")))
    exited = _time(state.get("exited_at"))
    if exited is not None:
        out.exited_at.CopyFrom(exited)
    return out


def _dead_state(task: Task, exec_id: str) -> dict[str, Any]:
    assert task.dead is not None
    saved = task.saved_state()
    record = saved.process(exec_id) if saved is not None else None
    if record is None:
        if exec_id:
            raise NotFound(f"process {exec_id} of task {task.id}: not found")
        return {**task.dead, "status": "stopped"}
    return {**record.to_dict(), "status": "stopped",
            "exit_status": record.exit_status if record.exit_status is not None else 137}


class TasksService(tasks_pb2_grpc.TasksServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend, supervisor: Supervisor) -> None:
        self.backend = backend
        self.supervisor = supervisor

    def _task(self, context: grpc.ServicerContext, container_id: str) -> Task:
        if not container_id:
            raise InvalidArgument("container_id: required")
        return self.supervisor.get(call.namespace(context), container_id)

    def _state(self, task: Task, exec_id: str = "") -> dict[str, Any]:
        if task.dead is not None:
            return _dead_state(task, exec_id)
        try:
            return self.supervisor.call(task, "state", exec_id=exec_id)
        except DockyardError:
            if task.dead is not None:
                return _dead_state(task, exec_id)
            raise

    # -- lifecycle -------------------------------------------------------------------------------
    def Create(self, request: pb.CreateTaskRequest, context: grpc.ServicerContext) -> pb.CreateTaskResponse:
        namespace = call.namespace(context)
        if request.HasField("checkpoint") and request.checkpoint.digest:
            raise NotImplementedYet("tasks: restoring from a checkpoint is not supported")
        container = ContainerStore(self.backend.db, namespace).get(request.container_id)
        options = runc_options(request.options) if request.HasField("options") else None
        stdio = Stdio(request.stdin, request.stdout, request.stderr, request.terminal)
        pid = self.supervisor.create(namespace, container, mounts_from_pb(request.rootfs), stdio,
                                     no_pivot=bool(options is not None and options.no_pivot_root))
        return pb.CreateTaskResponse(container_id=request.container_id, pid=pid)

    def Start(self, request: pb.StartRequest, context: grpc.ServicerContext) -> pb.StartResponse:
        task = self._task(context, request.container_id)
        result = self.supervisor.call(task, "start", exec_id=request.exec_id)
        return pb.StartResponse(pid=_uint(result.get("pid")))

    def Delete(self, request: pb.DeleteTaskRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        task = self._task(context, request.container_id)
        result = self.supervisor.delete(task)
        return self._deleted(task.id, result)

    def DeleteProcess(self, request: pb.DeleteProcessRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        task = self._task(context, request.container_id)
        if not request.exec_id:
            raise InvalidArgument("exec_id: required (delete the task to delete its init)")
        result = self.supervisor.call(task, "delete", exec_id=request.exec_id)
        return self._deleted(request.exec_id, result)

    @staticmethod
    def _deleted(process_id: str, result: dict[str, Any]) -> pb.DeleteResponse:
        out = pb.DeleteResponse(id=process_id, pid=_uint(result.get("pid")),
                                exit_status=_uint(result.get("exit_status")))
        exited = _time(result.get("exited_at"))
        if exited is not None:
            out.exited_at.CopyFrom(exited)
        return out

    # -- state ---------------------------------------------------------------------------------
    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.GetResponse:
        task = self._task(context, request.container_id)
        return pb.GetResponse(process=process_pb(task.id, self._state(task, request.exec_id)))

    def List(self, request: pb.ListTasksRequest, context: grpc.ServicerContext) -> pb.ListTasksResponse:
        flt = parse_filters([request.filter] if request.filter else [])
        out = pb.ListTasksResponse()
        for task in self.supervisor.in_namespace(call.namespace(context)):
            try:
                process = process_pb(task.id, self._state(task))
            except NotFound:
                continue  # deleted meanwhile
            if flt.match(_process_adaptor(process)):
                out.tasks.append(process)
        return out

    def Wait(self, request: pb.WaitRequest, context: grpc.ServicerContext) -> pb.WaitResponse:
        task = self._task(context, request.container_id)
        if task.dead is None:
            try:
                result = self.supervisor.call(task, "wait", timeout=None, exec_id=request.exec_id)
            except DockyardError:
                if task.dead is None:
                    raise
                result = _dead_state(task, request.exec_id)
        else:
            result = _dead_state(task, request.exec_id)
        out = pb.WaitResponse(exit_status=_uint(result.get("exit_status")))
        exited = _time(result.get("exited_at"))
        if exited is not None:
            out.exited_at.CopyFrom(exited)
        return out

    def ListPids(self, request: pb.ListPidsRequest, context: grpc.ServicerContext) -> pb.ListPidsResponse:
        task = self._task(context, request.container_id)
        out = pb.ListPidsResponse()
        for proc in self.supervisor.call(task, "pids").get("processes", []):
            info = task_pb2.ProcessInfo(pid=_uint(proc.get("pid")))
            if proc.get("exec_id"):
                info.info.CopyFrom(pack_process_details(str(proc["exec_id"])))
            out.processes.append(info)
        return out

    def Metrics(self, request: pb.MetricsRequest, context: grpc.ServicerContext) -> pb.MetricsResponse:
        flt = parse_filters(list(request.filters))
        out = pb.MetricsResponse()
        for task in self.supervisor.in_namespace(call.namespace(context)):
            if not flt.match(partial(_task_field, task)) or task.dead is not None:
                continue
            try:
                stats = self.supervisor.call(task, "stats").get("stats") or {}
            except DockyardError:
                continue  # stopped or gone meanwhile: containerd skips it too
            metric = metrics_pb2.Metric(id=task.id, timestamp=timestamp(time.time()))
            metric.data.CopyFrom(pack_metrics(stats))
            out.metrics.append(metric)
        return out

    # -- processes -----------------------------------------------------------------------------
    def Kill(self, request: pb.KillRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        task = self._task(context, request.container_id)
        self.supervisor.call(task, "kill", exec_id=request.exec_id, signal=request.signal or 15, all=request.all)
        return empty_pb2.Empty()

    def Exec(self, request: pb.ExecProcessRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        task = self._task(context, request.container_id)
        if not request.exec_id:
            raise InvalidArgument("exec_id: required")
        if not request.HasField("spec"):
            raise InvalidArgument("spec: the process to run is required")
        spec = _json_any(request.spec, "exec spec")
        self.supervisor.call(task, "exec", exec_id=request.exec_id, spec=spec, terminal=request.terminal,
                             stdin=request.stdin, stdout=request.stdout, stderr=request.stderr)
        return empty_pb2.Empty()

    def ResizePty(self, request: pb.ResizePtyRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        task = self._task(context, request.container_id)
        self.supervisor.call(task, "resize_pty", exec_id=request.exec_id, width=request.width, height=request.height)
        return empty_pb2.Empty()

    def CloseIO(self, request: pb.CloseIORequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        task = self._task(context, request.container_id)
        self.supervisor.call(task, "close_io", exec_id=request.exec_id, stdin=request.stdin)
        return empty_pb2.Empty()

    def Pause(self, request: pb.PauseTaskRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.supervisor.call(self._task(context, request.container_id), "pause")
        return empty_pb2.Empty()

    def Resume(self, request: pb.ResumeTaskRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.supervisor.call(self._task(context, request.container_id), "resume")
        return empty_pb2.Empty()

    def Update(self, request: pb.UpdateTaskRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        task = self._task(context, request.container_id)
        if not request.HasField("resources"):
            raise InvalidArgument("resources: required")
        resources = _json_any(request.resources, "resources")
        if not isinstance(resources, dict):
            raise InvalidArgument("resources: must be a JSON object (OCI linux.resources)")
        self.supervisor.call(task, "update", resources=resources)
        return empty_pb2.Empty()

    def Checkpoint(self, request: pb.CheckpointTaskRequest,
                   context: grpc.ServicerContext) -> pb.CheckpointTaskResponse:
        raise NotImplementedYet("tasks: checkpoint is not supported (no CRIU)")


def _process_adaptor(process: task_pb2.Process) -> Any:
    def adapt(path: Sequence[str]) -> tuple[str, bool]:
        if len(path) != 1:
            return "", False
        name = path[0]
        if name in ("id", "container_id"):
            return process.container_id, True
        if name == "pid":
            return str(process.pid), True
        if name == "status":
            return task_pb2.Status.Name(process.status).lower(), True
        return "", False

    return adapt


def _task_field(task: Task, path: Sequence[str]) -> tuple[str, bool]:
    if len(path) == 1 and path[0] in ("id", "container_id"):
        return task.id, True
    if len(path) == 1 and path[0] == "namespace":
        return task.namespace, True
    if path and path[0] == "labels":
        return labels_adaptor({}, path)
    return "", False
