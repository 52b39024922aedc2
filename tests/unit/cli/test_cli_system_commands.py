"""System commands (prune, info, df, events, login/logout) against the fake engine.

The expected outputs are docker 28's for the same payloads (``image_engine``), as
``test_cli_image_oracle`` checks against the real CLI where it is installed; the clock is
frozen (``image_fixtures``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest
from tests.unit.cli import image_engine
from tests.unit.cli.fake_engine import FakeEngine, Result
from tests.unit.cli.image_engine import BUSYBOX_ID, Terminal, calls, read
from tests.unit.cli.image_engine import FROZEN_NOW as NOW

pytest_plugins = ["tests.unit.cli.image_fixtures"]
pytestmark = pytest.mark.usefixtures("frozen_clock")

# --- prune ------------------------------------------------------------------------------

IMAGE_PRUNE_REPORT = (f"Deleted Images:\nuntagged: localhost:5000/team/app:v1.2\ndeleted: {image_engine.APP_ID}\n"
                      f"deleted: {image_engine.DANGLING_ID}\n\nTotal reclaimed space: 187MB\n")


def test_image_prune(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("image", "prune", stdin="y\n").out == (
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
        + IMAGE_PRUNE_REPORT)
    assert calls(image_daemon)[-1] == ("POST", "/images/prune", {"filters": ['{"dangling":{"true":true}}']})
    del image_daemon.requests[:]
    assert dy("image", "prune", "-a", stdin="n\n") == Result(0, (
        "WARNING! This will remove all images without at least one container associated to them.\n"
        "Are you sure you want to continue? [y/N] "), "")
    assert calls(image_daemon) == []
    assert dy("image", "prune", "-af", "--filter", "until=24h").out == IMAGE_PRUNE_REPORT
    assert calls(image_daemon)[-1][2] == {"filters": ['{"dangling":{"false":true},"until":{"24h":true}}']}


SYSTEM_PRUNE_WARNING = """\
WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all dangling images
  - unused build cache

  Items to be pruned will be filtered with:
  - label!=y
  - label=x

Are you sure you want to continue? [y/N] """


def test_system_prune(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    result = dy("system", "prune", "--volumes", "--filter", "label=x", "--filter", "label!=y", stdin="y\n")
    assert result.out == SYSTEM_PRUNE_WARNING + (
        f"Deleted Containers:\n{'9' * 64}\n\nDeleted Networks:\ntestnet\n\nDeleted Volumes:\ncache\n\n"
        + IMAGE_PRUNE_REPORT)
    assert [c[1] for c in calls(image_daemon)] == ["/containers/prune", "/networks/prune", "/volumes/prune",
                                             "/images/prune", "/build/prune"]
    del image_daemon.requests[:]
    assert dy("system", "prune", "-a", stdin="\n").out.endswith("  - all build cache\n\nAre you sure you want to "
                                                                 "continue? [y/N] ")
    assert calls(image_daemon) == []
    dy("system", "prune", "-af")
    assert calls(image_daemon)[-1] == ("POST", "/build/prune", {"all": ["1"]})
    assert dy("system", "prune", "-f", "--volumes", "--filter", "until=1h") == Result(
        1, "", 'ERROR: The "until" filter is not supported with "--volumes"\n')


# --- info, df, events ---------------------------------------------------------------------

INFO_SERVER = """\
Server:
 Containers: 3
  Running: 1
  Paused: 0
  Stopped: 2
 Images: 4
 Server Version: 0.1.0
 Storage Driver: overlayfs
  driver-type: io.containerd.snapshotter.v1
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: 2
 Plugins:
  Volume: local
  Network: bridge host null
  Log: json-file local
 Swarm: inactive
 Runtimes: dockyard-runc runc
 Default Runtime: dockyard-runc
 Init Binary: docker-init
 containerd version: v0.1.0
 runc version: v0.1.0
 init version: 
 Security Options:
  seccomp
   Profile: builtin
  cgroupns
 Kernel Version: 6.1.0-28-amd64
 Operating System: Debian GNU/Linux 12 (bookworm)
 OSType: linux
 Architecture: x86_64
 CPUs: 2
 Total Memory: 3.822GiB
 Name: buildhost
 ID: 2b3a9f52-5c1e-4a8e-9d7f-3e2b1c0d9e8f
 Docker Root Dir: /var/lib/dockyard
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  ::1/128
  127.0.0.0/8
 Live Restore Enabled: true

