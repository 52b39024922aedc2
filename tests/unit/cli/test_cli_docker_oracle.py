"""Differential test: ``dockyard version --format T`` and ``docker version --format T``, same fake daemon.

The real docker CLI (when installed) renders the same ``GET /version`` answer through Go's
text/template; our output, error message and exit status must be the same, byte for byte.
Templates stay on ``.Server`` (the client parts differ by nature).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from tests.unit.cli.fake_engine import VERSION, FakeEngine

from dockyard.cli.main import main

pytestmark = pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")

TEMPLATES = [
    "{{.Server.Version}}",
    "{{.Server.Nope}}",
    "{{.Server.Platform.Nope}}",
    "{{index .Server.Components 5}}",
    "{{index .Server.Components 3}}",
    '{{index .Server.Components 1 "x"}}',
    "{{upper .Server.Experimental}}",
    '{{printf "%d|%s|%v|%q" 5 .Server.Version .Server.Components 3}}',
    "{{.Server.Platform}} {{.Server.Components}}",
    "{{json .Server.Platform}} {{json .Server}}",
    "{{range $i, $c := .Server.Components}}{{$i}}={{$c.Name}} {{end}}",
    '{{index (index .Server.Components 0).Details "Nope"}}|{{(index .Server.Components 0).Details.Nope}}',
    "{{.Server.Version | printf \"%s-x\" | upper}}",
    "{{.Server.Version 3}}",
    "{{.Server.Version | 3}}",
    "{{}}",
    "{{.Server.Version |}}",
    "{{if}}{{end}}",
    "{{else}}",
    "{{range .Server.Version}}{{end}}",
    "{{len .Server.Components}} {{len .Server.Version}} {{len 3}}",
    '{{eq .Server.Version "0.1.0"}} {{ne 1 2}} {{lt 1 2}} {{lt 1.5 2}}',
    '{{.Server.Version}} {{- " x " -}} {{.Server.Os}}',
    "{{'a'}} {{0x10}} {{1e3}} {{1.5}} {{-3}} {{1_000}} {{0b101}} {{017}}",
    "{{$x := 1}}{{$x = 2}}{{$x}}",
    "{{$y}}",
    "{{with .Server.Nope}}x{{else}}y{{end}}",
    '{{if eq .Server.Os "windows"}}w{{else if eq .Server.Os "linux"}}l{{else}}o{{end}}',
    "{{with .Server.KernelVersion}}k={{.}}{{else with .Server.Os}}o={{.}}{{end}}",
    "{{range .Server.Components}}{{if eq .Name \"runc\"}}{{break}}{{end}}{{.Name}};{{end}}",
    "{{range $k, $v := (index .Server.Components 2).Details}}{{$k}}={{$v}};{{end}}",
    '{{printf "%5s|%-5s|%05d|%x|%X|%o|%c|%U|%e|%g|%.2f|%t" "ab" "cd" 42 255 255 8 65 65 1234.5678 0.000012 3.14 true}}',
    '{{printf "%v %v %v %.3v %T" 1.0 1e21 100000000.0 3.14159 .Server.Platform}}',
    '{{printf "%08.3f|%+d|%s|%d" 3.14159 5 .Server.Platform .Server.Components}}',
    '{{printf "%s" 3}} {{printf "%d"}} {{printf "%d" 1 2}} {{printf "%[1]d"}}',
    '{{html "<a href=\'x\'>&</a>"}} {{js "a\'b\\"<>="}} {{urlquery "a b&c/d"}} {{js nil}}',
    '{{and 1 0}} {{or 0 "" "x"}} {{not 0}} {{and}}',
    '{{pad "ab" 1 2}}|{{truncate "abcdef" 3}}|{{split "a,b,c" ","}}|{{title "hello wOrld-foo_bar"}}',
    "{{pad .Server.Os -1 2}}",
    "{{call .Server.Os}}",
    '{{"unterminated}}',
    "{{.Server.Version)}}",
    "{{(.Server.Version}}",
    "{{.Server.Version!}}",
    "{{.Server.Version.}}",
    "{{1e400}}",
    "{{nil}}",
    "line1\n{{.Server.Nope}}",
    "x\n\n{{.A\n",
    "{{/* c */ }}",
    "{{.Server.Components.Name}}",
    "{{index .Server.Components -1}} ",
    "{{slice .Server.Version 1 3}} {{index .Server.Version 0}} {{range 3}}{{.}}{{end}}",
]


@pytest.fixture(scope="module")
def daemon() -> Iterator[FakeEngine]:
    with tempfile.TemporaryDirectory(prefix="dyoracle") as path, FakeEngine(f"{path}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        yield engine
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("template", TEMPLATES)
def test_same_as_docker(daemon: FakeEngine, template: str) -> None:
    env = {**os.environ, "DOCKER_HOST": daemon.host, "DOCKER_CONFIG": "/nonexistent"}
    env.pop("DOCKER_API_VERSION", None)
    docker = subprocess.run(["docker", "version", "--format", template], env=env, capture_output=True, text=True,
                            timeout=30)
    out, err = io.StringIO(), io.StringIO()
    status = main(["-H", daemon.host, "version", "--format", template], out, err)
    assert (status, out.getvalue(), err.getvalue()) == (docker.returncode, docker.stdout, docker.stderr)
