"""The image service: Docker's image model over containerd's image records.

One instance per engine (``ctx.images``). It answers list, inspect, history, tag, remove
and prune; pulls, pushes, saves, loads and imports (:mod:`.image_transfer`,
:mod:`.image_archive`) name their images through :meth:`ImageService.set_name` and the
pull hooks, so every way of (re)naming an image follows the same rules:

- a name moved to another image leaves the image it named as a dangling image (Docker's
  ``<none>:<none>``) when no other name keeps it, through a ``dockyard-dangling@<target>``
  record (see :mod:`.image_refs`); an image that gets a name loses its dangling records;
- removing the last name of an image deletes it (its records, then garbage collection in
  dockyard-containerd), unless a container uses it: then Docker's conflicts
  (:mod:`.image_delete`) or, forced, a dangling record keeps it for the container.

Changes to names are serialised by one lock; reads take none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import field_mask_pb2

from dockyard.containerd.api.services.images.v1 import images_pb2
from dockyard.containerd.api.types import descriptor_pb2
from dockyard.engine import image_inspect, image_parents
from dockyard.engine.build.buildcache import BuildCache
from dockyard.engine.context import EngineContext, ImageUse
from dockyard.engine.filters import Filters
from dockyard.engine.image_catalog import Catalog, DockerImage, Resolver, load_catalog
from dockyard.engine.image_delete import DeletePlan, delete_conflict, parse_until, plan_delete, plan_prune
from dockyard.engine.image_refs import dangling_name, familiar_match, is_dangling, record_reference, repo_tag_reference
from dockyard.engine.image_summaries import shared_sizes
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound

log = logging.getLogger("dockyard.engine.images")

LIST_FILTERS = ("before", "dangling", "label", "reference", "since", "until")


def descriptor(target: Any) -> descriptor_pb2.Descriptor:
    """A containerd Descriptor message from anything with media_type, digest, size."""
    return descriptor_pb2.Descriptor(media_type=target.media_type, digest=target.digest, size=target.size,
                                     annotations=dict(getattr(target, "annotations", None) or {}))


def parse_bool_filter(filters: Filters, key: str) -> bool | None:
    values = filters.values(key)
    if not values:
        return None
    result: bool | None = None
    for value in values:
        lowered = value.lower()
        if lowered in ("true", "1"):
            wanted = True
        elif lowered in ("false", "0"):
            wanted = False
        else:
            raise InvalidArgument(f"invalid filter '{key}={value}'")
        result = wanted if result is None else result or wanted
    return result


class ImageService:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.supervisor = ctx.supervisor
        self.resolver = Resolver(ctx.supervisor)
        self.lock = asyncio.Lock()
        self._build_cache: BuildCache | None = None

    @property
    def build_cache(self) -> BuildCache:
        """The builder's cache and the images' parent links (opened on first use)."""
        if self._build_cache is None:
            self._build_cache = BuildCache(self.ctx.config.data_root)
        return self._build_cache

    # -- reading ---------------------------------------------------------------------------

    async def catalog(self) -> Catalog:
        return await load_catalog(self.resolver)

    async def get(self, name: str) -> DockerImage:
        """The image ``name`` means (ID, ID prefix or reference); NotFound ``No such image: <name>``."""
        image, _ = (await self.catalog()).lookup(name)
        return image

    async def users(self) -> Mapping[str, Sequence[ImageUse]]:
        return await self.ctx.image_users()

    async def summaries(self, filters: Filters, *, shared_size: bool = False,
                   api_version: str = "1.47", all_images: bool = True) -> list[dict[str, Any]]:
        filters.validate(LIST_FILTERS)
        catalog = await self.catalog()
        parents = self.build_cache.parent_map()
        hidden = set() if all_images else image_parents.hidden_parents(catalog.images, parents)
        dangling = parse_bool_filter(filters, "dangling")
        before = [catalog.lookup(name)[0].created for name in filters.values("before")]
        since = [catalog.lookup(name)[0].created for name in filters.values("since")]
        until = [parse_until(value) for value in filters.values("until")]
        shared = shared_sizes(catalog.images) if shared_size else {}
        patterns = sorted(filters.values("reference"))
        out = []
        for image in catalog.images:
            if image.id in hidden:
                continue
            if dangling is not None and image.dangling != dangling:
                continue
            if any(image.created >= t for t in before) or any(image.created <= t for t in since):
                continue
            if any(image.created >= t for t in until):
                continue
            if not filters.match_kv_list("label", image.labels):
                continue
            tags, digests = None, None
            if patterns:
                tags, digests = _matching_references(image, patterns)
                if not tags and not digests:
                    continue
            doc = image_inspect.list_summary(image, api_version, repo_tags=tags, repo_digests=digests,
                                             shared_size=shared.get(image.id, -1))
            doc["ParentId"] = parents.get(image.id, "")
            out.append(doc)
        return out

    async def inspect(self, name: str, api_version: str) -> dict[str, Any]:
        """``docker image inspect``; ``Parent`` is the build step's or commit's parent image."""
        image = await self.get(name)
        doc = image_inspect.inspect(image, api_version)
        doc["Parent"] = self.build_cache.parent(image.id)
        return doc

    async def history(self, name: str) -> list[dict[str, Any]]:
        catalog = await self.catalog()
        image, _ = catalog.lookup(name)
        rows = image_inspect.history(image)
        by_id = {i.id: i for i in catalog.images}
        return image_parents.history_ids(rows, image.id, self.build_cache.parent_map(), by_id)

    # -- records -----------------------------------------------------------------------------

    async def _put_record(self, name: str, target: Any) -> None:
        image = images_pb2.Image(name=name, target=descriptor(target))
        try:
            await self.supervisor.unary(self.supervisor.images.Create, images_pb2.CreateImageRequest(image=image))
        except AlreadyExists:
            request = images_pb2.UpdateImageRequest(image=image, update_mask=field_mask_pb2.FieldMask(paths=["target"]))
            await self.supervisor.unary(self.supervisor.images.Update, request)

    async def _delete_record(self, name: str, sync: bool = False) -> None:
        try:
            await self.supervisor.unary(self.supervisor.images.Delete,
                                        images_pb2.DeleteImageRequest(name=name, sync=sync))
        except NotFound:
            pass

    async def _keep_dangling(self, image: DockerImage, target: Any) -> None:
        """Make sure ``image`` stays as a dangling image once its names are gone."""
        if not any(is_dangling(r.name) for r in image.records):
            await self._put_record(dangling_name(target.digest), target)

    async def _drop_dangling(self, image: DockerImage) -> None:
        """Delete the dangling records of an image that has a name."""
        if image.named_records:
            for record in image.records:
                if is_dangling(record.name):
                    await self._delete_record(record.name)

    async def _tidy(self, name: str) -> None:
        """The image record ``name`` now belongs to loses its dangling records."""
        hit = (await self.catalog()).record(name)
        if hit is not None:
            await self._drop_dangling(hit[0])

    async def set_name(self, name: str, target: Any) -> str:
        """Point record ``name`` at ``target`` (creating it); the image it named before stays,
        dangling, if nothing else names it. That image's ID ("" if the name is new)."""
        async with self.lock:
            old = (await self.catalog()).record(name)
            previous = ""
            if old is not None:
                old_image, old_record = old
                previous = old_image.id
                if old_record.target.digest == target.digest:
                    return previous
                if len(old_image.named_records) == 1:
                    await self._keep_dangling(old_image, old_record.target)
            await self._put_record(name, target)
            await self._tidy(name)
            return previous

    async def keep_unnamed(self, target: Any) -> None:
        """Keep the image of ``target`` (loaded or imported without a name): a dangling
        record, unless a record of that image exists already."""
        async with self.lock:
            image_id = (await self.resolver.resolve(target)).manifest.config.digest
            if (await self.catalog()).by_id(image_id) is None:
                await self._put_record(dangling_name(target.digest), target)

    async def before_pull(self, name: str) -> tuple[str, str]:
        """Called before a pull may move record ``name``: (the record's target digest, the
        dangling record made to keep its image) — "" for either when there is none."""
        async with self.lock:
            old = (await self.catalog()).record(name)
            if old is None:
                return "", ""
            image, record = old
            if len(image.named_records) > 1 or any(is_dangling(r.name) for r in image.records):
                return record.target.digest, ""
            kept = dangling_name(record.target.digest)
            await self._put_record(kept, record.target)
            return record.target.digest, kept

    async def after_pull(self, name: str, kept: str, previous: str, current: str) -> None:
        """The pull ended (``current`` is "" when it failed): drop what ``before_pull`` made
        if the name did not move, and the new image's dangling records."""
        async with self.lock:
            if kept and (not current or current == previous):
                await self._delete_record(kept)
            if current:
                await self._tidy(name)

    # -- changes -------------------------------------------------------------------------------

    async def tag(self, name: str, repo: str, tag: str) -> None:
        ref = repo_tag_reference(repo, tag)
        image, records = (await self.catalog()).lookup(name)
        target = records[0].target if records else image.target
        await self.set_name(str(ref), target)
        self.ctx.events.publish("image", "tag", image.id, {"name": ref.familiar()})

    async def remove(self, name: str, *, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        """``DELETE /images/{name}``: Docker's ``[{"Untagged": ...}, {"Deleted": ...}]``."""
        async with self.lock:
            catalog = await self.catalog()
            image, records = catalog.lookup(name)
            users = (await self.users()).get(image.id, ())
            plan = plan_delete(image, name, records, users, force=force)
            if plan.delete and image_parents.children_count(self.build_cache.parent_map(),
                                                             {i.id for i in catalog.images}).get(image.id):
                if records is None:  # by ID: dockerd refuses, even forced
                    raise delete_conflict(image, True, "image has dependent child images")
                plan = DeletePlan(image, plan.untag, keep=True)  # by name: untagged, kept for its children
            out = await self._apply(plan)
            if plan.delete:
                out += await self._prune_parents(catalog, image.id, prune)
            return out

    async def _prune_parents(self, catalog: Catalog, image_id: str, prune: bool) -> list[dict[str, str]]:
        """After ``image_id`` went: its untagged parents nothing else needs (``prune``),
        and the build cache's entries of every image deleted."""
        out: list[dict[str, str]] = []
        gone = [image_id]
        if prune:
            parents = self.build_cache.parent_map()
            used = set((await self.users()).keys())
            by_id = {i.id: i for i in catalog.images}
            for parent_id in image_parents.parents_to_prune(image_id, parents, by_id, used):
                out += await self._apply(DeletePlan(by_id[parent_id], [], delete=True))
                gone.append(parent_id)
        self.build_cache.forget(gone)
        return out

    async def prune_build_cache(self) -> dict[str, Any]:
        """``POST /build/prune``: forget the build cache and remove the untagged images of
        builds that no image needs and no container uses."""
        cache = self.build_cache
        async with self.lock:
            entries = cache.clear_steps()
            reclaimed = cache.clear_cache_mounts()
            catalog = await self.catalog()
            by_id = {i.id: i for i in catalog.images}
            used = set((await self.users()).keys())
            deleted: list[str] = []
            for image_id in image_parents.unneeded_intermediates(cache.parent_map(), by_id, used):
                image = by_id[image_id]
                parent = by_id.get(cache.parent(image_id))
                own = {layer.chain_id for layer in image.layers} - {layer.chain_id for layer in
                                                                  (parent.layers if parent else [])}
                reclaimed += sum(layer.size for layer in image.layers if layer.chain_id in own)
                await self._apply(DeletePlan(image, [], delete=True))
                deleted.append(image_id)
            cache.forget(deleted)
        log.info("build cache prune: %d entries, %d images", entries, len(deleted))
        return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    async def _apply(self, plan: DeletePlan) -> list[dict[str, str]]:
        image = plan.image
        out: list[dict[str, str]] = []
        if plan.keep:
            await self._keep_dangling(image, image.target)
        names = list(plan.untag)
        if plan.delete:
            names += [r.name for r in image.records if r.name not in names]
        for n, record_name in enumerate(names):
            await self._delete_record(record_name, sync=plan.delete and n == len(names) - 1)
            ref = record_reference(record_name)
            if ref is not None and record_name in plan.untag:
                shown = ref.familiar() if ref.tag or ref.digest else ref.familiar_name()
                out.append({"Untagged": shown})
                self.ctx.events.publish("image", "untag", image.id, {"name": shown})
        if plan.delete:
            out.append({"Deleted": image.id})
            self.ctx.events.publish("image", "delete", image.id, {"name": image.id})
            self.resolver.forget_usage([layer.chain_id for layer in image.layers])
        return out

    async def prune(self, filters: Filters) -> dict[str, Any]:
        """``POST /images/prune``: dangling images (``dangling=false``: every unused one)."""
        async with self.lock:
            catalog = await self.catalog()
            users = await self.users()
            plans, reclaimed = plan_prune(catalog, filters, users)
            keep = image_parents.needed_parents([p.image.id for p in plans], [i.id for i in catalog.images],
                                                self.build_cache.parent_map())
            plans = [p for p in plans if p.image.id not in keep]
            self.build_cache.forget([p.image.id for p in plans if p.delete])
            deleted: list[dict[str, str]] = []
            for plan in plans:
                deleted += await self._apply(plan)
        self.ctx.events.publish("image", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _matching_references(image: DockerImage, patterns: list[str]) -> tuple[list[str], list[str]]:
    """The RepoTags and RepoDigests of ``image`` that one of ``patterns`` matches."""
    tags: list[str] = []
    digests: list[str] = []
    for record in image.records:
        ref = record_reference(record.name)
        if ref is None or not any(familiar_match(p, ref) for p in patterns):
            continue
        if ref.tag:
            tag = f"{ref.familiar_name()}:{ref.tag}"
            if tag not in tags:
                tags.append(tag)
        digest = f"{ref.familiar_name()}@{ref.digest or record.target.digest}"
        if digest not in digests:
            digests.append(digest)
    return tags, digests
