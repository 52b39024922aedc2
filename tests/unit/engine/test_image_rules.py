"""Pure rules of the image service: reference matching, Docker's progress strings,
``--change`` instructions, the removal plans and their conflict messages, pull views."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dockyard.engine import image_progress as msg
from dockyard.engine.context import ImageUse
from dockyard.engine.filters import Filters
from dockyard.engine.image_catalog import Catalog, DockerImage
from dockyard.engine.image_changes import apply_changes
from dockyard.engine.image_delete import parse_until, plan_delete, plan_prune
from dockyard.engine.image_refs import (
    dangling_name,
    familiar_match,
    id_candidate,
    is_dangling,
    path_match,
    record_reference,
    repo_tag_reference,
    short_id,
)
from dockyard.engine.image_summaries import Layer
from dockyard.engine.image_transfer import PullView, decode_auth, pull_reference
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.oci.reference import parse_reference

ID = "sha256:" + "ab" * 32


# -- references -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("busybox", "busybox:latest", True),
    ("busybox:*", "busybox:1.36", True),
    ("busy*", "busybox:latest", True),
    ("*", "me/app:1", False),  # * stops at /
    ("*", "library/busybox:1", True),  # familiar: busybox:1
    ("*/*", "other/box:2", True),
    ("other/box:[0-9]", "other/box:2", True),
    ("other/box:[^0-9]", "other/box:2", False),
    ("localhost:5000/app", "localhost:5000/app:v1", True),
    ("[", "busybox:latest", False),  # malformed: matches nothing
])
def test_familiar_match(pattern: str, name: str, expected: bool) -> None:
    assert familiar_match(pattern, parse_reference(name)) is expected


def test_path_match_escapes() -> None:
    assert path_match(r"a\*b", "a*b") and not path_match(r"a\*b", "axb")
    assert path_match("a?c", "abc") and not path_match("a?c", "a/c")


def test_repo_tag_reference() -> None:
    assert str(repo_tag_reference("busybox", "")) == "docker.io/library/busybox:latest"
    assert str(repo_tag_reference("me/app", "v2")) == "docker.io/me/app:v2"
    assert str(repo_tag_reference("localhost:5000/app:v1", "")) == "localhost:5000/app:v1"
    with pytest.raises(InvalidArgument, match="refusing to create a tag with a digest reference"):
        repo_tag_reference("busybox@sha256:" + "0" * 64, "")
    with pytest.raises(InvalidArgument, match="invalid tag format"):
        repo_tag_reference("busybox", "bad tag")
    with pytest.raises(InvalidArgument, match="lowercase"):
        repo_tag_reference("Busybox", "1")


def test_ids_and_dangling_names() -> None:
    assert short_id(ID) == "ab" * 6 and short_id("c" * 64) == "c" * 12
    assert id_candidate("sha256:abc") == "abc" and id_candidate("abc") == "abc"
    assert id_candidate("busybox") == "" and id_candidate("") == ""
    name = dangling_name("sha256:" + "1" * 64)
    assert is_dangling(name) and record_reference(name) is None
    assert record_reference("docker.io/library/busybox:latest") == parse_reference("busybox")
    assert record_reference("not a ref") is None


def test_pull_reference() -> None:
    assert str(pull_reference("busybox", "")) == "docker.io/library/busybox:latest"
    assert str(pull_reference("docker.io/library/busybox", "1.36")) == "docker.io/library/busybox:1.36"
    digest = "sha256:" + "2" * 64
    assert str(pull_reference("busybox", digest)) == f"docker.io/library/busybox@{digest}"
    assert str(pull_reference("host:5000/app:v1", "")) == "host:5000/app:v1"


def test_decode_auth() -> None:
    import base64
    import json

    doc = {"username": "u", "password": "p", "serveraddress": "127.0.0.1:5000"}
    header = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    credentials = decode_auth(header)
    assert credentials is not None and (credentials.username, credentials.password) == ("u", "p")
    assert decode_auth("") is None and decode_auth("e30=") is None  # {}
    with pytest.raises(InvalidArgument, match="X-Registry-Auth"):
        decode_auth("!!!not-base64")


# -- progress --------------------------------------------------------------------------------------


def test_human_size_is_go_units() -> None:
    assert msg.human_size(0) == "0B"
    assert msg.human_size(999) == "999B"
    assert msg.human_size(1024) == "1.024kB"
    assert msg.human_size(1031692) == "1.032MB"
    assert msg.human_size(2_000_000_000) == "2GB"


def test_progress_bar_is_dockers() -> None:
    assert msg.progress_bar(0, 0) == ""
    assert msg.progress_bar(0, 100) == "[>" + " " * 50 + "]       0B/100B"
    assert msg.progress_bar(50, 100) == "[" + "=" * 25 + ">" + " " * 25 + "]      50B/100B"
    assert msg.progress_bar(100, 100) == "[" + "=" * 50 + ">]     100B/100B"
    assert msg.progress_bar(512, 0) == "    512B"
    line = msg.progress("Downloading", "0123456789ab", 10, 20)
    assert line["progressDetail"] == {"current": 10, "total": 20} and line["id"] == "0123456789ab"
    assert msg.progress("Pull complete", "x", detail=False) == {"status": "Pull complete", "progressDetail": {},
                                                               "id": "x"}
    assert msg.error("boom") == {"errorDetail": {"message": "boom"}, "error": "boom"}


def blob(id: str, action: str, status: str, offset: int = 0, total: int = 10) -> Any:
    return SimpleNamespace(id=id, action=action, status=status, offset=offset, total=total)


def test_pull_view_hides_existing_layers_of_an_up_to_date_image() -> None:
    view = PullView()
    out = view.blob(blob("a", "waiting", "Waiting"))
    out += view.blob(blob("a", "unpacking", "Extracting", 0))
    out += view.blob(blob("a", "exists", "Already exists"))
    out += view.blob(blob("a", "done", "Pull complete"))
    assert out == [] and view.done(up_to_date=True) == []


def test_pull_view_new_and_existing_layers() -> None:
    view = PullView()
    view.blob(blob("old", "waiting", "Waiting"))
    assert view.blob(blob("old", "exists", "Already exists")) == []
    out = view.blob(blob("new", "waiting", "Waiting"))
    out += view.blob(blob("new", "downloading", "Downloading", 5))
    statuses = [(m["id"], m["status"]) for m in out]
    assert statuses == [("old", "Already exists"), ("new", "Pulling fs layer"), ("new", "Downloading")]
    assert view.blob(blob("old", "done", "Pull complete")) == []
    assert view.done(up_to_date=False) == []


# -- changes ---------------------------------------------------------------------------------------


def test_apply_changes() -> None:
    config = apply_changes([
        'CMD ["/bin/sh", "-c", "echo hi"]', "ENTRYPOINT /init --flag", "ENV A=1 B=\"two words\"", "ENV C 3",
        "LABEL team=ops version=1", "EXPOSE 80 53/udp", "VOLUME /data /logs", 'VOLUME ["/x"]', "WORKDIR /srv",
        "USER nobody", "STOPSIGNAL SIGINT", "ONBUILD RUN make", "env A=replaced",
    ])
    assert config["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert config["Entrypoint"] == ["/bin/sh", "-c", "/init --flag"]
    assert config["Env"] == ["B=two words", "C=3", "A=replaced"]
    assert config["Labels"] == {"team": "ops", "version": "1"}
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}, "/logs": {}, "/x": {}}
    assert (config["WorkingDir"], config["User"], config["StopSignal"]) == ("/srv", "nobody", "SIGINT")
    assert config["OnBuild"] == ["RUN make"]
    assert apply_changes([]) == {} and apply_changes(["", "  "]) == {}
    with pytest.raises(InvalidArgument, match="RUN is not a valid change command"):
        apply_changes(["RUN make"])
    with pytest.raises(InvalidArgument, match="invalid containerPort"):
        apply_changes(["EXPOSE http"])


# -- removal ---------------------------------------------------------------------------------------


def record(name: str, digest: str = "sha256:" + "9" * 64) -> Any:
    return SimpleNamespace(name=name, target=SimpleNamespace(digest=digest, media_type="m", size=1))


def image(*names: str, image_id: str = ID, created: int = 100, labels: dict[str, str] | None = None,
          layers: list[Layer] | None = None) -> DockerImage:
    out = DockerImage(image_id, created=created, labels=labels or {}, layers=layers or [])
    for name in names:
        out.records.append(record(name))
        ref = record_reference(name)
        if ref is not None and ref.tag:
            out.repo_tags.append(ref.familiar())
    return out


BUSYBOX = "docker.io/library/busybox:latest"
STOPPED = ImageUse("c" * 64, running=False)
RUNNING = ImageUse("d" * 64, running=True)


def test_delete_by_reference() -> None:
    two = image(BUSYBOX, "docker.io/library/mine:1")
    plan = plan_delete(two, "busybox", [two.records[0]], [STOPPED])
    assert (plan.untag, plan.delete, plan.keep) == ([BUSYBOX], False, False)  # other names remain: untag only
    one = image(BUSYBOX)
    plan = plan_delete(one, "busybox", [one.records[0]], [])
    assert (plan.untag, plan.delete) == ([BUSYBOX], True)
    with pytest.raises(FailedPrecondition) as info:
        plan_delete(one, "busybox", [one.records[0]], [STOPPED])
    assert info.value.message == (f'conflict: unable to remove repository reference "busybox" (must force) - '
                                  f"container {'c' * 12} is using its referenced image {'ab' * 6}")
    forced = plan_delete(one, "busybox", [one.records[0]], [RUNNING], force=True)
    assert (forced.delete, forced.keep) == (False, True)


def test_delete_by_id() -> None:
    multi = image(BUSYBOX, "docker.io/other/box:2")
    with pytest.raises(FailedPrecondition) as info:
        plan_delete(multi, ID, None, [])
    assert info.value.message == (f"conflict: unable to delete {'ab' * 6} (must be forced) - image is referenced "
                                  "in multiple repositories")
    forced = plan_delete(multi, ID, None, [], force=True)
    assert sorted(forced.untag) == sorted(r.name for r in multi.records) and forced.delete
    same_repo = image(BUSYBOX, "docker.io/library/busybox:1")
    assert plan_delete(same_repo, ID, None, []).delete
    with pytest.raises(FailedPrecondition, match=r"\(must be forced\) - image is being used by stopped container"):
        plan_delete(same_repo, ID, None, [STOPPED])
    kept = plan_delete(same_repo, ID, None, [STOPPED], force=True)
    assert (kept.delete, kept.keep) == (False, True)
    with pytest.raises(FailedPrecondition, match=r"\(cannot be forced\) - image is being used by running container "
                                                 + "d" * 12):
        plan_delete(same_repo, ID, None, [RUNNING], force=True)


def test_prune_plans_and_space() -> None:
    shared, own = Layer("sha256:" + "1" * 64, 100), Layer("sha256:" + "2" * 64, 40)
    tagged = image(BUSYBOX, image_id="sha256:" + "a" * 64, layers=[shared])
    dangling = image(dangling_name("sha256:" + "3" * 64), image_id="sha256:" + "b" * 64, layers=[shared, own])
    used = image(image_id="sha256:" + "c" * 64, layers=[Layer("sha256:" + "4" * 64, 7)])
    catalog = Catalog([tagged, dangling, used])
    users = {used.id: [STOPPED]}
    plans, freed = plan_prune(catalog, Filters(), users)
    assert [p.image.id for p in plans] == [dangling.id] and freed == 40
    plans, freed = plan_prune(catalog, Filters.of(dangling=["false"]), users)
    assert [p.image.id for p in plans] == [tagged.id, dangling.id] and freed == 140
    assert plans[0].untag == [BUSYBOX]
    plans, _ = plan_prune(catalog, Filters.of(dangling=["false"], label=["x"]), users)
    assert plans == []
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        plan_prune(catalog, Filters.of(colour=["red"]), users)
    with pytest.raises(InvalidArgument, match="invalid filter 'dangling=maybe'"):
        plan_prune(catalog, Filters.of(dangling=["maybe"]), users)


def test_parse_until() -> None:
    assert parse_until("1h30m", now=10_000.0) == 10_000.0 - 5400
    assert parse_until("1700000000") == 1_700_000_000
    assert parse_until("2024-01-01T00:00:00Z") == 1_704_067_200
    with pytest.raises(InvalidArgument):
        parse_until("yesterday")
