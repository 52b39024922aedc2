"""build_spec: the process (command, env, cwd, terminal, hostname) and a plain busybox spec."""

from __future__ import annotations

import pytest
from tests.unit.engine.spec_fakes import CID, make_host, spec_for

from dockyard.engine import defaults
from dockyard.engine.spec import command, merge_env, process_env
from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci import runtime_spec

PATH = f"PATH={defaults.DEFAULT_PATH_ENV}"


# -- the golden-ish busybox container ------------------------------------------------------


def test_plain_busybox_sh_spec() -> None:
    spec = spec_for({"Cmd": ["sh"], "Image": "busybox"}, {}, {"Cmd": ["sh"], "Env": [PATH]},
                    rootfs="rootfs")
    assert runtime_spec.validate(spec) == []
    seccomp = spec["linux"].pop("seccomp")
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    caps = list(defaults.DEFAULT_CAPABILITIES)
    assert spec == {
        "ociVersion": runtime_spec.OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0, "additionalGids": [0, 10]},
            "args": ["sh"],
            "env": [PATH, f"HOSTNAME={CID[:12]}"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": CID[:12],
        "mounts": defaults.default_mounts(67108864),
        "linux": {
            "resources": {"devices": defaults.default_device_rules()},
            "cgroupsPath": f"/dockyard/{CID}",
            "namespaces": [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")],
            "maskedPaths": list(defaults.MASKED_PATHS),
            "readonlyPaths": list(defaults.READONLY_PATHS),
            "sysctl": {"net.ipv4.ping_group_range": "0 2147483647",
                       "net.ipv4.ip_unprivileged_port_start": "0"},
        },
    }


def test_default_mounts_are_dockers() -> None:
    mounts = {m["destination"]: m for m in defaults.default_mounts()}
    assert list(mounts) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    assert mounts["/sys"]["options"][-1] == "ro" and "ro" in mounts["/sys/fs/cgroup"]["options"]
    assert mounts["/sys/fs/cgroup"]["type"] == "cgroup"
    assert "size=67108864" in mounts["/dev/shm"]["options"]
    assert mounts["/dev/pts"]["options"][-1] == "gid=5"


def test_default_caps_mask() -> None:
    from dockyard.runtime.capabilities import CAPABILITIES
    mask = sum(1 << CAPABILITIES[c] for c in defaults.DEFAULT_CAPABILITIES)
    assert len(defaults.DEFAULT_CAPABILITIES) == 14
    assert mask == 0xA80425FB


def test_specs_are_fresh_objects() -> None:
    first = spec_for({"Cmd": ["true"]})
    first["mounts"][0]["options"].append("x")
    first["linux"]["seccomp"]["syscalls"].clear()
    second = spec_for({"Cmd": ["true"]})
    assert "x" not in second["mounts"][0]["options"]
    assert second["linux"]["seccomp"]["syscalls"]


# -- Cmd and Entrypoint ---------------------------------------------------------------------


@pytest.mark.parametrize(("config", "image", "args"), [
    ({}, {"Cmd": ["sh"]}, ["sh"]),
    ({"Cmd": ["echo", "hi"]}, {"Cmd": ["sh"]}, ["echo", "hi"]),
    ({"Cmd": ["x"]}, {"Entrypoint": ["/ep"], "Cmd": ["default"]}, ["/ep", "x"]),
    ({}, {"Entrypoint": ["/ep"], "Cmd": ["default"]}, ["/ep", "default"]),
    ({"Entrypoint": ["/mine"]}, {"Entrypoint": ["/ep"], "Cmd": ["default"]}, ["/mine"]),
    ({"Entrypoint": ["/mine"], "Cmd": ["a"]}, {"Entrypoint": ["/ep"], "Cmd": ["b"]}, ["/mine", "a"]),
    ({"Entrypoint": [""], "Cmd": ["ls"]}, {"Entrypoint": ["/ep"], "Cmd": ["b"]}, ["ls"]),
    ({"Entrypoint": []}, {"Entrypoint": ["/ep"], "Cmd": ["b"]}, ["b"]),
    ({"Entrypoint": "/single", "Cmd": "arg"}, {}, ["/single", "arg"]),
    ({"Cmd": None, "Entrypoint": None}, {"Entrypoint": ["/ep"]}, ["/ep"]),
])
def test_command_merge(config: dict[str, object], image: dict[str, object], args: list[str]) -> None:
    assert command(config, image) == args


@pytest.mark.parametrize("config", [{}, {"Entrypoint": [""]}, {"Entrypoint": [""], "Cmd": []}])
def test_no_command(config: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument, match="No command specified"):
        command(config, {"Entrypoint": ["/ep"]} if config else {})


def test_whole_image_config_accepted() -> None:
    image = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"},
             "config": {"Cmd": ["/bin/app"], "WorkingDir": "/srv", "User": "alice"}}
    spec = spec_for({}, {}, image)
    assert spec["process"]["args"] == ["/bin/app"]
    assert spec["process"]["cwd"] == "/srv"
    assert spec["process"]["user"]["uid"] == 1000


