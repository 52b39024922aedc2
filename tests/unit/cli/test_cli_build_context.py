"""``dockyard build``'s context pieces without the docker oracle: the tar helpers, a URL
context served by a local HTTP server, the upload progress on a terminal, ``--build-arg``
from the environment, and the request a build sends to the fake engine."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import tarfile
import threading
from collections.abc import Callable, Iterator

import pytest
from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, Result
from tests.unit.cli.test_cli_image_oracle import Terminal, dockyard_run

from dockyard.cli import buildtar
from dockyard.cli.main import main

OK = [{"stream": "Step 1/1 : FROM busybox\n"}, {"aux": {"ID": "sha256:" + "cd" * 32}},
      {"stream": "Successfully built cdcdcdcdcdcd\n"}]


def python_tar(files: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def names(body: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r|*") as tar:
        return [(m.name, tar.extractfile(m).read() if m.isreg() else b"") for m in tar]  # type: ignore[union-attr]


def test_go_tar_drops_record_padding() -> None:
    raw = python_tar({"a": b"x" * 700, "b": bytes(1024)})  # b ends in zero blocks: not the end marker
    assert len(raw) % 10240 == 0
    trimmed = b"".join(buildtar.go_tar(raw[i:i + 100] for i in range(0, len(raw), 100)))
    assert len(trimmed) == 512 + 1024 + 512 + 1024 + 1024
    assert names(trimmed) == [("a", b"x" * 700), ("b", bytes(1024))]


def test_with_dockerfile_edits_dockerignore() -> None:
    raw = python_tar({".dockerignore": b"*.log", "f": b"1"})
    body = b"".join(buildtar.with_dockerfile([raw], ".dockerfile.x", b"FROM scratch\n"))
    assert names(body) == [(".dockerignore", b"*.log\n.dockerfile.x\n"), ("f", b"1"),
                           (".dockerfile.x", b"FROM scratch\n")]
    body = b"".join(buildtar.with_dockerfile([python_tar({"f": b"1"})], ".dockerfile.x", b"FROM scratch\n"))
    assert names(body)[1:] == [(".dockerfile.x", b"FROM scratch\n"),
                               (".dockerignore", b".dockerignore\n.dockerfile.x\n")]


def test_is_archive() -> None:
    assert buildtar.is_archive(python_tar({"a": b"1"}, tarfile.GNU_FORMAT))
    assert buildtar.is_archive(python_tar({"a": b"1"}))
    assert buildtar.is_archive(gzip.compress(b"anything"))
    assert not buildtar.is_archive(b"FROM busybox\n" * 100)
    assert not buildtar.is_archive(bytes(1024))
    assert not buildtar.is_archive(b"")


@pytest.fixture
def build_engine(engine: FakeEngine) -> FakeEngine:
    def build(_request: Request) -> Reply:
        return Reply(200, headers={"Content-Type": "application/json"},
                     chunks=[json.dumps(m).encode() + b"\r\n" for m in OK])
    engine.routes[("POST", "/build")] = build
    return engine


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(directory, base URL) of a local HTTP server."""
    root = str(tmp_path_factory.mktemp("www"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=root, **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def last_build(engine: FakeEngine) -> Request:
    return [r for r in engine.requests if r.path == "/build"][-1]


def test_url_contexts(build_engine: FakeEngine, served: tuple[str, str]) -> None:
    root, url = served
    with open(f"{root}/ctx.tar", "wb") as f:
        f.write(python_tar({"Dockerfile": b"FROM busybox\n", "a": b"1"}, tarfile.GNU_FORMAT))
    with open(f"{root}/Dockerfile", "wb") as f:
        f.write(b"FROM busybox\nRUN true\n")
    result = dockyard_run(build_engine.host, ["build", "-t", "u", f"{url}/ctx.tar"])
    assert result.status == 0, result.err
    assert result.out.startswith(f"Downloading build context from remote url: {url}/ctx.tar [")
    assert "Sending build context" not in result.out and result.out.endswith("Successfully built cdcdcdcdcdcd\n")
    request = last_build(build_engine)
    assert request.query == {"t": ["u"], "version": ["1"]}
    assert names(request.body) == [("Dockerfile", b"FROM busybox\n"), ("a", b"1")]
    result = dockyard_run(build_engine.host, ["build", f"{url}/Dockerfile"])
    assert "\r\r\nSending build context to Docker daemon  2.048kB\r\r\nStep 1/1" in result.out
    assert names(last_build(build_engine).body) == [("Dockerfile", b"FROM busybox\nRUN true\n")]
    result = dockyard_run(build_engine.host, ["build", "-f", "-", f"{url}/ctx.tar"], stdin="FROM scratch\n")
    request = last_build(build_engine)
    name = request.query["dockerfile"][0]
    assert names(request.body)[-2:] == [(name, b"FROM scratch\n"),
                                        (".dockerignore", f".dockerignore\n{name}\n".encode())]
    result = dockyard_run(build_engine.host, ["build", f"{url}/nope.tar"])
    assert result.status == 1
    assert result.err.startswith(f"unable to prepare context: unable to download remote context {url}/nope.tar: "
                                 f"failed to GET {url}/nope.tar with status 404 ")


def test_terminal_progress_every_512k(build_engine: FakeEngine, tmp_path: os.PathLike[str]) -> None:
    ctx = str(tmp_path)
    with open(f"{ctx}/Dockerfile", "w") as f:
        f.write("FROM busybox\n")
    with open(f"{ctx}/blob", "wb") as f:
        f.write(os.urandom(3 << 20))
    out, err = Terminal(120), io.StringIO()
    assert main(["-H", build_engine.host, "build", ctx], out, err) == 0, err.getvalue()
    lines = out.getvalue().split("\r\r\n")[0].split("\r")
    assert len(lines) >= 6 and all(line.startswith("Sending build context to Docker daemon ") for line in lines)
    assert lines[-1] == "Sending build context to Docker daemon  3.148MB"


def test_build_args_from_the_environment(build_engine: FakeEngine, tmp_path: os.PathLike[str],
                                         monkeypatch: pytest.MonkeyPatch,
                                         dockyard: Callable[..., Result]) -> None:
    with open(f"{tmp_path}/Dockerfile", "w") as f:
        f.write("FROM busybox\n")
    monkeypatch.setenv("FROM_ENV", "v1")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    result = dockyard("-H", build_engine.host, "build", "-q", "--build-arg", "FROM_ENV", "--build-arg",
                      "NOT_SET_ANYWHERE", "--build-arg", "B=x=y", str(tmp_path))
    assert result.status == 0, result.err
    request = last_build(build_engine)
    assert json.loads(request.query["buildargs"][0]) == {"B": "x=y", "FROM_ENV": "v1", "NOT_SET_ANYWHERE": None}
    assert request.headers["content-type"] == "application/x-tar"
    assert request.headers["transfer-encoding"] == "chunked"


def test_dockerfile_specific_ignore_file_wins(tmp_path: os.PathLike[str]) -> None:
    from dockyard.cli import buildcontext

    root = str(tmp_path)
    os.makedirs(f"{root}/sub")
    for name, text in {"Dockerfile": "FROM scratch\n", "sub/app.Dockerfile": "FROM scratch\n",
                       ".dockerignore": "root-ignored.txt\n", "sub/app.Dockerfile.dockerignore": "app-ignored.txt\n",
                       "root-ignored.txt": "r", "app-ignored.txt": "a"}.items():
        with open(f"{root}/{name}", "w") as f:
            f.write(text)

    def names(dockerfile: str) -> set[str]:
        context = buildcontext.from_directory(root, dockerfile, None)
        with tarfile.open(fileobj=io.BytesIO(b"".join(context.chunks))) as tar:
            return set(tar.getnames())

    plain = names("")
    assert "app-ignored.txt" in plain and "root-ignored.txt" not in plain
    named = names(f"{root}/sub/app.Dockerfile")
    assert "root-ignored.txt" in named and "app-ignored.txt" not in named
