"""A stand-in daemon, run as its own process so a test can ``kill -9`` it.

``python -m tests.support.shim_harness CONFIG_JSON [CREATE_JSON]`` starts a detached shim for
the ShimConfig in CONFIG_JSON (a fresh interpreter, as ``dockyard-shim start``), opens the
read ends of the fifos named in CREATE_JSON (so the harness, not the test, is the stdio
client), creates and starts the task, prints ``{"shim_pid", "pid"}`` and sleeps until killed.
"""

from __future__ import annotations

import json
import os
import sys
import time

from dockyard.shim.client import ShimClient, start_shim
from dockyard.shim.config import ShimConfig


def main() -> None:
    config = ShimConfig.from_dict(json.loads(sys.argv[1]))
    create = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    held = [os.open(create[name], os.O_RDONLY | os.O_NONBLOCK) for name in ("stdout", "stderr") if create.get(name)]
    shim_pid = start_shim(config)
    with ShimClient(config.socket, timeout=60) as client:
        pid = client.call("create", **create)["pid"]
        client.call("start")
    print(json.dumps({"shim_pid": shim_pid, "pid": pid}), flush=True)
    while held:
        time.sleep(3600)


if __name__ == "__main__":
    main()
