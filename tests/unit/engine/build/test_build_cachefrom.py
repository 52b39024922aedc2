"""``--cache-from``: which source image continues a build's parent with a given step."""

from __future__ import annotations

from dockyard.engine.build.cachefrom import Source, match
from dockyard.oci.descriptor import Descriptor

BASE = {"history": [{"created_by": "ADD file:x in /"}], "rootfs": {"diff_ids": ["sha256:" + "1" * 64]}}
LAYERS = [Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "a" * 64, 10),
          Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "b" * 64, 20)]
SOURCE = Source("cf:src", {
    "history": [{"created_by": "ADD file:x in /"}, {"created_by": "/bin/sh -c #(nop)  ENV A=b", "empty_layer": True},
                {"created_by": "/bin/sh -c touch /f"}],
    "rootfs": {"diff_ids": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]}}, LAYERS)


def test_an_empty_row_and_then_a_layer() -> None:
    env = match([SOURCE], BASE, "/bin/sh -c #(nop)  ENV A=b")
    assert env is not None and env.layer is None and env.diff_id == ""
    after_env = {"history": [*BASE["history"], {"created_by": "/bin/sh -c #(nop)  ENV A=b", "empty_layer": True}],
                 "rootfs": BASE["rootfs"]}
    run = match([SOURCE], after_env, "/bin/sh -c touch /f")
    assert run is not None and run.layer == LAYERS[1] and run.diff_id == "sha256:" + "2" * 64


def test_no_match() -> None:
    assert match([SOURCE], BASE, "/bin/sh -c #(nop)  ENV A=c") is None  # another step
    other_base = {"history": [{"created_by": "ADD file:y in /"}], "rootfs": BASE["rootfs"]}
    assert match([SOURCE], other_base, "/bin/sh -c #(nop)  ENV A=b") is None  # another parent
    assert match([], BASE, "/bin/sh -c #(nop)  ENV A=b") is None
