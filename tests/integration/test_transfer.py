"""dockyard's transfer service against a local ``docker-registry``: ``dockyard-containerd``
pulls and pushes itself while the client only reads the progress (``transfer_client``).

One daemon runs for the module (socket, root and state in a temporary directory, stopped by
PID at the end; no mounts may remain); each test works in its own namespace and checks the
outcome with Debian's ``ctr``. The cancel test puts a proxy in front of the registry that
holds the layer's download half-way, so the call is cancelled while the pull is running.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from tests.support.ctrd import CTR, RunningDaemon, dockyard_containerd, namespace
from tests.support.registry import Seeded

from dockyard.containerd import transfer_client
from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2, transfer_pb2_grpc
from dockyard.containerd.api.events import image_pb2 as image_events
from dockyard.containerd.api.services.events.v1 import events_pb2, events_pb2_grpc
from dockyard.containerd.archive.layers import chain_ids
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci.digest import digest_bytes

pytest_plugins = ["tests.integration.conftest_registry"]

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which(CTR) is None, reason="ctr is not installed (apt-get install containerd)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed"),
]

Progress = transfer_pb2.Progress


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    with dockyard_containerd(tmp_path_factory.mktemp("ctrd"), forbidden_in_log=("unexpected error",)) as running:
        yield running


@pytest.fixture(scope="module")
def channel(daemon: RunningDaemon) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"unix:{daemon.address}") as chan:
        yield chan


@pytest.fixture
def ns(request: pytest.FixtureRequest, daemon: RunningDaemon) -> Iterator[str]:
    """A namespace of the test's own (emptied and removed at the end)."""
    with namespace(daemon, "x-" + request.node.name.replace("_", "-")[:60].strip("-")) as name:
        yield name


def column(daemon: RunningDaemon, ns: str, *args: str) -> list[str]:
    """The first column of a ``ctr`` listing (without its header)."""
    lines = daemon.ctr("-n", ns, *args).stdout.splitlines()[1:]
    return [line.split()[0] for line in lines if line.strip()]


def leases(daemon: RunningDaemon, ns: str) -> list[str]:
    return daemon.ctr("-n", ns, "leases", "ls", "-q").stdout.split()


DOWNLOAD = ("waiting", "downloading", "verifying", "downloaded", "exists")
UNPACK = ("unpacking", "done")


def blobs(events: list[Progress], digest: str, among: tuple[str, ...] = ()) -> list[str]:
    """The actions reported for blob ``digest`` (only those ``among``, if given), repeats
    folded. Downloading and unpacking overlap, so their actions interleave."""
    out: list[str] = []
    for event in events:
        blob = event.blob
        if not event.HasField("blob") or blob.desc.digest != digest or (among and blob.action not in among):
            continue
        if not out or out[-1] != blob.action:
            out.append(blob.action)
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class ImageEvents:
    """The /images/ events of namespace ``ns`` from now on."""

    def __init__(self, channel: grpc.Channel, ns: str) -> None:
        stub = events_pb2_grpc.EventsStub(channel)
        self.stream = stub.Subscribe(events_pb2.SubscribeRequest(filters=[f'topic~="^/images/",namespace=={ns}']))
        self.stream.initial_metadata()  # subscribed

    def next(self) -> tuple[str, str]:
        envelope = next(self.stream)
        event = image_events.ImageCreate if envelope.topic == "/images/create" else image_events.ImageUpdate
        return envelope.topic, event.FromString(envelope.event.value).name

    def close(self) -> None:
        self.stream.cancel()


# -- pull ------------------------------------------------------------------------------