"""  # noqa: W291 - docker prints "init version: " with its trailing space


def test_info(dy: Callable[..., Result]) -> None:
    import dockyard

    result = dy("info")
    assert result.status == 0
    assert result.out == (f"Client:\n Version:    {dockyard.__version__}\n Context:    default\n Debug Mode: false\n\n"
                          + INFO_SERVER)
    assert result.err == "WARNING: bridge-nf-call-iptables is disabled\n"
    debug = dy("-D", "system", "info").out
    assert " Debug Mode: true\n" in debug and "  Goroutines: 40\n" in debug


def test_info_format(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("info", "-f", "{{.ServerVersion}} {{.DefaultRuntime}} {{len .Runtimes}}").out == (
        "0.1.0 dockyard-runc 2\n")
    as_json = json.loads(dy("info", "--format", "json").out)
    assert as_json["ServerVersion"] == "0.1.0" and as_json["ClientInfo"]["Context"] == "default"
    assert dy("info", "-f", "{{.Nope}}") == Result(1, "\n", (
        'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type system.dockerInfo\n'))
    assert dy("info", "-f", "{{.ServerVersion").status == 64
    del image_daemon.requests[:]
    assert dy("info", "-f", "{{.ClientInfo.Context}}").out == "default\n"
    assert calls(image_daemon) == []  # a client-only template does not ask the daemon


def test_info_without_a_daemon(dockyard: Callable[..., Result], short_dir: str) -> None:
    host = f"unix://{short_dir}/none.sock"
    result = dockyard("-H", host, "info")
    assert result.status == 1
    assert result.out.endswith("\nServer:\n")
    assert result.err == f"Cannot connect to the dockyard daemon at {host}. Is the dockyard daemon running?\n"
    formatted = dockyard("-H", host, "info", "-f", "{{.ServerVersion}}|{{.Containers}}")
    assert (formatted.status, formatted.out) == (1, "|0\n")


DF = """\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          4         1         199.6MB   8.3MB (4%)
Containers      2         1         12.29kB   0B (0%)
Local Volumes   2         1         52.43MB   1.024kB (0%)
Build Cache     2         1         10.49MB   10.49MB
"""

DF_VERBOSE = """\
Images space usage:

REPOSITORY                TAG       IMAGE ID       CREATED         SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
busybox                   latest    65ad0d468eb1   2 years ago     4.26MB    0B            4.262MB       2
alpine                    3.21      c1aabb73d233   22 months ago   8.3MB     0B            8.301MB       0
localhost:5000/team/app   v1.2      0d3e7a2e1b9b   13 months ago   187MB     0B            187MB         N/A
<none>                    <none>    aaaa0d468eb1   3 years ago     1kB       0B            1kB           N/A

Containers space usage:

CONTAINER ID   IMAGE     COMMAND        LOCAL VOLUMES   SIZE      CREATED         STATUS                  NAMES
4fa6e0f0c678   busybox   "sleep 1000"   1               12.3kB    12 months ago   Up 2 hours              web
999999999999   busybox   "sleep 1000"   0               0B        12 months ago   Exited (0) 3 days ago   old

Local Volumes space usage:

VOLUME NAME   LINKS     SIZE
data          1         52.43MB
cache         0         1.024kB

Build cache usage: 10.49MB

