"""``dockyard stats``: live resource usage of containers (``GET /containers/{id}/stats``).

One reader thread per container follows its stats stream (``stream=0`` once with
``--no-stream``); a container silent for 2 seconds shows ``--``. Without names every
running container (all with ``-a``) is shown, and container events add the ones that
start (and are created, with ``-a``) and drop the ones that die. The table is redrawn every
half second as docker 28 draws it (cursor home, lines erased to their end, the rest of the
screen cleared); ``--no-stream`` prints it once. Columns CONTAINER ID NAME CPU % MEM USAGE /
LIMIT MEM % NET I/O BLOCK I/O PIDS; ``--format`` and ``--no-trunc`` as for ``ps``.
"""

from __future__ import annotations

import threading
import time

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.cli.ctr_stats import StatsRow, entry, invalid, render, stats_format
from dockyard.cli.flags import FORMAT_HELP_TABLE, STRING, Flag
from dockyard.cli.gotemplate import Formatter
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.client import Client
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] [CONTAINER...]"
FLAGS = [
    Flag("all", "a", help="Show all containers (default shows just running)"),
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("no-stream", help="Disable streaming stats and only pull the first result"),
    Flag("no-trunc", help="Do not truncate output"),
]
ARGS = command.any_args
TIMEOUT = 2.0
INTERVAL = 0.5


class Collector:
    """The stats of one container, kept current by a reader thread."""

    def __init__(self, client: Client, container: str, stream: bool) -> None:
        self.client = client
        self.container = container
        self.stream = stream
        self.values: dict[str, Any] = invalid(container)
        self.error: DockyardError | None = None
        self.first = threading.Event()
        self.updated = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            query = {"stream": self.stream}
            for sample in self.client.stream_json("GET", f"{path_of(self.container)}/stats", query):
                if isinstance(sample, dict):
                    self.values = {"Container": self.container, **entry(sample)}
                    self.updated = time.monotonic()
                    self.first.set()
                if not self.stream:
                    break
            if self.stream:  # the stream ended (the container stopped): docker marks it invalid
                self.values = {**self.values, "IsInvalid": True}
        except DockyardError as exc:
            self.error = exc
            self.values = {**self.values, "IsInvalid": True}
        finally:
            self.first.set()

    def current(self) -> dict[str, Any]:
        if time.monotonic() - self.updated > TIMEOUT and self.thread.is_alive():
            return invalid(self.container)  # docker: "timeout waiting for stats", values reset
        return self.values


class Collectors:
    def __init__(self, client: Client, stream: bool) -> None:
        self.client = client
        self.stream = stream
        self.items: list[Collector] = []
        self.lock = threading.Lock()

    def add(self, container: str) -> Collector | None:
        with self.lock:
            if any(c.container == container for c in self.items):
                return None
            collector = Collector(self.client, container, self.stream)
            self.items.append(collector)
            return collector

    def remove(self, container: str) -> None:
        with self.lock:
            self.items = [c for c in self.items if c.container != container]

    def wait_first(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        for collector in list(self.items):
            if not collector.first.wait(max(0.0, deadline - time.monotonic())):
                collector.values = invalid(collector.container)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c.current() for c in self.items]


def _watch_events(client: Client, collectors: Collectors, show_all: bool, started: threading.Event) -> None:
    from dockyard.oci import jsonio

    try:
        # sent (and its headers read) before the caller goes on: stream_json would only send
        # it once iterated, after started is set, and --no-stream may be done by then
        response = client.stream("GET", "/events", {"filters": {"type": {"container": True}}})
        started.set()
        for line in response.lines():
            event = jsonio.loads(line, "GET /events")
            action = str(event.get("Action") or event.get("status") or "")
            ident = str((event.get("Actor") or {}).get("ID") or event.get("id") or "")[:12]
            if not ident:
                continue
            if action == "start" or (action == "create" and show_all):
                collectors.add(ident)
            elif action == "die" and not show_all:
                collectors.remove(ident)
    except DockyardError:
        pass
    finally:
        started.set()


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    client = cli.client
    collectors = Collectors(client, not opts.no_stream)
    show_all = not args
    if show_all:
        started = threading.Event()
        threading.Thread(target=_watch_events, args=(client, collectors, opts.all, started), daemon=True).start()
        started.wait(TIMEOUT)
        for summary in client.get("/containers/json", {"all": True if opts.all else None}) or []:
            collectors.add(str(summary.get("Id", ""))[:12])
        collectors.wait_first()
    else:
        for name in args:
            collectors.add(name)
        collectors.wait_first()
        errors = [str(c.error) for c in collectors.items if c.error is not None]
        if errors:
            raise command.StatusError(1, "\n".join(errors))
    fmt = opts.format
    if not fmt:
        from dockyard.cli.runflow import config_value

        configured = config_value(cli, "statsFormat")
        fmt = configured if isinstance(configured, str) and configured else "table"
    formatter = Formatter(stats_format(fmt), StatsRow.HEADER)
    trunc = not opts.no_trunc
    if opts.no_stream:
        rows = collectors.snapshot()
        if rows:
            cli.out.write(formatter.render(StatsRow(r, trunc) for r in rows))
        return 0
    while True:
        time.sleep(INTERVAL)
        rows = collectors.snapshot()
        cli.out.write(render(formatter.render(StatsRow(r, trunc) for r in rows)))
        cli.out.flush()
        if not rows and not show_all:
            return 0