# -- Env ---------------------------------------------------------------------------------


def test_env_merge_rules() -> None:
    assert merge_env([], ["A=1", "B=2"]) == ["A=1", "B=2"]
    assert merge_env(["B=3", "C=4"], ["A=1", "B=2"]) == ["B=3", "C=4", "A=1"]


def test_process_env_defaults_and_overrides() -> None:
    env = process_env(["FOO=1", "PATH=/bin", "HOSTNAME=mine"], hostname="h", tty=True)
    assert env == ["PATH=/bin", "HOSTNAME=mine", "TERM=xterm", "FOO=1"]
    assert process_env([], hostname="h", tty=False) == [PATH, "HOSTNAME=h"]


def test_env_key_alone_unsets() -> None:
    assert process_env(["TERM"], hostname="h", tty=True) == [PATH, "HOSTNAME=h"]
    spec = spec_for({"Cmd": ["env"], "Env": ["LANG"]}, {}, {"Cmd": ["sh"], "Env": [PATH, "LANG=C"]})
    assert not any(e.startswith("LANG") for e in spec["process"]["env"])


def test_env_image_then_config_in_spec() -> None:
    spec = spec_for({"Env": ["A=config", "B=2"]}, {}, {"Cmd": ["sh"], "Env": [PATH, "A=image", "C=3"]})
    assert spec["process"]["env"] == [PATH, f"HOSTNAME={CID[:12]}", "A=config", "B=2", "C=3"]


@pytest.mark.parametrize("entry", ["=x", "A=\0"])
def test_bad_env_entry(entry: str) -> None:
    with pytest.raises(InvalidArgument, match=r"Config\.Env\[0\]"):
        spec_for({"Env": [entry]})


def test_env_must_be_strings() -> None:
    with pytest.raises(InvalidArgument, match=r"Config\.Env: must be a list of strings"):
        spec_for({"Env": [1]})


# -- WorkingDir, Tty, hostname ----------------------------------------------------------------


def test_working_dir() -> None:
    assert spec_for({"WorkingDir": "/a/../b/"})["process"]["cwd"] == "/b"
    assert spec_for({}, {}, {"Cmd": ["sh"], "WorkingDir": "/img"})["process"]["cwd"] == "/img"
    assert spec_for({"WorkingDir": "/mine"}, {}, {"Cmd": ["sh"], "WorkingDir": "/img"})["process"]["cwd"] == "/mine"
    with pytest.raises(InvalidArgument, match=r"Config.WorkingDir: the working directory 'rel' is invalid"):
        spec_for({"WorkingDir": "rel"})


def test_tty_and_console_size() -> None:
    spec = spec_for({"Tty": True}, {"ConsoleSize": [24, 80]})
    assert spec["process"]["terminal"] is True
    assert spec["process"]["consoleSize"] == {"height": 24, "width": 80}
    assert "TERM=xterm" in spec["process"]["env"]
    assert "consoleSize" not in spec_for({"Tty": False}, {"ConsoleSize": [24, 80]})["process"]
    assert "consoleSize" not in spec_for({"Tty": True}, {"ConsoleSize": [0, 0]})["process"]


