"""``docker update``: new resource limits or restart policy for a container.

The values given (not zero: the docker CLI sends every field, zero for those not set) join
the stored HostConfig; the limits are translated as at create
(:func:`dockyard.engine.spec_resources.resources`), applied to a running task through
containerd's ``Update`` (the OCI ``LinuxResources`` as JSON) and written into containerd's
container spec, so the next start keeps them. An ``update`` event follows.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import any_pb2, field_mask_pb2

from dockyard.containerd.api.services.containers.v1 import containers_pb2
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2
from dockyard.engine import container_config as cc
from dockyard.engine.spec_fields import is_zero
from dockyard.engine.spec_resources import resources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

RESOURCES_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"


async def update_container(service: ContainerService, live: Live, body: dict[str, Any]) -> list[str]:
    from dockyard.errors import InvalidArgument

    c = live.container
    # as dockerd: a zero value (what the CLI sends for every option not given) changes nothing
    changes = {k: v for k, v in body.items() if not is_zero(v)}
    if not (changes.get("RestartPolicy") or {}).get("Name"):
        changes.pop("RestartPolicy", None)
    hc = {**c.host_config, **changes}
    if "RestartPolicy" in changes:
        policy = cc.restart_policy(hc)
        if c.host_config.get("AutoRemove") and policy.name != "no":
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = {"Name": policy.name, "MaximumRetryCount": policy.max_retries}
    warnings: list[str] = []
    new = resources(hc, service.host, warnings)
    new["devices"] = c.spec_resources.get("devices", [])
    if new != c.spec_resources:
        if live.task_pid and c.state.running:
            await service.sv.unary(service.sv.tasks.Update, tasks_pb2.UpdateTaskRequest(
                container_id=c.id, resources=any_pb2.Any(type_url=RESOURCES_TYPE, value=json.dumps(new).encode())))
        record = await service.sv.get_container(c.id)
        spec = json.loads(record.spec.value)
        spec.setdefault("linux", {})["resources"] = new
        record.spec.value = json.dumps(spec).encode()
        await service.sv.unary(service.sv.containers.Update, containers_pb2.UpdateContainerRequest(
            container=record, update_mask=field_mask_pb2.FieldMask(paths=["spec"])))
        c.spec_resources = new
    c.host_config = hc
    service.save(c)
    service.publish(c, "update")
    return warnings
