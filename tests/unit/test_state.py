"""Container records: ids, atomic reservation, derived status."""

from __future__ import annotations

import os

import pytest

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.runtime import state as st


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "a b", "x\n", "é"])
def test_bad_ids(cid: str) -> None:
    with pytest.raises(InvalidArgument):
        st.validate_id(cid)


def test_reserve_load_remove(tmp_path: object) -> None:
    store = st.StateStore(os.path.join(str(tmp_path), "root"))
    rec = store.reserve("c1", {"bundle": "/b", "config": {"annotations": {"k": "v"}}})
    with pytest.raises(AlreadyExists, match="container with given ID already exists"):
        store.reserve("c1", {})
    loaded = store.load("c1")
    assert loaded.bundle == "/b"
    assert store.ids() == ["c1"]
    assert loaded.status() == st.CREATING
    doc = loaded.oci_state()
    assert doc["annotations"] == {"k": "v"}
    store.remove(rec)
    with pytest.raises(NotFound, match="container does not exist"):
        store.load("c1")


def test_status_follows_the_process(tmp_path: object) -> None:
    store = st.StateStore(str(tmp_path))
    rec = store.reserve("c2", {})
    pid = os.getpid()
    rec.data.update({"pid": pid, "pid_start": st.process_start_time(pid), "complete": True})
    os.mkfifo(rec.fifo_path)
    assert rec.status() == st.CREATED
    os.unlink(rec.fifo_path)
    assert rec.status() == st.RUNNING
    rec.data["pid_start"] = -1  # a reused pid is not our init
    assert rec.status() == st.STOPPED
    assert rec.oci_state()["pid"] == 0


def test_exit_status_of_a_zombie(tmp_path: object) -> None:
    store = st.StateStore(str(tmp_path))
    rec = store.reserve("c3", {})
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    import time

    for _ in range(200):
        ps = st.process_state(pid)
        if ps and ps[0] == "Z":
            break
        time.sleep(0.005)
    rec.data.update({"pid": pid, "pid_start": st.process_start_time(pid), "complete": True})
    assert rec.status() == st.STOPPED
    assert rec.exit_status() == 7
    os.waitpid(pid, 0)
    rec.record_exit_status(7)
    assert rec.oci_state()["exitStatus"] == 7
