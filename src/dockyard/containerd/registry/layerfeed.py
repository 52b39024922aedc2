"""The bytes of one layer for an applier, while the layer is still downloading.

A :class:`LayerFeed` is a readable stream (``read(size)``) of a layer's compressed bytes,
bottom to top in the pull's apply loop. It takes them from the download as they arrive
(the download thread hands each piece to :meth:`data` after writing it to the ingest):
memory holds at most ``cap`` bytes of it. When the applier is reading this layer and
falls behind, the download waits for it (the other layers keep downloading); when the
applier is still busy with a lower layer, the feed stops keeping pieces once ``cap`` is
reached and the applier later reads the rest from the content store, where the blob is
committed by then. A download that restarts or resumes an older ingest does the same.

The end of the stream comes only after the blob was committed, that is after its size and
digest were verified: an applier that reads to the end (as the layer appliers do) has
applied verified bytes only, and a bad blob makes ``read`` raise the download's error
instead. :meth:`finish` waits for that point without reading.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from dockyard.oci.descriptor import Descriptor

DEFAULT_CAP = 8 << 20
CHUNK = 1 << 20


class LayerFeed:
    """One layer's bytes: from the download while it keeps up, else from the store."""

    def __init__(self, desc: Descriptor, open_reader: Callable[[], Any], *, cap: int = DEFAULT_CAP,
                 on_read: Callable[[int], None] | None = None) -> None:
        self.desc = desc
        self._open_reader = open_reader
        self._cap = cap
        self._on_read = on_read
        self._cond = threading.Condition()
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._teeing = True  # pieces from the download are kept
        self._tee_next = 0  # the offset the next kept piece must start at
        self._position = 0  # what the applier has read
        self._committed = False
        self._error: BaseException | None = None
        self._attached = False  # the applier has started reading
        self._closed = False
        self._reader: Any = None

    # -- the download's side -----------------------------------------------------------

    def start(self, offset: int) -> None:
        """The download starts with ``offset`` bytes already in the ingest."""
        if offset:
            self._stop_tee()

    def data(self, offset: int, piece: bytes) -> None:
        """``piece`` was written at ``offset``; keep it for the applier if it can use it."""
        with self._cond:
            if not self._teeing:
                return
            if offset != self._tee_next:
                self._teeing = False
                self._cond.notify_all()
                return
            while (self._teeing and self._attached and not self._closed and self._buffered
                   and self._buffered + len(piece) > self._cap):
                self._cond.wait()  # the applier is reading this layer: let it catch up
            if not self._teeing or self._closed or self._buffered + len(piece) > self._cap:
                self._teeing = False
                self._cond.notify_all()
                return
            self._pieces.append(bytes(piece))
            self._buffered += len(piece)
            self._tee_next += len(piece)
            self._cond.notify_all()

    def committed(self) -> None:
        """The blob is in the store, verified."""
        with self._cond:
            self._committed = True
            self._cond.notify_all()

    def failed(self, error: BaseException) -> None:
        """The download failed (or the pull is stopping): reads raise ``error``."""
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    @property
    def error(self) -> BaseException | None:
        return self._error

    # -- the applier's side ------------------------------------------------------------

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest when negative); b"" at the verified end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        if size == 0:
            return b""
        with self._cond:
            self._attached = True
            while True:
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise ValueError(f"feed of layer {self.desc.digest} is closed")
                if self._pieces:
                    data = self._take(size)
                    self._cond.notify_all()
                    break
                if self._committed:
                    data = b""
                    break
                self._cond.wait()
        if not data:
            data = self._from_store(size)
        if data and self._on_read is not None:
            self._on_read(self._position)
        return data

    def _take(self, size: int) -> bytes:
        first = self._pieces[0]
        if len(first) <= size:
            self._pieces.popleft()
            data = first
        else:
            data, self._pieces[0] = first[:size], first[size:]
        self._buffered -= len(data)
        self._position += len(data)
        return data

    def _from_store(self, size: int) -> bytes:
        """Read on from the committed blob (empty at its end)."""
        remaining = self.desc.size - self._position
        if remaining <= 0:
            return b""
        if self._reader is None:
            self._reader = self._open_reader()
        data: bytes = self._reader.read_at(min(size, remaining), self._position)
        self._position += len(data)
        return data

    def finish(self) -> None:
        """Wait until the blob is verified and committed; raise the download's error if not."""
        self._stop_tee()
        with self._cond:
            while not self._committed and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error

    def close(self) -> None:
        """Stop: a download waiting for this feed goes on without it."""
        with self._cond:
            self._closed = True
            self._teeing = False
            self._pieces.clear()
            self._buffered = 0
            self._cond.notify_all()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _stop_tee(self) -> None:
        with self._cond:
            self._teeing = False
            self._cond.notify_all()
