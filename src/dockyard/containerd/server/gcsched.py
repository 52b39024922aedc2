"""When garbage is collected (containerd's ``gc/scheduler``, simplified).

Deleting an image, a lease, content, a snapshot or a container marks the store dirty;
a background thread collects shortly after (``delay`` seconds, so a burst of deletions
costs one collection). A request with ``sync`` collects at once (:meth:`collect_now`).
The daemon collects once at start-up too.

Containers and leases hold what is in use, so active snapshots are not roots here
(``active_snapshots_are_roots=False``).
"""

from __future__ import annotations

import logging
import threading

from dockyard.containerd import gc
from dockyard.containerd.metadata import DB

log = logging.getLogger("dockyard.containerd.gc")


class GCScheduler:
    def __init__(self, db: DB, delay: float = 0.2) -> None:
        self.db = db
        self.delay = delay
        self._cond = threading.Condition()
        self._dirty = False
        self._stopping = False
        self._run_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gc-scheduler", daemon=True)
        self._thread.start()

    def schedule(self) -> None:
        """Collect soon."""
        with self._cond:
            self._dirty = True
            self._cond.notify()

    def collect_now(self) -> gc.GCResult:
        """Collect now (waits for a collection in progress first)."""
        with self._run_lock:
            result = gc.collect(self.db, active_snapshots_are_roots=False)
            self.runs += 1
        removed = (len(result.images) + len(result.leases) + len(result.content) + len(result.snapshots)
                   + len(result.blobs) + len(result.backend_snapshots) + len(result.ingests))
        log.debug("garbage collected in %.3fs: %d objects removed", result.duration, removed)
        return result

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._dirty and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                self._cond.wait(self.delay)  # let a burst of deletions pass
                if self._stopping:
                    return
                self._dirty = False
            try:
                self.collect_now()
            except Exception:
                log.exception("garbage collection failed")
