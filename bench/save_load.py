"""Benchmark: save and load of a ~200 MB image, dockyard against skopeo.

Usage: ``.venv/bin/python bench/save_load.py [--size-mb 200] [--layers 4] [--files 2000]
[--runs 5] [--tmpdir DIR]``

A content store gets an image of ``--layers`` uncompressed layers holding ``--files``
files of random bytes (``--size-mb`` in all); the same image is also written as an OCI
layout directory for skopeo. Each round times, in a rotating order:

- save: dockyard ``docker_archive.save`` (content store -> docker-archive file) and
  ``skopeo copy oci:<layout>:bench docker-archive:<file>`` (the peer: the same bytes from an
  OCI layout into a docker-archive);
- load: dockyard ``docker_archive.load`` (docker-archive file -> a fresh content store,
  every blob verified and fsynced on commit) and ``skopeo copy
  --dest-oci-accept-uncompressed-layers docker-archive:<file> oci:<dir>:bench`` (the peer:
  archive -> a fresh OCI layout, layers kept uncompressed as ours are; skopeo verifies
  digests too, and does not fsync).

Throughput is the image's size over the wall time; the table gives medians, and the ratio
is dockyard's MB/s over skopeo's (above 1: dockyard is faster). Between steps the output
of the last one is removed and ``sync`` runs, untimed, so no step pays for another's
writeback. The sha256 floor is one process hashing the archive file (already in the page
cache), the least a verifying load must spend. On a disk the load is bound by writing
(and, for dockyard, fsyncing) the blobs: ``--tmpdir /dev/shm`` shows the CPU side alone.
Everything lives in a temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.images import build_image, random_layer_file  # noqa: E402

from dockyard.containerd.content import ContentStore  # noqa: E402
from dockyard.containerd.formats import docker_archive, oci_layout  # noqa: E402

MB = 1_000_000


def skopeo(*args: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", *args], check=True, capture_output=True)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def sha256_floor(path: Path) -> float:
    digester = hashlib.sha256()
    start = time.perf_counter()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digester.update(chunk)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tmpdir", default=None)
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        print("skopeo is not installed (apt-get install skopeo)", file=sys.stderr)
        return 1
    base = Path(tempfile.mkdtemp(prefix="dockyard-bench-save-", dir=args.tmpdir))
    try:
        return run(base, args)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(base: Path, args: argparse.Namespace) -> int:
    print(f"building a {args.size_mb} MB image: {args.layers} layers, {args.files} files ...", flush=True)
    layer_paths = []
    for n in range(args.layers):
        path = base / f"layer{n}.tar"
        random_layer_file(path, args.size_mb * MB // args.layers, args.files // args.layers, seed=n)
        layer_paths.append(path)
    store = ContentStore(base / "store")
    image = build_image(store, layer_paths)
    for path in layer_paths:
        path.unlink()
    size = sum(layer.size for layer in image.layers)
    layout = base / "layout"
    oci_layout.save([("bench:latest", image.manifest)], store, layout)
    ours, theirs = base / "ours.tar", base / "theirs.tar"

    def save_dockyard() -> None:
        with open(ours, "wb") as out:
            docker_archive.save([("bench:latest", image.manifest)], store, out)

    def save_skopeo() -> None:
        theirs.unlink(missing_ok=True)
        skopeo(f"oci:{layout}:latest", f"docker-archive:{theirs}:bench:latest")

    def load_dockyard() -> None:
        with open(ours, "rb") as stream:
            docker_archive.load(stream, ContentStore(base / "loaded"))

    def load_skopeo() -> None:
        skopeo("--dest-oci-accept-uncompressed-layers", f"docker-archive:{ours}", f"oci:{base / 'loaded-oci'}:bench")

    def cleanup() -> None:
        """Remove what the last step wrote and flush it all, untimed: on this ext4
        (mounted with ``discard``) a big removal or pending writeback otherwise slows
        whichever step comes next."""
        for path in (base / "loaded", base / "loaded-oci"):
            shutil.rmtree(path, ignore_errors=True)
        os.sync()

    actions: dict[str, Callable[[], None]] = {
        "save dockyard": save_dockyard, "save skopeo": save_skopeo,
        "load dockyard": load_dockyard, "load skopeo": load_skopeo,
    }
    save_dockyard()  # warm the page cache and check every step once
    save_skopeo()
    load_dockyard()
    load_skopeo()
    cleanup()
    times: dict[str, list[float]] = {name: [] for name in actions}
    floor: list[float] = []
    names = list(actions)
    for round_ in range(args.runs):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            times[name].append(timed(actions[name]))
            cleanup()
        floor.append(sha256_floor(ours))
        print(f"round {round_ + 1}/{args.runs}: "
              + ", ".join(f"{name} {times[name][-1]:.2f}s" for name in names), flush=True)
    print(f"\nimage {size / MB:.0f} MB in {args.layers} layers, {args.files} files; "
          f"archive {ours.stat().st_size / MB:.0f} MB; {args.runs} rounds, medians")
    rate = {name: size / MB / statistics.median(values) for name, values in times.items()}
    print(f"{'':16}{'dockyard':>12}{'skopeo':>12}{'ratio':>8}")
    for op in ("save", "load"):
        ours_rate, peer_rate = rate[f"{op} dockyard"], rate[f"{op} skopeo"]
        print(f"{op + ' MB/s':16}{ours_rate:12.0f}{peer_rate:12.0f}{ours_rate / peer_rate:8.2f}")
    print(f"{'sha256 floor':16}{size / MB / statistics.median(floor):12.0f}  MB/s (hashing the archive once)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