def test_hostname_rules() -> None:
    assert spec_for({"Hostname": "web"})["hostname"] == "web"
    assert spec_for({})["hostname"] == CID[:12]
    assert spec_for({}, hostname="other")["hostname"] == "other"
    host_net = spec_for({}, {"NetworkMode": "host"})
    assert host_net["hostname"] == "dockerhost"
    assert "HOSTNAME=dockerhost" in host_net["process"]["env"]
    uts = spec_for({}, {"UTSMode": "host"})
    assert "hostname" not in uts
    assert all(ns["type"] != "uts" for ns in uts["linux"]["namespaces"])
    assert runtime_spec.validate(uts) == []


@pytest.mark.parametrize(("hc", "message"), [
    ({"UTSMode": "host"}, "hostname and the UTS mode"),
    ({"NetworkMode": "container:db"}, "hostname and the network mode"),
])
def test_hostname_conflicts(hc: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"Config.Hostname: conflicting options: {message}"):
        spec_for({"Hostname": "web"}, hc)


def test_hostname_too_long() -> None:
    with pytest.raises(InvalidArgument, match=r"Config.Hostname"):
        spec_for({"Hostname": "h" * 65})


def test_domainname_is_a_sysctl() -> None:
    spec = spec_for({"Domainname": "example.org"})
    assert spec["linux"]["sysctl"]["kernel.domainname"] == "example.org"
    with pytest.raises(InvalidArgument, match=r"Config.Domainname"):
        spec_for({"Domainname": "example.org"}, {"UTSMode": "host"})


# -- annotations, cgroups, root, init -------------------------------------------------------------


def test_annotations_from_host_config_only() -> None:
    spec = spec_for({"Labels": {"com.example": "x"}, "StopSignal": "SIGINT"},
                    {"Annotations": {"io.example/a": "b"}})
    assert spec["annotations"] == {"io.example/a": "b"}
    assert "annotations" not in spec_for({"Labels": {"a": "b"}})
    with pytest.raises(InvalidArgument, match=r"HostConfig.Annotations"):
        spec_for({}, {"Annotations": {"a": 1}})


def test_cgroups_path() -> None:
    assert spec_for()["linux"]["cgroupsPath"] == f"/dockyard/{CID}"
    assert spec_for({}, {"CgroupParent": "/mine"})["linux"]["cgroupsPath"] == f"/mine/{CID}"
    assert spec_for({}, {}, cgroup_parent="/daemon")["linux"]["cgroupsPath"] == f"/daemon/{CID}"


def test_readonly_rootfs() -> None:
    spec = spec_for({}, {"ReadonlyRootfs": True})
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    mounts = {m["destination"]: m["options"] for m in spec["mounts"]}
    assert "ro" not in mounts["/dev/shm"] and "ro" not in mounts["/proc"]
    assert mounts["/sys"].count("ro") == 1


def test_init_hook() -> None:
    spec = spec_for({"Cmd": ["app"]}, {"Init": True}, init_binary="/usr/libexec/dockyard-init")
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "app"]
    assert spec["mounts"][-1] == {"destination": "/sbin/docker-init", "type": "bind",
                                  "source": "/usr/libexec/dockyard-init", "options": ["bind", "ro"]}
    host_pid = spec_for({"Cmd": ["app"]}, {"Init": True, "PidMode": "host"}, init_binary="/x")
    assert host_pid["process"]["args"] == ["app"]
    with pytest.raises(NotImplementedYet, match=r"HostConfig.Init"):
        spec_for({"Cmd": ["app"]}, {"Init": True})


def test_warnings_are_collected() -> None:
    warnings: list[str] = []
    spec_for({}, {"Memory": 64 << 20}, host=make_host(swap_limit=lambda: False), warnings=warnings)
    assert warnings and "swap" in warnings[0]
