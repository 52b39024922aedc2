"""A real registry for tests (Debian's ``docker-registry``) and test images built without Docker Hub.

- :class:`LocalRegistry`: ``docker-registry serve <config.yml>`` on 127.0.0.1 with a free
  port and its own temporary directory (config, storage, htpasswd), optionally with
  htpasswd (bcrypt) auth; :meth:`LocalRegistry.start` waits until ``/v2/`` answers,
  :meth:`LocalRegistry.stop` ends the process by its PID and removes the directory.
- :func:`make_layer` packs files into a gzip layer; :func:`busybox_layer` packs the host's
  static ``/bin/busybox`` with a few applet links; :func:`make_image` and :func:`make_index`
  build config, manifest and index documents with the image model of ``dockyard.oci``.
- :func:`write_oci_layout` writes images as an OCI layout and :func:`skopeo_copy` pushes it
  with skopeo (an implementation independent of ours).
- :func:`fast_client` (a client that backs off for milliseconds), :func:`store_image` and
  :func:`store_state` (the blobs and ingests of a content store).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.containerd.content import ContentStore
from dockyard.containerd.registry import RegistryClient
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import digest_bytes
from dockyard.oci.image import ImageIndex, Manifest
from dockyard.oci.image_config import ImageConfig
from dockyard.oci.platform import Platform

REGISTRY_BINARY = "/usr/bin/docker-registry"
BUSYBOX = "/bin/busybox"
START_TIMEOUT = 15.0
REGISTRY_USER = "dockyard"  # of the registry with htpasswd auth
REGISTRY_PASSWORD = "s3cret-pass"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def htpasswd_line(user: str, password: str) -> str:
    """``user:$2y$...`` as ``htpasswd -Bbn`` prints it (bcrypt, which the registry requires)."""
    proc = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


class LocalRegistry:
    """One ``docker-registry`` process; use as a context manager or call start/stop."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = dict(users or {})
        self.dir = Path(tempfile.mkdtemp(prefix="dockyard-registry-"))
        self.storage = self.dir / "storage"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self) -> LocalRegistry:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: dockyard-tests",
        ]
        if self.users:
            htpasswd = self.dir / "htpasswd"
            htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: dockyard-test", f"    path: {htpasswd}"]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Start on a free port (a few tries: another process may take the port first)."""
        last = ""
        for _ in range(5):
            self.port = free_port()
            config = self.dir / "config.yml"
            config.write_text(self._config())
            log = open(self.dir / "registry.log", "wb")  # noqa: SIM115 - handed to the child
            try:
                self.process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
            finally:
                log.close()
            if self._wait_ready():
                return
            last = (self.dir / "registry.log").read_text(errors="replace")[-2000:]
            self._kill()
        self.stop()
        raise RuntimeError(f"docker-registry did not start: {last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        return True
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def stop(self) -> None:
        """End the process (by its PID) and remove the directory."""
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def blob_data_path(self, digest: str) -> Path:
        """Where the registry keeps a blob's bytes (for tests that corrupt them)."""
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


# -- test images -----------------------------------------------------------------------


@dataclass
class Blob:
    desc: Descriptor
    data: bytes


@dataclass
class Layer:
    blob: Blob
    diff_id: str


@dataclass
class Image:
    """A config, a manifest and the layers, with their bytes."""

    manifest: Blob
    config: Blob
    layers: list[Layer]
    platform: Platform

    def blobs(self) -> list[Blob]:
        return [self.manifest, self.config, *(layer.blob for layer in self.layers)]


@dataclass
class Index:
    index: Blob
    images: list[Image] = field(default_factory=list)

    def blobs(self) -> list[Blob]:
        out = [self.index]
        for image in self.images:
            out += image.blobs()
        return out


def make_layer(files: dict[str, bytes], *, links: dict[str, str] | None = None, mode: int = 0o644,
               compress: bool = True) -> Layer:
    """A layer holding ``files`` (name -> content) and symlinks ``links`` (name -> target)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({str(Path(name).parent) for name in [*files, *(links or {})]} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
        for name, target in sorted((links or {}).items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, 0
            tar.addfile(info)
    tar_bytes = raw.getvalue()
    if compress:
        data = gzip.compress(tar_bytes, compresslevel=6, mtime=0)
        media_type = mediatypes.OCI_LAYER_GZIP
    else:
        data, media_type = tar_bytes, mediatypes.OCI_LAYER
    return Layer(Blob(Descriptor.for_bytes(media_type, data), data), digest_bytes(tar_bytes))


def busybox_layer() -> Layer:
    """The host's static busybox as ``bin/busybox`` with ``sh``, ``ls``, ``cat``, ``echo`` links."""
    content = Path(BUSYBOX).read_bytes()
    links = {f"bin/{applet}": "busybox" for applet in ("sh", "ls", "cat", "echo")}
    return make_layer({"bin/busybox": content}, links=links, mode=0o755)


def make_image(layers: list[Layer], platform: Platform | None = None, *, docker: bool = False,
               cmd: list[str] | None = None) -> Image:
    """Config and manifest (OCI, or Docker schema 2 with ``docker``) over ``layers``."""
    platform = platform or Platform("linux", "amd64")
    config = ImageConfig(platform.architecture, platform.os, [layer.diff_id for layer in layers],
                         variant=platform.variant, created="2024-01-01T00:00:00Z")
    config_doc = config.to_dict()
    config_doc["config"] = {"Cmd": cmd or ["/bin/sh"]}
    config_bytes = json.dumps(config_doc, separators=(",", ":")).encode()
    config_type = mediatypes.DOCKER_CONFIG if docker else mediatypes.OCI_CONFIG
    config_blob = Blob(Descriptor.for_bytes(config_type, config_bytes), config_bytes)
    layer_descs = []
    for layer in layers:
        desc = layer.blob.desc
        if docker:
            desc = Descriptor(mediatypes.DOCKER_LAYER_GZIP, desc.digest, desc.size)
        layer_descs.append(desc)
    manifest = Manifest(config_blob.desc, layer_descs,
                        media_type=mediatypes.DOCKER_MANIFEST if docker else mediatypes.OCI_MANIFEST)
    data = manifest.to_bytes()
    manifest_blob = Blob(Descriptor.for_bytes(manifest.content_type, data, platform=platform), data)
    return Image(manifest_blob, config_blob, layers, platform)


def make_index(images: list[Image]) -> Index:
    """An OCI index over ``images`` (each entry with its platform)."""
    index = ImageIndex([image.manifest.desc for image in images])
    data = index.to_bytes()
    return Index(Blob(Descriptor.for_bytes(mediatypes.OCI_INDEX, data), data), images)


def write_oci_layout(directory: Path, blobs: list[Blob], top: Descriptor, tag: str) -> Path:
    """An OCI image layout holding ``blobs`` with ``top`` named ``tag`` in index.json."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in blobs:
        algorithm, encoded = blob.desc.digest.split(":", 1)
        path = directory / "blobs" / algorithm / encoded
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob.data)
    entry = Descriptor(top.media_type, top.digest, top.size,
                       annotations={"org.opencontainers.image.ref.name": tag})
    index = ImageIndex([entry])
    (directory / "index.json").write_bytes(index.to_bytes())
    return directory


def skopeo_copy(layout: Path, tag: str, destination: str, creds: str | None = None) -> None:
    """``skopeo copy --all oci:<layout>:<tag> docker://<destination>`` over plain HTTP."""
    argv = ["skopeo", "copy", "--quiet", "--all", "--preserve-digests", "--dest-tls-verify=false"]
    argv += ["--dest-creds", creds] if creds else ["--dest-no-creds"]
    argv += [f"oci:{layout}:{tag}", f"docker://{destination}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy to {destination} failed: {proc.stderr.strip()}")


def push_with_skopeo(work: Path, blobs: list[Blob], top: Descriptor, destination: str,
                     creds: str | None = None) -> None:
    """Write an OCI layout of ``blobs`` under ``work`` and push ``top`` to ``destination``."""
    layout = write_oci_layout(Path(tempfile.mkdtemp(dir=work, prefix="layout-")), blobs, top, "seed")
    try:
        skopeo_copy(layout, "seed", destination, creds)
    finally:
        shutil.rmtree(layout, ignore_errors=True)


@dataclass
class Seeded:
    """The images the ``seeded`` fixture pushed: ``single`` (busybox:latest) and ``multi``
    (multi:1, an index of linux/amd64 and linux/arm64)."""

    registry: LocalRegistry
    single: Image
    multi: Index

    @property
    def amd64(self) -> Image:
        return self.multi.images[0]

    @property
    def arm64(self) -> Image:
        return self.multi.images[1]


def fast_client(host: str, **options: object) -> RegistryClient:
    """A client for tests: retries back off for milliseconds, not seconds."""
    settings: dict[str, object] = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 10.0}
    settings.update(options)
    return RegistryClient(host, **settings)  # type: ignore[arg-type]


def store_image(store: ContentStore, image: Image) -> None:
    """Put every blob of ``image`` into ``store``."""
    for blob in image.blobs():
        with store.writer(f"test-{blob.desc.digest}", blob.desc.digest, blob.desc.size) as writer:
            writer.write(blob.data)
            writer.commit(blob.desc.size, blob.desc.digest)


def store_state(store: ContentStore) -> tuple[list[str], list[str]]:
    """The committed blobs and the ingest refs of ``store``."""
    return [info.digest for info in store.list()], [status.ref for status in store.list_statuses()]
