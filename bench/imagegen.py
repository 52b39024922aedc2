"""A synthetic image for the storage benchmarks: N gzip'd layer tars with many files.

``make_image(directory, total_mb=300, files=10_000, layers=5)`` writes the layers, their
config and manifest as an OCI image layout (``oci-layout``, ``index.json``, ``blobs/``) that
``skopeo copy oci:<dir>:bench ...`` can push, and returns a summary. Contents are seeded, so
two runs produce the same bytes: file sizes follow a heavy tail like a distribution's
(mostly a few KiB, some MiB), and half of every file is random bytes, half text, so layers
compress roughly as real ones do (about 1.5-2x).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TEXT = b"".join(b"line %d of a text file that compresses like source code or configuration\n" % i for i in range(2000))


@dataclass
class ImageSummary:
    layout: Path
    tag: str
    uncompressed_bytes: int
    compressed_bytes: int
    files: int
    layers: int
    blob_paths: list[Path]


def _sizes(rng: random.Random, files: int, total: int) -> list[int]:
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = total / sum(weights)
    return [max(16, int(w * scale)) for w in weights]


def _content(rng: random.Random, size: int) -> bytes:
    half = size // 2
    text = (TEXT * (1 + (size - half) // len(TEXT)))[: size - half]
    return rng.randbytes(half) + text


def _write_blob(blobs: Path, data: bytes) -> tuple[str, int, Path]:
    digest = hashlib.sha256(data).hexdigest()
    path = blobs / digest
    path.write_bytes(data)
    return f"sha256:{digest}", len(data), path


def _layer(rng: random.Random, index: int, sizes: list[int]) -> tuple[bytes, bytes]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made: set[str] = set()
        for n, size in enumerate(sizes):
            directory = f"usr/lib/layer{index}/pkg{n % 97:02d}/sub{n % 7}"
            parts = directory.split("/")
            for depth in range(1, len(parts) + 1):
                d = "/".join(parts[:depth])
                if d not in made:
                    made.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = 1_700_000_000
                    tar.addfile(info)
            data = _content(rng, size)
            info = tarfile.TarInfo(f"{directory}/file{n}.dat")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    return uncompressed, gzip.compress(uncompressed, compresslevel=1, mtime=0)


def make_image(directory: str | os.PathLike[str], total_mb: int = 300, files: int = 10_000, layers: int = 5,
               tag: str = "bench", seed: int = 1) -> ImageSummary:
    """Write the image as an OCI layout in ``directory`` (created)."""
    layout = Path(directory)
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sizes = _sizes(rng, files, total_mb * 1024 * 1024)
    per_layer = [sizes[i::layers] for i in range(layers)]
    layer_descs, diff_ids, paths = [], [], []
    raw_total = gz_total = 0
    for index, chunk in enumerate(per_layer):
        raw, gz = _layer(rng, index, chunk)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size, path = _write_blob(blobs, gz)
        layer_descs.append({"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": size})
        paths.append(path)
        raw_total += len(raw)
        gz_total += size
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"layer {i}"} for i in range(layers)],
    }
    cdigest, csize, cpath = _write_blob(blobs, json.dumps(config, separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": csize}, "layers": layer_descs}
    mdigest, msize, mpath = _write_blob(blobs, json.dumps(manifest, separators=(",", ":")).encode())
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": mdigest, "size": msize,
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return ImageSummary(layout, tag, raw_total, gz_total, len(sizes), layers, [*paths, cpath, mpath])
