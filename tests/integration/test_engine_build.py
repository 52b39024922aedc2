"""``POST /build`` (the classic builder) against dockyardd with the real docker CLI 28
(``DOCKER_BUILDKIT=0 docker build``) and docker-py's ``images.build``.

A 10-step Dockerfile (FROM busybox, COPY, RUN, ENV, WORKDIR, CMD) builds and runs; its
history has one row per instruction with dockerd's ``created_by`` strings; a second tag
reuses every step ("Using cache", the same intermediate IDs in ``docker history``); a
changed source file rebuilds from its COPY on; multi-stage builds with ``COPY --from`` and
``--target``; build args; ``.dockerignore``; errors (syntax with the line, a missing COPY
source, a failing RUN's exit code) leave no container, snapshot, lease or mount, and the
earlier images and cache stay usable; ``docker images`` hides the intermediate images
(``-a`` shows them) and ``rmi`` removes them with the image; ``docker builder prune``.

One engine serves the module (``engine_busybox``); after each test every container and
every image but busybox is gone, and with them their snapshots and blobs.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import hostcheck
from tests.support.engine import DOCKER, RunningEngine, store_state, wait_for
from tests.support.registry import Seeded

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

DOCKERFILE = """\
FROM busybox
COPY a.txt /app/a.txt
COPY dir /app/dir/
ENV GREETING=hello NAME="the builder"
WORKDIR /app
RUN echo "$GREETING from $NAME" > greeting.txt
RUN cat a.txt dir/b.txt > both.txt && echo built
LABEL purpose=test
EXPOSE 8080
CMD ["cat", "/app/greeting.txt"]
"""


def build(engine: RunningEngine, context: Path, *args: str, check: bool = True) -> tuple[int, str, str]:
    env = engine.docker_env()
    env["DOCKER_BUILDKIT"] = "0"
    import subprocess

    from tests.support.engine import DOCKER as docker

    proc = subprocess.run([docker, "build", *args, str(context)], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker build {args} exited {proc.returncode}\nstdout: {proc.stdout}\n"
                             f"stderr: {proc.stderr}\nlog:\n{engine.log()[-6000:]}")
    return proc.returncode, proc.stdout, proc.stderr


def make_context(base: Path, dockerfile: str = DOCKERFILE, **files: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "Dockerfile").write_text(dockerfile)
    defaults = {"a.txt": "file a\n", "dir/b.txt": "file b\n", "dir/sub/c.txt": "file c\n"}
    for name, content in {**defaults, **files}.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return base


def history(engine: RunningEngine, image: str) -> list[tuple[str, str]]:
    """(IMAGE, CREATED BY) rows of ``docker history --no-trunc``, newest first."""
    out = engine.docker("history", "--no-trunc", "--format", "{{.ID}}\t{{.CreatedBy}}", image).stdout
    return [tuple(line.split("\t", 1)) for line in out.splitlines()]  # type: ignore[misc]


def image_id(engine: RunningEngine, name: str) -> str:
    return engine.docker("image", "inspect", "-f", "{{.Id}}", name).stdout.strip()


@pytest.fixture
def docker(engine: RunningEngine, engine_busybox: str) -> Iterator[RunningEngine]:
    """The engine; at the end its containers and images but busybox are removed, and the
    store (snapshots, blobs, leases) must be as before."""
    before = store_state(engine)
    assert before[2] == set(), before
    busybox = image_id(engine, "busybox")
    yield engine
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    assert not left, f"build containers left: {left}"
    for _ in range(3):
        images = [i for i in engine.docker("images", "-aq", "--no-trunc").stdout.split() if i != busybox]
        for image in dict.fromkeys(images):
            engine.docker("rmi", "-f", image, check=False)
    wait_for(lambda: store_state(engine) == before, what=f"the store as before: {before} now {store_state(engine)}")
    assert hostcheck.mounts_under(engine.base) == []
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


STEP = re.compile(r"^Step (\d+)/(\d+) : ", re.M)


def test_build_run_history_and_cache_across_tags(docker: RunningEngine, tmp_path: Path) -> None:
    context = make_context(tmp_path / "ctx")
    started = time.monotonic()
    _, out, _ = build(docker, context, "-t", "built:one")
    cold = time.monotonic() - started
    steps = STEP.findall(out)
    assert [int(n) for n, _ in steps] == list(range(1, 11)) and {t for _, t in steps} == {"10"}, out
    assert "Step 1/10 : FROM busybox\n" in out
    assert " ---> Running in " in out and "Removing intermediate container" in out
    assert "built\n" in out  # a RUN's output
    assert re.search(r"Successfully built [0-9a-f]{12}\n", out) and "Successfully tagged built:one\n" in out
    assert "Using cache" not in out

    run = docker.docker("run", "--rm", "built:one").stdout
    assert run == "hello from the builder\n"
    assert docker.docker("run", "--rm", "built:one", "cat", "/app/both.txt").stdout == "file a\nfile b\n"
    assert docker.docker("run", "--rm", "built:one", "cat", "/app/dir/sub/c.txt").stdout == "file c\n"
    assert docker.docker("run", "--rm", "built:one", "sh", "-c", "pwd").stdout == "/app\n"

    rows = history(docker, "built:one")
    base_rows = len(history(docker, "busybox"))
    assert len(rows) == 9 + base_rows
    created = [c for _, c in rows[:9]][::-1]
    assert re.fullmatch(r"/bin/sh -c #\(nop\) COPY file:[0-9a-f]{64} in /app/a.txt ", created[0]), created[0]
    assert re.fullmatch(r"/bin/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in /app/dir/ ", created[1]), created[1]
    assert created[2:] == [
        "/bin/sh -c #(nop)  ENV GREETING=hello NAME=the builder",
        "/bin/sh -c #(nop) WORKDIR /app",
        '/bin/sh -c echo "$GREETING from $NAME" > greeting.txt',
        "/bin/sh -c cat a.txt dir/b.txt > both.txt && echo built",
        "/bin/sh -c #(nop)  LABEL purpose=test",
        "/bin/sh -c #(nop)  EXPOSE 8080",
        '/bin/sh -c #(nop)  CMD ["cat" "/app/greeting.txt"]',
    ]
    ids = [i for i, _ in rows]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", i) for i in ids[:10]), ids  # the steps and busybox's top
    assert ids[9] == image_id(docker, "busybox")
    assert set(ids[10:]) <= {"<missing>"}
    config = json.loads(docker.docker("image", "inspect", "built:one").stdout)[0]["Config"]
    assert config["WorkingDir"] == "/app" and config["Labels"] == {"purpose": "test"}
    assert "GREETING=hello" in config["Env"] and config["ExposedPorts"] == {"8080/tcp": {}}

    # the intermediate images are hidden, but there with -a
    listed = docker.docker("images", "-q", "--no-trunc").stdout.split()
    everything = docker.docker("images", "-aq", "--no-trunc").stdout.split()
    assert image_id(docker, "built:one") in listed and len(listed) == 2, listed
    assert set(ids[1:9]) <= set(everything)

    started = time.monotonic()
    _, out2, _ = build(docker, context, "-t", "built:two")
    warm = time.monotonic() - started
    assert out2.count(" ---> Using cache\n") == 9, out2
    assert " ---> Running in " not in out2
    assert image_id(docker, "built:two") == image_id(docker, "built:one")
    assert [i for i, _ in history(docker, "built:two")] == ids
    print(f"build times: cold {cold:.2f}s, cached {warm:.2f}s")
    assert warm < max(cold, 2.0), (cold, warm)

    # one changed source rebuilds from its COPY on
    (context / "dir" / "b.txt").write_text("file b, changed\n")
    _, out3, _ = build(docker, context, "-t", "built:three")
    assert out3.count(" ---> Using cache\n") == 1, out3
    rows3 = history(docker, "built:three")
    assert [i for i, _ in rows3][8:] == ids[8:] and rows3[7][0] != ids[7]
    assert docker.docker("run", "--rm", "built:three", "cat", "/app/both.txt").stdout == "file a\nfile b, changed\n"

    # an intermediate image with children cannot be removed by its ID, as with dockerd
    refused = docker.docker("rmi", "-f", ids[1], check=False)
    assert refused.returncode == 1
    assert f"unable to delete {ids[1][7:19]} (cannot be forced) - image has dependent child images" in refused.stderr

    # rmi of a tag keeps the shared layers; rmi of the last one removes the intermediates
    docker.docker("rmi", "built:two")
    removed = docker.docker("rmi", "built:one").stdout
    assert removed.count("Deleted: ") >= 1
    docker.docker("rmi", "built:three")
    left = docker.docker("images", "-aq", "--no-trunc").stdout.split()
    assert left == [image_id(docker, "busybox")], left


def test_multi_stage_target_args_and_dockerignore(docker: RunningEngine, tmp_path: Path) -> None:
    dockerfile = """\