def test_pull_streams_progress_and_unpacks(daemon: RunningDaemon, channel: grpc.Channel, ns: str,
                                           seeded: Seeded) -> None:
    ref = f"{seeded.registry.host}/busybox:latest"
    layer = seeded.single.layers[0].blob.desc
    watch = ImageEvents(channel, ns)
    try:
        events = list(transfer_client.pull(channel, ns, ref, labels={"dockyard.test": "yes"}))
        assert watch.next() == ("/images/create", ref)
    finally:
        watch.close()

    first, last = events[0], events[-1]
    assert first.HasField("stage")
    assert (first.stage.action, first.stage.reference, first.stage.repository, first.stage.tag) == (
        "resolving", ref, "busybox", "latest")
    assert blobs(events, layer.digest, DOWNLOAD) == ["waiting", "downloading", "verifying", "downloaded"]
    assert blobs(events, layer.digest, UNPACK) == ["unpacking", "done"]
    assert blobs(events, layer.digest)[-1] == "done"
    downloading = [e.blob for e in events if e.HasField("blob") and e.blob.action == "downloading"]
    assert downloading[-1].offset == downloading[-1].total == layer.size
    assert all(b.id == layer.digest[7:19] and b.status == "Downloading" for b in downloading)
    assert last.HasField("pulled")
    pulled = last.pulled
    assert pulled.name == ref and pulled.created and pulled.previous_digest == ""
    assert pulled.target.digest == pulled.manifest.digest == seeded.single.manifest.desc.digest
    assert pulled.config.digest == seeded.single.config.desc.digest
    assert pulled.platform == "linux/amd64"
    top = chain_ids([lyr.diff_id for lyr in seeded.single.layers])
    assert (pulled.snapshotter, list(pulled.chain_ids)) == ("overlayfs", top)
    assert dict(pulled.labels) == {"dockyard.test": "yes"}

    listing = daemon.ctr("-n", ns, "images", "ls").stdout
    assert ref in daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split()
    assert "dockyard.test=yes" in listing
    assert top[-1] in column(daemon, ns, "snapshots", "ls")
    assert leases(daemon, ns) == []  # the pull's lease is gone; the image holds what it pulled
    assert daemon.ctr("-n", ns, "content", "active").stdout.splitlines()[1:] == []

    # again: nothing to download, the record is updated (docker's "Image is up to date")
    watch = ImageEvents(channel, ns)
    try:
        again = list(transfer_client.pull(channel, ns, ref))
        assert watch.next() == ("/images/update", ref)
    finally:
        watch.close()
    assert blobs(again, layer.digest, DOWNLOAD) == ["waiting", "exists"]
    assert not again[-1].pulled.created
    assert again[-1].pulled.previous_digest == again[-1].pulled.target.digest
    assert dict(again[-1].pulled.labels) == {"dockyard.test": "yes"}  # no labels given: kept


def test_pull_without_unpack_of_an_index(daemon: RunningDaemon, channel: grpc.Channel, ns: str,
                                         seeded: Seeded) -> None:
    ref = f"{seeded.registry.host}/multi:1"
    result = transfer_client.result(transfer_client.pull(channel, ns, ref, platform="linux/arm64", unpack=False))
    pulled = result.pulled
    assert pulled.target.digest == seeded.multi.index.desc.digest
    assert pulled.manifest.digest == seeded.arm64.manifest.desc.digest
    assert (pulled.platform, pulled.snapshotter, list(pulled.chain_ids)) == ("linux/arm64", "", [])
    assert column(daemon, ns, "snapshots", "ls") == []
    content = daemon.ctr("-n", ns, "content", "ls", "-q").stdout.split()
    assert seeded.arm64.manifest.desc.digest in content
    assert seeded.amd64.manifest.desc.digest not in content


def test_a_bad_reference_is_invalid_argument(channel: grpc.Channel, ns: str) -> None:
    stub = transfer_pb2_grpc.TransferStub(channel)
    with pytest.raises(grpc.RpcError) as raw:
        list(stub.Pull(transfer_pb2.PullRequest(reference="Not/A Reference"), metadata=[("containerd-namespace", ns)]))
    assert raw.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        transfer_client.result(transfer_client.pull(channel, ns, "library/BusyBox:1"))
    with pytest.raises(InvalidArgument, match="platform"):
        transfer_client.result(transfer_client.pull(channel, ns, "busybox", platform="not/a/plat/form"))


def test_an_unknown_repository_is_not_found(daemon: RunningDaemon, channel: grpc.Channel, ns: str,
                                            seeded: Seeded) -> None:
    events: list[Progress] = []
    with pytest.raises(NotFound):
        for event in transfer_client.pull(channel, ns, f"{seeded.registry.host}/no-such-repo:1"):
            events.append(event)
    assert [e.stage.action for e in events] == ["resolving"]  # the stage came before the error
    assert leases(daemon, ns) == []
    assert daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split() == []
    with pytest.raises(NotFound, match="no-such-image"):
        transfer_client.result(transfer_client.push(channel, ns, "no-such-image:1"))


# -- push ------------------------------------------------------------------------------


def registry_manifest(host: str, repo_tag: str) -> bytes:
    proc = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{host}/{repo_tag}"],
                          capture_output=True, check=True, timeout=60)
    return proc.stdout


