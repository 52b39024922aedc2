"""Pull and push through dockyard-containerd's transfer service, as Docker's JSON progress.

dockyard-containerd moves the bytes (and unpacks a pull into the overlayfs snapshotter);
the engine turns its ``Progress`` stream into dockerd's messages::

    {"status":"Pulling from library/busybox","id":"latest"}
    {"status":"Pulling fs layer","progressDetail":{},"id":"9ad63333ebc9"}
    {"status":"Downloading","progressDetail":{"current":..,"total":..},"progress":"[==>  ] ..","id":".."}
    {"status":"Pull complete","progressDetail":{},"id":"9ad63333ebc9"}
    {"status":"Digest: sha256:..."}
    {"status":"Status: Downloaded newer image for busybox:latest"}

Only layers are shown, as docker shows them. A pull yields nothing before the reference
resolved, so "not found" and "unauthorized" reach the client as HTTP errors (404...);
later failures come inside the stream. Credentials come from ``X-Registry-Auth``
(:func:`decode_auth`); the daemon reads no docker config of its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc

from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2 as tpb
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.server.errors import from_code
from dockyard.engine import image_progress as msg
from dockyard.engine.images_service import ImageService
from dockyard.engine.supervisor import SNAPSHOTTER, Supervisor, rpc_error
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.reference import Reference, parse_reference

Messages = AsyncIterator[dict[str, Any]]
STREAMING = frozenset({"downloading", "unpacking", "pushing"})


def decode_auth(header: str) -> Credentials | None:
    """``X-Registry-Auth``: base64url JSON ``{username, password, serveraddress,
    identitytoken, registrytoken}``; None when absent or empty."""
    header = header.strip()
    if not header:
        return None
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        doc = json.loads(raw or b"{}")
    except (binascii.Error, ValueError):
        raise InvalidArgument("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    if not isinstance(doc, dict):
        raise InvalidArgument("invalid X-Registry-Auth header: not a JSON object")
    credentials = Credentials(str(doc.get("username") or ""), str(doc.get("password") or ""),
                              str(doc.get("identitytoken") or ""), str(doc.get("registrytoken") or ""))
    return credentials if credentials != Credentials() else None


def _auth(credentials: Credentials | None) -> tpb.RegistryAuth | None:
    if credentials is None:
        return None
    return tpb.RegistryAuth(username=credentials.username, password=credentials.password,
                            identity_token=credentials.identity_token, registry_token=credentials.registry_token)


def pull_reference(from_image: str, tag: str, *, all_tags: bool = False) -> Reference:
    """``fromImage`` and ``tag`` of ``POST /images/create`` as one reference (``tag`` may be
    a digest; neither: ``latest``, or with ``all_tags`` the bare repository)."""
    try:
        ref = parse_reference(from_image, default_tag=False)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid reference format: {from_image}: {exc}") from None
    if tag:
        digest = ":" in tag  # docker sends a digest as the tag of a pull by digest
        ref = ref.repository().with_digest(tag) if digest else ref.with_tag(tag)
    elif ref.is_name_only() and not all_tags:
        ref = ref.with_tag("latest")
    return ref


def list_tags(ref: Reference, credentials: Credentials | None) -> list[str]:
    """The tags of ``ref``'s repository on its registry (blocking: run it in a thread)."""
    with RegistryClient(ref.registry_host, credentials=credentials) as client:
        return sorted(client.list_tags(ref.path))


async def transfer_stream(supervisor: Supervisor, method: Any, request: Any) -> AsyncIterator[Any]:
    """A transfer call's messages. Its errors are the registry's, said as they are
    (``cannot reach registry ...``); only a daemon that cannot be reached is named."""
    call = method(request, metadata=supervisor.metadata)
    try:
        async for message in call:
            yield message
    except grpc.RpcError as exc:
        details = exc.details() or ""
        if exc.code() == grpc.StatusCode.UNAVAILABLE and "failed to connect" in details:
            raise rpc_error(exc) from None
        raise from_code(exc.code(), details or str(exc)) from None
    finally:
        call.cancel()


def _blob_message(blob: Any, seen: set[str], first_words: str) -> list[dict[str, Any]]:
    out = []
    if blob.id not in seen:
        seen.add(blob.id)
        if first_words and blob.action not in ("exists", "mounted"):
            out.append(msg.progress(first_words, blob.id, detail=False))
    out.append(msg.progress(blob.status, blob.id, blob.offset, blob.total, detail=blob.action in STREAMING))
    return out


