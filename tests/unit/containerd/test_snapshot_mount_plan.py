"""The mount helper's logic without root: option planning, path compaction, mountinfo
parsing, and the mount(2) sequence recorded by a fake."""

from __future__ import annotations

import errno

import pytest

from dockyard.containerd import mount as mnt
from dockyard.containerd.snapshots import Mount
from dockyard.errors import Internal, InvalidArgument, NotImplementedYet
from dockyard.runtime import linux as L
from dockyard.runtime import mountinfo
from dockyard.runtime.recording import RecordingSyscalls

ROOT = "/var/lib/dockyard/io.containerd.snapshotter.v1.overlayfs/snapshots"


def _overlay(n: int, *, upper: bool = True, extra: tuple[str, ...] = ()) -> Mount:
    opts = [*extra, "index=off"]
    if upper:
        opts += [f"workdir={ROOT}/{n + 1}/work", f"upperdir={ROOT}/{n + 1}/fs"]
    opts.append("lowerdir=" + ":".join(f"{ROOT}/{i}/fs" for i in range(n, 0, -1)))
    return Mount("overlay", "overlay", opts)


def test_plan_overlay() -> None:
    plan = mnt.plan_overlay(_overlay(3, extra=("ro", "nosuid", "rprivate", "userxattr")))
    assert plan.lowers == [f"{ROOT}/3/fs", f"{ROOT}/2/fs", f"{ROOT}/1/fs"]
    assert (plan.upper, plan.work) == (f"{ROOT}/4/fs", f"{ROOT}/4/work")
    assert plan.params == ["userxattr", "index=off"]
    assert plan.flags == L.MS_RDONLY | L.MS_NOSUID
    assert plan.propagation == [L.MS_PRIVATE | L.MS_REC]


def test_plan_overlay_refusals() -> None:
    with pytest.raises(InvalidArgument):
        mnt.plan_overlay(Mount("overlay", "overlay", ["upperdir=/u", "workdir=/w"]))
    with pytest.raises(InvalidArgument):
        mnt.plan_overlay(Mount("overlay", "overlay", ["bind", "lowerdir=/a:/b"]))
    with pytest.raises(NotImplementedYet):
        mnt.plan_overlay(Mount("overlay", "overlay", ["lowerdir=/a::/b"]))


def test_compaction_makes_deep_chains_fit() -> None:
    plan = mnt.plan_overlay(_overlay(128))
    assert len(plan.legacy_data()) > mnt.PAGE_SIZE
    assert plan.common_dir() == ROOT
    short = plan.legacy_data(plan.common_dir())
    assert len(short) < mnt.PAGE_SIZE
    assert short.startswith("index=off,workdir=129/work,upperdir=129/fs,lowerdir=128/fs:127/fs:")
    assert short.endswith(":1/fs")


def test_escaped_separators() -> None:
    assert mnt.split_escaped(r"/a\:b:/c", ":") == [r"/a\:b", "/c"]
    assert mnt.overlay_layers(r"rw,lowerdir=/a\:b:/c:/d,upperdir=/u,workdir=/w") == 3
    assert mnt.overlay_layers("ro,lowerdir+=/a,lowerdir+=/b,datadir+=/c,redirect_dir=on") == 3
    assert mnt.overlay_layers("rw,lowerdir=1/fs:2/fs,upperdir=3/fs") == 2


class _Entry:
    def __init__(self, super_options: str) -> None:
        self.fstype = "overlay"
        self.super_options = super_options


