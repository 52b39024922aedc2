"""The bridge driver: bridges, network namespaces and veth pairs, over netlink with pyroute2.

- A bridge network's interface (``dockyard0`` for the default one, ``br-<12 hex>`` for the
  others) is a Linux bridge with the gateway's address, up (:meth:`create_network`).
- A container's network namespace is made by a fresh thread that unshares its network
  namespace and bind-mounts ``/proc/thread-self/ns/net`` on ``<exec-root>/netns/<id>``: the
  engine is threaded, so nothing forks (:meth:`create_netns`; ``lo`` is brought up there).
- An endpoint is a veth pair: ``veth<7 hex>`` on the bridge, the peer made inside the
  namespace with its MAC and renamed ``eth<n>`` there, with its address and (first
  endpoint) a default route via the gateway (:meth:`attach`). Work inside a namespace runs in a fresh
  thread that joined it with setns: a network namespace is per thread, and the thread
  ends with it.
- :meth:`detach` deletes the host end (the kernel deletes the peer); :meth:`remove_netns`
  unmounts and unlinks the namespace's file; :meth:`cleanup` removes the namespaces no
  running container uses (after a ``kill -9`` of the daemon).

pyroute2 is imported when a method first needs it (its import costs ~0.4 s).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from dockyard.engine.network_model import Endpoint, Network
from dockyard.errors import DockyardError, Internal

log = logging.getLogger("dockyard.engine.networks")
logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output is every netlink message

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 2


def _syscalls() -> Any:
    from dockyard.runtime.syscalls import LinuxSyscalls

    return LinuxSyscalls()


def _iproute() -> Any:
    from pyroute2 import IPRoute

    return IPRoute()


def in_thread(fn: Callable[[], Any], netns: str = "", new_netns: bool = False) -> Any:
    """Run ``fn`` in a fresh thread, first joined to the namespace at ``netns`` or (with
    ``new_netns``) to a new one; its result, or its exception re-raised."""
    result: dict[str, Any] = {}

    def body() -> None:
        try:
            if new_netns:
                _syscalls().unshare(CLONE_NEWNET)
            elif netns:
                fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _syscalls().setns(fd, CLONE_NEWNET)
                finally:
                    os.close(fd)
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=body, name="netns", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def veth_name(endpoint: Endpoint) -> str:
    return "veth" + endpoint.endpoint_id[:7]


def _netlink_error(what: str, exc: BaseException) -> DockyardError:
    return Internal(f"{what}: {exc}")


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


class BridgeDriver:
    """The kernel's side of bridge networks (see the module's docstring)."""

    def create_network(self, network: Network) -> None:
        pool = network.pool
        if pool is None or not network.bridge:
            return
        try:
            with _iproute() as ipr:
                idx = _index(ipr, network.bridge)
                if idx is None:
                    ipr.link("add", ifname=network.bridge, kind="bridge")
                    idx = _index(ipr, network.bridge)
                    assert idx is not None
                have = {(a.get_attr("IFA_ADDRESS"), int(a["prefixlen"])) for a in
                        ipr.get_addr(index=idx, family=socket.AF_INET)}
                if (str(pool.gateway), pool.subnet.prefixlen) not in have:
                    ipr.addr("add", index=idx, address=str(pool.gateway), prefixlen=pool.subnet.prefixlen)
                ipr.link("set", index=idx, state="up")
        except DockyardError:
            raise
        except Exception as exc:
            raise _netlink_error(f"network {network.name}: creating bridge {network.bridge}", exc) from None

    def delete_network(self, network: Network) -> None:
        if not network.bridge:
            return
        try:
            with _iproute() as ipr:
                idx = _index(ipr, network.bridge)
                if idx is not None:
                    ipr.link("del", index=idx)
        except Exception as exc:
            raise _netlink_error(f"network {network.name}: deleting bridge {network.bridge}", exc) from None

    # -- namespaces ------------------------------------------------------------------------------

    def create_netns(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
        self.remove_netns(path)  # a leftover of an engine killed with -9
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        os.close(fd)

        def bind() -> None:
            _syscalls().mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", path, None, MS_BIND, None)
            with _iproute() as ipr:
                ipr.link("set", index=_index(ipr, "lo"), state="up")

        try:
            in_thread(bind, new_netns=True)
        except BaseException:
            self.remove_netns(path)
            raise

    def remove_netns(self, path: str) -> None:
        try:
            _syscalls().umount2(path, MNT_DETACH)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def cleanup(self, directory: str, running: Iterable[str]) -> list[str]:
        """Remove the namespaces under ``directory`` of containers not in ``running``."""
        keep = set(running)
        removed = []
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        for name in names:
            if name not in keep:
                self.remove_netns(os.path.join(directory, name))
                removed.append(name)
        return removed

    # -- endpoints -------------------------------------------------------------------------------

    def attach(self, network: Network, endpoint: Endpoint, netns_path: str, first: bool) -> None:
        pool = network.pool
        assert pool is not None
        host_name = veth_name(endpoint)
        peer = "dy" + endpoint.endpoint_id[:12]  # its name until it is eth<n> in the namespace
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                with _iproute() as ipr:
                    bridge = _index(ipr, network.bridge)
                    if bridge is None:
                        raise Internal(f"network {network.name}: bridge {network.bridge} does not exist")
                    # the peer is born in the namespace: no move, one request
                    ipr.link("add", ifname=host_name, kind="veth",
                             peer={"ifname": peer, "net_ns_fd": fd, "address": endpoint.mac})
                    ipr.link("set", index=_index(ipr, host_name), master=bridge, state="up")
            finally:
                os.close(fd)
        except DockyardError:
            self.detach(network, endpoint)
            raise
        except Exception as exc:
            self.detach(network, endpoint)
            raise _netlink_error(f"network {network.name}: creating the veth pair of {endpoint.name}", exc) from None

        def inside() -> None:
            with _iproute() as ipr:
                idx = _index(ipr, peer)
                count = sum(1 for link in ipr.get_links() if str(link.get_attr("IFLA_IFNAME")).startswith("eth"))
                ipr.link("set", index=idx, ifname=f"eth{count}")
                ipr.addr("add", index=idx, address=endpoint.address, prefixlen=pool.subnet.prefixlen)
                ipr.link("set", index=idx, state="up")
                if first:
                    ipr.route("add", dst="0.0.0.0/0", gateway=str(pool.gateway))

        try:
            in_thread(inside, netns=netns_path)
        except Exception as exc:
            self.detach(network, endpoint)
            raise _netlink_error(f"network {network.name}: configuring {endpoint.name}'s interface", exc) from None

    def detach(self, network: Network, endpoint: Endpoint) -> None:
        try:
            with _iproute() as ipr:
                idx = _index(ipr, veth_name(endpoint))
                if idx is not None:
                    ipr.link("del", index=idx)
        except Exception as exc:
            raise _netlink_error(f"network {network.name}: deleting {veth_name(endpoint)}", exc) from None
