"""``dockyardd``: the command line of the engine.

    dockyardd [-H unix:///run/dockyard/dockyard.sock] [--data-root DIR] [--exec-root DIR]
              [--config-file FILE] [--containerd SOCK] [--add-runtime NAME=PATH] [--init-path PATH]
              [--default-runtime NAME] [--log-level LEVEL] [-D] [--tlsverify --tlscacert F
              --tlscert F --tlskey F] [--label K=V] [-G GROUP]
              [--bridge NAME] [--bip CIDR] [--default-address-pool base=CIDR,size=N]
              [--ip-forward[=false]] [--iptables[=false]] [--userland-proxy[=false]]
              [--live-restore[=false]] [--firewall-table NAME] [--dns-upstream ADDR[:PORT]]

Flags and the config file (JSON, dockerd's daemon.json keys; see :mod:`.config`) may not
both set one thing. ``/etc/dockyard/daemon.json`` is read when it exists and no
``--config-file`` is given. SIGTERM and SIGINT stop the daemon cleanly (and the
dockyard-containerd it started); a bad configuration or a socket another live dockyardd
serves is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import dockyard
from dockyard.engine.config import EngineConfig, build, load_file, parse_add_runtime, parse_address_pools
from dockyard.errors import DockyardError

PROG = "dockyardd"
DEFAULT_CONFIG_FILE = "/etc/dockyard/daemon.json"
_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "error": logging.ERROR, "fatal": logging.CRITICAL, "panic": logging.CRITICAL}

log = logging.getLogger("dockyard.engine")


def _flag_bool(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="the dockyard engine: Docker's Engine API over dockyard")
    add = p.add_argument
    add("-H", "--host", dest="hosts", action="append", help="unix:///path or tcp://addr:port (repeatable)")
    add("--data-root", help="persistent state (default /var/lib/dockyard)")
    add("--exec-root", help="runtime state (default /run/dockyard)")
    add("--config-file", help=f"daemon configuration, JSON (default {DEFAULT_CONFIG_FILE} if it exists)")
    add("--containerd", help="socket of a running dockyard-containerd (default: start one)")
    add("--add-runtime", action="append", metavar="NAME=PATH", help="an extra OCI runtime (repeatable)")
    add("--init-path", help="the init binary of --init (default docker-init or tini-static on PATH)")
    add("--default-runtime", help="the runtime containers use by default (default dockyard-runc)")
    add("-l", "--log-level", help="debug, info, warn, error, fatal (default info)")
    add("-D", "--debug", action="store_const", const=True, help="debug mode (log level debug)")
    add("--tlsverify", dest="tls_verify", action="store_const", const=True,
        help="serve TCP hosts with TLS and require client certificates")
    add("--tlscacert", dest="tls_ca", help="CA that signs the client certificates")
    add("--tlscert", dest="tls_cert", help="the server's certificate")
    add("--tlskey", dest="tls_key", help="the server's key")
    add("--label", dest="labels", action="append", metavar="KEY=VALUE", help="a label of this engine (repeatable)")
    add("-G", "--group", help="group of the unix sockets (default dockyard)")
    add("-b", "--bridge", help="the default bridge network's interface (default dockyard0; none: no bridge)")
    add("--default-address-pool", dest="default_address_pools", action="append", metavar="base=CIDR,size=N",
        help="a pool the networks' subnets are taken from (repeatable)")
    add("--bip", help="the default bridge's address and prefix length (e.g. 10.199.0.1/24)")
    add("--ip-forward", nargs="?", const=True, type=_flag_bool, metavar="BOOL",
        help="turn on net.ipv4.ip_forward for bridge networks (default true)")
    add("--iptables", nargs="?", const=True, type=_flag_bool, metavar="BOOL",
        help="keep the engine's firewall rules: NAT, isolation, published ports (default true)")
    add("--userland-proxy", nargs="?", const=True, type=_flag_bool, metavar="BOOL",
        help="accepted as dockerd's; published ports are served by kernel NAT either way")
    add("--live-restore", nargs="?", const=True, type=_flag_bool, metavar="BOOL",
        help="keep containers running while the engine is down (default true; false: stop them with it)")
    add("--firewall-table", help="the engine's nft table: table ip NAME (default dockyard)")
    add("--dns-upstream", dest="dns_upstreams", action="append", metavar="ADDR[:PORT]",
        help="where the embedded DNS forwards (repeatable; default: the host's resolv.conf name servers)")
    add("-v", "--version", action="store_true", help="print the version and exit")
    return p


def configure(argv: Sequence[str]) -> tuple[EngineConfig | None, bool]:
    """The configuration (None with ``--version``)."""
    args = parser().parse_args(argv)
    if args.version:
        return None, True
    flags: dict[str, Any] = {k: getattr(args, k) for k in (
        "hosts", "data_root", "exec_root", "containerd", "default_runtime", "log_level", "debug", "tls_verify",
        "tls_ca", "tls_cert", "tls_key", "labels", "group", "init_path", "bridge", "bip", "ip_forward",
        "iptables", "userland_proxy", "live_restore", "firewall_table", "dns_upstreams")}
    flags["runtimes"] = parse_add_runtime(args.add_runtime) if args.add_runtime else None
    flags["default_address_pools"] = (parse_address_pools(args.default_address_pools)
                                      if args.default_address_pools else None)
    path = args.config_file or (DEFAULT_CONFIG_FILE if os.path.exists(DEFAULT_CONFIG_FILE) else "")
    file_values = load_file(path) if path else {}
    return build(flags, file_values, path), False


async def serve(config: EngineConfig) -> int:
    from dockyard.engine.engine import Engine

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    engine = Engine(config)
    try:
        await engine.start()
    except DockyardError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    log.info("dockyardd %s ready (data root %s, exec root %s)", dockyard.__version__, config.data_root,
             config.exec_root)
    try:
        await stopping.wait()
    finally:
        await engine.stop()
    return 0


def main(argv: Sequence[str]) -> int:
    try:
        config, version = configure(argv)
    except DockyardError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if version or config is None:
        print(f"dockyardd version {dockyard.__version__}")
        return 0
    level = "debug" if config.debug else config.log_level
    logging.basicConfig(level=_LEVELS[level], stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("asyncio", "grpc"):  # their debug lines drown the engine's
        logging.getLogger(noisy).setLevel(max(logging.INFO, _LEVELS[level]))
    return asyncio.run(serve(config))


def entry() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
