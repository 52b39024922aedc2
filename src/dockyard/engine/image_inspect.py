"""Docker's image documents built from a :class:`~.image_catalog.DockerImage`: the summary
of ``GET /images/json``, the ``ImageInspect`` of ``GET /images/{name}/json`` and the
history of ``GET /images/{name}/history``. Pure functions of the image and the API version.

Fields that changed between API versions: ``VirtualSize`` is sent below 1.44;
``Container`` and ``ContainerConfig`` below 1.45. History sizes are the layers' snapshot
sizes (the bytes each unpacked layer takes); steps marked ``empty_layer`` are 0. Only the
newest step has the image ID; the others are ``<missing>``, as for any pulled image.
"""

from __future__ import annotations

import time
from typing import Any

from dockyard.engine.api.versions import at_least
from dockyard.engine.image_catalog import DockerImage
from dockyard.engine.image_summaries import _created, summary
from dockyard.oci.image_config import ImageConfig, RunConfig

ZERO_TIME = "0001-01-01T00:00:00Z"
SNAPSHOTTER = "overlayfs"


def list_summary(image: DockerImage, api_version: str, *, repo_tags: list[str] | None = None,
                 repo_digests: list[str] | None = None, shared_size: int = -1, containers: int = -1) -> dict[str, Any]:
    doc = summary(image, shared_size, containers)
    if repo_tags is not None:
        doc["RepoTags"] = repo_tags
    if repo_digests is not None:
        doc["RepoDigests"] = repo_digests
    if not at_least(api_version, "1.44"):
        doc["VirtualSize"] = doc["Size"]
    return doc


def container_config(run: RunConfig | None) -> dict[str, Any]:
    """The image's run defaults in the shape of Docker's ``container.Config``."""
    run = run or RunConfig()
    doc: dict[str, Any] = {"Hostname": "", "Domainname": "", "User": run.user, "AttachStdin": False,
                           "AttachStdout": False, "AttachStderr": False}
    if run.exposed_ports:
        doc["ExposedPorts"] = {port: {} for port in sorted(run.exposed_ports)}
    doc.update(Tty=False, OpenStdin=False, StdinOnce=False, Env=list(run.env) or None,
               Cmd=list(run.cmd) if run.cmd is not None else None)
    if run.healthcheck is not None:
        doc["Healthcheck"] = run.healthcheck.to_dict()
    if run.args_escaped:
        doc["ArgsEscaped"] = True
    doc.update(Image="", Volumes={path: {} for path in sorted(run.volumes)} or None, WorkingDir=run.working_dir,
               Entrypoint=list(run.entrypoint) if run.entrypoint is not None else None,
               OnBuild=list(run.on_build) or None, Labels=dict(run.labels) or None)
    if run.stop_signal:
        doc["StopSignal"] = run.stop_signal
    if run.shell:
        doc["Shell"] = list(run.shell)
    return doc


def _comment(config: ImageConfig) -> str:
    comment = config.extra.get("comment")
    if isinstance(comment, str):
        return comment
    return config.history[-1].comment if config.history else ""


def rfc3339(seconds: float) -> str:
    """A Unix time as Go's RFC 3339 with nanoseconds, UTC."""
    if seconds <= 0:
        return ZERO_TIME
    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + fraction + "Z"


def inspect(image: DockerImage, api_version: str) -> dict[str, Any]:
    config = image.config or ImageConfig("", "")
    doc: dict[str, Any] = {
        "Id": image.id, "RepoTags": list(image.repo_tags), "RepoDigests": list(image.repo_digests),
        "Parent": "", "Comment": _comment(config), "Created": config.created or ZERO_TIME,
    }
    if not at_least(api_version, "1.45"):
        doc["Container"] = ""
        doc["ContainerConfig"] = container_config(None)
    docker_version = config.extra.get("docker_version")
    doc.update({"DockerVersion": docker_version if isinstance(docker_version, str) else "",
                "Author": config.author, "Config": container_config(config.config),
                "Architecture": config.architecture})
    if config.variant:
        doc["Variant"] = config.variant
    doc["Os"] = config.os
    if config.os_version:
        doc["OsVersion"] = config.os_version
    doc["Size"] = image.size
    if not at_least(api_version, "1.44"):
        doc["VirtualSize"] = image.size
    doc.update({"GraphDriver": {"Name": SNAPSHOTTER, "Data": None},
                "RootFS": {"Type": "layers", "Layers": list(config.diff_ids)},
                "Metadata": {"LastTagTime": rfc3339(image.last_tag_time)}})
    return doc


def history(image: DockerImage) -> list[dict[str, Any]]:
    """The build steps, newest first."""
    config = image.config or ImageConfig("", "")
    sizes = [layer.size for layer in image.layers]
    rows: list[dict[str, Any]] = []
    layer = 0
    steps = config.history
    if not steps:  # no history: one row per layer, as docker shows it
        for size in sizes:
            rows.append({"Created": _created(config.created), "CreatedBy": "", "Size": size, "Comment": ""})
    for step in steps:
        size = 0
        if not step.empty_layer:
            size = sizes[layer] if layer < len(sizes) else 0
            layer += 1
        rows.append({"Created": _created(step.created), "CreatedBy": step.created_by, "Size": size,
                     "Comment": step.comment})
    out: list[dict[str, Any]] = []
    for n, row in enumerate(reversed(rows)):
        top = n == 0
        out.append({"Id": image.id if top else "<missing>", "Created": row["Created"], "CreatedBy": row["CreatedBy"],
                    "Tags": list(image.repo_tags) if top and image.repo_tags else None, "Size": row["Size"],
                    "Comment": row["Comment"]})
    return out
