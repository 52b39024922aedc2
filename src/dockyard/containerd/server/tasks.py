"""The tasks service, registered so that clients find it; every method answers
UNIMPLEMENTED until the shim supervision lands (clients such as ``ctr containers rm``
read that as "no task", as they read NOT_FOUND)."""

from __future__ import annotations

from typing import Any

import grpc

from dockyard.containerd.api.services.tasks.v1 import tasks_pb2_grpc
from dockyard.errors import NotImplementedYet

METHODS = ("Create", "Start", "Delete", "DeleteProcess", "Get", "List", "Kill", "Exec", "ResizePty", "CloseIO",
           "Pause", "Resume", "ListPids", "Checkpoint", "Update", "Metrics", "Wait")


def _unimplemented(name: str) -> Any:
    def method(self: TasksService, request: Any, context: grpc.ServicerContext) -> Any:
        raise NotImplementedYet(f"tasks {name}: not implemented yet")

    method.__name__ = name
    return method


class TasksService(tasks_pb2_grpc.TasksServicer):  # type: ignore[misc]
    """Every method of containerd's Tasks service, each answering UNIMPLEMENTED."""


for _name in METHODS:
    setattr(TasksService, _name, _unimplemented(_name))
