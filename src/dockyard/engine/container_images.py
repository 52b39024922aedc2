"""The image a container is created from, found in containerd's image store.

:func:`find_image` takes what a user gives (``busybox``, ``busybox:1.36``,
``docker.io/library/busybox@sha256:...``, an image ID ``sha256:<hex>`` or a unique prefix
of one) and returns an :class:`ImageInfo`: the ID (the config's digest), the image
config as JSON, the layers' chain ID (the parent of the container's snapshot) and the
platform. It reads containerd directly (images, content), so it works whether or not the
engine's image service is there. Errors are Docker's: 404 ``No such image: busybox:latest``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.containerd.archive.layers import chain_ids
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.image import Manifest, parse_manifest_document, select_manifest
from dockyard.oci.platform import Platform, parse_platform
from dockyard.oci.reference import parse_reference

_HEX = frozenset("0123456789abcdef")


@dataclass
class ImageInfo:
    id: str  # sha256:<config digest>
    name: str  # the containerd record's name it was found through ("" when found by ID)
    config: dict[str, Any]  # the whole image config document
    chain_id: str  # the top layer's chain ID ("" for an image without layers)
    diff_ids: list[str] = field(default_factory=list)

    @property
    def run_config(self) -> dict[str, Any]:
        section = self.config.get("config")
        return section if isinstance(section, dict) else {}

    @property
    def os(self) -> str:
        return str(self.config.get("os") or "linux")


def _no_such_image(ref: str) -> NotFound:
    return NotFound(f"No such image: {ref}")


async def _manifest(sv: Supervisor, target: Any, platform: Platform | None) -> Manifest:
    digest, media_type = target.digest, target.media_type
    for _ in range(4):
        document = parse_manifest_document(await sv.read_document(digest), media_type or None)
        if isinstance(document, Manifest):
            return document
        chosen = select_manifest(document, platform)
        digest, media_type = chosen.digest, chosen.media_type
    raise NotFound(f"{target.digest}: indexes nested too deep")


async def load(sv: Supervisor, image: Any, platform: Platform | None = None) -> ImageInfo:
    """The :class:`ImageInfo` of one containerd image record."""
    manifest = await _manifest(sv, image.target, platform)
    if not mediatypes.is_config(manifest.config.media_type):
        raise NotFound(f"{image.name}: not a container image ({manifest.config.media_type})")
    try:
        config = json.loads(await sv.read_document(manifest.config.digest))
    except ValueError as exc:
        raise InvalidArgument(f"image {image.name}: its config is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise InvalidArgument(f"image {image.name}: its config is not a JSON object")
    rootfs = config.get("rootfs") if isinstance(config.get("rootfs"), dict) else {}
    diff_ids = [str(d) for d in (rootfs or {}).get("diff_ids") or []]
    chains = chain_ids(diff_ids)
    return ImageInfo(manifest.config.digest, image.name, config, chains[-1] if chains else "", diff_ids)


def _id_prefix(ref: str) -> str | None:
    text = ref.removeprefix("sha256:")
    if text and len(text) <= 64 and _HEX.issuperset(text):
        return text
    return None


async def find_image(sv: Supervisor, ref: str, platform: str = "") -> ImageInfo:
    """The image ``ref`` names (see the module's docstring)."""
    if not ref:
        raise InvalidArgument("Config.Image: an image is required")
    wanted = parse_platform(platform) if platform else None
    display = ref
    try:
        parsed = parse_reference(ref)
    except InvalidArgument:
        parsed = None
    if parsed is not None:
        display = parsed.familiar()
        try:
            record = await sv.get_image(str(parsed))
        except NotFound:
            record = None
        if record is not None:
            try:
                return await load(sv, record, wanted)
            except NotFound as exc:
                if wanted is not None:
                    raise NotFound(f"image with reference {ref} was found but does not match the specified "
                                   f"platform: wanted {platform}") from None
                raise _no_such_image(display) from exc
    prefix = _id_prefix(ref)
    if prefix is None:
        raise _no_such_image(display)
    found: dict[str, ImageInfo] = {}
    for record in await sv.list_images():
        try:
            info = await load(sv, record, wanted)
        except DockyardError:
            continue
        if info.id.removeprefix("sha256:").startswith(prefix):
            found.setdefault(info.id, info)
    if not found:
        raise _no_such_image(ref)
    if len(found) > 1:
        raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
    info = next(iter(found.values()))
    info.name = ""
    return info
