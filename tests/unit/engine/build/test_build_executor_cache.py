"""The build cache: step keys, lookups, parent links, forgetting and pruning (SQLite in a
temporary data root), and dockerd's rules for intermediate images (:mod:`image_parents`)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dockyard.engine import image_parents
from dockyard.engine.build.buildcache import BuildCache, step_key

BASE = {"Env": ["PATH=/bin"], "Cmd": ["sh"]}


def test_step_key_depends_on_created_by_and_relevant_config() -> None:
    key = step_key("/bin/sh -c echo hi", BASE)
    assert key == step_key("/bin/sh -c echo hi", dict(BASE))
    assert key != step_key("/bin/sh -c echo ho", BASE)
    assert key != step_key("/bin/sh -c echo hi", {**BASE, "Env": ["PATH=/bin", "A=b"]})
    assert key != step_key("/bin/sh -c echo hi", {**BASE, "WorkingDir": "/app"})
    assert key != step_key("/bin/sh -c echo hi", {**BASE, "User": "nobody"})
    assert key != step_key("/bin/sh -c echo hi", {**BASE, "Labels": {"a": "b"}})
    assert key != step_key("/bin/sh -c echo hi", BASE, {"network": "none"})
    # bookkeeping fields and empty values do not count
    assert key == step_key("/bin/sh -c echo hi", {**BASE, "Image": "sha256:x", "Hostname": "h"})
    assert key == step_key("/bin/sh -c echo hi", {**BASE, "Labels": {}, "WorkingDir": ""})
    # key order does not matter
    assert step_key("x", {"Labels": {"a": "1", "b": "2"}}) == step_key("x", {"Labels": {"b": "2", "a": "1"}})


def test_copy_keys_follow_the_content_hash() -> None:
    one = step_key("/bin/sh -c #(nop) COPY file:aaa in /x ", BASE)
    assert one != step_key("/bin/sh -c #(nop) COPY file:bbb in /x ", BASE)


def test_lookup_store_forget(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path))
    try:
        key = step_key("s", BASE)
        assert cache.lookup("sha256:p", key) is None
        cache.store("sha256:p", key, "sha256:c")
        assert cache.lookup("sha256:p", key) == "sha256:c"
        assert cache.lookup("sha256:other", key) is None
        assert cache.parent("sha256:c") == "sha256:p"
        cache.store("", step_key("scratch step", {}), "sha256:s")
        assert cache.parent("sha256:s") == ""
        cache.forget_step("sha256:p", key)
        assert cache.lookup("sha256:p", key) is None
        assert cache.parent("sha256:c") == "sha256:p"  # the link stays while the image does
        cache.store("sha256:p", key, "sha256:c")
        cache.forget(["sha256:c"])
        assert cache.lookup("sha256:p", key) is None and cache.parent("sha256:c") == ""
    finally:
        cache.close()


def test_persisted_and_cleared(tmp_path: Path) -> None:
    cache = BuildCache(str(tmp_path))
    cache.store("sha256:p", "k1", "sha256:a")
    cache.store("sha256:a", "k2", "sha256:b")
    cache.close()
    again = BuildCache(str(tmp_path))
    try:
        assert again.lookup("sha256:a", "k2") == "sha256:b"
        assert again.parent_map() == {"sha256:a": "sha256:p", "sha256:b": "sha256:a"}
        assert again.clear_steps() == 2
        assert again.lookup("sha256:a", "k2") is None
        assert again.parent_map() == {"sha256:a": "sha256:p", "sha256:b": "sha256:a"}
    finally:
        again.close()


def image(image_id: str, tags: tuple[str, ...] = ()) -> Any:
    return SimpleNamespace(id=image_id, named_records=list(tags), repo_tags=list(tags))


def test_hidden_parents_are_untagged_parents() -> None:
    images = [image("base", ("busybox:latest",)), image("s1"), image("s2"), image("top", ("app:1",)),
              image("dangling")]
    parents = {"s1": "base", "s2": "s1", "top": "s2", "gone": "dangling"}
    assert image_parents.hidden_parents(images, parents) == {"s1", "s2"}


def test_history_ids_walk_the_parents() -> None:
    images = {i.id: i for i in (image("base", ("busybox:latest",)), image("s1"), image("top", ("app:1",)))}
    rows = [{"Id": "top"}, {"Id": "<missing>"}, {"Id": "<missing>"}, {"Id": "<missing>"}]
    out = image_parents.history_ids(rows, "top", {"top": "s1", "s1": "base"}, images)
    assert [r["Id"] for r in out] == ["top", "s1", "base", "<missing>"]
    assert out[2]["Tags"] == ["busybox:latest"] and out[1]["Tags"] is None


def test_parents_to_prune_stop_at_shared_tagged_or_used() -> None:
    images = {i.id: i for i in (image("base", ("busybox:latest",)), image("s1"), image("s2"), image("a", ("a:1",)),
                                image("b", ("b:1",)))}
    parents = {"s1": "base", "s2": "s1", "a": "s2", "b": "s1"}
    # s2 only serves a; s1 also serves b
    assert image_parents.parents_to_prune("a", parents, images, set()) == ["s2"]
    assert image_parents.parents_to_prune("a", parents, images, {"s2"}) == []
    del images["b"]
    assert image_parents.parents_to_prune("a", parents, images, set()) == ["s2", "s1"]


def test_unneeded_intermediates_leaves_first() -> None:
    images = {i.id: i for i in (image("base", ("busybox:latest",)), image("s1"), image("s2"), image("t", ("t:1",)),
                                image("x1"), image("x2"))}
    parents = {"s1": "base", "s2": "s1", "t": "s2", "x1": "base", "x2": "x1"}
    assert image_parents.unneeded_intermediates(parents, images, set()) == ["x2", "x1"]
    assert image_parents.unneeded_intermediates(parents, images, {"x2"}) == []


def test_image_prune_keeps_the_ancestors_of_what_stays() -> None:
    parents = {"s1": "base", "s2": "s1", "top": "s2", "x1": "base", "x2": "x1"}
    existing = ["base", "s1", "s2", "top", "x1", "x2"]
    # s1, s2 are ancestors of top (tagged, stays); x1/x2 go together
    assert image_parents.needed_parents(["s1", "s2", "x1", "x2"], existing, parents) == {"s1", "s2"}
    assert image_parents.needed_parents(["x1"], existing, parents) == {"x1"}
    assert image_parents.needed_parents([], existing, parents) == set()