class PullView:
    """A pull's layer events as docker shows them: a layer found locally is one line,
    ``Already exists`` (nothing before, nothing after), and when the whole image was there
    already (``Image is up to date``) not even that; every other layer starts with
    ``Pulling fs layer``."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.existing: set[str] = set()
        self.held: list[dict[str, Any]] = []  # "Already exists" lines, until something is new

    def blob(self, blob: Any) -> list[dict[str, Any]]:
        if blob.id in self.existing:
            return []
        starting = blob.action == "waiting" or (blob.action == "unpacking" and blob.offset == 0)
        if starting and blob.id not in self.seen:
            return []  # said once it is known whether the layer is new
        if blob.action == "exists":
            self.existing.add(blob.id)
            self.held.append(msg.progress(blob.status, blob.id, detail=False))
            return []
        out, self.held = self.held, []
        return out + _blob_message(blob, self.seen, "Pulling fs layer")

    def done(self, up_to_date: bool) -> list[dict[str, Any]]:
        out, self.held = ([] if up_to_date else self.held), []
        return out


class Transfers:
    def __init__(self, images: ImageService) -> None:
        self.images = images
        self.supervisor = images.supervisor
        self.hub = images.ctx.events

    @property
    def stub(self) -> Any:
        return self.supervisor.transfer

    async def pull_all_tags(self, repo: Reference, *, platform: str = "",
                            credentials: Credentials | None = None) -> Messages:
        """``docker pull -a``: every tag of the repository, one after the other, then one
        status line for the repository (as dockerd says it)."""
        tags = await asyncio.to_thread(list_tags, repo, credentials)
        if not tags:
            raise NotFound(f"repository {repo.familiar_name()} has no tags")
        updated: list[bool] = []
        for tag in tags:
            async for item in self.pull(repo.with_tag(tag), platform=platform, credentials=credentials,
                                        updated=updated):
                yield item
        words = "Downloaded newer image for" if any(updated) else "Image is up to date for"
        yield msg.status(f"Status: {words} {repo.familiar_name()}")

    async def pull(self, ref: Reference, *, platform: str = "", credentials: Credentials | None = None,
                   updated: list[bool] | None = None) -> Messages:
        """One image; with ``updated`` (a pull of many) whether it changed is appended there
        instead of saying it."""
        name = str(ref)
        previous, kept = await self.images.before_pull(name)
        current = ""
        try:
            request = tpb.PullRequest(reference=name, platform=platform, unpack=True, snapshotter=SNAPSHOTTER,
                                      auth=_auth(credentials))
            started = False
            view = PullView()
            changed = False
            async for message in transfer_stream(self.supervisor, self.stub.Pull, request):
                kind = message.WhichOneof("event")
                if kind == "stage":
                    continue
                if not started:
                    started = True
                    yield msg.status(f"Pulling from {ref.path}", ref.tag or ref.digest)
                if kind == "blob":
                    if mediatypes.is_layer(message.blob.desc.media_type):
                        for item in view.blob(message.blob):
                            yield item
                elif kind == "pulled":
                    pulled = message.pulled
                    current = pulled.target.digest
                    changed = pulled.previous_digest != current
                    for item in view.done(up_to_date=not changed):
                        yield item
                    yield msg.status(f"Digest: {current}")
            if not current:
                raise NotFound(f"pull of {ref.familiar()}: ended without an image")
            self.hub.publish("image", "pull", ref.familiar(), {"name": ref.familiar_name()})
            if updated is not None:
                updated.append(changed)
            else:
                words = "Downloaded newer image for" if changed else "Image is up to date for"
                yield msg.status(f"Status: {words} {ref.familiar()}")
        finally:
            await self.images.after_pull(name, kept, previous, current)

    async def _push_targets(self, name: str, tag: str) -> list[tuple[Reference, Any]]:
        try:
            ref = parse_reference(name, default_tag=False)
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid reference format: {name}: {exc}") from None
        if tag:
            ref = ref.with_digest(tag) if tag.startswith("sha256:") else ref.with_tag(tag)
        catalog = await self.images.catalog()
        if ref.tag or ref.digest:
            try:
                image, _ = catalog.lookup(str(ref))
            except NotFound:
                raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name()}") from None
            return [(ref, image)]
        found = []
        for image in catalog.images:
            for _, tagged in image.tag_records:
                if tagged.name == ref.name:
                    found.append((tagged, image))
        if not found:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name()}")
        return sorted(found, key=lambda pair: pair[0].tag)

    async def push(self, name: str, tag: str = "", *, credentials: Credentials | None = None) -> Messages:
        targets = await self._push_targets(name, tag)
        yield msg.status(f"The push refers to repository [{targets[0][0].name}]")
        for ref, image in targets:
            hit = (await self.images.catalog()).record(str(ref))
            record = hit[1] if hit is not None else image.named_records[0]
            source = record.name
            platform = ""  # of an index, only the manifest the engine shows is stored: push that one
            if mediatypes.is_index(record.target.media_type) and image.config is not None:
                config = image.config
                platform = "/".join(p for p in (config.os, config.architecture, config.variant) if p)
            request = tpb.PushRequest(name=source, reference=str(ref), platform=platform, auth=_auth(credentials))
            seen: set[str] = set()
            async for message in transfer_stream(self.supervisor, self.stub.Push, request):
                kind = message.WhichOneof("event")
                if kind == "blob" and mediatypes.is_layer(message.blob.desc.media_type):
                    for item in _blob_message(message.blob, seen, ""):
                        yield item
                elif kind == "pushed":
                    target = message.pushed.target
                    label = ref.tag or ref.digest
                    yield msg.status(f"{label}: digest: {target.digest} size: {target.size}")
                    yield msg.aux({"Tag": label, "Digest": target.digest, "Size": target.size})
            self.hub.publish("image", "push", ref.familiar(), {"name": ref.familiar_name()})
