"""Image and system answers of the Docker Engine API (1.50 shapes) for the fake engine.

``install(engine)`` makes the ``FakeEngine`` of ``fake_engine`` route paths with parameters
(``/images/{name}/json``, where a name may hold slashes and a registry port) and registers
realistic payloads: an image list, inspect, history, delete, prune, ``/info``, ``/system/df``,
events and a recorded pull stream. The payloads follow the API reference and what dockerd 28
sends; the real ``docker`` CLI renders them as the oracle for ``dockyard`` (``oracle.py``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, error_reply, json_reply

BUSYBOX_ID = "sha256:65ad0d468eb1c558bf7f4e64e790f586e9eda649ee9f130cd0e835b292bbc5ac"
BUSYBOX_DIGEST = "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7"
ALPINE_ID = "sha256:c1aabb73d2339c5ebaa3681de2e9d9c18d57485045a4e311d9f8004bec208d67"
ALPINE_DIGEST = "sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b"
APP_ID = "sha256:0d3e7a2e1b9b4f6c8a5d2c1e0f9b8a7d6c5b4a3928171615141312111009ab12"
DANGLING_ID = "sha256:aaaa0d468eb1c558bf7f4e64e790f586e9eda649ee9f130cd0e835b292bbc5ac"
CONTAINER_ID = "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
NOW_SECONDS = 1764334800  # 2025-11-28T13:00:00Z
FROZEN_NOW = 1795870800.0  # 2026-11-28T13:00:00Z: the clock of the command tests

IMAGES: list[dict[str, Any]] = [
    {"Containers": 2, "Created": 1716000000, "Id": BUSYBOX_ID, "Labels": None, "ParentId": "",
     "RepoDigests": [f"busybox@{BUSYBOX_DIGEST}"], "RepoTags": ["busybox:latest", "busybox:1.36"],
     "SharedSize": -1, "Size": 4261550,
     "Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": BUSYBOX_DIGEST, "size": 9013}},
    {"Containers": 0, "Created": 1738000000, "Id": ALPINE_ID, "Labels": {},
     "ParentId": "", "RepoDigests": [f"alpine@{ALPINE_DIGEST}"], "RepoTags": ["alpine:3.21"],
     "SharedSize": -1, "Size": 8_301_214},
    {"Containers": -1, "Created": 1760000000, "Id": APP_ID,
     "Labels": {"com.example.team": "web", "org.opencontainers.image.title": "app"},
     "ParentId": "", "RepoDigests": [], "RepoTags": ["localhost:5000/team/app:v1.2"],
     "SharedSize": -1, "Size": 187_000_000},
    {"Containers": -1, "Created": 1700000000, "Id": DANGLING_ID, "Labels": None, "ParentId": "",
     "RepoDigests": [], "RepoTags": [], "SharedSize": -1, "Size": 1000},
]

BUSYBOX_INSPECT: dict[str, Any] = {
    "Id": BUSYBOX_ID,
    "RepoTags": ["busybox:latest", "busybox:1.36"],
    "RepoDigests": [f"busybox@{BUSYBOX_DIGEST}"],
    "Parent": "",
    "Comment": "",
    "Created": "2024-05-18T02:40:00Z",
    "DockerVersion": "",
    "Author": "",
    "Config": {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
        "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"], "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
        "OnBuild": None, "Labels": None,
    },
    "Architecture": "amd64",
    "Os": "linux",
    "Size": 4261550,
    "GraphDriver": {"Data": None, "Name": "overlayfs"},
    "RootFS": {"Type": "layers",
               "Layers": ["sha256:7e5ac5b6cf8b6a27e51d7e39c5e4a4a4c53a3e0b4a2c64b9dd7a47c8b4f5a6e1"]},
    "Metadata": {"LastTagTime": "2025-11-28T12:00:00.123456789Z"},
    "Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": BUSYBOX_DIGEST, "size": 9013},
}

HISTORY: list[dict[str, Any]] = [
    {"Comment": "", "Created": 1716000000, "CreatedBy": '/bin/sh -c #(nop)  CMD ["sh"]',
     "Id": BUSYBOX_ID, "Size": 0, "Tags": ["busybox:latest", "busybox:1.36"]},
    {"Comment": "", "Created": 1715999990,
     "CreatedBy": "/bin/sh -c #(nop) ADD file:7e5ac5b6cf8b6a27e51d7e39c5e4a4a4c53a3e0b4a2c64b9dd7a47c8b4f5a6e1 in / ",
     "Id": "<missing>", "Size": 4261550, "Tags": None},
    {"Comment": "buildkit.dockerfile.v0", "Created": 1600000000, "CreatedBy": "RUN |1 X=y /bin/sh -c apk add curl",
     "Id": "<missing>", "Size": 1234567890, "Tags": []},
]

RMI_BUSYBOX: list[dict[str, str]] = [
    {"Untagged": "busybox:latest"},
    {"Untagged": f"busybox@{BUSYBOX_DIGEST}"},
    {"Deleted": BUSYBOX_ID},
    {"Deleted": "sha256:7e5ac5b6cf8b6a27e51d7e39c5e4a4a4c53a3e0b4a2c64b9dd7a47c8b4f5a6e1"},
]

IMAGE_PRUNE: dict[str, Any] = {
    "ImagesDeleted": [{"Untagged": "localhost:5000/team/app:v1.2"}, {"Deleted": APP_ID},
                      {"Deleted": DANGLING_ID}],
    "SpaceReclaimed": 187_001_000,
}

CONTAINER_PRUNE: dict[str, Any] = {"ContainersDeleted": ["9" * 64], "SpaceReclaimed": 12_288}
NETWORK_PRUNE: dict[str, Any] = {"NetworksDeleted": ["testnet"]}
VOLUME_PRUNE: dict[str, Any] = {"VolumesDeleted": ["cache"], "SpaceReclaimed": 1_024}
BUILD_PRUNE: dict[str, Any] = {"CachesDeleted": None, "SpaceReclaimed": 0}

INFO: dict[str, Any] = {
    "ID": "2b3a9f52-5c1e-4a8e-9d7f-3e2b1c0d9e8f",
    "Containers": 3, "ContainersRunning": 1, "ContainersPaused": 0, "ContainersStopped": 2,
    "Images": 4,
    "Driver": "overlayfs",
    "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
    "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                "Log": ["json-file", "local"]},
    "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
    "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True, "Debug": False, "NFd": 24, "OomKillDisable": False,
    "NGoroutines": 40, "SystemTime": "2025-11-28T13:00:00.123456789Z", "LoggingDriver": "json-file",
    "CgroupDriver": "cgroupfs", "CgroupVersion": "2", "NEventsListener": 0,
    "KernelVersion": "6.1.0-28-amd64", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSVersion": "12",
    "OSType": "linux", "Architecture": "x86_64", "IndexServerAddress": "https://index.docker.io/v1/",
    "RegistryConfig": {"IndexConfigs": {"docker.io": {"Mirrors": [], "Name": "docker.io", "Official": True,
                                                      "Secure": True}},
                       "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"], "Mirrors": None},
    "NCPU": 2, "MemTotal": 4_104_032_256, "GenericResources": None, "DockerRootDir": "/var/lib/dockyard",
    "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": "buildhost", "Labels": [],
    "ExperimentalBuild": False, "ServerVersion": "0.1.0",
    "Runtimes": {"dockyard-runc": {"path": "dockyard-runc"}, "runc": {"path": "runc"}},
    "DefaultRuntime": "dockyard-runc",
    "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False, "Error": "",
              "RemoteManagers": None},
    "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "docker-init",
    "ContainerdCommit": {"ID": "v0.1.0"}, "RuncCommit": {"ID": "v0.1.0"}, "InitCommit": {"ID": ""},
    "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
    "CDISpecDirs": [],
    "Containerd": {"Address": "/run/dockyard/containerd/containerd.sock",
                   "Namespaces": {"Containers": "moby", "Plugins": "plugins.moby"}},
    "Warnings": ["WARNING: bridge-nf-call-iptables is disabled"],
}

CONTAINER_SUMMARY: dict[str, Any] = {
    "Id": CONTAINER_ID, "Names": ["/web"], "Image": "busybox", "ImageID": BUSYBOX_ID, "Command": "sleep 1000",
    "Created": 1764330000, "Ports": [], "SizeRw": 12_288, "SizeRootFs": 4_273_838, "Labels": {},
    "State": "running", "Status": "Up 2 hours", "HostConfig": {"NetworkMode": "none"},
    "NetworkSettings": {"Networks": {}}, "Mounts": [
        {"Type": "volume", "Name": "data", "Source": "/var/lib/dockyard/volumes/data/_data", "Destination": "/data",
         "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}],
}

SYSTEM_DF: dict[str, Any] = {
    "LayersSize": 199_562_764,
    "Images": [dict(image, SharedSize=0) for image in IMAGES],
    "Containers": [CONTAINER_SUMMARY,
                   dict(CONTAINER_SUMMARY, Id="9" * 64, Names=["/old"], State="exited",
                        Status="Exited (0) 3 days ago", SizeRw=0, Created=1764000000, Mounts=[])],
    "Volumes": [
        {"CreatedAt": "2025-11-20T10:00:00Z", "Driver": "local", "Labels": None,
         "Mountpoint": "/var/lib/dockyard/volumes/data/_data", "Name": "data", "Options": None, "Scope": "local",
         "UsageData": {"RefCount": 1, "Size": 52_428_800}},
        {"CreatedAt": "2025-11-21T10:00:00Z", "Driver": "local", "Labels": None,
         "Mountpoint": "/var/lib/dockyard/volumes/cache/_data", "Name": "cache", "Options": None, "Scope": "local",
         "UsageData": {"RefCount": 0, "Size": 1_024}},
    ],
    "BuildCache": [
        {"ID": "k0q8r5d9y2w1x3v4b6n7m8l9k0j1h2g3", "Parents": ["p1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6"],
         "Type": "regular", "Description": "mount / from exec /bin/sh -c apk add curl", "InUse": False,
         "Shared": False, "Size": 10_485_760, "CreatedAt": "2025-11-27T10:00:00.123456789Z",
         "LastUsedAt": "2025-11-28T09:00:00Z", "UsageCount": 3},
        {"ID": "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4", "Parents": None, "Type": "source.local",
         "Description": "local source for context", "InUse": True, "Shared": True, "Size": 2048,
         "CreatedAt": "2025-11-26T10:00:00Z", "LastUsedAt": None, "UsageCount": 1},
    ],
}

EVENTS: list[dict[str, Any]] = [
    {"status": "start", "id": CONTAINER_ID, "from": "busybox", "Type": "container", "Action": "start",
     "Actor": {"ID": CONTAINER_ID, "Attributes": {"name": "web", "image": "busybox"}},
     "scope": "local", "time": NOW_SECONDS, "timeNano": NOW_SECONDS * 1_000_000_000 + 123456789},
    {"Type": "image", "Action": "tag",
     "Actor": {"ID": BUSYBOX_ID, "Attributes": {"name": "busybox:1.36"}},
     "scope": "local", "time": NOW_SECONDS + 1, "timeNano": (NOW_SECONDS + 1) * 1_000_000_000},
    {"Type": "network", "Action": "connect", "Actor": {"ID": "b" * 64, "Attributes": {}},
     "scope": "local", "time": NOW_SECONDS + 2, "timeNano": (NOW_SECONDS + 2) * 1_000_000_000},
]

LAYER_A = "a9b1c2d3e4f5"
LAYER_B = "0f1e2d3c4b5a"
PULL_STREAM: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": LAYER_A},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": LAYER_B},
    {"status": "Downloading", "progressDetail": {"current": 1_200_000, "total": 3_400_000},
     "progress": "[=================>                                 ]  1.2MB/3.4MB", "id": LAYER_A},
    {"status": "Downloading", "progressDetail": {"current": 512, "total": 1024},
     "progress": "[=========================>                         ]     512B/1.024kB", "id": LAYER_B},
    {"status": "Download complete", "progressDetail": {}, "id": LAYER_B},
    {"status": "Downloading", "progressDetail": {"current": 3_400_000, "total": 3_400_000},
     "progress": "[==================================================>]  3.4MB/3.4MB", "id": LAYER_A},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": LAYER_A},
    {"status": "Download complete", "progressDetail": {}, "id": LAYER_A},
    {"status": "Extracting", "progressDetail": {"current": 3_400_000, "total": 3_400_000},
     "progress": "[==================================================>]  3.4MB/3.4MB", "id": LAYER_A},
    {"status": "Pull complete", "progressDetail": {}, "id": LAYER_A},
    {"status": "Extracting", "progressDetail": {"current": 1024, "total": 1024},
     "progress": "[==================================================>]  1.024kB/1.024kB", "id": LAYER_B},
    {"status": "Pull complete", "progressDetail": {}, "id": LAYER_B},
    {"status": f"Digest: {BUSYBOX_DIGEST}"},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]

PULL_ERROR_STREAM: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"errorDetail": {"message": "manifest for busybox:nope not found: manifest unknown: manifest unknown"},
     "error": "manifest for busybox:nope not found: manifest unknown: manifest unknown"},
]

PUSH_STREAM: list[dict[str, Any]] = [
    {"status": "The push refers to repository [localhost:5000/team/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": LAYER_A},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 4_261_550},
     "progress": "[>                                                  ]     512B/4.262MB", "id": LAYER_A},
    {"status": "Pushed", "progressDetail": {}, "id": LAYER_A},
    {"status": f"v1.2: digest: {BUSYBOX_DIGEST} size: 527"},
    {"progressDetail": {}, "aux": {"Tag": "v1.2", "Digest": BUSYBOX_DIGEST, "Size": 527}},
]

LOAD_STREAM: list[dict[str, Any]] = [
    {"status": "Loading layer", "progressDetail": {"current": 32768, "total": 4_261_550},
     "progress": "[>                                                  ]  32.77kB/4.262MB", "id": LAYER_A},
    {"stream": "Loaded image: busybox:latest\n"},
]


def lines(messages: list[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON message stream, one object per chunk as dockerd flushes them."""
    for message in messages:
        yield (json.dumps(message) + "\r\n").encode()


