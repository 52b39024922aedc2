"""Progress of a pull or a push, per blob, in docker's phases.

A pull reports for each layer ``Waiting``, then ``Downloading`` (bytes so far of the
size), ``Verifying Checksum``, ``Download complete``; or ``Already exists``; with an
applier also ``Extracting`` (compressed bytes consumed) and ``Pull complete``. A push
reports ``Preparing``, ``Waiting``, ``Pushing`` (bytes), then ``Pushed``, ``Layer already
exists`` or ``Mounted from <repository>``. The ``id`` is docker's: the first 12 hex digits
of the digest.

Events come from worker threads; :class:`Reporter` calls the caller's callback under a
lock, so the callback sees one event at a time. ``Downloading``/``Pushing``/``Extracting``
updates are thinned to one per ``step`` bytes (and the last one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.oci.descriptor import Descriptor

WAITING = "Waiting"
DOWNLOADING = "Downloading"
VERIFYING = "Verifying Checksum"
DOWNLOAD_COMPLETE = "Download complete"
ALREADY_EXISTS = "Already exists"
EXTRACTING = "Extracting"
PULL_COMPLETE = "Pull complete"

PREPARING = "Preparing"
PUSHING = "Pushing"
PUSHED = "Pushed"
LAYER_EXISTS = "Layer already exists"
MOUNTED_FROM = "Mounted from"

_STREAMING = frozenset((DOWNLOADING, PUSHING, EXTRACTING))
STEP = 512 * 1024


@dataclass(frozen=True)
class Progress:
    """One event: blob ``id`` (12 hex digits) is in ``phase``; ``current`` of ``total`` bytes."""

    id: str
    phase: str
    current: int = 0
    total: int = 0
    digest: str = ""
    media_type: str = ""


ProgressCallback = Callable[[Progress], None]


def short_id(digest: str) -> str:
    return digest.partition(":")[2][:12]


class Reporter:
    """Serialises events to ``callback`` (None: events are dropped)."""

    def __init__(self, callback: ProgressCallback | None, step: int = STEP) -> None:
        self._callback = callback
        self._step = step
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], int] = {}

    def __call__(self, desc: Descriptor, phase: str, current: int = 0, total: int | None = None) -> None:
        if self._callback is None:
            return
        size = desc.size if total is None else total
        with self._lock:
            if phase in _STREAMING:
                key = (desc.digest, phase)
                last = self._last.get(key)
                if last is not None and current - last < self._step and current < size:
                    return
                self._last[key] = current
            self._callback(Progress(short_id(desc.digest), phase, current, size, desc.digest, desc.media_type))
