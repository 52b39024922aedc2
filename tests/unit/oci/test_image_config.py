"""Image configs (OCI and Docker): fields, unknown fields kept, canonical bytes, refusals."""

import hashlib

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio
from dockyard.oci import mediatypes as mt
from dockyard.oci.image_config import Healthcheck, History, ImageConfig, RunConfig, parse_image_config
from dockyard.oci.platform import Platform


def dg(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def compact(text: str) -> bytes:
    return jsonio.dumps(jsonio.loads(text)).encode()


# An OCI config as BuildKit writes it (Go's field order).
OCI_CONFIG = f"""{{
  "created": "2024-05-01T10:00:00.123456789Z",
  "author": "ops@example.com",
  "architecture": "arm64",
  "os": "linux",
  "variant": "v8",
  "config": {{
    "User": "101:101",
    "ExposedPorts": {{"443/tcp": {{}}, "80/tcp": {{}}}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.5"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {{"/var/cache/nginx": {{}}}},
    "WorkingDir": "/srv",
    "Labels": {{"maintainer": "NGINX Docker Maintainers", "org.opencontainers.image.source": "https://x/y"}},
    "StopSignal": "SIGQUIT"
  }},
  "rootfs": {{"type": "layers", "diff_ids": ["{dg("d0")}", "{dg("d1")}", "{dg("d2")}"]}},
  "history": [
    {{"created": "2024-04-30T01:02:03Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "}},
    {{"created": "2024-04-30T01:02:04Z", "created_by": "/bin/sh -c #(nop)  CMD [\\"sh\\"]", "empty_layer": true}},
    {{"created": "2024-05-01T10:00:00+02:00", "created_by": "RUN apk add nginx", "comment": "buildkit.dockerfile.v0"}},
    {{"created_by": "COPY conf /etc/nginx", "author": "ops", "comment": "buildkit.dockerfile.v0"}}
  ]
}}"""

# A config from the classic builder: sorted keys, null fields, Docker's extra fields.
DOCKER_CONFIG = f"""{{
  "architecture": "amd64",
  "config": {{
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false, "AttachStdout": false,
    "AttachStderr": false, "Tty": false, "OpenStdin": false, "StdinOnce": false,
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "Cmd": ["sh"],
    "Healthcheck": {{"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "Interval": 30000000000,
                     "Timeout": 5000000000, "StartPeriod": 1000000000, "Retries": 3}},
    "ArgsEscaped": true,
    "Image": "sha256:9e3f",
    "Volumes": null, "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": null,
    "Shell": ["/bin/ash", "-eo", "pipefail", "-c"]
  }},
  "container": "7a3f2c",
  "container_config": {{"Hostname": "7a3f2c", "Cmd": ["/bin/sh", "-c", "#(nop) ", "CMD [\\"sh\\"]"]}},
  "created": "2023-07-18T23:19:33.655005962Z",
  "docker_version": "20.10.23",
  "history": [
    {{"created": "2023-07-18T23:19:33.538571854Z", "created_by": "/bin/sh -c #(nop) ADD file:7625 in / "}},
    {{"created": "2023-07-18T23:19:33.655005962Z", "created_by": "/bin/sh -c #(nop)  CMD [\\"sh\\"]",
      "empty_layer": true}}
  ],
  "os": "linux",
  "rootfs": {{"type": "layers", "diff_ids": ["{dg("busybox")}"]}}
}}"""


def test_oci_config_fields_and_exact_round_trip() -> None:
    cfg = parse_image_config(OCI_CONFIG.encode())
    assert (cfg.architecture, cfg.os, cfg.variant) == ("arm64", "linux", "v8")
    assert cfg.platform == Platform("linux", "arm64", "v8")
    assert cfg.platform.normalize() == Platform("linux", "arm64")
    assert cfg.created == "2024-05-01T10:00:00.123456789Z"
    assert cfg.author == "ops@example.com"
    run = cfg.config
    assert run.user == "101:101"
    assert run.exposed_ports == ["443/tcp", "80/tcp"]
    assert run.env[1] == "NGINX_VERSION=1.25.5"
    assert run.entrypoint == ["/docker-entrypoint.sh"]
    assert run.cmd == ["nginx", "-g", "daemon off;"]
    assert run.volumes == ["/var/cache/nginx"]
    assert run.working_dir == "/srv"
    assert run.labels["maintainer"] == "NGINX Docker Maintainers"
    assert run.stop_signal == "SIGQUIT"
    assert run.healthcheck is None
    assert run.extra == {}
    assert cfg.diff_ids == [dg("d0"), dg("d1"), dg("d2")]
    assert [h.empty_layer for h in cfg.history] == [False, True, False, False]
    assert cfg.history[3].author == "ops"
    assert cfg.to_bytes() == compact(OCI_CONFIG)


def test_docker_config_keeps_what_it_does_not_model() -> None:
    cfg = parse_image_config(DOCKER_CONFIG.encode())
    run = cfg.config
    assert run.entrypoint is None  # null: not set
    assert run.cmd == ["sh"]
    assert run.volumes == [] and run.labels == {} and run.on_build == []
    assert run.args_escaped is True
    assert run.shell == ["/bin/ash", "-eo", "pipefail", "-c"]
    assert run.healthcheck == Healthcheck(
        ["CMD-SHELL", "wget -q -O- localhost || exit 1"], interval=30_000_000_000, timeout=5_000_000_000,
        start_period=1_000_000_000, retries=3,
    )
    assert run.extra["Image"] == "sha256:9e3f"
    assert run.extra["Hostname"] == ""
    assert "Volumes" not in run.extra and "Entrypoint" not in run.extra
    assert set(cfg.extra) == {"container", "container_config", "docker_version"}
    assert cfg.extra["docker_version"] == "20.10.23"
    again = parse_image_config(cfg.to_bytes())
    assert again == cfg
    assert again.to_bytes() == cfg.to_bytes()
    written = jsonio.loads(cfg.to_bytes())
    assert list(written) == [
        "created", "architecture", "os", "config", "rootfs", "history", "container", "container_config",
        "docker_version",
    ]
    assert list(written["config"])[:4] == ["Env", "Cmd", "ArgsEscaped", "Healthcheck"]
    assert "Entrypoint" not in written["config"]


def test_empty_entrypoint_is_not_absent() -> None:
    cfg = ImageConfig("amd64", "linux", config=RunConfig(entrypoint=[], cmd=["sh"]))
    written = jsonio.loads(cfg.to_bytes())
    assert written["config"] == {"Entrypoint": [], "Cmd": ["sh"]}
    assert parse_image_config(cfg.to_bytes()).config.entrypoint == []


def test_built_config_bytes_and_descriptor() -> None:
    cfg = ImageConfig(
        "amd64",
        "linux",
        [dg("layer")],
        created="2024-01-01T00:00:00Z",
        config=RunConfig(env=["PATH=/bin"], cmd=["sh"], labels={"b": "2", "a": "1"}, exposed_ports=["8080/tcp"]),
        history=[History(created="2024-01-01T00:00:00Z", created_by="dockyard import", comment="imported")],
    )
    assert cfg.to_bytes().decode() == (
        '{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux",'
        '"config":{"ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/bin"],"Cmd":["sh"],"Labels":{"a":"1","b":"2"}},'
        f'"rootfs":{{"type":"layers","diff_ids":["{dg("layer")}"]}},'
        '"history":[{"created":"2024-01-01T00:00:00Z","created_by":"dockyard import","comment":"imported"}]}'
    )
    desc = cfg.descriptor()
    assert desc.media_type == mt.OCI_CONFIG
    assert desc.digest == "sha256:" + hashlib.sha256(cfg.to_bytes()).hexdigest()
    assert desc.size == len(cfg.to_bytes())
    assert cfg.descriptor(docker=True).media_type == mt.DOCKER_CONFIG
    assert ImageConfig("amd64", "linux").to_bytes() == (
        b'{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
    )


def test_null_diff_ids_is_no_layers() -> None:
    cfg = parse_image_config(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":null}}')
    assert cfg.diff_ids == []


def test_run_config_refuses_unknown_keywords() -> None:
    with pytest.raises(TypeError, match="unknown fields"):
        RunConfig(command=["sh"])


def test_layer_history_skips_empty_layers() -> None:
    cfg = parse_image_config(OCI_CONFIG.encode())
    made = cfg.layer_history()
    assert [h.created_by if h else None for h in made] == [
        "/bin/sh -c #(nop) ADD file:abc in / ", "RUN apk add nginx", "COPY conf /etc/nginx",
    ]
    short = ImageConfig("amd64", "linux", [dg("a"), dg("b")], history=[History(created_by="x")])
    assert short.layer_history() == [History(created_by="x"), None]


def _with(path: str, value: object) -> bytes:
    doc = jsonio.loads(OCI_CONFIG)
    *parents, last = path.split("/")
    target = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return jsonio.dumps(doc).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[1]", "image config: must be an object, not a list"),
        (b"{", "image config: invalid JSON"),
        (_with("rootfs", ...), "image config: rootfs: required"),
        (_with("architecture", ...), "image config: architecture: required"),
        (_with("os", ""), "image config: os: must not be empty"),
        (_with("rootfs/type", "tar"), "image config: rootfs.type: must be \"layers\", not 'tar'"),
        (_with("rootfs/diff_ids", "x"), "image config: rootfs.diff_ids: must be a list"),
        (_with("rootfs/diff_ids/1", "sha256:zz"), "image config: rootfs.diff_ids[1]: invalid digest 'sha256:zz'"),
        (_with("created", "yesterday"), "image config: created: invalid RFC 3339 time 'yesterday'"),
        (_with("created", "2024-05-01 10:00:00Z"), "image config: created: invalid RFC 3339 time"),
        (_with("history", {}), "image config: history: must be a list"),
        (_with("history/1/created", "2024-13"), "image config: history[1].created: invalid RFC 3339 time"),
        (_with("history/2/empty_layer", "yes"), "image config: history[2].empty_layer: must be true or false"),
        (_with("config", []), "image config: config: must be an object, not a list"),
        (_with("config/Env", "A=1"), "image config: config.Env: must be a list, not a string"),
        (_with("config/Cmd", ["sh", 1]), "image config: config.Cmd[1]: must be a string, not a number"),
        (_with("config/ExposedPorts", {"80/tcp": 1}), "image config: config.ExposedPorts['80/tcp']: must be an object"),
        (_with("config/Labels", {"a": None}), "image config: config.Labels['a']: must be a string, not null"),
        (_with("config/User", 0), "image config: config.User: must be a string, not a number"),
        (
            _with("config/Healthcheck", {"Test": ["NONE"], "Retries": -1}),
            "image config: config.Healthcheck.Retries: must be at least 0, not -1",
        ),
    ],
)
def test_refusals_name_the_field(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_image_config(data)
    assert str(info.value).startswith(message), str(info.value)