def stream_reply(messages: list[dict[str, Any]]) -> Reply:
    return Reply(200, headers={"Content-Type": "application/json"}, chunks=list(lines(messages)))


# --- routing with path parameters ---------------------------------------------------------

class PatternRoutes(dict):  # type: ignore[type-arg]
    """Routes with ``{name}`` parameters (``/images/{name}/json``); exact keys win.

    A parameter matches any text, slashes included, so ``/images/localhost:5000/a/b/json``
    finds ``name``. The handler gets the request with ``request.params`` set.
    """

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        method, path = key
        for (route_method, pattern), handler in self.items():
            if route_method != method or "{" not in pattern:
                continue
            params = match(pattern, path)
            if params is not None:
                return lambda request, h=handler, p=params: h(_with_params(request, p))
        return default


def _with_params(request: Request, params: dict[str, str]) -> Request:
    request.params = params  # type: ignore[attr-defined]
    return request


def match(pattern: str, path: str) -> dict[str, str] | None:
    """``match("/images/{name}/json", "/images/a/b/json") == {"name": "a/b"}``."""
    head, _, rest = pattern.partition("{")
    name, _, tail = rest.partition("}")
    if not path.startswith(head) or not path.endswith(tail) or len(path) <= len(head) + len(tail):
        return None
    value = path[len(head):len(path) - len(tail)]
    from urllib.parse import unquote

    return {name: unquote(value)}