ARG BASE=busybox
FROM ${BASE} AS builder
ARG WHO=nobody
RUN mkdir /out && echo "made by $WHO" > /out/made.txt
COPY . /ctx/
FROM busybox AS final
COPY --from=builder /out/made.txt /made.txt
COPY --from=builder /ctx /ctx
FROM final AS extra
RUN echo extra > /extra.txt
"""
    context = make_context(tmp_path / "ctx", dockerfile, **{".dockerignore": "secret.txt\n", "secret.txt": "s\n"})
    _, out, _ = build(docker, context, "--build-arg", "WHO=tester", "--build-arg", "UNUSED=1",
                      "--target", "final", "-t", "multi:final")
    assert "One or more build-args [UNUSED] were not consumed" in out
    assert "extra" not in docker.docker("run", "--rm", "multi:final", "ls", "/").stdout
    assert docker.docker("run", "--rm", "multi:final", "cat", "/made.txt").stdout == "made by tester\n"
    listing = docker.docker("run", "--rm", "multi:final", "ls", "-a", "/ctx").stdout.split()
    assert "a.txt" in listing and "secret.txt" not in listing and "Dockerfile" in listing
    rows = history(docker, "multi:final")
    assert rows[0][1].startswith("/bin/sh -c #(nop) COPY dir:")

    _, out2, _ = build(docker, context, "--build-arg", "WHO=tester", "-t", "multi:extra")
    assert "Using cache" in out2
    assert docker.docker("run", "--rm", "multi:extra", "cat", "/extra.txt").stdout == "extra\n"
    created = [c for _, c in history(docker, "multi:extra")]
    assert "|1 WHO=tester /bin/sh -c mkdir /out && echo \"made by $WHO\" > /out/made.txt" not in created
    build(docker, context, "--build-arg", "WHO=other", "--target", "builder", "-t", "multi:b")
    assert "|1 WHO=other /bin/sh -c mkdir" in [c for _, c in history(docker, "multi:b")][1]
    for tag in ("multi:final", "multi:extra", "multi:b"):
        docker.docker("rmi", tag)

    # a stage the target does not need is not built (it would fail here)
    skipping = make_context(tmp_path / "skip", "FROM busybox AS broken\nRUN exit 9\n"
                                                 "FROM busybox AS wanted\nRUN echo ok > /ok\n")
    _, out3, _ = build(docker, skipping, "--target", "wanted", "-t", "multi:skip")
    assert "Step 1/2 : FROM busybox AS wanted" in out3 and "exit 9" not in out3, out3
    docker.docker("rmi", "multi:skip")


def test_errors_leave_nothing_behind(docker: RunningEngine, tmp_path: Path) -> None:
    good = make_context(tmp_path / "good", "FROM busybox\nRUN echo ok > /ok\n")
    build(docker, good, "-t", "keep:me")
    kept = image_id(docker, "keep:me")
    before = store_state(docker)

    bad_syntax = make_context(tmp_path / "syntax", "FROM busybox\nRUN true\nFORM x\n")
    code, out, err = build(docker, bad_syntax, check=False)
    assert code != 0 and "dockerfile parse error line 3: unknown instruction: FORM" in err, (out, err)

    missing = make_context(tmp_path / "missing", "FROM busybox\nCOPY nothere /x\n")
    code, out, err = build(docker, missing, check=False)
    assert code != 0
    assert "COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: " \
           "file does not exist" in err, (out, err)

    outside = make_context(tmp_path / "outside", "FROM busybox\nCOPY ../x /x\n")
    code, out, err = build(docker, outside, check=False)
    assert code != 0 and "forbidden path outside the build context" in err, (out, err)

    stage = make_context(tmp_path / "stage", "FROM busybox\nRUN true\n")
    code, out, err = build(docker, stage, "--target", "nope", check=False)
    assert code != 0 and "failed to reach build target nope in Dockerfile" in err, (out, err)

    failing = make_context(tmp_path / "failing", "FROM busybox\nRUN echo before\nRUN echo oops; exit 3\n")
    code, out, err = build(docker, failing, check=False)
    assert code == 3, (code, out, err)
    assert "The command '/bin/sh -c echo oops; exit 3' returned a non-zero code: 3" in err
    assert "oops" in out

    assert docker.docker("ps", "-aq").stdout == ""
    snapshots, _, leases = store_state(docker)
    assert leases == set()
    assert hostcheck.mounts_under(docker.base) == []
    assert image_id(docker, "keep:me") == kept
    _, out, _ = build(docker, good, "-t", "keep:me")
    assert "Using cache" in out
    assert docker.docker("run", "--rm", "keep:me", "cat", "/ok").stdout == "ok\n"
    assert before[0] <= snapshots
    docker.docker("rmi", "keep:me")


def test_builder_prune_and_nocache(docker: RunningEngine, tmp_path: Path) -> None:
    context = make_context(tmp_path / "ctx", "FROM busybox\nRUN echo one > /one\nENV X=1\n")
    build(docker, context, "-t", "prune:one")
    first = image_id(docker, "prune:one")
    _, out, _ = build(docker, context, "--no-cache", "-t", "prune:one")
    assert "Using cache" not in out and image_id(docker, "prune:one") != first
    docker.docker("rmi", "prune:one")
    build(docker, context, "-t", "prune:two")
    docker.docker("tag", "prune:two", "prune:three")
    docker.docker("rmi", "prune:two")
    reply = docker.docker("builder", "prune", "-f").stdout
    assert "Total reclaimed space" in reply
    _, out, _ = build(docker, context, "-t", "prune:four")
    assert "Using cache" not in out
    docker.docker("rmi", "prune:three", "prune:four")


def test_cache_from_an_image_without_local_cache(docker: RunningEngine, tmp_path: Path) -> None:
    context = make_context(tmp_path / "ctx")
    build(docker, context, "-t", "cf:src")
    archive = tmp_path / "src.tar"
    docker.docker("save", "-o", str(archive), "cf:src")
    want = history(docker, "cf:src")
    docker.docker("rmi", "cf:src")
    docker.docker("builder", "prune", "-af")
    docker.docker("load", "-i", str(archive))  # as pulled: no parent links, no local cache

    _, out, _ = build(docker, context, "--cache-from", "cf:src", "-t", "cf:again")
    assert " ---> Running in " not in out and out.count(" ---> Using cache\n") == 9, out
    assert [c for _, c in history(docker, "cf:again")] == [c for _, c in want]
    assert docker.docker("run", "--rm", "cf:again", "cat", "/app/both.txt").stdout == "file a\nfile b\n"
    _, cold, _ = build(docker, context, "--no-cache", "-t", "cf:cold")
    assert "Using cache" not in cold
    for tag in ("cf:again", "cf:cold", "cf:src"):
        docker.docker("rmi", tag)


def test_docker_py_build(docker: RunningEngine, tmp_path: Path) -> None:
    client = docker.docker_py()
    dockerfile = 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt\nCMD ["cat", "/a.txt"]\n'
    context = make_context(tmp_path / "ctx", dockerfile)
    try:
        image, logs = client.images.build(path=str(context), tag="pybuilt:latest", rm=True,
                                          labels={"made.by": "docker-py"})
        assert "pybuilt:latest" in image.tags and image.labels == {"made.by": "docker-py"}
        lines = "".join(item.get("stream", "") for item in logs)
        assert "Step 4/5 : CMD" in lines and "Step 5/5 : LABEL made.by=docker-py" in lines and "file a" in lines
        assert client.containers.run("pybuilt:latest", remove=True) == b"file a\n"
        client.images.remove("pybuilt:latest")
    finally:
        client.close()


def test_quiet_add_tar_onbuild_and_iidfile(docker: RunningEngine, tmp_path: Path) -> None:
    import io
    import tarfile

    context = make_context(tmp_path / "ctx", "FROM busybox\nADD pack.tar.gz /unpacked/\nADD a.txt /added.txt\n"
                                             "ONBUILD RUN echo triggered > /trig\nWORKDIR /made/here\n")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner/x.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"inner\n"))
    (context / "pack.tar.gz").write_bytes(data.getvalue())
    iid = tmp_path / "iid"
    _, out, _ = build(docker, context, "-q", "--iidfile", str(iid), "-t", "parent:q")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out), out
    assert iid.read_text().strip() == out.strip() == image_id(docker, "parent:q")
    run = docker.docker("run", "--rm", "parent:q", "sh", "-c", "cat /unpacked/inner/x.txt /added.txt; pwd").stdout
    assert run == "inner\nfile a\n/made/here\n"

    child = make_context(tmp_path / "child", "FROM parent:q\nRUN test -f /trig && echo seen\n")
    _, out, _ = build(docker, child, "-t", "child:q")
    assert "# Executing 1 build trigger" in out and "seen\n" in out
    docker.docker("rmi", "child:q", "parent:q")


def test_client_going_away_cancels_the_build(docker: RunningEngine, tmp_path: Path) -> None:
    import subprocess

    context = make_context(tmp_path / "ctx", "FROM busybox\nRUN echo started; sleep 60\n")
    env = docker.docker_env()
    env["DOCKER_BUILDKIT"] = "0"
    proc = subprocess.Popen([DOCKER, "build", "-t", "never:built", str(context)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line == "started\n":
                break
        assert docker.docker("ps", "-q").stdout.strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    wait_for(lambda: docker.docker("ps", "-aq").stdout == "", timeout=15, what="the build container removed")
    assert docker.docker("images", "-q", "never:built").stdout == ""


def test_scratch_and_image_prune_keep_intermediates(docker: RunningEngine, tmp_path: Path) -> None:
    context = make_context(tmp_path / "ctx", "FROM scratch\nCOPY a.txt /a.txt\nCOPY dir /d/\n")
    _, out, _ = build(docker, context, "-t", "scr:1")
    assert "Step 1/3 : FROM scratch\n ---> \nStep 2/3" in out, out
    ids = [i for i, _ in history(docker, "scr:1")]
    assert len(ids) == 2 and ids[1].startswith("sha256:"), ids
    docker.docker("image", "prune", "-f")
    assert [i for i, _ in history(docker, "scr:1")] == ids
    _, out, _ = build(docker, context, "-t", "scr:2")
    assert out.count(" ---> Using cache\n") == 2, out
    exported = docker.docker("create", "scr:2", "x").stdout.strip()
    listing = docker.docker("export", exported).stdout
    docker.docker("rm", exported)
    assert "a.txt" in listing and "d/sub/c.txt" in listing
    docker.docker("rmi", "scr:1", "scr:2")


def test_add_url_and_remote_context(docker: RunningEngine, tmp_path: Path) -> None:
    import functools
    import http.server
    import io
    import tarfile
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "hello.txt").write_text("downloaded\n")
    context_tar = io.BytesIO()
    with tarfile.open(fileobj=context_tar, mode="w") as tar:
        for name, content in (("Dockerfile", b"FROM busybox\nCOPY x.txt /x.txt\n"), ("x.txt", b"remote x\n")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    (served / "ctx.tar").write_bytes(context_tar.getvalue())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        context = make_context(tmp_path / "ctx", f"FROM busybox\nADD {url}/hello.txt /dl/\n")
        build(docker, context, "-t", "url:1")
        assert docker.docker("run", "--rm", "url:1", "cat", "/dl/hello.txt").stdout == "downloaded\n"
        env = docker.docker_env()
        env["DOCKER_BUILDKIT"] = "0"
        import subprocess

        proc = subprocess.run([DOCKER, "build", "-t", "url:2", f"{url}/ctx.tar"], capture_output=True, text=True,
                              env=env, timeout=120, stdin=subprocess.DEVNULL, check=False)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert docker.docker("run", "--rm", "url:2", "cat", "/x.txt").stdout == "remote x\n"
    finally:
        server.shutdown()
        server.server_close()
    docker.docker("rmi", "url:1", "url:2")


def test_from_pulls_a_missing_image_and_pull_refreshes(docker: RunningEngine, seeded: Seeded, tmp_path: Path) -> None:
    ref = f"{seeded.registry.host}/busybox:latest"
    context = make_context(tmp_path / "ctx", f"FROM {ref}\nRUN echo pulled > /p\n")
    _, out, _ = build(docker, context, "-t", "pulled:1")
    assert "Pulling from busybox" in out, out
    assert docker.docker("run", "--rm", "pulled:1", "cat", "/p").stdout == "pulled\n"
    _, out, _ = build(docker, context, "--pull", "-t", "pulled:1")
    assert "Digest: sha256:" in out and "Using cache" in out, out
    docker.docker("rmi", "pulled:1", ref)



def test_copy_from_image_chown_and_heredocs(docker: RunningEngine, tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox\n"
        "COPY --from=busybox --chown=65534:65533 /bin/busybox /copied/bb\n"
        "COPY --chmod=600 a.txt /private.txt\n"
        "COPY <<EOF /here.txt\nhello heredoc\nEOF\n"
        "ENV WHO=world\n"
        "COPY <<EOF /greet.txt\nhello $WHO \"q\" \\$LIT\nEOF\n"
        "COPY <<'EOF' /raw.txt\nraw $WHO\nEOF\n"
        "RUN <<EOF\necho script > /script.txt\necho line two >> /script.txt\nEOF\n"
        "RUN cat <<-\"X\" > /quoted.txt\n\tnot $EXPANDED\n\tX\n"
    )
    context = make_context(tmp_path / "ctx", dockerfile)
    build(docker, context, "-t", "heredoc:1")
    out = docker.docker("run", "--rm", "heredoc:1", "sh", "-c",
                        "stat -c '%u:%g' /copied/bb; stat -c '%a' /private.txt; cat /here.txt /script.txt "
                        "/quoted.txt /greet.txt /raw.txt").stdout
    assert out == ("65534:65533\n600\nhello heredoc\nscript\nline two\nnot $EXPANDED\n"
                   "hello world \"q\" \\$LIT\nraw $WHO\n"), out
    docker.docker("rmi", "heredoc:1")


def test_run_mounts_cache_bind_and_tmpfs(docker: RunningEngine, tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox AS stage\n"
        "RUN echo from-stage > /stage.txt\n"
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/cache echo x >> /cache/count && wc -l < /cache/count > /seen\n"
        "RUN --mount=type=bind,source=dir,target=/src cat /src/b.txt > /bound.txt\n"
        "RUN --mount=type=bind,from=stage,source=/stage.txt,target=/in/stage.txt cp /in/stage.txt /copied.txt\n"
        "RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && test ! -e /scratch/missing "
        "&& grep -q ' /scratch tmpfs' /proc/mounts && echo tmpfs-ok\n"
    )
    context = make_context(tmp_path / "ctx", dockerfile)
    _, out, _ = build(docker, context, "-t", "mounts:1")
    assert "tmpfs-ok" in out
    probe = "cat /seen /bound.txt /copied.txt; test -e /cache/count || echo no-cache-in-image; ls /scratch | wc -l"
    assert docker.docker("run", "--rm", "mounts:1", "sh", "-c", probe).stdout == \
        "1\nfile b\nfrom-stage\nno-cache-in-image\n0\n"
    build(docker, context, "--no-cache", "-t", "mounts:2")
    assert docker.docker("run", "--rm", "mounts:2", "cat", "/seen").stdout == "2\n"  # the cache persisted
    (context / "dir" / "b.txt").write_text("changed b\n")
    _, out, _ = build(docker, context, "-t", "mounts:3")
    assert out.count(" ---> Using cache\n") == 2, out  # the stage's RUN and the cache-mount RUN
    assert docker.docker("run", "--rm", "mounts:3", "cat", "/bound.txt").stdout == "changed b\n"
    docker.docker("rmi", "mounts:1", "mounts:2", "mounts:3")
    docker.docker("builder", "prune", "-f")
    assert not (docker.data_root / "builder" / "cache-mounts").exists()
