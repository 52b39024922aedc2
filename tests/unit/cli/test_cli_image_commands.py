"""Image commands against the fake engine: output, requests and exit statuses.

The expected outputs are docker 28's for the same payloads (``image_engine``), as
``test_cli_image_oracle`` checks against the real CLI where it is installed; the clock is
frozen (``image_fixtures``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable

import pytest
from tests.unit.cli import image_engine
from tests.unit.cli.fake_engine import FakeEngine, Result
from tests.unit.cli.image_engine import BUSYBOX_DIGEST as DIGEST
from tests.unit.cli.image_engine import BUSYBOX_ID, Terminal, calls

pytest_plugins = ["tests.unit.cli.image_fixtures"]
pytestmark = pytest.mark.usefixtures("frozen_clock")

# --- images -------------------------------------------------------------------------------

IMAGES_TABLE = """\
REPOSITORY                TAG       IMAGE ID       CREATED         SIZE
busybox                   latest    65ad0d468eb1   2 years ago     4.26MB
busybox                   1.36      65ad0d468eb1   2 years ago     4.26MB
alpine                    3.21      c1aabb73d233   22 months ago   8.3MB
localhost:5000/team/app   v1.2      0d3e7a2e1b9b   13 months ago   187MB
<none>                    <none>    aaaa0d468eb1   3 years ago     1kB
"""


def test_images_table(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("images") == Result(0, IMAGES_TABLE, "")
    assert calls(image_daemon) == [("GET", "/images/json", {})]


def test_images_with_digests_quiet_and_json(dy: Callable[..., Result]) -> None:
    lines = dy("image", "ls", "--digests").out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:3] == ["busybox", "latest", DIGEST]
    assert lines[4].split()[2] == "<none>"
    assert dy("images", "-q").out == "65ad0d468eb1\n65ad0d468eb1\nc1aabb73d233\n0d3e7a2e1b9b\naaaa0d468eb1\n"
    assert dy("images", "-q", "--no-trunc").out.splitlines()[0] == BUSYBOX_ID
    first = dy("images", "--format", "json").out.splitlines()[0]
    assert first == ('{"Containers":"2","CreatedAt":"2024-05-18 02:40:00 +0000 UTC","CreatedSince":"2 years ago",'
                     '"Digest":"\\u003cnone\\u003e","ID":"65ad0d468eb1","Repository":"busybox","SharedSize":"N/A",'
                     '"Size":"4.26MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"4.262MB"}')


def test_images_filters_and_reference_go_to_the_daemon(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("images", "-a", "-f", "dangling=true", "--filter", "Label = a=b", "busybox").status == 0
    assert calls(image_daemon) == [("GET", "/images/json", {
        "all": ["1"], "filters": ['{"dangling":{"true":true},"label":{"a=b":true},"reference":{"busybox":true}}']})]


def test_images_format_from_the_config_file(dy: Callable[..., Result]) -> None:
    with open(f"{dy.config}/config.json", "w") as f:  # type: ignore[attr-defined]
        f.write('{"imagesFormat": "{{.Repository}}:{{.Tag}}"}')
    assert dy("images").out.splitlines()[:2] == ["busybox:latest", "busybox:1.36"]
    assert dy("images", "-q").out.splitlines()[0] == "65ad0d468eb1"


def test_a_broken_config_file_is_a_warning(dy: Callable[..., Result]) -> None:
    with open(f"{dy.config}/config.json", "w") as f:  # type: ignore[attr-defined]
        f.write("{nope")
    result = dy("images")
    assert (result.status, result.out) == (0, IMAGES_TABLE)
    assert result.err.startswith(f"WARNING: Error parsing config file ({dy.config}/config.json): ")  # type: ignore[attr-defined]


def test_images_errors(dy: Callable[..., Result]) -> None:
    bad = dy("images", "--filter", "nope")
    assert bad.status == 125
    assert bad.err.startswith('invalid argument "nope" for "-f, --filter" flag: bad format of filter '
                              "(expected name=value)\n\nUsage:  dockyard images [OPTIONS] [REPOSITORY[:TAG]]")
    assert dy("images", "--format", "{{.Nope}}") == Result(1, "", (
        'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type '
        "*formatter.imageContext\n"))
    assert dy("images", "--bogus").status == 125


# --- history, tag, rmi, inspect -----------------------------------------------------------

HISTORY = """\
IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT
65ad0d468eb1   2 years ago   /bin/sh -c #(nop)  CMD ["sh"]                   0B        
<missing>      2 years ago   /bin/sh -c #(nop) ADD file:7e5ac5b6cf8b6a27e…   4.26MB    
<missing>      6 years ago   RUN |1 X=y /bin/sh -c apk add curl              1.23GB    buildkit.dockerfile.v0
"""  # noqa: W291 - docker pads the empty COMMENT column


def test_history(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("history", "busybox") == Result(0, HISTORY, "")
    raw = dy("image", "history", "-H=false", "busybox").out.splitlines()
    assert raw[0].split() == ["IMAGE", "CREATED", "AT", "CREATED", "BY", "SIZE", "COMMENT"]
    assert raw[1].split()[:2] == ["65ad0d468eb1", "2024-05-18T02:40:00Z"]
    assert raw[3].split()[-2:] == ["1234567890", "buildkit.dockerfile.v0"]
    assert dy("history", "-q", "--no-trunc", "busybox").out == f"{BUSYBOX_ID}\n<missing>\n<missing>\n"
    del image_daemon.requests[:]
    dy("history", "--platform", "linux/arm64/v8", "localhost:5000/team/app:v1")
    assert calls(image_daemon) == [("GET", "/images/localhost:5000/team/app:v1/history",
                              {"platform": ['{"architecture":"arm64","os":"linux","variant":"v8"}']})]


def test_unknown_image_is_the_daemons_error_and_exit_1(dy: Callable[..., Result]) -> None:
    assert dy("history", "nope") == Result(1, "", "Error response from daemon: No such image: nope\n")
    assert dy("image", "inspect", "nope") == Result(1, "[]\n", "Error response from daemon: No such image: "
                                                                "nope:latest\n")
    assert dy("tag", "nope", "x") == Result(1, "", "Error response from daemon: No such image: nope\n")


def test_tag(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("tag", "busybox", "localhost:5000/x:y") == Result(0, "", "")
    assert dy("image", "tag", "busybox", "x") == Result(0, "", "")
    assert calls(image_daemon) == [("POST", "/images/busybox/tag", {"repo": ["localhost:5000/x"], "tag": ["y"]}),
                             ("POST", "/images/busybox/tag", {"repo": ["docker.io/library/x"], "tag": ["latest"]})]
    assert dy("tag", "busybox", "BAD:x") == Result(1, "", (
        'Error parsing reference: "BAD:x" is not a valid repository/tag: invalid reference format: repository name '
        "(library/BAD) must be lowercase\n"))
    assert dy("tag", "busybox", f"x@{DIGEST}").err == "refusing to create a tag with a digest reference\n"
    assert dy("tag", "busybox").err.startswith("dockyard: 'dockyard tag' requires 2 arguments\n")


def test_rmi(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    result = dy("rmi", "busybox", "nope", "inuse")
    assert result.status == 1
    assert result.out == (f"Untagged: busybox:latest\nUntagged: busybox@{DIGEST}\nDeleted: {BUSYBOX_ID}\n"
                          f"Deleted: {image_engine.RMI_BUSYBOX[3]['Deleted']}\n")
    assert result.err.splitlines() == [
        "Error response from daemon: No such image: nope",
        'Error response from daemon: conflict: unable to remove repository reference "inuse" (must force) - '
        "container 4fa6e0f0c678 is using its referenced image 65ad0d468eb1"]
    # --force: a missing image is reported, not fatal
    assert dy("image", "rm", "-f", "--no-prune", "nope") == Result(0, "", "Error response from daemon: No such "
                                                                          "image: nope\n")
    assert calls(image_daemon)[-1] == ("DELETE", "/images/nope", {"force": ["1"], "noprune": ["1"]})


def test_image_inspect(dy: Callable[..., Result]) -> None:
    result = dy("image", "inspect", "busybox")
    assert result.status == 0
    assert json.loads(result.out) == [image_engine.BUSYBOX_INSPECT]
    assert result.out.startswith('[\n    {\n        "Id": "sha256:65ad')
    assert '"RepoTags": [\n            "busybox:latest",' in result.out
    assert '"Volumes": null,' in result.out and '"Data": null,' in result.out
    both = dy("image", "inspect", "--format", "json", "busybox", "alpine:3.21").out
    assert both.count("\n") == 1 and len(json.loads(both)) == 2
    assert dy("image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{json .RootFS.Layers}}", "busybox").out == (
        'linux/amd64 ["sha256:7e5ac5b6cf8b6a27e51d7e39c5e4a4a4c53a3e0b4a2c64b9dd7a47c8b4f5a6e1"]\n')
    assert dy("image", "inspect", "-f", "{{.Nope}}", "busybox") == Result(1, "\n", (
        'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n'))
    assert dy("image", "inspect", "-f", "{{.Id", "busybox") == Result(64, "", (
        "template parsing error: template: :1: unclosed action\n"))


def test_inspect_of_an_image(dy: Callable[..., Result]) -> None:
    assert dy("inspect", "--type", "image", "-f", "{{.Id}}", "busybox") == Result(0, f"{BUSYBOX_ID}\n", "")


# --- pull, push -------------------------------------------------------------------------

def test_pull_plain(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    from tests.unit.cli.test_cli_jsonmessage import PULL_PLAIN

    assert dy("pull", "busybox") == Result(0, "Using default tag: latest\n" + PULL_PLAIN +
                                            "docker.io/library/busybox:latest\n", "")
    request = next(r for r in image_daemon.requests if r.path == "/images/create")
    assert request.query == {"fromImage": ["docker.io/library/busybox"], "tag": ["latest"]}
    assert request.headers["x-registry-auth"] == "e30="


def test_pull_on_a_terminal(dy: Callable[..., Result]) -> None:
    from tests.unit.cli.test_cli_jsonmessage import PULL_TTY_80

    result = dy("pull", "busybox", out=Terminal(columns=80))
    assert result.out == "Using default tag: latest\n" + PULL_TTY_80 + "docker.io/library/busybox:latest\n"


def test_pull_quiet_error_and_bad_reference(dy: Callable[..., Result]) -> None:
    assert dy("pull", "-q", "busybox") == Result(0, "docker.io/library/busybox:latest\n", "")
    assert dy("pull", "busybox:nope") == Result(1, "latest: Pulling from library/busybox\n", (
        "manifest for busybox:nope not found: manifest unknown: manifest unknown\n"))
    assert dy("pull", "-q", "busybox:nope").status == 1
    assert dy("pull", "Bad") == Result(1, "", "invalid reference format: repository name (library/Bad) must be "
                                               "lowercase\n")
    assert dy("pull", "-a", "busybox:1").err == "tag can't be used with --all-tags/-a\n"
    assert dy("pull", "private").status == 1


def test_pull_sends_the_stored_credentials(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    with open(f"{dy.config}/config.json", "w") as f:  # type: ignore[attr-defined]
        json.dump({"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                             "localhost:5000": {"auth": "YWxpY2U6czNjcmV0", "email": "a@b.c"}}}, f)
    dy("pull", "-q", "busybox")
    dy("pull", "-q", "--platform", "Linux/ARM64", "localhost:5000/team/app:v1.2")
    creates = [r for r in image_daemon.requests if r.path == "/images/create"]
    assert [base64.urlsafe_b64decode(r.headers["x-registry-auth"]) for r in creates] == [
        b'{"username":"user","password":"pass","serveraddress":"https://index.docker.io/v1/"}',
        b'{"username":"alice","password":"s3cret","email":"a@b.c","serveraddress":"localhost:5000"}']
    assert creates[1].query == {"fromImage": ["localhost:5000/team/app"], "tag": ["v1.2"], "platform": ["linux/arm64"]}


def test_push(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("push", "localhost:5000/team/app:v1.2").out == (
        f"The push refers to repository [localhost:5000/team/app]\n{image_engine.LAYER_A}: Preparing\n"
        f"{image_engine.LAYER_A}: Pushed\nv1.2: digest: {DIGEST} size: 527\n")
    assert dy("push", "-q", "busybox") == Result(0, "docker.io/library/busybox:latest\n", "")
    assert calls(image_daemon)[-1] == ("POST", "/images/docker.io/library/busybox/push", {"tag": ["latest"]})
    assert dy("push", f"busybox@{DIGEST}").err == "cannot push a digest reference\n"


# --- save, load, import -------------------------------------------------------------------

def test_save_to_a_file_and_to_stdout(dy: Callable[..., Result], image_daemon: FakeEngine, tmp_path: object) -> None:
    target = f"{tmp_path}/out.tar"
    assert dy("save", "-o", target, "busybox", "alpine:3.21") == Result(0, "", "")
    with open(target, "rb") as f:
        assert f.read() == b"TARDATA" * 10
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert calls(image_daemon)[-1] == ("GET", "/images/get", {"names": ["busybox", "alpine:3.21"]})
    assert dy("save", "busybox").out == "TARDATA" * 10
    assert dy("save", "-o", f"{tmp_path}/no/such/x.tar", "busybox").err == (
        f"failed to save image: invalid output path: stat {tmp_path}/no/such: no such file or directory\n")


def test_save_refuses_a_terminal(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    del image_daemon.requests[:]
    assert dy("save", "busybox", out=Terminal()) == Result(
        1, "", "cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
    assert calls(image_daemon) == []


def test_load(dy: Callable[..., Result], image_daemon: FakeEngine, tmp_path: object) -> None:
    archive = f"{tmp_path}/in.tar"
    with open(archive, "wb") as f:
        f.write(b"\x00TAR\xff" * 3)
    assert dy("load", "-i", archive) == Result(0, "Loaded image: busybox:latest\n", "")
    request = [r for r in image_daemon.requests if r.path == "/images/load"][-1]
    assert (request.query, request.body, request.headers["content-type"]) == (
        {"quiet": ["1"]}, b"\x00TAR\xff" * 3, "application/x-tar")
    assert dy("load", stdin="TARDATA").out == "Loaded image: busybox:latest\n"
    assert dy("load", inp=Terminal()) == Result(1, "", "requested load from stdin, but stdin is empty\n")
    assert dy("load", "-i", f"{tmp_path}/none.tar").err == f"open {tmp_path}/none.tar: no such file or directory\n"
    on_tty = dy("load", "-i", archive, out=Terminal())
    assert on_tty.out.endswith("\x1b[1BLoaded image: busybox:latest\n")
    assert [r for r in image_daemon.requests if r.path == "/images/load"][-1].query == {}


def test_import(dy: Callable[..., Result], image_daemon: FakeEngine, tmp_path: object) -> None:
    archive = f"{tmp_path}/rootfs.tar"
    with open(archive, "wb") as f:
        f.write(b"ROOTFS")
    assert dy("import", archive, "myimg:1", "-c", "ENV A=b", "-c", 'CMD ["sh"]', "-m", "hi") == Result(
        0, f"{BUSYBOX_ID}\n", "")
    request = [r for r in image_daemon.requests if r.path == "/images/create"][-1]
    assert request.query == {"fromSrc": ["-"], "repo": ["myimg:1"], "message": ["hi"],
                             "changes": ["ENV A=b", 'CMD ["sh"]']}
    assert (request.body, request.headers["content-type"]) == (b"ROOTFS", "text/plain")
    assert dy("image", "import", "https://example.com/x.tar", "repo").status == 0
    assert [r for r in image_daemon.requests if r.path == "/images/create"][-1].query["fromSrc"] == [
        "https://example.com/x.tar"]
    assert dy("import", "-", stdin="ROOTFS").status == 0
    assert dy("import", archive, "BAD").err == ("invalid reference format: repository name (library/BAD) must be "
                                                 "lowercase\n")


# --- the start-up budget ------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["images"], ["history", "busybox"], ["image", "inspect", "busybox"],
                                  ["rmi", "alpine:3.21"], ["system", "df"], ["info"], ["events"]],
                         ids=" ".join)
def test_image_commands_import_no_heavy_module(image_daemon: FakeEngine, argv: list[str]) -> None:
    from tests.unit.cli.test_cli_startup import HEAVY, loaded_modules

    code = (f"from dockyard.cli.main import main; "
            f"main(['-H', {image_daemon.host!r}, *{argv!r}], io.StringIO(), io.StringIO())")
    assert not loaded_modules(code) & HEAVY
