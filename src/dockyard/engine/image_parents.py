"""dockerd's rules for images that have a parent (the intermediate images of builds).

The links are the build cache's (:class:`dockyard.engine.build.buildcache.BuildCache`,
child ID -> parent ID); these functions are pure:

- :func:`hidden_parents`: ``docker images`` without ``-a`` hides an untagged image that is
  the parent of another image;
- :func:`history_ids`: ``docker history`` shows, row by row from the top, the image and
  its parents while they exist here (``<missing>`` after that);
- :func:`parents_to_prune`: ``rmi`` of an image also removes its untagged parents that no
  other image has as parent and no container uses, up the chain (unless ``noprune``);
- :func:`unneeded_intermediates`: ``docker builder prune``'s images: untagged images made
  by builds that no remaining image has as parent and no container uses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from dockyard.engine.image_catalog import DockerImage


def children_count(parents: Mapping[str, str], existing: Collection[str]) -> dict[str, int]:
    """How many existing images name each image as their parent."""
    out: dict[str, int] = {}
    for child, parent in parents.items():
        if child in existing:
            out[parent] = out.get(parent, 0) + 1
    return out


def hidden_parents(images: Iterable[DockerImage], parents: Mapping[str, str]) -> set[str]:
    """IDs of untagged images that are the parent of an existing image."""
    by_id = {image.id: image for image in images}
    counts = children_count(parents, by_id)
    return {image_id for image_id, image in by_id.items() if counts.get(image_id) and not image.named_records}


def history_ids(rows: list[dict[str, Any]], image_id: str, parents: Mapping[str, str],
                images: Mapping[str, DockerImage]) -> list[dict[str, Any]]:
    """The history rows (newest first) with the IDs (and tags) of the parent chain."""
    current = image_id
    for n, row in enumerate(rows):
        if n == 0:
            continue
        current = parents.get(current, "")
        image = images.get(current)
        if image is None:
            break
        row["Id"] = current
        row["Tags"] = list(image.repo_tags) or None
    return rows


def parents_to_prune(image_id: str, parents: Mapping[str, str], images: Mapping[str, DockerImage],
                     used: Collection[str]) -> list[str]:
    """The untagged parents ``rmi`` of ``image_id`` removes with it, nearest first."""
    gone = {image_id}
    existing = set(images)
    out: list[str] = []
    current = image_id
    while True:
        parent = parents.get(current, "")
        image = images.get(parent)
        if image is None or image.named_records or parent in used:
            return out
        others = [c for c, p in parents.items() if p == parent and c in existing and c not in gone]
        if others:
            return out
        out.append(parent)
        gone.add(parent)
        current = parent


def unneeded_intermediates(parents: Mapping[str, str], images: Mapping[str, DockerImage],
                           used: Collection[str]) -> list[str]:
    """Build-made untagged images no remaining image needs, leaves first."""
    remaining = set(images)
    out: list[str] = []
    changed = True
    while changed:
        changed = False
        counts = children_count(parents, remaining)
        for image_id in list(remaining):
            image = images[image_id]
            if image_id not in parents or image.named_records or image_id in used or counts.get(image_id):
                continue
            out.append(image_id)
            remaining.discard(image_id)
            changed = True
    return out


def needed_parents(candidates: Collection[str], existing: Collection[str], parents: Mapping[str, str]) -> set[str]:
    """Of the images ``candidates`` (to be pruned), those an image that stays has as an
    ancestor: an image prune keeps them, as dockerd never prunes an image with children."""
    leaving = set(candidates)
    while True:
        staying = set(existing) - leaving
        needed = {parents[c] for c in staying if c in parents} & leaving
        if not needed:
            return set(candidates) - leaving
        leaving -= needed
