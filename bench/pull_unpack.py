"""Benchmark: pull an image from a local registry and unpack it, dockyard against skopeo + umoci.

Usage (as root): ``.venv/bin/python bench/pull_unpack.py [--runs 3] [--mb 300] [--files 10000]
[--layers 5] [--workdir /dev/shm]``

A synthetic image (bench/imagegen.py: ~300 MB in ~10k files over 5 gzip'd layers) is pushed
to Debian's ``docker-registry`` on 127.0.0.1 (tests/support/registry.py). Each run, in turn
and with the order rotating:

- dockyard: ``registry.pull`` into a fresh content store, each layer applied into an overlay
  snapshot while it downloads (``SnapshotApplier``), in this process (as the daemon does);
- peer: ``skopeo copy docker://... oci:<dir>:bench`` then ``umoci unpack --image <dir>:bench``.

Every run starts from empty directories under ``--workdir`` (tmpfs by default, so the disk's
speed does not decide). Also printed: the sha256 floor, hashing the compressed blobs once in
this process, which every verified pull must at least pay.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from imagegen import make_image  # noqa: E402
from tests.support.registry import LocalRegistry  # noqa: E402

from dockyard.containerd.content.store import ContentStore  # noqa: E402
from dockyard.containerd.registry.client import RegistryClient  # noqa: E402
from dockyard.containerd.registry.pull import pull  # noqa: E402
from dockyard.containerd.registry.unpacking import SnapshotApplier  # noqa: E402
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter  # noqa: E402


def run_dockyard(work: Path, ref: str, host: str) -> float:
    store = ContentStore(work / "content")
    snapshotter = OverlaySnapshotter(str(work / "snapshots"))
    client = RegistryClient(host)
    try:
        start = time.perf_counter()
        pull(ref, store, client=client, applier=SnapshotApplier(snapshotter))
        return time.perf_counter() - start
    finally:
        client.close()
        snapshotter.close()


def run_peer(work: Path, ref: str) -> float:
    start = time.perf_counter()
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}",
                    f"oci:{work / 'oci'}:bench"], check=True)
    subprocess.run(["umoci", "unpack", "--image", f"{work / 'oci'}:bench", str(work / "bundle")],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def sha256_floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--workdir", default="/dev/shm")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dockyard-bench-pull-", dir=args.workdir))
    times: dict[str, list[float]] = {"dockyard": [], "skopeo+umoci": []}
    try:
        image = make_image(base / "layout", args.mb, args.files, args.layers)
        mb = image.compressed_bytes / 1e6
        print(f"image: {image.uncompressed_bytes / 1e6:.0f} MB in {image.files} files over {image.layers} layers "
              f"({mb:.0f} MB gzip'd)")
        with LocalRegistry() as registry:
            ref = f"{registry.host}/bench/image:latest"
            subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{image.layout}:bench",
                            f"docker://{ref}"], check=True)
            for n in range(args.runs):
                order = list(times) if n % 2 == 0 else list(reversed(times))
                for name in order:
                    work = base / f"{name}-{n}"
                    work.mkdir()
                    seconds = run_dockyard(work, ref, registry.host) if name == "dockyard" else run_peer(work, ref)
                    times[name].append(seconds)
                    print(f"run {n} {name}: {seconds:.2f} s", flush=True)
                    shutil.rmtree(work)
        floor = sha256_floor(image.blob_paths)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ours, peer = statistics.median(times["dockyard"]), statistics.median(times["skopeo+umoci"])
    print(f"\nmedians over {args.runs} runs (pull + unpack)")
    print(f"dockyard       {ours:7.2f} s  {mb / ours:7.1f} MB/s of compressed layers")
    print(f"skopeo+umoci   {peer:7.2f} s  {mb / peer:7.1f} MB/s")
    print(f"sha256 floor   {floor:7.2f} s  {mb / floor:7.1f} MB/s (hashing the blobs once)")
    print(f"dockyard / skopeo+umoci: {ours / peer:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
