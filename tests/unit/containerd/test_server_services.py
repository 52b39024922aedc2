"""dockyard-containerd's services through gRPC, in process: a daemon on a socket in the test's
directory and the generated client stubs (no root, no ctr). The ctr acceptance tests are in
tests/integration/test_ctr_storage.py."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import any_pb2, empty_pb2, field_mask_pb2

from dockyard.containerd.api.events import image_pb2 as image_events
from dockyard.containerd.api.services.containers.v1 import containers_pb2, containers_pb2_grpc
from dockyard.containerd.api.services.content.v1 import content_pb2, content_pb2_grpc
from dockyard.containerd.api.services.diff.v1 import diff_pb2, diff_pb2_grpc
from dockyard.containerd.api.services.events.v1 import events_pb2, events_pb2_grpc
from dockyard.containerd.api.services.images.v1 import images_pb2, images_pb2_grpc
from dockyard.containerd.api.services.introspection.v1 import introspection_pb2, introspection_pb2_grpc
from dockyard.containerd.api.services.leases.v1 import leases_pb2, leases_pb2_grpc
from dockyard.containerd.api.services.namespaces.v1 import namespace_pb2, namespace_pb2_grpc
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2, snapshots_pb2_grpc
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from dockyard.containerd.api.services.version.v1 import version_pb2_grpc
from dockyard.containerd.api.types import descriptor_pb2
from dockyard.containerd.server.config import Config
from dockyard.containerd.server.daemon import Daemon
from dockyard.containerd.server.version import VERSION

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def md(ns: str = "default", lease: str = "") -> list[tuple[str, str]]:
    out = [("containerd-namespace", ns)]
    if lease:
        out.append(("containerd-lease", lease))
    return out


class Client:
    def __init__(self, channel: grpc.Channel, daemon: Daemon) -> None:
        self.daemon = daemon
        self.version = version_pb2_grpc.VersionStub(channel)
        self.namespaces = namespace_pb2_grpc.NamespacesStub(channel)
        self.introspection = introspection_pb2_grpc.IntrospectionStub(channel)
        self.content = content_pb2_grpc.ContentStub(channel)
        self.images = images_pb2_grpc.ImagesStub(channel)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(channel)
        self.leases = leases_pb2_grpc.LeasesStub(channel)
        self.diff = diff_pb2_grpc.DiffStub(channel)
        self.events = events_pb2_grpc.EventsStub(channel)
        self.containers = containers_pb2_grpc.ContainersStub(channel)
        self.tasks = tasks_pb2_grpc.TasksStub(channel)

    def write(self, ref: str, data: bytes, *, ns: str = "default", lease: str = "", expected: str = "",
              labels: dict[str, str] | None = None) -> list[content_pb2.WriteContentResponse]:
        """One Write stream as the Go client's content.Copy sends it: stat, write, commit."""
        requests = [
            content_pb2.WriteContentRequest(action=content_pb2.STAT, ref=ref, total=len(data), expected=expected),
            content_pb2.WriteContentRequest(action=content_pb2.WRITE, offset=0, data=data),
            content_pb2.WriteContentRequest(action=content_pb2.COMMIT, offset=len(data), total=len(data),
                                            expected=expected, labels=labels or {}),
        ]
        return list(self.content.Write(iter(requests), metadata=md(ns, lease)))

    def read(self, digest: str, ns: str = "default", offset: int = 0, size: int = 0) -> bytes:
        request = content_pb2.ReadContentRequest(digest=digest, offset=offset, size=size)
        return b"".join(r.data for r in self.content.Read(request, metadata=md(ns)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    config = Config(address=str(tmp_path / "d.sock"), root=str(tmp_path / "root"), state=str(tmp_path / "state"))
    daemon = Daemon(config, workers=8)
    daemon.start()
    channel = grpc.insecure_channel(f"unix:{config.address}")
    try:
        yield Client(channel, daemon)
    finally:
        channel.close()
        daemon.stop(0)
    assert not (tmp_path / "d.sock").exists()


def code_of(excinfo: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    code: grpc.StatusCode = excinfo.value.code()
    return code


def test_version_and_socket_mode(client: Client) -> None:
    assert client.version.Version(empty_pb2.Empty()).version == VERSION
    assert os.stat(client.daemon.config.address).st_mode & 0o777 == 0o600


def test_errors_arrive_with_containerd_codes(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as missing:
        client.images.Get(images_pb2.GetImageRequest(name="nope"), metadata=md())
    assert code_of(missing) == grpc.StatusCode.NOT_FOUND and "image 'nope': not found" in missing.value.details()
    create = namespace_pb2.CreateNamespaceRequest(namespace=namespace_pb2.Namespace(name="twice"))
    client.namespaces.Create(create)
    with pytest.raises(grpc.RpcError) as again:
        client.namespaces.Create(create)
    assert code_of(again) == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as bad:
        client.images.List(images_pb2.ListImagesRequest(), metadata=md("no spaces allowed"))
    assert code_of(bad) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as tasks:
        client.tasks.Get(tasks_pb2.GetRequest(container_id="none"), metadata=md())
    assert code_of(tasks) == grpc.StatusCode.NOT_FOUND and tasks.value.details() == "task none not found"


def test_namespaces_labels_and_delete(client: Client) -> None:
    got = client.namespaces.Get(namespace_pb2.GetNamespaceRequest(name="never-made"))
    assert got.namespace.name == "never-made" and dict(got.namespace.labels) == {}  # as containerd
    client.namespaces.Create(namespace_pb2.CreateNamespaceRequest(
        namespace=namespace_pb2.Namespace(name="team", labels={"a": "1", "b": "2"})))
    update = namespace_pb2.UpdateNamespaceRequest(namespace=namespace_pb2.Namespace(name="team", labels={"c": "3"}),
                                                  update_mask=field_mask_pb2.FieldMask(paths=["labels.c", "labels.a"]))
    assert dict(client.namespaces.Update(update).namespace.labels) == {"b": "2", "c": "3"}
    replace = namespace_pb2.UpdateNamespaceRequest(namespace=namespace_pb2.Namespace(name="team", labels={"d": "4"}))
    assert dict(client.namespaces.Update(replace).namespace.labels) == {"d": "4"}
    client.write("r", b"blob", ns="team")
    with pytest.raises(grpc.RpcError) as held:
        client.namespaces.Delete(namespace_pb2.DeleteNamespaceRequest(name="team"))
    assert code_of(held) == grpc.StatusCode.FAILED_PRECONDITION and "blobs" in held.value.details()
    client.content.Delete(content_pb2.DeleteContentRequest(digest=digest(b"blob")), metadata=md("team"))
    client.namespaces.Delete(namespace_pb2.DeleteNamespaceRequest(name="team"))
    listed = client.namespaces.List(namespace_pb2.ListNamespacesRequest())
    assert "team" not in [n.name for n in listed.namespaces]


def test_content_write_read_list_in_its_namespace(client: Client) -> None:
    data = os.urandom(3 << 20)  # several read chunks
    answers = client.write("layer-1", data, ns="a", expected=digest(data), labels={"x": "y"})
    assert [a.action for a in answers] == [content_pb2.STAT, content_pb2.WRITE, content_pb2.COMMIT]
    assert answers[-1].digest == digest(data) and answers[-1].offset == len(data)
    assert client.read(digest(data), "a") == data
    assert client.read(digest(data), "a", offset=10, size=5) == data[10:15]
    info = client.content.Info(content_pb2.InfoRequest(digest=digest(data)), metadata=md("a")).info
    assert info.size == len(data) and dict(info.labels) == {"x": "y"}
    with pytest.raises(grpc.RpcError) as elsewhere:
        client.content.Info(content_pb2.InfoRequest(digest=digest(data)), metadata=md("b"))
    assert code_of(elsewhere) == grpc.StatusCode.NOT_FOUND
    listed = [i.digest for r in client.content.List(content_pb2.ListContentRequest(filters=["labels.x==y"]),
                                                    metadata=md("a")) for i in r.info]
    assert listed == [digest(data)]
    # the same blob again: already exists, which the client takes as done
    with pytest.raises(grpc.RpcError) as exists:
        client.write("layer-1-again", data, ns="a", expected=digest(data))
    assert code_of(exists) == grpc.StatusCode.ALREADY_EXISTS


def test_content_write_resumes_by_ref(client: Client) -> None:
    data = b"0123456789" * 1000
    first = [content_pb2.WriteContentRequest(action=content_pb2.STAT, ref="resume-me", total=len(data)),
             content_pb2.WriteContentRequest(action=content_pb2.WRITE, offset=0, data=data[:4000])]
    assert [a.offset for a in client.content.Write(iter(first), metadata=md())] == [0, 4000]
    status = client.content.Status(content_pb2.StatusRequest(ref="resume-me"), metadata=md()).status
    assert (status.offset, status.total) == (4000, len(data))
    listed = client.content.ListStatuses(content_pb2.ListStatusesRequest(filters=["ref==resume-me"]), metadata=md())
    assert [s.ref for s in listed.statuses] == ["resume-me"]
    # a write at the wrong offset is refused; the ingest stays
    wrong = [content_pb2.WriteContentRequest(action=content_pb2.STAT, ref="resume-me"),
             content_pb2.WriteContentRequest(action=content_pb2.WRITE, offset=5000, data=b"x")]
    with pytest.raises(grpc.RpcError) as out_of_range:
        list(client.content.Write(iter(wrong), metadata=md()))
    assert code_of(out_of_range) == grpc.StatusCode.OUT_OF_RANGE
    second = [content_pb2.WriteContentRequest(action=content_pb2.STAT, ref="resume-me"),
              content_pb2.WriteContentRequest(action=content_pb2.WRITE, offset=4000, data=data[4000:]),
              content_pb2.WriteContentRequest(action=content_pb2.COMMIT, offset=len(data), expected=digest(data))]
    answers = list(client.content.Write(iter(second), metadata=md()))
    assert answers[0].offset == 4000 and answers[0].total == len(data) and answers[0].digest == digest(data[:4000])
    assert answers[-1].digest == digest(data)
    assert client.read(digest(data)) == data
    assert client.content.ListStatuses(content_pb2.ListStatusesRequest(), metadata=md()).statuses == []


def test_one_writer_per_ref(client: Client) -> None:
    opened = threading.Event()  # the first stream's STAT was answered: it holds the ref
    release = threading.Event()

    def slow() -> Iterator[content_pb2.WriteContentRequest]:
        yield content_pb2.WriteContentRequest(action=content_pb2.STAT, ref="busy")
        release.wait(10)

    def hold() -> None:
        for _ in client.content.Write(slow(), metadata=md()):
            opened.set()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert opened.wait(10)
        with pytest.raises(grpc.RpcError) as locked:
            client.write("busy", b"x")
        assert code_of(locked) == grpc.StatusCode.UNAVAILABLE and "locked" in locked.value.details()
    finally:
        release.set()
        holder.join(10)
    client.write("busy", b"x")  # free again once the first stream ended


def image(name: str, target: bytes) -> images_pb2.Image:
    return images_pb2.Image(name=name, target=descriptor_pb2.Descriptor(
        media_type=MANIFEST, digest=digest(target), size=len(target)))


def test_images_events_and_sync_delete(client: Client) -> None:
    stream = client.events.Subscribe(events_pb2.SubscribeRequest(filters=['topic~="^/images/",namespace==ns1']))
    stream.initial_metadata()  # subscribed
    manifest = b'{"schemaVersion":2}'
    client.write("m", manifest, ns="ns1", labels={"containerd.io/gc.root": "x"})
    client.images.Create(images_pb2.CreateImageRequest(image=image("img:1", manifest)), metadata=md("ns1"))
    client.images.Create(images_pb2.CreateImageRequest(image=image("other:1", manifest)), metadata=md("ns2"))
    update = images_pb2.UpdateImageRequest(image=images_pb2.Image(name="img:1", labels={"k": "v"}),
                                           update_mask=field_mask_pb2.FieldMask(paths=["labels.k"]))
    assert dict(client.images.Update(update, metadata=md("ns1")).image.labels) == {"k": "v"}
    listed = client.images.List(images_pb2.ListImagesRequest(filters=["labels.k==v"]), metadata=md("ns1"))
    assert [i.name for i in listed.images] == ["img:1"]
    client.images.Delete(images_pb2.DeleteImageRequest(name="img:1", sync=True), metadata=md("ns1"))
    seen = []
    for envelope in stream:
        seen.append((envelope.topic, envelope.event.type_url))
        if envelope.topic == "/images/delete":
            decoded = image_events.ImageDelete.FromString(envelope.event.value)
            assert decoded.name == "img:1"
            break
    stream.cancel()
    assert seen == [("/images/create", "containerd.services.images.v1.ImageCreate"),
                    ("/images/update", "containerd.services.images.v1.ImageUpdate"),
                    ("/images/delete", "containerd.services.images.v1.ImageDelete")]


def test_a_lease_holds_content_until_deleted(client: Client) -> None:
    lease = client.leases.Create(leases_pb2.CreateRequest(labels={"purpose": "test"}), metadata=md()).lease
    assert lease.id and dict(lease.labels) == {"purpose": "test"}
    client.write("held", b"leased blob", lease=lease.id)
    resources = client.leases.ListResources(leases_pb2.ListResourcesRequest(id=lease.id), metadata=md())
    assert [(r.type, r.id) for r in resources.resources] == [("content", digest(b"leased blob"))]
    client.daemon.backend.gc.collect_now()  # type: ignore[union-attr]
    assert client.read(digest(b"leased blob")) == b"leased blob"
    client.leases.Delete(leases_pb2.DeleteRequest(id=lease.id, sync=True), metadata=md())
    with pytest.raises(grpc.RpcError) as gone:
        client.read(digest(b"leased blob"))
    assert code_of(gone) == grpc.StatusCode.NOT_FOUND


def spec() -> any_pb2.Any:
    return any_pb2.Any(type_url="types.containerd.io/opencontainers/runtime-spec/1/Spec", value=b'{"ociVersion":"1"}')


def test_containers_crud_and_their_snapshot_survives_gc(client: Client) -> None:
    snap = snapshots_pb2.PrepareSnapshotRequest(snapshotter="native", key="rootfs-c1")
    client.snapshots.Prepare(snap, metadata=md())
    container = containers_pb2.Container(id="c1", image="img:1", labels={"role": "web"}, spec=spec(),
                                         snapshotter="native", snapshot_key="rootfs-c1")
    container.runtime.name = "io.containerd.runc.v2"
    container.extensions["note"].CopyFrom(any_pb2.Any(type_url="x", value=b"1"))
    created = client.containers.Create(containers_pb2.CreateContainerRequest(container=container),
                                       metadata=md()).container
    assert created.created_at.seconds > 0 and created.spec.value == b'{"ociVersion":"1"}'
    client.daemon.backend.gc.collect_now()  # type: ignore[union-attr]
    stat = client.snapshots.Stat(snapshots_pb2.StatSnapshotRequest(snapshotter="native", key="rootfs-c1"),
                                 metadata=md())
    assert stat.info.kind == snapshots_pb2.ACTIVE  # held by the container, not by being active
    change = containers_pb2.Container(id="c1", labels={"role": "db"})
    updated = client.containers.Update(containers_pb2.UpdateContainerRequest(
        container=change, update_mask=field_mask_pb2.FieldMask(paths=["labels.role"])), metadata=md()).container
    assert dict(updated.labels) == {"role": "db"} and updated.extensions["note"].value == b"1"
    found = client.containers.List(containers_pb2.ListContainersRequest(filters=["labels.role==db"]), metadata=md())
    assert [c.id for c in found.containers] == ["c1"]
    streamed = list(client.containers.ListStream(containers_pb2.ListContainersRequest(), metadata=md()))
    assert [m.container.id for m in streamed] == ["c1"]
    immutable = containers_pb2.Container(id="c1", spec=spec(), snapshotter="overlayfs")
    immutable.runtime.name = "io.containerd.runc.v2"
    with pytest.raises(grpc.RpcError) as refused:
        client.containers.Update(containers_pb2.UpdateContainerRequest(container=immutable), metadata=md())
    assert code_of(refused) == grpc.StatusCode.INVALID_ARGUMENT
    client.containers.Delete(containers_pb2.DeleteContainerRequest(id="c1"), metadata=md())
    client.daemon.backend.gc.collect_now()  # type: ignore[union-attr]
    with pytest.raises(grpc.RpcError) as collected:
        client.snapshots.Stat(snapshots_pb2.StatSnapshotRequest(snapshotter="native", key="rootfs-c1"),
                              metadata=md())
    assert code_of(collected) == grpc.StatusCode.NOT_FOUND


def test_diff_and_apply_on_native_snapshots(client: Client, tmp_path: Path) -> None:
    lease = client.leases.Create(leases_pb2.CreateRequest(id="work"), metadata=md()).lease.id
    mounts = client.snapshots.Prepare(snapshots_pb2.PrepareSnapshotRequest(snapshotter="native", key="src"),
                                      metadata=md(lease=lease)).mounts
    assert [(m.type, list(m.options)) for m in mounts] == [("bind", ["rw", "rbind"])]
    root = Path(mounts[0].source)
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("box\n")
    layer = client.diff.Diff(diff_pb2.DiffRequest(right=mounts), metadata=md(lease=lease)).diff
    assert layer.media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
    info = client.content.Info(content_pb2.InfoRequest(digest=layer.digest), metadata=md()).info
    diff_id = info.labels["containerd.io/uncompressed"]
    target = client.snapshots.Prepare(snapshots_pb2.PrepareSnapshotRequest(snapshotter="native", key="dst"),
                                      metadata=md(lease=lease)).mounts
    applied = client.diff.Apply(diff_pb2.ApplyRequest(diff=layer, mounts=target), metadata=md()).applied
    assert applied.digest == diff_id and applied.media_type == "application/vnd.oci.image.layer.v1.tar"
    assert (Path(target[0].source) / "etc" / "hostname").read_text() == "box\n"
    with pytest.raises(grpc.RpcError) as unsupported:
        bad = descriptor_pb2.Descriptor(media_type="application/json", digest=layer.digest, size=layer.size)
        client.diff.Apply(diff_pb2.ApplyRequest(diff=bad, mounts=target), metadata=md())
    assert code_of(unsupported) == grpc.StatusCode.UNIMPLEMENTED


def test_introspection(client: Client) -> None:
    plugins = client.introspection.Plugins(introspection_pb2.PluginsRequest()).plugins
    ids = {(p.type, p.id) for p in plugins}
    assert {("io.containerd.snapshotter.v1", "overlayfs"), ("io.containerd.snapshotter.v1", "native"),
            ("io.containerd.content.v1", "content"), ("io.containerd.grpc.v1", "images")} <= ids
    tasks = [p for p in plugins if p.id == "tasks"]
    assert tasks and not tasks[0].init_err.message
    assert ("io.containerd.runtime.v2", "task") in ids
    only = client.introspection.Plugins(introspection_pb2.PluginsRequest(
        filters=["type==io.containerd.snapshotter.v1,id==native"])).plugins
    assert [(p.id, p.platforms[0].os) for p in only] == [("native", "linux")]
    server = client.introspection.Server(empty_pb2.Empty())
    assert server.uuid and server.pid == os.getpid()
    uuid_file = Path(client.daemon.config.root) / "io.containerd.grpc.v1.introspection" / "uuid"
    assert uuid_file.read_text() == server.uuid  # the same after a restart


def test_publish_and_forward(client: Client) -> None:
    stream = client.events.Subscribe(events_pb2.SubscribeRequest(filters=['topic=="/custom/thing"']))
    stream.initial_metadata()  # subscribed
    event = any_pb2.Any(type_url="containerd.services.images.v1.ImageCreate",
                        value=image_events.ImageCreate(name="published").SerializeToString())
    client.events.Publish(events_pb2.PublishRequest(topic="/custom/thing", event=event), metadata=md("pubns"))
    envelope = events_pb2.Envelope(namespace="fwdns", topic="/custom/thing", event=event)
    envelope.timestamp.FromSeconds(1000)
    client.events.Forward(events_pb2.ForwardRequest(envelope=envelope))
    with pytest.raises(grpc.RpcError) as bad_topic:
        client.events.Publish(events_pb2.PublishRequest(topic="no-slash", event=event))
    assert code_of(bad_topic) == grpc.StatusCode.INVALID_ARGUMENT
    received = [next(stream), next(stream)]
    stream.cancel()
    assert [(e.namespace, e.timestamp.seconds == 1000) for e in received] == [("pubns", False), ("fwdns", True)]
    assert image_events.ImageCreate.FromString(received[0].event.value).name == "published"