CACHE ID        CACHE TYPE     SIZE      CREATED         LAST USED       USAGE     SHARED
z9y8x7w6v5u4*   source.local   2.05kB    12 months ago                   1         true
k0q8r5d9y2w1    regular        10.5MB    12 months ago   12 months ago   3         false
"""


def test_system_df(dy: Callable[..., Result]) -> None:
    assert dy("system", "df") == Result(0, DF, "")
    assert dy("system", "df", "-v") == Result(0, DF_VERBOSE, "")
    assert dy("system", "df", "--format", "{{.Type}}={{.Size}}").out == (
        "Images=199.6MB\nContainers=12.29kB\nLocal Volumes=52.43MB\nBuild Cache=10.49MB\n")
    verbose = json.loads(dy("system", "df", "-v", "--format", "json").out)
    assert verbose["Images"][0]["ID"] == BUSYBOX_ID
    assert verbose["Volumes"][0]["Links"] == "1"


EVENTS = """\
2025-11-28T13:00:00.123456789Z container start 4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2 \
(image=busybox, name=web)
2025-11-28T13:00:01.000000000Z image tag sha256:65ad0d468eb1c558bf7f4e64e790f586e9eda649ee9f130cd0e835b292bbc5ac \
(name=busybox:1.36)
2025-11-28T13:00:02.000000000Z network connect bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
"""


def test_events(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    assert dy("events") == Result(0, EVENTS, "")
    assert dy("events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes}}").out == (
        "container start map[image:busybox name:web]\nimage tag map[name:busybox:1.36]\nnetwork connect map[]\n")
    first = dy("system", "events", "--format", "json").out.splitlines()[0]
    assert first.startswith('{"status":"start","id":"4fa6e0f0c678')
    assert dy("events", "--format", "{{.Nope}}") == Result(64, "", (
        'Error parsing format: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type '
        "*events.Message\n"))
    del image_daemon.requests[:]
    dy("events", "--since", "10m", "--until", "2025-11-28T13:00:00Z", "-f", "type=container")
    assert calls(image_daemon) == [("GET", "/events", {"since": [str(int(NOW) - 600)],
                                                       "until": ["1764334800.000000000"],
                                                       "filters": ['{"type":{"container":true}}']})]
    assert dy("events", "--since", "xyz") == Result(1, "", 'failed to parse value as time or duration: "xyz"\n')
    assert dy("events", "--until", "2025-02-30").err == 'parsing time "2025-02-30": day out of range\n'


# --- login, logout ------------------------------------------------------------------------

def test_login_stores_credentials_as_docker_does(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    config = f"{dy.config}/config.json"  # type: ignore[attr-defined]
    result = dy("login", "-u", "alice", "--password-stdin", "https://localhost:5000/v2/", stdin="s3cret\n")
    assert result.out == "Login Succeeded\n"
    assert "Your credentials are stored unencrypted" in result.err
    assert read(config) == '{\n\t"auths": {\n\t\t"localhost:5000": {\n\t\t\t"auth": "YWxpY2U6czNjcmV0"\n\t\t}\n\t}\n}'
    assert os.stat(config).st_mode & 0o777 == 0o600
    auth = [r for r in image_daemon.requests if r.path == "/auth"][-1]
    assert auth.body == b'{"username":"alice","password":"s3cret","serveraddress":"localhost:5000"}\n'
    again = dy("login", "localhost:5000")
    assert again.out == "Login Succeeded\n"
    assert again.err.startswith("Authenticating with existing credentials... [Username: alice]\n")
    assert dy("login", "-u", "x", "-p", "wrong", "localhost:5000").err.endswith(
        "Error response from daemon: login attempt to localhost:5000 failed with status: 401 Unauthorized\n")
    assert dy("login").err == "Error: Cannot perform an interactive login from a non TTY device\n"
    assert dy("logout", "localhost:5000") == Result(0, "Removing login credentials for localhost:5000\n", "")
    assert json.loads(read(config)) == {"auths": {}}


def test_login_prompts_on_a_terminal(dy: Callable[..., Result], image_daemon: FakeEngine) -> None:
    result = dy("login", "other:5000", inp=Terminal("bob\nhunter2\n"))
    assert result == Result(0, "Username: Password: \nLogin Succeeded\n", result.err)
    assert [r for r in image_daemon.requests if r.path == "/auth"][-1].json() == {
        "username": "bob", "password": "hunter2", "serveraddress": "other:5000"}
    hub = dy("login", inp=Terminal("\n"))
    assert hub.out.startswith("Log in with your Docker ID")
    assert hub.err == "Error: Non-null Username Required\n"