def routed(engine: FakeEngine) -> FakeEngine:
    if not isinstance(engine.routes, PatternRoutes):
        engine.routes = PatternRoutes(engine.routes)
    return engine


def param(request: Request, name: str = "name") -> str:
    return str(request.params[name])  # type: ignore[attr-defined]


def query(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


KNOWN = {"busybox", "busybox:latest", "busybox:1.36", BUSYBOX_ID, BUSYBOX_ID[7:], BUSYBOX_ID[7:19]}


def _no_such_image(name: str) -> Reply:
    return error_reply(404, f"No such image: {name}")


def _inspect(request: Request) -> Reply:
    name = param(request)
    if name in KNOWN:
        return json_reply(BUSYBOX_INSPECT)
    if name == "alpine:3.21":
        return json_reply(dict(BUSYBOX_INSPECT, Id=ALPINE_ID, RepoTags=["alpine:3.21"],
                               RepoDigests=[f"alpine@{ALPINE_DIGEST}"]))
    return _no_such_image(name if ":" in name or "@" in name else f"{name}:latest")


def _history(request: Request) -> Reply:
    name = param(request)
    return json_reply(HISTORY) if name in KNOWN else _no_such_image(name)


def _delete(request: Request) -> Reply:
    name = param(request)
    if name in KNOWN:
        return json_reply(RMI_BUSYBOX)
    if name == "alpine:3.21":
        return json_reply([{"Untagged": "alpine:3.21"}])
    if name == "inuse":
        return error_reply(409, "conflict: unable to remove repository reference \"inuse\" (must force) - "
                                f"container {CONTAINER_ID[:12]} is using its referenced image {BUSYBOX_ID[7:19]}")
    return _no_such_image(name)


def _tag(request: Request) -> Reply:
    name = param(request)
    if name not in KNOWN:
        return _no_such_image(name)
    return Reply(201)


def install(engine: FakeEngine, now: float | None = None) -> FakeEngine:
    """Register the image and system routes on ``engine`` (with path parameters)."""
    routed(engine)
    engine.json("GET", "/images/json", IMAGES)
    engine.routes[("GET", "/images/{name}/json")] = _inspect
    engine.routes[("GET", "/images/{name}/history")] = _history
    engine.routes[("DELETE", "/images/{name}")] = _delete
    engine.routes[("POST", "/images/{name}/tag")] = _tag
    engine.json("POST", "/images/prune", IMAGE_PRUNE)
    engine.json("POST", "/containers/prune", CONTAINER_PRUNE)
    engine.json("POST", "/networks/prune", NETWORK_PRUNE)
    engine.json("POST", "/volumes/prune", VOLUME_PRUNE)
    engine.json("POST", "/build/prune", BUILD_PRUNE)
    engine.routes[("POST", "/auth")] = _auth
    engine.json("GET", "/info", INFO)
    engine.json("GET", "/system/df", SYSTEM_DF)
    engine.routes[("GET", "/events")] = lambda _req: stream_reply(EVENTS)
    engine.routes[("POST", "/images/create")] = _create
    engine.routes[("POST", "/images/{name}/push")] = lambda _req: stream_reply(PUSH_STREAM)
    engine.routes[("POST", "/images/load")] = lambda _req: stream_reply(LOAD_STREAM)
    engine.routes[("GET", "/images/get")] = lambda _req: Reply(200, b"TARDATA" * 10,
                                                                 {"Content-Type": "application/x-tar"})
    engine.routes[("GET", "/images/{name}/get")] = lambda _req: Reply(200, b"TARDATA" * 10,
                                                                       {"Content-Type": "application/x-tar"})
    return engine


def _auth(request: Request) -> Reply:
    body = request.json()
    if body.get("password") == "wrong":
        address = body.get("serveraddress") or "https://index.docker.io/v1/"
        return error_reply(401, f"login attempt to {address} failed with status: 401 Unauthorized")
    return json_reply({"IdentityToken": "", "Status": "Login Succeeded"})


def _create(request: Request) -> Reply:
    image = query(request, "fromImage")
    if image is None:  # import
        return stream_reply([{"status": BUSYBOX_ID}])
    if query(request, "tag") == "nope":
        return stream_reply(PULL_ERROR_STREAM)
    if image.endswith("/private"):
        return error_reply(404, "pull access denied for private, repository does not exist or may require "
                                "'docker login': denied: requested access to the resource is denied")
    return stream_reply(PULL_STREAM)


Handler = Callable[[Request], Reply]


# --- helpers of the command tests ----------------------------------------------------------

class Terminal(io.StringIO):
    """A captured stream that says it is a terminal of ``columns`` columns."""

    def __init__(self, text: str = "", columns: int = 120) -> None:
        super().__init__(text)
        self.columns = columns

    def isatty(self) -> bool:
        return True


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def calls(engine: FakeEngine) -> list[tuple[str, str, dict[str, list[str]]]]:
    return [(r.method, r.path, r.query) for r in engine.requests if r.path != "/_ping"]