def test_push_to_another_repository(channel: grpc.Channel, ns: str, seeded: Seeded) -> None:
    host = seeded.registry.host
    source = f"{host}/busybox:latest"
    transfer_client.result(transfer_client.pull(channel, ns, source))
    events = list(transfer_client.push(channel, ns, source, f"{host}/transfer/pushed:1"))
    assert events[0].stage.action == "pushing" and events[0].stage.reference == f"{host}/transfer/pushed:1"
    layer = seeded.single.layers[0].blob.desc.digest
    # the pull labelled the blobs with their source repository: the registry mounts them
    assert blobs(events, layer) == ["preparing", "waiting", "mounted"]
    mounted = [e.blob for e in events if e.HasField("blob") and e.blob.action == "mounted"]
    assert {b.mounted_from for b in mounted} == {"busybox"}
    assert {b.status for b in mounted} == {"Mounted from busybox"}
    pushed = events[-1].pushed
    assert pushed.reference == f"{host}/transfer/pushed:1"
    assert pushed.target.digest == seeded.single.manifest.desc.digest
    assert sorted(pushed.mounted) == sorted([layer, seeded.single.config.desc.digest])
    manifest = registry_manifest(host, "transfer/pushed:1")
    assert digest_bytes(manifest) == seeded.single.manifest.desc.digest
    assert [lyr["digest"] for lyr in json.loads(manifest)["layers"]] == [layer]


def test_push_one_platform_of_an_index(channel: grpc.Channel, ns: str, seeded: Seeded) -> None:
    host = seeded.registry.host
    transfer_client.result(transfer_client.pull(channel, ns, f"{host}/multi:1", platform="linux/amd64"))
    # the index lists an arm64 manifest this namespace does not have: the whole image cannot go
    with pytest.raises(NotFound, match="not in the content store"):
        transfer_client.result(transfer_client.push(channel, ns, f"{host}/multi:1", f"{host}/transfer/multi:all"))
    result = transfer_client.result(transfer_client.push(channel, ns, f"{host}/multi:1", f"{host}/transfer/multi:amd64",
                                                         platform="linux/amd64"))
    assert result.pushed.target.digest == seeded.amd64.manifest.desc.digest
    assert digest_bytes(registry_manifest(host, "transfer/multi:amd64")) == seeded.amd64.manifest.desc.digest


# -- cancel ----------------------------------------------------------------------------


class StallingProxy:
    """A plain HTTP proxy in front of registry ``upstream`` on its own 127.0.0.1 port that
    holds every download of blob ``digest``: it sends the headers and the first ``head``
    bytes, sets ``stalled``, waits for ``release`` and drops the connection. Once released
    it forwards everything."""

    def __init__(self, upstream: str, digest: str, head: int = 64 << 10) -> None:
        self.upstream, self.digest, self.head = upstream, digest, head
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.daemon_threads = True
        self.server.proxy = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, name="stalling-proxy", daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StallingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        proxy: StallingProxy = self.server.proxy  # type: ignore[attr-defined]
        upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            upstream.request(self.command, self.path, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        stall = self.command == "GET" and self.path.endswith(f"/blobs/{proxy.digest}") and not proxy.release.is_set()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if not stall:
            self.wfile.write(data)
            return
        self.wfile.write(data[:proxy.head])
        self.wfile.flush()
        proxy.stalled.set()
        proxy.release.wait(60)
        self.close_connection = True  # the rest never comes


def test_cancelling_a_pull_midway_leaves_nothing(daemon: RunningDaemon, channel: grpc.Channel, ns: str,
                                                 seeded: Seeded) -> None:
    layer = seeded.single.layers[0].blob.desc
    assert layer.size > 64 << 10
    with StallingProxy(seeded.registry.host, layer.digest) as proxy:
        ref = f"{proxy.host}/busybox:latest"
        events = transfer_client.pull(channel, ns, ref)
        seen = []
        for event in events:
            seen.append(event)
            if event.HasField("blob") and event.blob.action == "downloading":
                break
        assert proxy.stalled.wait(30), "the layer's download never started"
        assert len(leases(daemon, ns)) == 1  # the running pull's
        assert daemon.ctr("-n", ns, "content", "active").stdout.splitlines()[1:] != []  # its partial download
        events.close()  # cancels the call
        time.sleep(0.3)
        proxy.release.set()  # the download ends with a broken connection; the pull sees the cancel
        assert wait_for(lambda: leases(daemon, ns) == []), "the cancelled pull's lease stayed"
    assert wait_for(lambda: daemon.ctr("-n", ns, "content", "active").stdout.splitlines()[1:] == []
                    and daemon.ctr("-n", ns, "content", "ls", "-q").stdout.split() == [])
    assert daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split() == []
    assert column(daemon, ns, "snapshots", "ls") == []
    assert not any(e.HasField("pulled") for e in seen)
    assert f"pull {ref}: stopped, the call ended" in daemon.log_path.read_text(errors="replace")

    # the same pull, not cancelled, completes afterwards
    done = transfer_client.result(transfer_client.pull(channel, ns, f"{seeded.registry.host}/busybox:latest"))
    assert done.pulled.created
