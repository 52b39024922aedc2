"""Benchmark: disk used by many container snapshots of one image (layer sharing).

Usage (as root): ``.venv/bin/python bench/snapshot_disk.py [--count 100] [--mb 300]
[--workdir /var/tmp] [--native 3]``

The synthetic image of bench/imagegen.py (~300 MB, 5 layers) is unpacked into an overlay
snapshotter; then ``--count`` active snapshots (what containers get) are prepared on top,
and mounted once each to check they work. Printed: the disk used by the unpacked image, by
all the snapshots, and per snapshot (blocks as ``du`` counts them, hard links once), with
the snapshotter closed (its SQLite write-ahead log checkpointed). The
goal is the image's size plus a few KB per snapshot. For contrast, the native (copying)
snapshotter prepares ``--native`` snapshots of the same image.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from imagegen import make_image  # noqa: E402

from dockyard.containerd.archive.layers import child_chain_id  # noqa: E402
from dockyard.containerd.mount import mounted  # noqa: E402
from dockyard.containerd.snapshots import Snapshotter  # noqa: E402
from dockyard.containerd.snapshots.native import NativeSnapshotter  # noqa: E402
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter  # noqa: E402
from dockyard.containerd.unpack import apply_to_snapshot  # noqa: E402
from dockyard.oci import jsonio  # noqa: E402


def disk_used(root: Path) -> int:
    """Bytes of allocated blocks under ``root``, each inode once (like ``du -s``)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def unpack(snapshotter: Snapshotter, layout: Path) -> str:
    index = jsonio.load_file(str(layout / "index.json"))
    blobs = layout / "blobs" / "sha256"
    manifest = jsonio.load_file(str(blobs / index["manifests"][0]["digest"].split(":")[1]))
    config = jsonio.load_file(str(blobs / manifest["config"]["digest"].split(":")[1]))
    parent = ""
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        with open(blobs / layer["digest"].split(":")[1], "rb") as stream:
            result = apply_to_snapshot(snapshotter, f"extract {diff_id}", parent, stream,
                                       expected_diff_id=diff_id, name=child_chain_id(parent, diff_id))
        parent = result.name
    return parent


def prepare_many(snapshotter: Snapshotter, top: str, count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        mounts = snapshotter.prepare(f"container-{n}", top)
        with mounted(mounts) as root:
            assert os.path.isdir(os.path.join(root, "usr/lib/layer0"))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--native", type=int, default=3)
    parser.add_argument("--workdir", default="/var/tmp")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dockyard-bench-snap-", dir=args.workdir))
    mib = 1024 * 1024
    try:
        image = make_image(base / "layout", args.mb, args.files)
        print(f"image: {image.uncompressed_bytes / mib:.0f} MiB in {image.files} files, {image.layers} layers")
        backends = (("overlay", OverlaySnapshotter, args.count), ("native", NativeSnapshotter, args.native))
        for name, cls, count in backends:
            if count <= 0:
                continue
            root = base / name
            snapshotter = cls(str(root))
            try:
                top = unpack(snapshotter, image.layout)
            finally:
                snapshotter.close()  # measured closed: SQLite folds its write-ahead log in
            before = disk_used(root)
            snapshotter = cls(str(root))
            try:
                seconds = prepare_many(snapshotter, top, count)
            finally:
                snapshotter.close()
            after = disk_used(root)
            extra = after - before
            print(f"{name:8} unpacked image {before / mib:8.1f} MiB; {count} snapshots add {extra / mib:8.1f} MiB "
                  f"({extra / count / 1024:9.1f} KiB each); total {after / mib:8.1f} MiB; "
                  f"prepare+mount {seconds / count * 1000:.1f} ms each")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