def test_legacy_overlay_short_is_one_mount(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = RecordingSyscalls()
    monkeypatch.setattr(mnt, "top_mount", lambda target: _Entry("rw,lowerdir=/l2:/l1,upperdir=/u,workdir=/w"))
    m = Mount("overlay", "overlay", ["workdir=/w", "upperdir=/u", "lowerdir=/l2:/l1", "rshared"])
    mnt.mount_overlay(m, "/mnt/x", rec, new_api=False)
    assert rec.calls == [
        ("mount", "overlay", "/mnt/x", "overlay", 0, "workdir=/w,upperdir=/u,lowerdir=/l2:/l1"),
        ("mount", None, "/mnt/x", None, L.MS_SHARED | L.MS_REC, None),
    ]


def test_missing_layers_are_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = RecordingSyscalls()
    monkeypatch.setattr(mnt, "top_mount", lambda target: _Entry("rw,lowerdir=/l2,upperdir=/u,workdir=/w"))
    m = Mount("overlay", "overlay", ["workdir=/w", "upperdir=/u", "lowerdir=/l2:/l1"])
    with pytest.raises(Internal, match="shows 1 lower layers, not 2"):
        mnt.mount_overlay(m, "/mnt/x", rec, new_api=False)
    assert rec.calls[-1] == ("umount2", "/mnt/x", L.MNT_DETACH)


def test_legacy_overlay_too_deep_is_refused() -> None:
    lowers = ":".join(f"/x/{i:08d}/{'y' * 40}" for i in range(200))
    with pytest.raises(InvalidArgument, match="lowerdir"):
        mnt.mount_overlay(Mount("overlay", "overlay", [f"lowerdir={lowers}"]), "/mnt/x", RecordingSyscalls(),
                          new_api=False)  # fmt: skip


def test_bind_ro_is_a_bind_then_a_remount() -> None:
    rec = RecordingSyscalls()
    mnt.mount_all([Mount("bind", "/src", ["ro", "rbind"])], "/dst", rec)
    assert rec.calls == [
        ("mount", "/src", "/dst", None, L.MS_BIND | L.MS_REC, None),
        ("mount", None, "/dst", None, L.MS_REMOUNT | L.MS_BIND | L.MS_RDONLY, None),
    ]
    rec = RecordingSyscalls()
    mnt.mount_all([Mount("bind", "/src", ["rw", "rbind"])], "/dst", rec)
    assert rec.calls == [("mount", "/src", "/dst", None, L.MS_BIND | L.MS_REC, None)]


def test_mount_all_undoes_on_failure() -> None:
    class FailSecond(RecordingSyscalls):
        def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
            super().mount(source, target, fstype, flags, data)
            if fstype == "tmpfs":
                raise OSError(errno.EIO, "i/o error")

    rec = FailSecond()
    with pytest.raises(Internal, match="mount tmpfs"):
        mnt.mount_all([Mount("bind", "/a", ["rbind"]), Mount("tmpfs", "tmpfs", ["size=1m"])], "/t", rec)
    assert rec.calls[-1] == ("umount2", "/t", L.MNT_DETACH)
    assert rec.calls[1] == ("mount", "tmpfs", "/t", "tmpfs", 0, "size=1m")


def test_unmount_all_until_not_mounted() -> None:
    class Stack(RecordingSyscalls):
        def __init__(self, depth: int) -> None:
            super().__init__()
            self.depth = depth

        def umount2(self, target: str, flags: int) -> None:
            super().umount2(target, flags)
            if self.depth == 0:
                raise OSError(errno.EINVAL, "not mounted")
            self.depth -= 1

    rec = Stack(3)
    mnt.unmount_all("/t", rec)
    assert rec.calls == [("umount2", "/t", L.MNT_DETACH)] * 4


def test_mountinfo_top_mount(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    lines = (
        "30 1 0:30 / /t rw - ext4 /dev/vda rw\n"
        "31 30 0:31 / /t rw - overlay overlay rw,lowerdir+=/a,lowerdir+=/b\n"
    )
    monkeypatch.setattr(mountinfo, "read", lambda path=mountinfo.MOUNTINFO: mountinfo.parse(lines))
    top = mnt.top_mount("/t")
    assert top is not None and top.fstype == "overlay" and mnt.overlay_layers(top.super_options) == 2
    assert mnt.top_mount("/elsewhere") is None
