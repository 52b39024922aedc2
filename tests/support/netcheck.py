"""Networking for test engines: a bridge and subnets of their own, and what they left.

- :func:`engine_args`: dockyardd flags giving the engine a default bridge named
  ``dyt<8 hex>`` on a free ``10.199.X.0/24`` (X from 100 up, away from the host's routes)
  and the pool ``10.199.0.0/16`` in /24s for networks created without a subnet. Tests never
  touch the host's own interfaces, routes or firewall.
- :func:`leftovers`: after the engine stopped, what its networks left: a user-defined
  network's bridge still there, a veth on any of its bridges, a network namespace file
  under its exec root. Each is reported and removed (by name: only the engine's own). The
  default bridge, like dockerd's docker0, stays while the engine is away; it is removed here,
  and so is the engine's nft table (``--firewall-table``, named after the bridge).
- :func:`restore_host`: at the end of a session, no nft table of its engines left and
  ``net.ipv4.ip_forward`` as it was (unless another session's engines still have tables).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
from pathlib import Path

from tests.support import hostcheck

SYS_NET = Path("/sys/class/net")
TEST_POOL = "10.199.0.0/16"
ISSUED: set[str] = set()  # the nft tables (and bridges) engine_args named in this process


def host_routes() -> list[ipaddress.IPv4Network]:
    out = []
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            dst = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            if int(mask):
                out.append(ipaddress.IPv4Network(f"{dst}/{mask}", strict=False))
    return out


def free_test_subnet(start: int = 100) -> ipaddress.IPv4Network:
    routes = host_routes()
    for x in range(start, 255):
        candidate = ipaddress.IPv4Network(f"10.199.{x}.0/24")
        if not any(candidate.overlaps(r) for r in routes):
            return candidate
    raise AssertionError("no free test subnet in 10.199.0.0/16")


def engine_args(base: Path) -> list[str]:
    """The flags for an engine under ``base`` (the same ones again when it restarts there)."""
    import hashlib

    saved = base / "test-bip"
    if saved.exists():
        bip = saved.read_text().strip()
    else:
        subnet = free_test_subnet(100 + secrets.randbelow(100))
        bip = f"{subnet.network_address + 1}/24"
        base.mkdir(parents=True, exist_ok=True)
        saved.write_text(bip)
    name = "dyt" + hashlib.sha256(str(base).encode()).hexdigest()[:8]
    ISSUED.add(name)
    return ["--bridge", name, "--bip", bip, "--default-address-pool", f"base={TEST_POOL},size=24",
            "--firewall-table", name]


def nft_tables(prefix: str = "dyt") -> set[str]:
    """The ``ip`` nft tables whose name starts with ``prefix``."""
    try:
        out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:  # no nft tool: no table was made through it either
        return set()
    return {line.split()[-1] for line in out.splitlines() if line.startswith("table ip ") and
            line.split()[-1].startswith(prefix)}


def delete_table(name: str) -> None:
    if name in nft_tables(name):
        subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True, check=False)


def ip_forward() -> str:
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return f.read().strip()


def restore_host(forward: str, tables_before: set[str]) -> list[str]:
    """At a session's end: this session's engines' nft tables gone (each one left is
    reported), and ``ip_forward`` as it was unless engines of another session still have
    tables (they need it)."""
    problems = []
    tables = nft_tables()
    for name in sorted((tables - tables_before) & ISSUED):
        problems.append(f"nft table ip {name} left")
        delete_table(name)
    if ip_forward() != forward and not (tables - ISSUED):
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(forward)
    return problems


def interfaces() -> dict[str, str]:
    """Every interface of the host's namespace -> its master ("" for none)."""
    out = {}
    for entry in SYS_NET.iterdir():
        master = entry / "master"
        out[entry.name] = os.path.basename(os.readlink(master)) if master.is_symlink() else ""
    return out


def _delete_link(name: str) -> None:
    subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)


def engine_bridges(data_root: Path) -> tuple[str, list[str]]:
    """The default bridge and the user-defined networks' bridges the engine's store names."""
    default, others = "", []
    directory = data_root / "networks"
    if not directory.is_dir():
        return default, others
    for path in directory.glob("*.json"):
        doc = json.loads(path.read_text())
        if doc.get("Bridge"):
            if doc.get("Name") == "bridge":
                default = doc["Bridge"]
            else:
                others.append(doc["Bridge"])
    return default, others


def leftovers(data_root: Path, exec_root: Path, default_bridge: str = "") -> list[str]:
    """What a stopped engine's networking left (reported, then removed)."""
    problems: list[str] = []
    default, others = engine_bridges(data_root)
    default = default or default_bridge
    links = interfaces()
    ours = {b for b in [default, *others] if b}
    for name, master in sorted(links.items()):
        if master in ours:
            problems.append(f"veth {name} left on bridge {master}")
            _delete_link(name)
    for name in others:
        if name in links:
            problems.append(f"bridge {name} of a network that was not removed is left")
            _delete_link(name)
    if default and default.startswith("dyt"):
        if default in links:
            _delete_link(default)
        delete_table(default)  # the engine's nft table is named after its bridge (engine_args)
    netns = exec_root / "netns"
    if netns.is_dir():
        for entry in sorted(netns.iterdir()):
            problems.append(f"network namespace left: {entry}")
            subprocess.run(["umount", "-l", str(entry)], capture_output=True, check=False)
            entry.unlink(missing_ok=True)
    left = [m for m in hostcheck.mounts_under(netns)] if netns.exists() else []
    problems += [f"mount left: {m}" for m in left]
    return problems
