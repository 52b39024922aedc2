"""``dockyard-containerd``: the command line of the daemon.

    dockyard-containerd [--address SOCK] [--root DIR] [--state DIR] [--log-level LEVEL]
                        [--config FILE]

The flags override the config file, which overrides the defaults (see :mod:`.config`).
The daemon refuses to start on an address another live daemon serves; SIGTERM and SIGINT
stop it cleanly (calls in progress get a few seconds, the socket is removed).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from dockyard.containerd.server.config import Config, load, merge
from dockyard.errors import DockyardError

PROG = "dockyard-containerd"
_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL, "panic": logging.CRITICAL}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="containerd's gRPC API over dockyard's storage")
    p.add_argument("--address", "-a", help="unix socket to serve (default /run/dockyard/containerd.sock)")
    p.add_argument("--root", help="persistent state (default /var/lib/dockyard/containerd)")
    p.add_argument("--state", help="runtime state (default /run/dockyard/containerd)")
    p.add_argument("--log-level", "-l", dest="log_level", help="trace, debug, info, warn, error (default info)")
    p.add_argument("--config", "-c", help="a TOML file with the same keys")
    p.add_argument("--version", "-v", action="store_true", help="print the version and exit")
    return p


def configure(argv: Sequence[str]) -> tuple[Config, bool]:
    args = parser().parse_args(argv)
    base = load(args.config) if args.config else Config()
    config = merge(base, address=args.address, root=args.root, state=args.state, log_level=args.log_level)
    return config, args.version


def main(argv: Sequence[str]) -> int:
    try:
        config, version = configure(argv)
    except DockyardError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if version:
        from dockyard.containerd.server.version import REVISION, VERSION

        print(f"{PROG} {VERSION} {REVISION}")
        return 0
    logging.basicConfig(level=_LEVELS[config.log_level], stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dockyard.containerd.server.daemon import Daemon

    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        logging.getLogger("dockyard.containerd").info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon = Daemon(config)
    try:
        daemon.start()
    except DockyardError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        daemon.stop()
    return 0


def entry() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
