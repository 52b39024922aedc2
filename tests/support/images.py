"""Test images built without a registry: layer tars made with ``tarfile``, a config and a
manifest, written into a content store.

- ``busybox_layers()``: three small layers from the host's static /bin/busybox
  (Debian's busybox-static): the binary, its applet links and /etc files, and a file of
  our own plus the removal of one file from below (a whiteout).
- ``random_layer_file(path, size, files, seed)``: a layer tar of ``files`` files holding
  ``size`` bytes of incompressible-ish data (for benchmarks).
- ``build_image(store, layers, ...)``: the layers (bytes or paths of uncompressed tars)
  compressed as asked ("none", "gzip", "zstd"), a config and an OCI manifest, committed
  to ``store``; returns a ``BuiltImage``.
- ``save_busybox_archive(work)``: the busybox image as a docker-archive under ``work``.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats import docker_archive
from dockyard.errors import AlreadyExists
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import Manifest
from dockyard.oci.image_config import History, ImageConfig, RunConfig

BUSYBOX = "/bin/busybox"
CREATED = "2024-01-02T03:04:05Z"
APPLETS = ("sh", "ls", "cat", "echo", "true", "false", "mkdir", "rm", "env", "id", "sleep", "ps")
CHUNK = 1 << 20


@dataclass
class BuiltImage:
    manifest: Descriptor
    config_digest: str
    config: bytes
    diff_ids: list[str]
    layers: list[Descriptor] = field(default_factory=list)

    @property
    def blobs(self) -> list[str]:
        return [self.manifest.digest, self.config_digest, *(layer.digest for layer in self.layers)]


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, *, kind: bytes = tarfile.REGTYPE,
         mode: int = 0o644, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1704164645
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data or b"")
        tar.addfile(info, io.BytesIO(data or b""))
    else:
        tar.addfile(info)


def busybox_layers() -> list[bytes]:
    """Three uncompressed layer tars built from the host's /bin/busybox."""
    with open(BUSYBOX, "rb") as f:
        binary = f.read()
    first = io.BytesIO()
    with tarfile.open(fileobj=first, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("bin", "etc", "tmp", "root"):
            _add(tar, directory, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "bin/busybox", binary, mode=0o755)
        _add(tar, "etc/motd", b"to be removed\n")
    second = io.BytesIO()
    with tarfile.open(fileobj=second, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "bin", kind=tarfile.DIRTYPE, mode=0o755)
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        _add(tar, "etc", kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        _add(tar, "etc/group", b"root:x:0:\n")
    third = io.BytesIO()
    with tarfile.open(fileobj=third, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "etc", kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "etc/.wh.motd", b"")
        _add(tar, "hello.txt", b"hello from dockyard\n")
    return [first.getvalue(), second.getvalue(), third.getvalue()]


def random_layer_file(path: str | os.PathLike[str], size: int, files: int, seed: int) -> None:
    """An uncompressed layer tar at ``path``: ``files`` files sharing ``size`` bytes."""
    rng = random.Random(seed)
    per_file = max(1, size // max(1, files))
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, f"data{seed}", kind=tarfile.DIRTYPE, mode=0o755)
        for n in range(files):
            directory = f"data{seed}/d{n // 100:03d}"
            if n % 100 == 0:
                _add(tar, directory, kind=tarfile.DIRTYPE, mode=0o755)
            _add(tar, f"{directory}/f{n:05d}", rng.randbytes(per_file))


def _compress_to(src: io.BufferedIOBase, dst: io.BufferedIOBase, kind: str) -> None:
    if kind == "gzip":
        gz = zlib.compressobj(1, zlib.DEFLATED, 31)
        while chunk := src.read(CHUNK):
            dst.write(gz.compress(chunk))
        dst.write(gz.flush())
    elif kind == "zstd":
        zs = zstandard.ZstdCompressor(level=1).compressobj()
        while chunk := src.read(CHUNK):
            dst.write(zs.compress(chunk))
        dst.write(zs.flush())
    else:
        while chunk := src.read(CHUNK):
            dst.write(chunk)


def put_blob(store: Any, source: bytes | str | os.PathLike[str],
             labels: dict[str, str] | None = None) -> tuple[str, int]:
    """Commit ``source`` (bytes or a file) to ``store``; (digest, size)."""
    if isinstance(source, bytes):
        digest, size = "sha256:" + hashlib.sha256(source).hexdigest(), len(source)
        stream: io.BufferedIOBase = io.BytesIO(source)
    else:
        digester = hashlib.sha256()
        with open(source, "rb") as f:
            while chunk := f.read(CHUNK):
                digester.update(chunk)
        digest, size = "sha256:" + digester.hexdigest(), os.path.getsize(source)
        stream = open(source, "rb")  # noqa: SIM115
    try:
        try:
            writer = store.writer(f"test-{digest}", digest, size)
        except AlreadyExists:
            return digest, size
        try:
            while chunk := stream.read(CHUNK):
                writer.write(chunk)
            writer.commit(size, digest, labels)
        except AlreadyExists:
            pass
        finally:
            writer.close()
    finally:
        stream.close()
    return digest, size


def _digest_of(source: bytes | str | os.PathLike[str]) -> str:
    digester = hashlib.sha256()
    if isinstance(source, bytes):
        digester.update(source)
    else:
        with open(source, "rb") as f:
            while chunk := f.read(CHUNK):
                digester.update(chunk)
    return "sha256:" + digester.hexdigest()


def build_image(store: Any, layers: Sequence[bytes | str | os.PathLike[str]], *,
                compressions: Sequence[str] = (), workdir: str | os.PathLike[str] | None = None,
                cmd: Sequence[str] = ("/bin/sh",)) -> BuiltImage:
    """Commit ``layers`` (uncompressed tars) with a config and an OCI manifest to ``store``."""
    diff_ids: list[str] = []
    descs: list[Descriptor] = []
    for n, layer in enumerate(layers):
        kind = compressions[n] if n < len(compressions) else "none"
        diff_ids.append(_digest_of(layer))
        if kind == "none":
            blob: bytes | str | os.PathLike[str] = layer
        elif isinstance(layer, bytes):
            out = io.BytesIO()
            _compress_to(io.BytesIO(layer), out, kind)
            blob = out.getvalue()
        else:
            target = Path(workdir or os.path.dirname(layer)) / f"layer{n}.{kind}"
            with open(layer, "rb") as src, open(target, "wb") as dst:
                _compress_to(src, dst, kind)  # type: ignore[arg-type]
            blob = target
        labels = {"containerd.io/uncompressed": diff_ids[-1]} if kind != "none" else None
        digest, size = put_blob(store, blob, labels)
        descs.append(Descriptor(mediatypes.layer_type("" if kind == "none" else kind), digest, size))
    config = ImageConfig(
        "amd64", "linux", diff_ids,
        config=RunConfig(env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], cmd=list(cmd)),
        history=[History(created=CREATED, created_by=f"layer {n}") for n in range(len(layers))],
        created=CREATED,
    )
    config_bytes = config.to_bytes()
    config_digest, _ = put_blob(store, config_bytes)
    manifest = Manifest(config.descriptor(), descs)
    data = manifest.to_bytes()
    labels = {"containerd.io/gc.ref.content.config": config_digest}
    labels.update({f"containerd.io/gc.ref.content.l.{n}": d.digest for n, d in enumerate(descs)})
    put_blob(store, data, labels)
    return BuiltImage(manifest.descriptor(), config_digest, config_bytes, diff_ids, descs)


def build_busybox_image(store: Any, compressions: Sequence[str] = ("gzip", "none", "zstd")) -> BuiltImage:
    return build_image(store, busybox_layers(), compressions=compressions)


def save_busybox_archive(work: Path) -> tuple[Path, BuiltImage]:
    """The busybox image (``build_busybox_image``) in a content store under ``work``, saved
    with dockyard's ``docker_archive.save`` as ``work/busybox.tar`` (``busybox:latest``, for
    ``ctr images import``); the archive's path and the image."""
    # Any: ContentStore.reader's ReaderAt does what staging.BlobReader asks, but mypy
    # rejects the match (the same error as in bench/save_load.py)
    store: Any = ContentStore(work / "content")
    image = build_busybox_image(store)
    path = work / "busybox.tar"
    with open(path, "wb") as out:
        docker_archive.save([("busybox:latest", image.manifest)], store, out)
    return path, image
