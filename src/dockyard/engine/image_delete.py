"""What removing an image means, decided before anything is deleted: Docker's rules for
``DELETE /images/{name}`` and ``POST /images/prune`` as pure functions (a plan, or the
conflict dockerd reports, 409).

By reference (``busybox``, ``busybox:1``, ``repo@sha256:...``): the name is untagged; if it
was the image's last name the image goes too, unless containers use it (``must force``;
forced, the image stays as a dangling one for them). By ID (or ID prefix): every name is
untagged and the image deleted; refused when its names span several repositories or a
stopped container uses it (unless forced), and always when a running container uses it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dockyard.engine.context import ImageUse
from dockyard.engine.event_filters import parse_timestamp
from dockyard.engine.filters import Filters
from dockyard.engine.image_catalog import Catalog, DockerImage
from dockyard.engine.image_refs import record_reference, short_id
from dockyard.errors import FailedPrecondition, InvalidArgument

PRUNE_FILTERS = ("dangling", "label", "label!", "until")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class DeletePlan:
    image: DockerImage
    untag: list[str] = field(default_factory=list)  # record names to untag (reported as Untagged)
    delete: bool = False  # the image goes: every record, then its content
    keep: bool = False  # containers use it: a dangling record keeps it


def parse_until(value: str, now: float | None = None) -> float:
    """Docker's ``until``: a Go duration before now (``24h``, ``1h30m``), Unix seconds or RFC 3339."""
    text = value.strip()
    if text and _DURATION.sub("", text) == "" and _DURATION.search(text):
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))
        return (time.time() if now is None else now) - seconds
    stamp = parse_timestamp(text, "until")
    if stamp is None:
        raise InvalidArgument(f"invalid value for until: {value!r}")
    return stamp / 1e9


def _reference_conflict(name: str, image: DockerImage, users: Sequence[ImageUse]) -> FailedPrecondition:
    return FailedPrecondition(f"conflict: unable to remove repository reference \"{name}\" (must force) - container "
                              f"{short_id(users[0].container_id)} is using its referenced image {short_id(image.id)}")


def delete_conflict(image: DockerImage, hard: bool, message: str) -> FailedPrecondition:
    forced = "cannot be forced" if hard else "must be forced"
    return FailedPrecondition(f"conflict: unable to delete {short_id(image.id)} ({forced}) - {message}")


def plan_delete(image: DockerImage, name: str, records: list[object] | None, users: Sequence[ImageUse], *,
                force: bool = False) -> DeletePlan:
    """The plan for ``DELETE /images/{name}``: ``records`` are those the name designates
    (None when it is an ID); ``users`` the containers using the image."""
    named = image.named_records
    if records is not None:
        names = [getattr(r, "name", "") for r in records]
        if any(r.name not in names for r in named):
            return DeletePlan(image, names)
        if users:
            if not force:
                raise _reference_conflict(name, image, users)
            return DeletePlan(image, names, keep=True)
        return DeletePlan(image, names, delete=True)
    running = [u for u in users if u.running]
    if running:
        who = short_id(running[0].container_id)
        raise delete_conflict(image, True, f"image is being used by running container {who}")
    if not force:
        repositories = {ref.name for ref in (record_reference(r.name) for r in named) if ref is not None}
        if len(repositories) > 1:
            raise delete_conflict(image, False, "image is referenced in multiple repositories")
        if users:
            raise delete_conflict(image, False,
                                   f"image is being used by stopped container {short_id(users[0].container_id)}")
    untag = [r.name for r in named]
    if users:
        return DeletePlan(image, untag, keep=True)
    return DeletePlan(image, untag, delete=True)


def _dangling_value(filters: Filters) -> bool:
    values = filters.values("dangling")
    if not values:
        return True
    for value in values:
        if value.lower() not in ("true", "1", "false", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}'")
    return any(value.lower() in ("true", "1") for value in values)


def _labels_excluded(filters: Filters, labels: Mapping[str, str]) -> bool:
    """``label!``: True when the image has one of the labels (``k`` or ``k=v``)."""
    for value in filters.values("label!"):
        key, has_value, wanted = value.partition("=")
        if key in labels and (not has_value or labels[key] == wanted):
            return True
    return False


def plan_prune(catalog: Catalog, filters: Filters,
               users: Mapping[str, Sequence[ImageUse]]) -> tuple[list[DeletePlan], int]:
    """The images ``POST /images/prune`` removes, and the bytes that frees."""
    filters.validate(PRUNE_FILTERS)
    dangling_only = _dangling_value(filters)
    until = [parse_until(value) for value in filters.values("until")]
    plans = []
    for image in catalog.images:
        if users.get(image.id):
            continue
        if dangling_only and image.named_records:
            continue
        if any(image.created >= t for t in until):
            continue
        if not filters.match_kv_list("label", image.labels) or _labels_excluded(filters, image.labels):
            continue
        plans.append(DeletePlan(image, [r.name for r in image.named_records], delete=True))
    going = {plan.image.id for plan in plans}
    kept_layers = {layer.chain_id for image in catalog.images if image.id not in going for layer in image.layers}
    freed: dict[str, int] = {}
    for plan in plans:
        for layer in plan.image.layers:
            if layer.chain_id not in kept_layers:
                freed[layer.chain_id] = layer.size
    return plans, sum(freed.values())
