"""``--cache-from``: images (typically pulled) whose history continues the build, as the
classic builder uses them.

Without a local cache hit, a step may take its result from a cache-from image ``C``
whose history starts with the parent's history (``created_by`` and ``empty_layer`` row
by row), whose layers start with the parent's layers, and whose next history row was
made by the same ``created_by``. The step's image is then the parent plus that row's
layer of ``C`` (or no layer, for an empty-layer row) under the step's own config: no
container runs. As dockerd's classic builder, only ``created_by`` is compared for the
row itself (an image's history keeps nothing else of a step).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.engine.images_service import ImageService
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import NotFound
from dockyard.oci.descriptor import Descriptor


@dataclass(frozen=True)
class Source:
    """A cache-from image: its config document and its layers, in order."""

    name: str
    doc: Mapping[str, Any]
    layers: Sequence[Descriptor]


@dataclass(frozen=True)
class Reuse:
    """What a step takes from a source: the layer (None for an empty-layer row) and its diff ID."""

    layer: Descriptor | None
    diff_id: str


async def load_sources(names: Iterable[str], images: ImageService, sv: Supervisor) -> list[Source]:
    """The cache-from images that exist here (a missing one is no source, as with dockerd)."""
    out = []
    for name in names:
        try:
            image = await images.get(name)
        except NotFound:
            continue
        if image.manifest is None:
            continue
        doc = json.loads(await sv.read_blob(image.manifest.config.digest))
        out.append(Source(name, doc, list(image.manifest.layers)))
    return out


def _rows(doc: Mapping[str, Any]) -> list[tuple[str, bool]]:
    return [(str(h.get("created_by") or ""), bool(h.get("empty_layer"))) for h in doc.get("history") or []]


def _diff_ids(doc: Mapping[str, Any]) -> list[str]:
    return list((doc.get("rootfs") or {}).get("diff_ids") or [])


def match(sources: Sequence[Source], parent_doc: Mapping[str, Any], created_by: str) -> Reuse | None:
    """The first source that continues ``parent_doc`` with a row made by ``created_by``."""
    rows, diff_ids = _rows(parent_doc), _diff_ids(parent_doc)
    for source in sources:
        theirs, their_ids = _rows(source.doc), _diff_ids(source.doc)
        if len(theirs) <= len(rows) or theirs[:len(rows)] != rows or their_ids[:len(diff_ids)] != diff_ids:
            continue
        made_by, empty = theirs[len(rows)]
        if made_by != created_by:
            continue
        if empty:
            return Reuse(None, "")
        if len(their_ids) <= len(diff_ids) or len(source.layers) != len(their_ids):
            continue
        return Reuse(source.layers[len(diff_ids)], their_ids[len(diff_ids)])
    return None
