"""The running engine: start in order, stop in reverse.

``start()``: claim the API sockets (refusing when a live dockyardd has one), make the data
and exec roots, start our dockyard-containerd (or use ``--containerd``'s), connect, follow
its events, build the context and the API app, then listen. ``stop()``: stop listening
(open streams end), stop following events, close the channel, stop our
dockyard-containerd by PID, remove the sockets. Containers (their shims) outlive all of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

from aiohttp import web

from dockyard.containerd.server.sockets import answers
from dockyard.engine import network_containers
from dockyard.engine.api.app import make_app
from dockyard.engine.config import EngineConfig
from dockyard.engine.container_restore import restore
from dockyard.engine.containerd_process import ManagedContainerd
from dockyard.engine.containers import ContainerService
from dockyard.engine.context import EngineContext
from dockyard.engine.ctrd_events import ContainerdEvents
from dockyard.engine.events import EventHub
from dockyard.engine.images_service import ImageService
from dockyard.engine.init_binary import InitBinary, find_init_binary
from dockyard.engine.listeners import Listeners
from dockyard.engine.network_dns import EmbeddedDns
from dockyard.engine.runtimes import Runtimes, discover
from dockyard.engine.supervisor import Supervisor
from dockyard.engine.tls_relay import serve_tls
from dockyard.engine.volumes import VolumeService
from dockyard.errors import Unavailable

log = logging.getLogger("dockyard.engine")

CONNECT_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 5.0  # for requests in progress when the daemon stops


def load_engine_id(data_root: str) -> str:
    """The engine's ID, made once and kept in ``<data-root>/engine-id``."""
    path = os.path.join(data_root, "engine-id")
    try:
        with open(path) as f:
            text = f.read().strip()
        if text:
            return text
    except FileNotFoundError:
        pass
    text = str(uuid.uuid4())
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".tmp", path)
    return text


class Engine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.listeners: Listeners | None = None
        self.containerd: ManagedContainerd | None = None
        self.supervisor: Supervisor | None = None
        self.bridge: ContainerdEvents | None = None
        self.hub = EventHub()
        self.runner: web.AppRunner | None = None
        self.tls_servers: list[asyncio.Server] = []  # TCP listeners with TLS (dockyard.engine.tls_relay)
        self.ctx: EngineContext | None = None
        self.containers: ContainerService | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.config
        runtimes = discover(config.runtimes, config.default_runtime)
        self.listeners = Listeners.claim(config)
        try:
            await self._start(runtimes)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, runtimes: Runtimes) -> None:
        config = self.config
        for directory in (config.data_root, config.exec_root):
            os.makedirs(directory, mode=0o711, exist_ok=True)
        engine_id = load_engine_id(config.data_root)
        init = InitBinary(find_init_binary(config.init_path))
        if config.containerd:
            if not answers(config.containerd):
                raise Unavailable(f"--containerd {config.containerd}: nothing answers on this socket")
        else:
            self.containerd = ManagedContainerd(config)
            await self.containerd.start()
        self.supervisor = Supervisor(config.containerd_socket)
        await self.supervisor.wait_ready(CONNECT_TIMEOUT)
        self.hub.bind(asyncio.get_running_loop())
        self.bridge = ContainerdEvents(self.supervisor, self.hub)
        self.bridge.start()
        assert self.listeners is not None
        self.ctx = EngineContext(config, self.supervisor, self.hub, self.bridge, runtimes, engine_id, init=init)
        self.ctx.images = ImageService(self.ctx)
        self.ctx.volumes = VolumeService(config.data_root, self.hub)
        self.ctx.networks = await asyncio.to_thread(network_containers.build_service, config, self.hub)
        self.ctx.networks.dns = EmbeddedDns(config.dns_upstreams)
        self.containers = self.ctx.containers = ContainerService(self.ctx)
        self.ctx.image_users = self.containers.image_users
        self.ctx.volumes.users = self.containers.volume_users
        self.containers.lifecycle.take_events()
        await asyncio.wait_for(self.bridge.subscribed.wait(), CONNECT_TIMEOUT)
        await restore(self.containers)
        await network_containers.restore(self.ctx, {live.id for live in self.containers.all() if (
            live.task_pid or live.container.state.running or live.container.state.restarting)})
        self.containers.lifecycle.follow_resubscriptions()
        self.runner = web.AppRunner(make_app(self.ctx), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self.runner.setup()
        self.listeners.bind()
        for item in self.listeners.items:
            assert item.sock is not None
            if item.ssl_context is not None:  # TLS ended here, so that attach can half-close
                assert self.runner.server is not None
                self.tls_servers.append(await serve_tls(item.sock, item.ssl_context, self.runner.server))
            else:
                await web.SockSite(self.runner, item.sock).start()
            log.info("API listen on %s", item.host)
        if self.containerd is not None:
            self._watch = asyncio.get_running_loop().create_task(self.containerd.watch(), name="containerd-watch")

    async def stop(self) -> None:
        if self.containers is not None and not self.config.live_restore:
            running = [live for live in self.containers.all() if live.container.state.running]
            await asyncio.gather(*(self.containers.lifecycle.stop_for_shutdown(live) for live in running))
        self.hub.close()  # /events streams end, so the runner's shutdown does not wait on them
        if self.containers is not None:
            self.containers.lifecycle.close()  # attach and logs -f streams end; containers keep running
            self.containers.end_streams()
        for server in self.tls_servers:
            server.close()
        self.tls_servers.clear()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        if self.containers is not None:
            self.containers.close()
            self.containers = None
        if self.ctx is not None and self.ctx.networks is not None and self.ctx.networks.dns is not None:
            self.ctx.networks.dns.close()  # the containers' DNS sockets (bound again at the next start)
        if self.ctx is not None and self.ctx.volumes is not None:
            self.ctx.volumes.close()
            self.ctx.volumes = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self.bridge is not None:
            await self.bridge.stop()
            self.bridge = None
        if self.supervisor is not None:
            await self.supervisor.close()
            self.supervisor = None
        if self.containerd is not None:
            await self.containerd.stop()
            self.containerd = None
        if self.listeners is not None:
            self.listeners.close()
            self.listeners = None
        log.info("dockyardd stopped")
